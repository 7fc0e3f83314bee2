//! Re-ingestion of kept deliveries: the S3 spool (deliveries that arrived while DynamoDB
//! failed or was too slow) and kept rejected deliveries (for example after a parser fix).
//! Both were authenticated when they arrived, so replay does not authenticate again, and
//! both are applied exactly as a live delivery would have been (same bytes, headers, receive
//! time and authentication), so a replayed table equals one where nothing failed.
//!
//! A spooled object is trusted only as far as the webhook that wrote it: its key's prefix
//! names that webhook (`spool/<webhook>/`; in AWS each webhook's role may write only its own),
//! and an object naming another webhook, or a webhook of another provider, is kept as a
//! rejected delivery with the reason ([`KeptReason::Misfiled`]) instead of applied.

use callvault_catalog::Webhook;
use callvault_records::{ParseError, Provider};
use callvault_runtime::metrics;
use callvault_store::{
    spooled_by, Delivery, PutOutcome, RecordStore, RejectedDelivery, SpooledDelivery, StoreError,
};
use callvault_verify::Verified;
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::adapters::{HatifCall, HatifWhatsApp, PostCall, VoiceInfra, Voki};
use crate::pipeline::{accept, OnFailure};
use crate::{Adapter, KeptReason, Misfiled, Outcome, RequestView};

/// What a replay run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
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

/// The webhook a kept or spooled delivery names; an unknown name means the stored item is
/// corrupt.
pub fn webhook_named(name: &str) -> Result<Webhook, StoreError> {
    Webhook::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("unknown webhook `{name}`")))
}

/// Re-ingests one kept delivery through the adapter of `webhook` (never spooling again).
pub async fn reingest(
    store: &RecordStore,
    webhook: Webhook,
    headers: &[(String, String)],
    verified: &Verified,
    received_at: DateTime<Utc>,
) -> Outcome {
    let headers = &header_map(headers);
    let report = OnFailure::Report;
    let (outcome, _) = match webhook {
        Webhook::VoiceInfra => {
            accept::<VoiceInfra>(store, headers, verified, received_at, report).await
        }
        Webhook::HatifCall => {
            accept::<HatifCall>(store, headers, verified, received_at, report).await
        }
        Webhook::HatifWhatsApp => {
            accept::<HatifWhatsApp>(store, headers, verified, received_at, report).await
        }
        Webhook::Voki => accept::<Voki>(store, headers, verified, received_at, report).await,
        Webhook::PostCall => {
            accept::<PostCall>(store, headers, verified, received_at, report).await
        }
    };
    outcome
}

/// What a kept delivery would become if applied now, without writing anything: its event
/// type and record (`call.completed voki/<id>`), or why it would be kept again.
pub fn preview(
    webhook: Webhook,
    headers: &[(String, String)],
    verified: &Verified,
    received_at: DateTime<Utc>,
) -> Result<String, ParseError> {
    fn parse<A: Adapter>(
        headers: &HeaderMap,
        verified: &Verified,
        received_at: DateTime<Utc>,
    ) -> Result<String, ParseError> {
        let view = RequestView {
            headers,
            query: None,
        };
        let ingested = A::ingest(view, verified, received_at)?;
        let (pk, sk) =
            callvault_store::schema::record_key(&ingested.record, ingested.scope.as_ref());
        Ok(format!("{} {pk} {sk}", ingested.event_type))
    }
    let headers = &header_map(headers);
    match webhook {
        Webhook::VoiceInfra => parse::<VoiceInfra>(headers, verified, received_at),
        Webhook::HatifCall => parse::<HatifCall>(headers, verified, received_at),
        Webhook::HatifWhatsApp => parse::<HatifWhatsApp>(headers, verified, received_at),
        Webhook::Voki => parse::<Voki>(headers, verified, received_at),
        Webhook::PostCall => parse::<PostCall>(headers, verified, received_at),
    }
}

/// Applies one kept delivery again; once applied it leaves the kept deliveries (one still
/// unusable stays, with its reason updated).
pub async fn replay_kept(
    store: &RecordStore,
    rejected: &RejectedDelivery,
) -> Result<Outcome, StoreError> {
    let body = store.kept_body(&rejected.body).await?;
    let outcome = reingest(
        store,
        webhook_named(&rejected.webhook)?,
        &rejected.headers,
        &rejected.verified(body)?,
        rejected.received_at,
    )
    .await;
    if matches!(outcome, Outcome::Accepted(_)) {
        store.delete_item(&rejected.pk, &rejected.sk).await?;
    }
    Ok(outcome)
}

