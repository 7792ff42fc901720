//! The goxy command line: wiring only.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "goxy",
    version,
    about = "A Go module proxy and a doctor for `go get`"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the GOPROXY protocol from a local cache, filled from upstream proxies.
    Serve(goxy_server::ServeArgs),
    /// Configuration file helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    #[command(flatten)]
    Developer(goxy_doctor::cli::Command),
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Print a configuration file documenting every option with its default.
    Example,
}

/// Logs go to stderr (stdout carries the one "listening" line); GOXY_LOG
/// takes a tracing filter such as `debug` or `goxy_fetch=debug`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOXY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve(args) = &cli.command {
        if let Some(workers) = goxy_server::config::worker_threads(args) {
            builder.worker_threads(workers);
        }
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("goxy: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                init_logging();
                goxy_server::run(args).await
            }
            Command::Config(ConfigCommand::Example) => {
                print!("{}", goxy_server::example::EXAMPLE);
                0
            }
            Command::Developer(cmd) => goxy_doctor::cli::run(cmd).await,
        }
    });
    std::process::exit(code);
}
