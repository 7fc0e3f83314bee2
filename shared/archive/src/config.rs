//! The recording copier's configuration, read from the environment at cold start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use aws_config::timeout::TimeoutConfig;

use crate::guard::{AddressPolicy, SystemResolver};
use crate::source::{HttpSource, SourcePolicy};
use crate::stream::RetrySchedule;
use crate::upload::UploadConfig;
use crate::{Copier, RetryPolicy, Sources};

/// Timeouts of the copier's table client: short, so an outcome is recorded (or its failure
/// reported) well before the invocation ends.
pub fn table_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

/// Timeouts of the copier's S3 client, which uploads parts of up to `COPIER_PART_SIZE_MIB`.
pub fn upload_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(180))
        .build()
}

/// The retry schedule from `COPIER_RETRY_DELAYS` (comma-separated durations such as
/// `1m,5m,15m,1h,4h`; the default), the delays after each failed attempt.
pub fn retry_schedule_from_env() -> anyhow::Result<RetrySchedule> {
    match std::env::var("COPIER_RETRY_DELAYS") {
        Err(_) => Ok(RetrySchedule::default()),
        Ok(list) => list
            .split(',')
            .map(|d| humantime::parse_duration(d.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(RetrySchedule::new)
            .with_context(|| {
                format!("COPIER_RETRY_DELAYS={list:?}: expected durations like 1m,5m,15m,1h,4h")
            }),
    }
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Builds the copier from `BUCKET_NAME` and the `COPIER_*` variables (see the README):
/// `COPIER_ALLOWED_HOSTS` (JSON `{"<provider>": ["host", ".domain"]}`, `"*"` for every
/// provider without its own list),
/// `COPIER_ALLOW_LOOPBACK` (development only), `COPIER_MAX_BYTES`,
/// `COPIER_TIMEOUT_SECONDS`, `COPIER_PART_SIZE_MIB`, `COPIER_PARTS_IN_FLIGHT`.
pub fn copier_from_env(s3: aws_sdk_s3::Client) -> anyhow::Result<Copier> {
    let bucket = std::env::var("BUCKET_NAME")
        .ok()
        .filter(|b| !b.is_empty())
        .context("BUCKET_NAME is not set")?;
    let allow_loopback = match std::env::var("COPIER_ALLOW_LOOPBACK").as_deref() {
        Err(_) | Ok("" | "false" | "0") => false,
        Ok("true" | "1") => {
            tracing::warn!(
                "COPIER_ALLOW_LOOPBACK is set: loopback sources are allowed (development only)"
            );
            true
        }
        Ok(other) => bail!("COPIER_ALLOW_LOOPBACK={other:?}: expected true or false"),
    };
    let base = SourcePolicy {
        addresses: AddressPolicy { allow_loopback },
        max_bytes: number("COPIER_MAX_BYTES", SourcePolicy::default().max_bytes)?,
        total_timeout: Duration::from_secs(number("COPIER_TIMEOUT_SECONDS", 600)?),
        ..SourcePolicy::default()
    };
    let resolver = Arc::new(SystemResolver);
    let mut lists: HashMap<String, Vec<String>> = match std::env::var("COPIER_ALLOWED_HOSTS") {
        Ok(json) => serde_json::from_str(&json)
            .context("COPIER_ALLOWED_HOSTS must be JSON {\"<provider>\": [\"host\", ...]}")?,
        Err(_) => HashMap::new(),
    };
    let default_policy = SourcePolicy {
        allowed_hosts: lists.remove("*"),
        ..base.clone()
    };
    let mut sources = Sources::uniform(HttpSource::new(default_policy, resolver.clone())?);
    for (provider, hosts) in lists {
        let policy = SourcePolicy {
            allowed_hosts: Some(hosts),
            ..base.clone()
        };
        sources = sources.with_provider(&provider, HttpSource::new(policy, resolver.clone())?);
    }
    let part_size_mib: usize = number("COPIER_PART_SIZE_MIB", 8)?;
    if part_size_mib < 5 {
        bail!("COPIER_PART_SIZE_MIB must be at least 5 (S3's minimum part size)");
    }
    let upload = UploadConfig {
        part_size: part_size_mib * 1024 * 1024,
        max_in_flight: number("COPIER_PARTS_IN_FLIGHT", 4)?,
    };
    Ok(Copier::new(
        sources,
        s3,
        bucket,
        upload,
        RetryPolicy::default(),
    ))
}