/// How the spooled object at `key` disagrees with itself, if it does: the webhook whose
/// prefix the key is under, the webhook the object names and its provider must agree.
pub fn misfiled(key: &str, spooled: &SpooledDelivery) -> Option<Misfiled> {
    let under = spooled_by(key);
    let named = Webhook::from_name(&spooled.webhook);
    match (under, named) {
        (Some(under), Some(named))
            if under == named.name() && named.provider() == spooled.provider =>
        {
            None
        }
        _ => Some(Misfiled {
            key_webhook: under.map(str::to_owned),
            webhook: spooled.webhook.clone(),
            provider: spooled.provider,
        }),
    }
}

/// Keeps a misfiled spooled object as a rejected delivery, filed under the webhook whose
/// prefix holds it (the only one that could write there), else under the one it names; an
/// object naming no known webhook anywhere is corrupt and stays in the spool.
async fn keep_misfiled(
    store: &RecordStore,
    spooled: &SpooledDelivery,
    misfiled: Misfiled,
) -> Result<Outcome, StoreError> {
    let filed = misfiled
        .key_webhook
        .as_deref()
        .and_then(Webhook::from_name)
        .or_else(|| Webhook::from_name(&misfiled.webhook))
        .ok_or_else(|| StoreError::Corrupt(misfiled.to_string()))?;
    let verified = spooled.verified()?;
    let delivery = Delivery {
        verified: &verified,
        provider: filed.provider(),
        webhook: filed.name(),
        received_at: spooled.received_at,
        headers: spooled.headers.clone(),
    };
    let reason = KeptReason::Misfiled(misfiled);
    tracing::warn!(webhook = filed.name(), reason = %reason, "spooled delivery kept, not applied");
    store.keep_rejected(&delivery, &reason.to_string()).await?;
    Ok(Outcome::Kept(reason))
}

/// The outcome of a replayed spool object kept because it is misfiled (`SpoolReplays`).
pub const MISFILED: &str = "misfiled";

/// Applies one spooled delivery and removes it from the spool once callvault holds it
/// elsewhere (applied, a duplicate, or kept as rejected: also when its key, webhook and
/// provider disagree, see [`misfiled`]). `Ok(None)` when it is no longer in the spool
/// (another replayer got there first); an error when it must stay.
/// Each replay is counted in the `SpoolReplays` metric.
pub async fn replay_spooled(store: &RecordStore, key: &str) -> Result<Option<Outcome>, StoreError> {
    let replayed = apply_spooled(store, key).await;
    match &replayed {
        Ok(Some(Outcome::Kept(KeptReason::Misfiled(_)))) => metrics::spool_replay(MISFILED),
        Ok(Some(outcome)) => metrics::spool_replay(outcome.label()),
        Ok(None) => {}
        Err(_) => metrics::spool_replay(Outcome::STORAGE_FAILED),
    }
    replayed
}

async fn apply_spooled(store: &RecordStore, key: &str) -> Result<Option<Outcome>, StoreError> {
    let Some(spooled) = store.read_spooled(key).await? else {
        return Ok(None);
    };
    let outcome = match misfiled(key, &spooled) {
        Some(misfiled) => keep_misfiled(store, &spooled, misfiled).await?,
        None => {
            reingest(
                store,
                webhook_named(&spooled.webhook)?,
                &spooled.headers,
                &spooled.verified()?,
                spooled.received_at,
            )
            .await
        }
    };
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
        report.count(&replay_kept(store, &rejected).await?);
    }
    Ok(report)
}

/// What invokes the spool replayer function.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ReplayerEvent {
    /// Messages of the spool queue, each an S3 notification of newly spooled objects.
    Queue(QueueEvent),
    /// A scheduled sweep of the whole spool (EventBridge).
    Scheduled(ScheduledSweep),
}

/// An SQS batch, as Lambda delivers it (the fields used here).
#[derive(Debug, Clone, Deserialize)]
pub struct QueueEvent {
    /// The messages.
    #[serde(rename = "Records")]
    pub records: Vec<QueueMessage>,
}

/// One SQS message.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueMessage {
    /// Identifies the message in batch item failures.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// An S3 event notification, as JSON.
    pub body: String,
}

/// A scheduled event (its `detail-type` is `Scheduled Event`).
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledSweep {
    /// `Scheduled Event`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
}

