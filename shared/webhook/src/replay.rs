//! Re-ingestion of kept deliveries: the S3 spool (deliveries that arrived while DynamoDB was
//! unavailable) and kept rejected deliveries (for example after a parser fix). Both were
//! authenticated when they arrived, so replay does not authenticate again.

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::Provider;
use callvault_store::{PutOutcome, RecordStore, StoreError};
use callvault_verify::{Authentication, Verified};
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};

use crate::adapters::{HatifCall, HatifWhatsApp, PostCall, VoiceInfra, Voki};
use crate::pipeline::accept;
use crate::Outcome;

/// What a replay run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Deliveries applied to their records.
    pub stored: usize,
    /// Deliveries that had already been applied.
    pub duplicates: usize,
    /// Deliveries still rejected (kept, with their reason).
    pub still_rejected: usize,
    /// Deliveries that failed on storage and stay where they were.
    pub failed: usize,
}

impl ReplayReport {
    fn count(&mut self, outcome: &Outcome) -> bool {
        match outcome {
            Outcome::Accepted(PutOutcome::Stored) => self.stored += 1,
            Outcome::Accepted(PutOutcome::Duplicate) => self.duplicates += 1,
            Outcome::Rejected(_) => self.still_rejected += 1,
            _ => {
                self.failed += 1;
                return false;
            }
        }
        true
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
    headers: &HeaderMap,
    verified: &Verified,
    received_at: DateTime<Utc>,
) -> Result<Outcome, String> {
    let (outcome, _) = match webhook {
        "voiceinfra" => accept::<VoiceInfra>(store, headers, verified, received_at, false).await,
        "hatif-call" => accept::<HatifCall>(store, headers, verified, received_at, false).await,
        "hatif-whatsapp" => {
            accept::<HatifWhatsApp>(store, headers, verified, received_at, false).await
        }
        "voki" => accept::<Voki>(store, headers, verified, received_at, false).await,
        "postcall" => accept::<PostCall>(store, headers, verified, received_at, false).await,
        other => return Err(format!("unknown webhook `{other}`")),
    };
    Ok(outcome)
}

/// Re-ingests every spooled delivery; each one applied (or found already applied) is removed
/// from the spool, the others stay for the next run.
pub async fn replay_spool(store: &RecordStore) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport::default();
    for key in store.spooled_keys().await? {
        let spooled = store.read_spooled(&key).await?;
        let verified = spooled.verified()?;
        let outcome = reingest(
            store,
            &spooled.webhook,
            &header_map(&spooled.headers),
            &verified,
            spooled.received_at,
        )
        .await
        .map_err(StoreError::Corrupt)?;
        if report.count(&outcome) {
            store.remove_spooled(&key).await?;
        }
    }
    Ok(report)
}

/// Re-tries the rejected deliveries one provider's webhook kept on `day` (`YYYY-MM-DD`). A
/// delivery that now parses is applied and its rejected entry removed; one that still does
/// not stays, with the reason updated.
pub async fn replay_rejected(
    store: &RecordStore,
    provider: Provider,
    day: &str,
) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport::default();
    let pk = callvault_store::schema::rejected_pk(provider, day);
    for item in store.query_prefix(&pk, "").await? {
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let body = match (item.get("body"), item.get("body_s3_uri")) {
            (Some(AttributeValue::B(b)), _) => b.as_ref().to_vec(),
            (_, Some(AttributeValue::S(uri))) => store.get_object(uri).await?,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "rejected item in {pk} has no body"
                )))
            }
        };
        let auth: Authentication = text("authentication")
            .parse()
            .map_err(StoreError::Corrupt)?;
        let received_at = text("received_at").parse().unwrap_or_else(|_| Utc::now());
        let headers: Vec<(String, String)> = item
            .get("headers")
            .and_then(|h| h.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let verified = Verified::reinstate(body, auth);
        let outcome = reingest(
            store,
            &text("webhook"),
            &header_map(&headers),
            &verified,
            received_at,
        )
        .await
        .map_err(StoreError::Corrupt)?;
        let applied = matches!(outcome, Outcome::Accepted(_));
        report.count(&outcome);
        if applied {
            store.delete_item(&pk, &text("sk")).await?;
        }
    }
    Ok(report)
}
