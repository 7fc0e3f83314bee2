//! The `callvault` command: find the stack, connect providers, send test deliveries, watch
//! and inspect deliveries, read calls, messages and recordings, replay and re-drive.

mod args;
mod error;
mod logs;
mod output;
mod run;
mod secrets;
mod status;
mod tail;
mod target;
mod trigger;

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = args::Cli::parse();
    if let Err(err) = run::run(cli).await {
        eprintln!("error: {err:#}");
        std::process::exit(error::exit_of(&err).code());
    }
}
