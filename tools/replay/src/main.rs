//! `callvault-replay`: re-ingests kept deliveries with the normal AWS configuration and the
//! functions' `TABLE_NAME` / `BUCKET_NAME`.
//!
//! - `callvault-replay spool`: every delivery spooled to S3 while DynamoDB was unavailable.
//! - `callvault-replay rejected --provider voki --day 2026-11-23`: kept rejected deliveries of
//!   one provider and day, for example after a parser fix.

use anyhow::Context;
use callvault_records::Provider;
use callvault_webhook::{config, replay, Config};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Re-ingest deliveries kept by callvault")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Re-ingest every spooled delivery and remove each one applied.
    Spool,
    /// Re-try one provider's rejected deliveries of one day.
    Rejected {
        /// hatif, voiceinfra, voki or postcall.
        #[arg(long, value_parser = parse_provider)]
        provider: Provider,
        /// The day they were received, YYYY-MM-DD (UTC); default today.
        #[arg(long, value_parser = parse_day)]
        day: Option<String>,
    },
}

fn parse_provider(s: &str) -> Result<Provider, String> {
    Provider::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            format!("unknown provider `{s}` (expected hatif, voiceinfra, voki or postcall)")
        })
}

fn parse_day(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    let store = config
        .store(&config::sdk_config().await, config::webhook_timeouts())
        .await;
    let report = match cli.command {
        Cmd::Spool => replay::replay_spool(&store)
            .await
            .context("replaying the spool")?,
        Cmd::Rejected { provider, day } => {
            let day = day.unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
            replay::replay_rejected(&store, provider, &day)
                .await
                .context("replaying rejected deliveries")?
        }
    };
    println!(
        "stored {}, already stored {}, kept as rejected {}, failed {}",
        report.stored, report.duplicates, report.kept, report.failed
    );
    if report.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
