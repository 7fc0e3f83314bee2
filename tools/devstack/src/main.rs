//! `callvault-devstack`: helpers for the local stack that `make dev` and `make test` run.
//!
//! - `provision`: creates the table and bucket in the emulator from `callvault_store::schema`
//!   (the same definition the infrastructure template is checked against); idempotent.
//! - `functions`: lists the webhook functions (for scripts).
//! - `pump`: does locally what AWS's event plumbing does: feeds the table's stream to the
//!   recording copier (the event source mapping), starts its sweeps (the schedule), and hands
//!   spooled deliveries to the spool replayer (the bucket's notifications and the queue).

mod pump;

use anyhow::Context;
use callvault_catalog::Webhook;
use callvault_store::{schema, DynamoDbClient, S3Client};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Local development stack helper for callvault")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the table (with stream), the archive bucket and the webhook secrets (from the
    /// development values) if they do not exist.
    Provision {
        /// The local stack's name: secrets are `<stack>/<webhook secret>`.
        #[arg(long, default_value = "callvault")]
        stack: String,
        /// Table name.
        #[arg(long, env = "TABLE_NAME", default_value = schema::DEFAULT_TABLE)]
        table: String,
        /// Bucket name.
        #[arg(long, env = "BUCKET_NAME", default_value = schema::DEFAULT_BUCKET)]
        bucket: String,
    },
    /// List the webhook functions, one per line (for scripts).
    Functions,
    /// Feed the table's stream to the recording copier through cargo lambda watch.
    Pump {
        /// Table name.
        #[arg(long, env = "TABLE_NAME", default_value = schema::DEFAULT_TABLE)]
        table: String,
        /// Bucket name.
        #[arg(long, env = "BUCKET_NAME", default_value = schema::DEFAULT_BUCKET)]
        bucket: String,
        /// cargo lambda watch's invoke API, under which each function is
        /// `<base>/<function>/invocations`.
        #[arg(long, default_value = "http://127.0.0.1:9000/2015-03-31/functions")]
        invoke_base: String,
        /// Seconds between the copier's sweeps (AWS: every minute).
        #[arg(long, default_value_t = 5)]
        sweep_seconds: u64,
        /// Seconds an invocation may take before it counts as failed (AWS: the function's
        /// timeout; an invocation whose function process died is never answered locally).
        #[arg(long, env = "PUMP_INVOKE_TIMEOUT_SECONDS", default_value_t = 900)]
        invoke_timeout_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Provision {
            table,
            bucket,
            stack,
        } => provision(&table, &bucket, &stack).await,
        Cmd::Functions => {
            for webhook in Webhook::ALL {
                println!("{webhook}");
            }
            Ok(())
        }
        Cmd::Pump {
            table,
            bucket,
            invoke_base,
            sweep_seconds,
            invoke_timeout_seconds,
        } => {
            pump::run(
                &table,
                &bucket,
                &invoke_base,
                std::time::Duration::from_secs(sweep_seconds),
                std::time::Duration::from_secs(invoke_timeout_seconds),
            )
            .await
        }
    }
}

async fn provision(table: &str, bucket: &str, stack: &str) -> anyhow::Result<()> {
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
    // The webhook secrets, as the template creates them (`<stack>/<name>`), holding the
    // development values of dev.env.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut created = std::collections::BTreeSet::new();
    for webhook in Webhook::ALL {
        let name = format!("{stack}/{}", webhook.secret_name());
        if !created.insert(name.clone()) {
            continue;
        }
        let value = std::env::var(webhook.secret_var())
            .with_context(|| format!("{} is not set (dev.env)", webhook.secret_var()))?;
        if secrets
            .describe_secret()
            .secret_id(&name)
            .send()
            .await
            .is_err()
        {
            secrets
                .create_secret()
                .name(&name)
                .secret_string(value)
                .send()
                .await
                .with_context(|| format!("creating secret {name}"))?;
        }
    }
    println!("table {table}, bucket {bucket} and secrets {stack}/* are ready");
    Ok(())
}
