//! The `callvault` command: list and read stored calls, messages and recordings.

mod args;
mod output;
mod run;

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = args::Cli::parse();
    if let Err(err) = run::run(cli).await {
        eprintln!("error: {err:#}");
        std::process::exit(run::exit_code(&err));
    }
}
