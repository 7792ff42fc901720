//! The developer-facing subcommands, embedded into the `goxy` binary.
//!
//! Exit codes: 0 fetching would work / the command succeeded, 1 fetching
//! would fail / something failed, 2 usage or internal error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::probe::{load_roots, ProbeOptions, ProxyEnv};
use crate::style::Style;

/// Developer subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Diagnose why `go get` hangs or fails: configuration traps, then DNS, TCP,
    /// TLS and HTTP probes of every GOPROXY entry and the checksum database.
    Doctor(DoctorArgs),
    /// Measure public Go module mirrors, recommend a GOPROXY, optionally apply it.
    Mirrors(crate::mirrors::MirrorsArgs),
    /// Print the settings to use a goxy server or chosen mirrors, for a shell profile or the GOENV file.
    Env(crate::shell::EnvArgs),
    /// Fetch every module version of a go.mod/go.sum through a goxy server and check it against go.sum.
    Prewarm(crate::prewarm::PrewarmArgs),
}

/// Options shared by the commands that probe the network.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Time limit for each probe step (DNS, connect, TLS, HTTP), in milliseconds.
    #[arg(long, default_value_t = 4000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Extra trusted CA certificates (PEM), added to the system's trust store.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl ProbeArgs {
    /// Probe options from these flags and the process environment.
    pub fn options(&self, cfg: &crate::goenv::GoConfig) -> Result<ProbeOptions, String> {
        let extra = match &self.ca_file {
            Some(p) => {
                std::fs::read(p).map_err(|e| format!("reading CA file {}: {e}", p.display()))?
            }
            None => Vec::new(),
        };
        let roots = load_roots(&extra).map_err(|e| match &self.ca_file {
            Some(p) => format!("CA file {}: {e}", p.display()),
            None => e,
        })?;
        Ok(ProbeOptions {
            step_timeout: Duration::from_millis(self.timeout_ms.max(1)),
            roots: Arc::new(roots),
            proxy_env: ProxyEnv {
                https_proxy: cfg.net_var("HTTPS_PROXY"),
                http_proxy: cfg.net_var("HTTP_PROXY"),
                no_proxy: cfg.net_var("NO_PROXY"),
            },
            max_body: 1 << 20,
        })
    }
}

/// `goxy doctor` flags.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Print the report as JSON (schema documented in goxy_doctor::doctor).
    #[arg(long)]
    pub json: bool,
    /// A module you need: its version list is requested from each proxy and
    /// a proxy without it counts as failing. Without it, doctor asks for a
    /// well-known module and only warns when a proxy lacks it.
    #[arg(long)]
    pub module: Option<String>,
    /// The go command used to read the toolchain's defaults.
    #[arg(long, default_value = "go", value_name = "PATH")]
    pub go: String,
}

/// Runs one developer subcommand and returns the process exit code.
pub async fn run(cmd: Command) -> i32 {
    match cmd {
        Command::Doctor(args) => run_doctor(args).await,
        Command::Mirrors(args) => crate::mirrors::run(args).await,
        Command::Env(args) => crate::shell::run(args).await,
        Command::Prewarm(args) => crate::prewarm::run(args).await,
    }
}

async fn run_doctor(args: DoctorArgs) -> i32 {
    let module = args
        .module
        .clone()
        .unwrap_or_else(|| crate::doctor::DEFAULT_PROBE_MODULE.to_string());
    if let Err(e) = goxy_mod::module::check_path(&module) {
        eprintln!("goxy doctor: --module {module}: {}", e.message());
        return 2;
    }
    let cfg = crate::goenv::load(Some(&args.go)).await;
    let opts = match args.probe.options(&cfg) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("goxy doctor: {e}");
            return 2;
        }
    };
    let report = crate::doctor::diagnose(&cfg, &opts, &module, args.module.is_some()).await;
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("goxy doctor: encoding JSON: {e}");
                return 2;
            }
        }
    } else {
        print!(
            "{}",
            crate::doctor::render_text(&report, Style::for_stdout())
        );
    }
    if report.fetch_would_work {
        0
    } else {
        1
    }
}