#[derive(Deserialize)]
struct S3Notification {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
struct S3Record {
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

/// The object keys an S3 event notification names. S3 sends keys URL-encoded (a space as
/// `+`); its test notification names none.
fn notified_keys(body: &str) -> Result<Vec<String>, serde_json::Error> {
    let notification: S3Notification = serde_json::from_str(body)?;
    Ok(notification
        .records
        .into_iter()
        .map(|r| {
            form_urlencoded::parse(format!("k={}", r.s3.object.key).as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default()
        })
        .collect())
}

/// Handles one invocation of the spool replayer: applies the spooled deliveries a queue
/// batch names (a message whose deliveries cannot all be applied yet is reported as a batch
/// item failure, so SQS delivers it again after its visibility timeout), or sweeps the whole
/// spool. Answers the batch item failures, or the sweep's [`ReplayReport`].
pub async fn handle_replayer(store: &RecordStore, event: ReplayerEvent) -> serde_json::Value {
    match event {
        ReplayerEvent::Queue(batch) => {
            let mut failures = Vec::new();
            for message in batch.records {
                let keys = match notified_keys(&message.body) {
                    Ok(keys) => keys,
                    Err(e) => {
                        tracing::warn!(message_id = %message.message_id, error = %e, "not an S3 notification; ignored");
                        continue;
                    }
                };
                for key in keys {
                    match replay_spooled(store, &key).await {
                        Ok(outcome) => tracing::info!(
                            spool_key = %key,
                            outcome = outcome.as_ref().map_or("gone", Outcome::label),
                            "spooled delivery replayed"
                        ),
                        Err(error) => {
                            tracing::warn!(spool_key = %key, reason = %error.detail(), "spooled delivery stays; retried later");
                            failures
                                .push(serde_json::json!({ "itemIdentifier": message.message_id }));
                            break;
                        }
                    }
                }
            }
            serde_json::json!({ "batchItemFailures": failures })
        }
        ReplayerEvent::Scheduled(_) => {
            let report = match replay_spool(store).await {
                Ok(report) => report,
                Err(error) => {
                    tracing::error!(reason = %error.detail(), "the spool could not be listed");
                    ReplayReport {
                        failed: 1,
                        ..ReplayReport::default()
                    }
                }
            };
            tracing::info!(
                stored = report.stored,
                duplicates = report.duplicates,
                kept = report.kept,
                failed = report.failed,
                "spool sweep"
            );
            serde_json::json!(report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_object_must_agree_with_its_key() {
        let spooled = |webhook: &str, provider: Provider| SpooledDelivery {
            provider,
            webhook: webhook.to_owned(),
            received_at: chrono::Utc::now(),
            authentication: "signature:k".into(),
            scope: None,
            headers: vec![],
            body_base64: String::new(),
        };
        let key = |webhook: &str| {
            format!(
                "{}2026-11-27/1.json",
                callvault_store::spool_prefix(webhook)
            )
        };
        let voki = spooled("voki", Provider::Voki);
        assert_eq!(misfiled(&key("voki"), &voki), None);
        for (key, spooled) in [
            (key("voki"), spooled("hatif-call", Provider::Hatif)),
            (
                key("hatif-call"),
                spooled("hatif-whatsapp", Provider::Hatif),
            ),
            (key("hatif-call"), spooled("hatif-call", Provider::Voki)),
            (key("hatif"), spooled("hatif-call", Provider::Hatif)),
            ("spool/x.json".to_owned(), voki.clone()),
        ] {
            let misfiled = misfiled(&key, &spooled).expect(&key);
            assert_eq!(misfiled.webhook, spooled.webhook);
            assert!(
                misfiled.to_string().starts_with("not applied: spooled "),
                "{misfiled}"
            );
        }
    }

    #[test]
    fn reads_queue_batches_of_s3_notifications_and_schedules() {
        let event: ReplayerEvent = serde_json::from_value(serde_json::json!({"Records": [{
            "messageId": "m1", "receiptHandle": "r", "eventSource": "aws:sqs",
            "body": r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"spool/voki/2026-11-27/100000.000-ab+cd%2B.json","size":10}}}]}"#
        }]}))
        .expect("queue event");
        let ReplayerEvent::Queue(batch) = event else {
            panic!("queue")
        };
        assert_eq!(
            notified_keys(&batch.records[0].body).expect("notification"),
            ["spool/voki/2026-11-27/100000.000-ab cd+.json"]
        );
        assert_eq!(
            notified_keys(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).expect("test"),
            Vec::<String>::new()
        );
        let event: ReplayerEvent = serde_json::from_value(
            serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
        )
        .expect("scheduled");
        assert!(matches!(event, ReplayerEvent::Scheduled(_)));
    }
}
