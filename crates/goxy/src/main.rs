//! The goxy command line: wiring only.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "goxy", version, about = "A Go module proxy and a doctor for `go get`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the GOPROXY protocol from a local cache, filled from upstream proxies.
    Serve,
    #[command(flatten)]
    Developer(goxy_doctor::cli::Command),
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("goxy: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                eprintln!("goxy serve: not built yet");
                1
            }
            Command::Developer(cmd) => goxy_doctor::cli::run(cmd).await,
        }
    });
    std::process::exit(code);
}
