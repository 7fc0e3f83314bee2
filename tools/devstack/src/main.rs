//! `callvault-devstack`: helpers for the local stack that `make dev` and `make test` run.
//!
//! - `provision`: creates the table and bucket in the emulator from `callvault_store::schema`
//!   (the same definition the infrastructure template is checked against); idempotent.
//! - `example`: prints a ready-to-paste signed `curl` for a provider's seed payload.

use std::path::PathBuf;

use anyhow::{bail, Context};
use callvault_store::{schema, DynamoDbClient, S3Client};
use callvault_verify::{HmacSha256Hex, Keyring};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Local development stack helper for callvault")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the table (with stream) and the archive bucket if they do not exist.
    Provision {
        /// Table name.
        #[arg(long, env = "TABLE_NAME", default_value = schema::DEFAULT_TABLE)]
        table: String,
        /// Bucket name.
        #[arg(long, env = "BUCKET_NAME", default_value = schema::DEFAULT_BUCKET)]
        bucket: String,
    },
    /// Print a signed curl command that posts a payload file to a function URL.
    Example {
        /// Function URL to post to.
        #[arg(long)]
        url: String,
        /// Payload file (sent byte for byte).
        #[arg(long)]
        payload: PathBuf,
        /// Signature header name.
        #[arg(long)]
        header: String,
        /// Environment variable holding the provider's secrets JSON.
        #[arg(long)]
        secrets_var: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Provision { table, bucket } => provision(&table, &bucket).await,
        Cmd::Example {
            url,
            payload,
            header,
            secrets_var,
        } => {
            let body = std::fs::read(&payload).with_context(|| format!("reading {}", payload.display()))?;
            let keyring = Keyring::from_json(&std::env::var(&secrets_var).with_context(|| format!("{secrets_var} is not set"))?)?;
            let Some((_, secret)) = keyring.default_set().and_then(|s| s.iter().next()) else {
                bail!("{secrets_var} has no default secret");
            };
            let signature = HmacSha256Hex::BARE.sign(secret, &body);
            println!(
                "curl -sS -X POST '{url}' -H 'Content-Type: application/json' -H '{header}: {signature}' --data-binary @{}",
                payload.display()
            );
            Ok(())
        }
    }
}

async fn provision(table: &str, bucket: &str) -> anyhow::Result<()> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ddb = DynamoDbClient::new(&sdk);
    let exists = ddb.describe_table().table_name(table).send().await.is_ok();
    if !exists {
        schema::create_table(&ddb, table).await?;
    }
    let s3 = S3Client::new(&sdk);
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        schema::create_bucket(&s3, bucket).await?;
    }
    println!("table {table} and bucket {bucket} are ready");
    Ok(())
}
