//! What every function starts with: its table and bucket from the environment ([`Config`]),
//! the AWS SDK configuration ([`sdk_config`]), the store over them ([`Config::store`]), JSON
//! logs ([`telemetry`]), metrics ([`metrics`]), and the invocation's time left
//! ([`time_left`]). The webhooks, the copier, the spool replayer and the query API all wire
//! themselves from here.

pub mod metrics;
pub mod telemetry;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use callvault_store::retention::{self, Retention};
use callvault_store::RecordStore;

/// The resources every function works on.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`, required).
    pub table_name: String,
    /// S3 archive bucket (`BUCKET_NAME`, required).
    pub bucket_name: String,
    /// How long records, their delivery events and kept deliveries are kept
    /// (`RECORD_RETENTION_DAYS`, `KEPT_RETENTION_DAYS`: days, `0` or unset for forever).
    pub retention: Retention,
}

impl Config {
    /// Reads `TABLE_NAME`, `BUCKET_NAME` and the retention in days
    /// ([`callvault_store::retention`]'s variables).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            bucket_name: required("BUCKET_NAME")?,
            retention: Retention::days(
                days(retention::RECORD_RETENTION_ENV)?,
                days(retention::KEPT_RETENTION_ENV)?,
            ),
        })
    }

    /// Builds the store with clients bounded by `timeouts` and the configured retention, and
    /// makes one request so the first delivery finds a warm connection. A table that does not
    /// answer is logged, not fatal: deliveries are then spooled, which a function that failed
    /// to start could not do.
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
        )
        .with_retention(self.retention);
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

/// A non-empty environment variable.
fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{name} is not set"))
}

/// A number of days from the environment: `0` when unset or empty.
fn days(name: &str) -> anyhow::Result<u32> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().with_context(|| {
            format!("{name}={v:?}: expected a whole number of days (0 keeps forever)")
        }),
        _ => Ok(0),
    }
}

/// How long a cold start waits for its warm-up request.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1000);

/// The standard AWS SDK configuration (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Time left before an invocation's deadline, which Lambda passes as epoch milliseconds.
/// `None` for a deadline that had already passed when the invocation arrived: not a real one
/// (local emulators such as `cargo lambda watch` send a constant).
pub fn time_left(deadline_epoch_ms: u64) -> Option<Duration> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    Some(Duration::from_millis(deadline_epoch_ms).checked_sub(now)?).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_in_the_past_are_not_real() {
        assert_eq!(time_left(600_000), None);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let left = time_left(now + 10_000).expect("in the future");
        assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10));
    }
}
