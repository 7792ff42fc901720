//! The developer-facing subcommands, embedded into the `goxy` binary.

/// Developer subcommands (placeholder until implemented).
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs one developer subcommand and returns the process exit code.
pub async fn run(cmd: Command) -> i32 {
    match cmd {}
}
