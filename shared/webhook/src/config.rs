//! A webhook function's own settings, read at cold start: body limit, client timeouts,
//! secrets and signing. The table, bucket and SDK configuration come from `callvault_runtime`.

use std::time::Duration;

use anyhow::{bail, Context};
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use std::sync::Arc;

use crate::adapters::Signing;
use crate::secrets::Secrets;
use crate::Budget;

/// Default request body limit (1 MiB): room for long transcripts with word timings; bodies
/// over 48 KiB are kept in S3 rather than in the table. Function URLs cap requests at 6 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The largest accepted body in bytes: `MAX_BODY_BYTES`, or [`DEFAULT_MAX_BODY_BYTES`].
pub fn max_body_bytes() -> anyhow::Result<usize> {
    match std::env::var("MAX_BODY_BYTES") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("MAX_BODY_BYTES={v:?} is not a byte count")),
        Err(_) => Ok(DEFAULT_MAX_BODY_BYTES),
    }
}

/// Starts loading what parsing loads lazily (phone-number metadata, 12-17 ms of CPU) on a
/// blocking thread at once, so that a cold start pays for it alongside building its clients
/// and its network requests, not on the first delivery. Await the returned future before
/// serving.
pub fn preload() -> impl std::future::Future<Output = ()> {
    let loading = tokio::task::spawn_blocking(callvault_records::PhoneNumber::load_metadata);
    async move {
        if let Err(e) = loading.await {
            tracing::warn!(error = %e, "preloading phone-number metadata failed; the first delivery loads it");
        }
    }
}

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
