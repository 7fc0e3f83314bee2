//! The recording copier's handler: a batch of DynamoDB stream records, each naming a record
//! with files waiting (the event source mapping filters on `files_pending`).
//!
//! For each record the item is read again (consistent read: the stream image may be stale),
//! every pending file is copied, and the outcome is written back to the record's `files`
//! map. A transient failure leaves the file pending with one more attempt counted (the write
//! re-triggers the stream); after [`MAX_ATTEMPTS`] it is marked failed. Storage errors are
//! reported as batch item failures so Lambda retries just those records.

use std::collections::HashMap;
use std::time::Instant;

use callvault_store::files::{FileState, FileStatus};
use callvault_store::RecordStore;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Copier, CopyError};

/// Copy attempts (each with its own retries) before a file is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// A DynamoDB stream event as Lambda delivers it (only the fields used here).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StreamEvent {
    /// The records of the batch.
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One stream record.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamRecord {
    /// The change.
    pub dynamodb: Change,
}

/// The change a stream record describes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Change {
    /// The item's key, in DynamoDB JSON (`{"pk": {"S": "..."}}`).
    #[serde(rename = "Keys", default)]
    pub keys: HashMap<String, Value>,
    /// Position in the shard; identifies the record in batch item failures.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: Option<String>,
}

impl Change {
    fn key(&self, name: &str) -> Option<&str> {
        self.keys.get(name)?.get("S")?.as_str()
    }
}

/// The partial-batch response (`ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Records to retry.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One record to retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFailure {
    /// The record's sequence number.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Handles one batch.
pub async fn handle(copier: &Copier, store: &RecordStore, event: StreamEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in event.records {
        let (Some(pk), Some(sk)) = (record.dynamodb.key("pk"), record.dynamodb.key("sk")) else {
            tracing::warn!("stream record without pk/sk ignored");
            continue;
        };
        if let Err(e) = archive_record(copier, store, pk, sk).await {
            tracing::error!(pk, error = %e, "could not record copy results; the batch item will be retried");
            if let Some(seq) = record.dynamodb.sequence_number {
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: seq,
                });
            }
        }
    }
    response
}

/// Copies every pending file of the record at `(pk, sk)` and records the outcomes.
pub async fn archive_record(
    copier: &Copier,
    store: &RecordStore,
    pk: &str,
    sk: &str,
) -> Result<(), callvault_store::StoreError> {
    let Some(stored) = store.get_item(pk, sk).await? else {
        return Ok(());
    };
    let provider = stored.record.provider();
    for (kind, file) in stored
        .files
        .iter()
        .filter(|(_, f)| f.status == FileStatus::Pending)
    {
        let started = Instant::now();
        let result = copier
            .copy(provider.as_str(), &file.source_url, &file.s3_key)
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(up) => tracing::info!(
                pk,
                kind = kind.as_str(),
                outcome = "copied",
                size = up.size,
                parts = up.parts,
                latency_ms,
                "file"
            ),
            Err(e) => {
                tracing::warn!(pk, kind = kind.as_str(), outcome = if e.is_transient() { "retry" } else { "failed" }, error = %e, latency_ms, "file")
            }
        }
        let source_url = file.source_url.clone();
        store
            .update_files(pk, sk, |files| {
                if let Some(state) = files.get_mut(kind) {
                    // Only the file that was copied: a newer delivery may have changed it.
                    if state.source_url == source_url && state.status == FileStatus::Pending {
                        apply(state, &result);
                    }
                }
            })
            .await?;
    }
    Ok(())
}

fn apply(state: &mut FileState, result: &Result<crate::upload::Uploaded, CopyError>) {
    state.attempts += 1;
    match result {
        Ok(up) => {
            state.status = FileStatus::Copied;
            state.size = Some(up.size);
            state.sha256 = Some(up.sha256.clone());
            state.content_type = Some(up.content_type.clone());
            state.copied_at = Some(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
            state.error = None;
        }
        Err(e) => {
            state.error = Some(e.to_string());
            if !e.is_transient() || state.attempts >= MAX_ATTEMPTS {
                state.status = FileStatus::Failed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lambda_stream_events() {
        let event: StreamEvent = serde_json::from_str(
            r#"{"Records":[{"eventID":"1","eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"CALL#voki#c1"},"sk":{"S":"CALL"}},
            "NewImage":{"files_pending":{"BOOL":true}},"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_IMAGE"}}]}"#,
        )
        .expect("event");
        assert_eq!(event.records[0].dynamodb.key("pk"), Some("CALL#voki#c1"));
        assert_eq!(event.records[0].dynamodb.key("sk"), Some("CALL"));
        assert_eq!(
            event.records[0].dynamodb.sequence_number.as_deref(),
            Some("111")
        );
    }

    #[test]
    fn outcomes_update_the_file_state() {
        let fresh = || FileState::pending("https://h/a", "k");
        let mut s = fresh();
        apply(&mut s, &Err(CopyError::Status(503)));
        assert_eq!((s.status, s.attempts), (FileStatus::Pending, 1));
        for _ in 1..MAX_ATTEMPTS {
            apply(&mut s, &Err(CopyError::Timeout));
        }
        assert_eq!((s.status, s.attempts), (FileStatus::Failed, MAX_ATTEMPTS));
        let mut s = fresh();
        apply(&mut s, &Err(CopyError::Status(404)));
        assert_eq!(s.status, FileStatus::Failed);
        assert_eq!(s.error.as_deref(), Some("source answered HTTP 404"));
    }
}
