//! Re-ingestion of kept deliveries: the S3 spool (deliveries that arrived while DynamoDB
//! failed or was too slow) and kept rejected deliveries (for example after a parser fix).
//! Both were authenticated when they arrived, so replay does not authenticate again, and
//! both are applied exactly as a live delivery would have been (same bytes, headers, receive
//! time and authentication), so a replayed table equals one where nothing failed.

use callvault_records::Provider;
use callvault_store::{PutOutcome, RecordStore, StoreError};
use callvault_verify::Verified;
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};

use crate::adapters::{HatifCall, HatifWhatsApp, PostCall, VoiceInfra, Voki};
use crate::pipeline::{accept, OnFailure};
use crate::Outcome;

/// What a replay run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Deliveries applied to their records.
    pub stored: usize,
    /// Deliveries that had already been applied.
    pub duplicates: usize,
    /// Deliveries kept as rejected (with their reason): they cannot become records.
    pub kept: usize,
    /// Deliveries that failed on storage and stay where they were.
    pub failed: usize,
}

impl ReplayReport {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Accepted(PutOutcome::Stored) => self.stored += 1,
            Outcome::Accepted(PutOutcome::Duplicate) => self.duplicates += 1,
            Outcome::Kept(_) => self.kept += 1,
            _ => self.failed += 1,
        }
    }
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                HeaderName::try_from(k.as_str()).ok()?,
                HeaderValue::try_from(v.as_str()).ok()?,
            ))
        })
        .collect()
}

/// Re-ingests one kept delivery through the adapter of `webhook` (never spooling again).
pub async fn reingest(
    store: &RecordStore,
    webhook: &str,
    headers: &[(String, String)],
    verified: &Verified,
    received_at: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let headers = &header_map(headers);
    let (outcome, _) = match webhook {
        "voiceinfra" => {
            accept::<VoiceInfra>(store, headers, verified, received_at, OnFailure::Report).await
        }
        "hatif-call" => {
            accept::<HatifCall>(store, headers, verified, received_at, OnFailure::Report).await
        }
        "hatif-whatsapp" => {
            accept::<HatifWhatsApp>(store, headers, verified, received_at, OnFailure::Report).await
        }
        "voki" => accept::<Voki>(store, headers, verified, received_at, OnFailure::Report).await,
        "postcall" => {
            accept::<PostCall>(store, headers, verified, received_at, OnFailure::Report).await
        }
        other => return Err(StoreError::Corrupt(format!("unknown webhook `{other}`"))),
    };
    Ok(outcome)
}

/// Applies one spooled delivery and removes it from the spool once callvault holds it
/// elsewhere (applied, a duplicate, or kept as rejected). `Ok(None)` when it is no longer
/// in the spool (another replayer got there first); an error when it must stay.
pub async fn replay_spooled(store: &RecordStore, key: &str) -> Result<Option<Outcome>, StoreError> {
    let Some(spooled) = store.read_spooled(key).await? else {
        return Ok(None);
    };
    let outcome = reingest(
        store,
        &spooled.webhook,
        &spooled.headers,
        &spooled.verified()?,
        spooled.received_at,
    )
    .await?;
    match outcome {
        Outcome::StorageFailed(error) => Err(error),
        outcome => {
            store.remove_spooled(key).await?;
            Ok(Some(outcome))
        }
    }
}

/// Re-ingests every spooled delivery; each one applied (or kept) is removed from the spool,
/// the others stay for the next run.
pub async fn replay_spool(store: &RecordStore) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport::default();
    for key in store.spooled_keys().await? {
        match replay_spooled(store, &key).await {
            Ok(Some(outcome)) => report.count(&outcome),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(spool_key = %key, reason = %error.detail(), "spooled delivery stays for the next run");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Re-tries the rejected deliveries one provider's webhooks kept on `day` (`YYYY-MM-DD`). A
/// delivery that now applies is removed from the kept ones; one that still does not stays,
/// with its reason updated.
pub async fn replay_rejected(
    store: &RecordStore,
    provider: Provider,
    day: &str,
) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport::default();
    for rejected in store.rejected(provider, day).await? {
        let body = store.kept_body(&rejected.body).await?;
        let outcome = reingest(
            store,
            &rejected.webhook,
            &rejected.headers,
            &rejected.verified(body)?,
            rejected.received_at,
        )
        .await?;
        report.count(&outcome);
        if matches!(outcome, Outcome::Accepted(_)) {
            store.delete_item(&rejected.pk, &rejected.sk).await?;
        }
    }
    Ok(report)
}
