//! Configuration read from the environment at cold start.

use std::time::Duration;

use anyhow::{bail, Context};
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use std::sync::Arc;

use callvault_store::RecordStore;

use crate::adapters::Signing;
use crate::secrets::Secrets;
use crate::Budget;

/// Default request body limit (1 MiB): room for long transcripts with word timings; bodies
/// over 48 KiB are kept in S3 rather than in the table. Function URLs cap requests at 6 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings shared by every webhook function.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`, required).
    pub table_name: String,
    /// S3 archive bucket (`BUCKET_NAME`, required).
    pub bucket_name: String,
    /// Largest accepted body in bytes (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
}

impl Config {
    /// Reads `TABLE_NAME`, `BUCKET_NAME` and `MAX_BODY_BYTES`.
    pub fn from_env() -> anyhow::Result<Self> {
        let required = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .with_context(|| format!("{name} is not set"))
        };
        let table_name = required("TABLE_NAME")?;
        let bucket_name = required("BUCKET_NAME")?;
        let max_body_bytes = match std::env::var("MAX_BODY_BYTES") {
            Ok(v) => v
                .parse()
                .with_context(|| format!("MAX_BODY_BYTES={v:?} is not a byte count"))?,
            Err(_) => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Self {
            table_name,
            bucket_name,
            max_body_bytes,
        })
    }

    /// Builds the store with clients bounded by `timeouts`, and makes one request so the
    /// first delivery finds a warm connection. A table that does not answer is logged, not
    /// fatal: deliveries are then spooled, which a function that failed to start could not do.
    pub async fn store(&self, sdk: &SdkConfig, timeouts: TimeoutConfig) -> RecordStore {
        let store = RecordStore::new(
            callvault_store::DynamoDbClient::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk)
                    .timeout_config(timeouts.clone())
                    .build(),
            ),
            callvault_store::S3Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .timeout_config(timeouts)
                    .build(),
            ),
            &self.table_name,
            &self.bucket_name,
        );
        match tokio::time::timeout(WARM_UP_TIMEOUT, store.warm_up()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(table = %self.table_name, reason = %e.detail(), "the table did not answer at start; deliveries are spooled until it does")
            }
            Err(_) => {
                tracing::error!(table = %self.table_name, "the table did not answer within {WARM_UP_TIMEOUT:?} at start; deliveries are spooled until it does")
            }
        }
        store
    }
}

/// Loads what parsing loads lazily (phone-number metadata) on a blocking thread, so that a
/// cold start pays for it alongside its network requests, not the first delivery.
pub async fn preload() {
    if let Err(e) = tokio::task::spawn_blocking(callvault_records::PhoneNumber::load_metadata).await
    {
        tracing::warn!(error = %e, "preloading phone-number metadata failed; the first delivery loads it");
    }
}

/// How long a cold start waits for its warm-up request.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1000);

/// Timeouts of a webhook function's AWS clients, sized from [`Budget::DEFAULT`]: a
/// connection or attempt that does not answer is abandoned soon enough for a retry to fit the
/// store budget, and no operation outlives it.
pub fn webhook_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Budget::DEFAULT.store)
        .build()
}

/// The standard AWS SDK configuration (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Loads a provider's secrets (see [`Secrets`]), which the function then keeps current.
pub async fn secrets(sdk: &SdkConfig, var: &str) -> anyhow::Result<Arc<Secrets>> {
    Ok(Arc::new(Secrets::load(sdk, var).await?))
}

/// Signing for a provider whose secret is optional (Hatif, VoiceInfra): the secret is still
/// required unless `ALLOW_UNSIGNED=true` is set and no secret is configured, which is logged
/// loudly at start. A configured secret is always enforced.
pub async fn signing(sdk: &SdkConfig, var: &str) -> anyhow::Result<Signing> {
    let configured =
        std::env::var_os(var).is_some() || std::env::var_os(format!("{var}_ARN")).is_some();
    if !configured && allow_unsigned()? {
        tracing::warn!(
            variable = var,
            "ALLOW_UNSIGNED is set and no secret is configured: accepting UNSIGNED deliveries; anyone who finds this URL can write records"
        );
        return Ok(Signing::AllowUnsigned);
    }
    Ok(Signing::Required(secrets(sdk, var).await?))
}

fn allow_unsigned() -> anyhow::Result<bool> {
    match std::env::var("ALLOW_UNSIGNED").as_deref() {
        Err(_) | Ok("" | "false" | "0") => Ok(false),
        Ok("true" | "1") => Ok(true),
        Ok(other) => bail!("ALLOW_UNSIGNED={other:?}: expected true or false"),
    }
}
