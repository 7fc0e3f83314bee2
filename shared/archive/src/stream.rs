//! The recording copier's handler. Two kinds of invocation reach it:
//!
//! - a batch of DynamoDB stream records, each naming a record with files due (the event
//!   source mapping filters on `files_pending`): a file's first attempt, right after the
//!   delivery that brought it; or an item DynamoDB deleted at its expiry (a `REMOVE` by the
//!   service itself, [`StreamRecord::is_expiry`]), whose archived files and raw body are then
//!   deleted, every version ([`Archiver::remove_expired`]);
//! - a scheduled sweep (every minute in AWS), which reads the records due by now from the
//!   sparse due index (`by_files_due`, oldest first, bounded per run; records whose files wait
//!   for a later time are not read) and tries their due files: every later attempt, spaced by
//!   the [`RetrySchedule`], anything a stream batch left for lack of time, and any file whose
//!   copier stopped before recording an outcome.
//!
//! For each record the item is read again (consistent read: the stream image and the index
//! may be stale). Each due file is claimed before it is fetched (a write conditional on the
//! record's version, owned by the invocation's request id, expiring at the invocation's
//! deadline), so one copier at a time fetches a file and the others skip it; the claim is
//! released when the outcome is written back to the record's `files` map, before the
//! invocation ends: copied; pending with the attempt counted and the time of the next one; or
//! failed after the last attempt (or at once for a permanent failure). Each outcome is one
//! log event ([`FILE_OUTCOME_EVENT`]) and one count of the `Files` metric. Storage
//! errors are reported as batch item failures so Lambda retries just those records.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use callvault_runtime::metrics;
use callvault_store::expiry::image_from_json;
use callvault_store::files::{FileState, FileStatus};
use callvault_store::{claim, timestamp, ClaimOutcome, FileClaim, RecordStore, StoreError, Stored};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::upload::Uploaded;
use crate::{Copier, CopyError};

/// When failed copy attempts are tried again: the delay after each failed attempt. A file
/// that still fails after the last delay's attempt is marked failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// 1, 5, 15, 60 and 240 minutes: six attempts over about five hours and twenty minutes,
    /// so an outage of the provider's file hosting of up to a few hours does not lose a file.
    fn default() -> Self {
        Self::new(
            [1, 5, 15, 60, 240]
                .map(|m| Duration::from_secs(m * 60))
                .to_vec(),
        )
    }
}

impl RetrySchedule {
    /// A schedule with these delays.
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// Attempts per file, the first included.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// The wait before the next attempt after `attempts` failed ones, or `None` when that was
    /// the last.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        self.delays.get(index).copied()
    }
}

/// Time kept back from the invocation's deadline to record a copy's outcome.
const RECORD_MARGIN: Duration = Duration::from_secs(20);
/// A copy is not started with less time than this left; the file waits for the next sweep.
const MIN_COPY_TIME: Duration = Duration::from_secs(10);
/// Due records a sweep reads, at most (the oldest due first).
const SWEEP_LIMIT: usize = 1000;

/// The message of the log event written for each file outcome (with the field `outcome`:
/// `copied`, `retry` or `failed`, the `Outcome` of the `Files` metric).
pub const FILE_OUTCOME_EVENT: &str = "file_outcome";

/// The message of the log event written when the files of an expired item are removed
/// (with the fields `deleted`, the keys whose every version went, `versions`, and
/// `kept_shared`, raw bodies another item still has).
pub const EXPIRED_EVENT: &str = "expired_files_removed";

/// One invocation of the copier: who it is (the owner of the claims it takes) and when it
/// must have answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The Lambda request id.
    pub request_id: String,
    /// The invocation's deadline.
    pub deadline: Instant,
}

impl Invocation {
    /// An invocation with this request id that must end by `deadline`.
    pub fn new(request_id: impl Into<String>, deadline: Instant) -> Self {
        Self {
            request_id: request_id.into(),
            deadline,
        }
    }

    /// Time left until the deadline.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The deadline as a wall-clock time (when its claims expire).
    fn ends_at(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.left()).unwrap_or_default()
    }
}

/// A DynamoDB stream event as Lambda delivers it (only the fields used here).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StreamEvent {
    /// The records of the batch.
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

/// The `eventName` of a stream record of a deleted item.
pub const REMOVE_EVENT: &str = "REMOVE";
/// The `userIdentity.type` of a stream record of a change DynamoDB made itself.
pub const SERVICE_IDENTITY: &str = "Service";
/// The `userIdentity.principalId` of a stream record of an item DynamoDB deleted at its
/// expiry (time to live).
pub const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// One stream record.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// Who made the change: present only for DynamoDB's own deletions of expired items.
    #[serde(
        rename = "userIdentity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_identity: Option<UserIdentity>,
    /// The change.
    pub dynamodb: Change,
}

/// Who made a change (stream records of DynamoDB's deletions at expiry carry it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserIdentity {
    /// `Service` for DynamoDB itself.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `dynamodb.amazonaws.com` for a deletion at expiry.
    #[serde(rename = "principalId", default)]
    pub principal_id: String,
}

impl UserIdentity {
    /// The identity DynamoDB's deletions at expiry carry.
    pub fn expiry() -> Self {
        Self {
            kind: SERVICE_IDENTITY.into(),
            principal_id: TTL_PRINCIPAL.into(),
        }
    }
}

impl StreamRecord {
    /// Whether this is DynamoDB's deletion of an item at its expiry (time to live): a
    /// `REMOVE` made by the service itself, never by a caller.
    pub fn is_expiry(&self) -> bool {
        self.event_name.as_deref() == Some(REMOVE_EVENT)
            && self.user_identity.as_ref() == Some(&UserIdentity::expiry())
    }
}

/// The change a stream record describes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Change {
    /// The item's key, in DynamoDB JSON (`{"pk": {"S": "..."}}`).
    #[serde(rename = "Keys", default)]
    pub keys: HashMap<String, Value>,
    /// The item as it was before the change, in DynamoDB JSON (the stream carries new and
    /// old images): for a deletion at expiry, what it left in the archive.
    #[serde(rename = "OldImage", default, skip_serializing_if = "Option::is_none")]
    pub old_image: Option<HashMap<String, Value>>,
    /// Position in the shard; identifies the record in batch item failures.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: Option<String>,
}

impl Change {
    fn key(&self, name: &str) -> Option<&str> {
        self.keys.get(name)?.get("S")?.as_str()
    }
}

/// A scheduled event (EventBridge), which starts a sweep.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ScheduledEvent {
    /// `Scheduled Event`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
}

impl ScheduledEvent {
    /// The event a schedule sends (also what `make dev` sends for its sweeps).
    pub fn sweep() -> Self {
        Self {
            detail_type: "Scheduled Event".into(),
        }
    }
}

/// What invokes the copier.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CopierEvent {
    /// New or changed records with files due.
    Stream(StreamEvent),
    /// Time for a sweep.
    Scheduled(ScheduledEvent),
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

/// What happened to the files of the records an invocation looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Records read (for a sweep: the due records the index listed).
    #[serde(default)]
    pub records: usize,
    /// Files copied.
    pub copied: usize,
    /// Files whose attempt failed and that wait for their next one.
    pub retrying: usize,
    /// Files marked failed (a permanent failure, or the last attempt).
    pub failed: usize,
    /// Files due but left for a later invocation (too little time left).
    pub deferred: usize,
    /// Files due but claimed by another invocation, left to it.
    #[serde(default)]
    pub busy: usize,
    /// Records whose outcome could not be recorded (storage failed).
    pub errors: usize,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.records += other.records;
        self.busy += other.busy;
        self.copied += other.copied;
        self.retrying += other.retrying;
        self.failed += other.failed;
        self.deferred += other.deferred;
        self.errors += other.errors;
    }
}

/// Copies the files records point at into the archive, keeping time and spacing retries.
#[derive(Debug, Clone)]
pub struct Archiver {
    copier: Copier,
    store: RecordStore,
    schedule: RetrySchedule,
}

impl Archiver {
    /// An archiver copying with `copier`, recording outcomes in `store`.
    pub fn new(copier: Copier, store: RecordStore, schedule: RetrySchedule) -> Self {
        Self {
            copier,
            store,
            schedule,
        }
    }

    /// Handles one invocation: a stream batch (answered with its batch item failures) or a
    /// sweep (answered with its [`Report`]).
    pub async fn handle(&self, event: CopierEvent, invocation: &Invocation) -> Value {
        let response = match event {
            CopierEvent::Stream(batch) => {
                serde_json::to_value(self.handle_batch(batch, invocation).await)
            }
            CopierEvent::Scheduled(_) => serde_json::to_value(self.sweep(invocation).await),
        };
        response.unwrap_or(Value::Null)
    }

    /// Handles one stream batch.
    pub async fn handle_batch(&self, event: StreamEvent, invocation: &Invocation) -> BatchResponse {
        let mut response = BatchResponse::default();
        for record in event.records {
            let (Some(pk), Some(sk)) = (record.dynamodb.key("pk"), record.dynamodb.key("sk"))
            else {
                tracing::warn!("stream record without pk/sk ignored");
                continue;
            };
            let handled = if record.is_expiry() {
                self.remove_expired(pk, sk, record.dynamodb.old_image.as_ref())
                    .await
            } else if record.event_name.as_deref() == Some(REMOVE_EVENT) {
                // A caller's deletion (a replay moving a record, a cleanup): its files are
                // the caller's business.
                continue;
            } else {
                self.archive_record(pk, sk, invocation).await.map(|_| ())
            };
            if let Err(e) = handled {
                tracing::error!(pk, error = %e.detail(), "could not record copy results; the batch item will be retried");
                if let Some(seq) = record.dynamodb.sequence_number {
                    response.batch_item_failures.push(ItemFailure {
                        item_identifier: seq,
                    });
                }
            }
        }
        response
    }

    /// Removes from the archive what the item at `(pk, sk)`, deleted by DynamoDB at its
    /// expiry, left there (`old_image`: the item as it was): every version of a record's
    /// files, and of a delivery event's raw body unless another item still has it
    /// ([`RecordStore::remove_expired`]). A record without its old image (a stream without
    /// old images) is logged and left: the bucket's lifecycle rules expire its files.
    pub async fn remove_expired(
        &self,
        pk: &str,
        sk: &str,
        old_image: Option<&HashMap<String, Value>>,
    ) -> Result<(), StoreError> {
        let Some(image) = old_image else {
            tracing::warn!(
                pk,
                sk,
                "an expired item came without its old image; its files are left to the bucket's lifecycle rules"
            );
            return Ok(());
        };
        let image = image_from_json(image)?;
        let removal = self.store.remove_expired(&image).await?;
        if !removal.deleted.is_empty() || !removal.kept_shared.is_empty() {
            tracing::info!(
                pk,
                sk,
                deleted = ?removal.deleted,
                versions = removal.versions,
                kept_shared = ?removal.kept_shared,
                "{EXPIRED_EVENT}"
            );
        }
        Ok(())
    }

    /// Tries every due file of the records due by now (at most [`SWEEP_LIMIT`], oldest due
    /// first), while time lasts.
    pub async fn sweep(&self, invocation: &Invocation) -> Report {
        let mut report = Report::default();
        let entries = match self.store.due_records(Utc::now(), SWEEP_LIMIT).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(error = %e.detail(), "sweep could not list due files");
                report.errors += 1;
                return report;
            }
        };
        for entry in entries {
            if invocation.left() < RECORD_MARGIN + MIN_COPY_TIME {
                report.deferred += 1;
                continue;
            }
            match self.archive_record(&entry.pk, &entry.sk, invocation).await {
                Ok(r) => report.add(r),
                Err(e) => {
                    tracing::error!(pk = %entry.pk, error = %e.detail(), "could not record copy results");
                    report.errors += 1;
                }
            }
        }
        tracing::info!(
            records = report.records,
            copied = report.copied,
            retrying = report.retrying,
            failed = report.failed,
            deferred = report.deferred,
            busy = report.busy,
            errors = report.errors,
            "sweep"
        );
        report
    }

    /// Copies every due file of the record at `(pk, sk)` that no other invocation holds, and
    /// records the outcomes.
    pub async fn archive_record(
        &self,
        pk: &str,
        sk: &str,
        invocation: &Invocation,
    ) -> Result<Report, StoreError> {
        let mut report = Report::default();
        let Some(stored) = self.store.get_item(pk, sk).await? else {
            return Ok(report);
        };
        report.records += 1;
        let provider = stored.record.provider();
        let now = Utc::now();
        let due: Vec<_> = stored
            .files
            .iter()
            .filter(|(_, f)| f.is_due(now))
            .map(|(kind, file)| (*kind, file.source_url.clone()))
            .collect();
        // The record as just read serves the first claim; later ones read it again.
        let mut known: Option<Stored> = Some(stored);
        for (kind, source_url) in due {
            let left = invocation.left().saturating_sub(RECORD_MARGIN);
            if left < MIN_COPY_TIME {
                report.deferred += 1;
                continue;
            }
            // The claim lasts as long as this attempt may (its budget, and the time to record
            // its outcome), so a copier that dies holds the file no longer than that.
            let budget = left.min(self.copier.max_duration(provider.as_str()));
            let until =
                Utc::now() + chrono::Duration::from_std(budget + RECORD_MARGIN).unwrap_or_default();
            let hold = claim(&invocation.request_id, until.min(invocation.ends_at()));
            let request = FileClaim {
                kind,
                source_url: &source_url,
                claim: &hold,
            };
            let claimed = self
                .store
                .claim_file(pk, sk, &request, Utc::now(), known.take())
                .await?;
            let file = match claimed {
                ClaimOutcome::Claimed(file) => file,
                ClaimOutcome::Busy => {
                    report.busy += 1;
                    continue;
                }
                ClaimOutcome::NotDue => continue,
            };
            let started = Instant::now();
            let result = self
                .copier
                .copy_within(provider.as_str(), &file.source_url, &file.s3_key, budget)
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let mut applied = None;
            let written = self
                .store
                .update_files(pk, sk, |files| {
                    applied = None;
                    if let Some(state) = files.get_mut(&kind) {
                        // Only the file this invocation still holds: a newer delivery may
                        // have changed it, or (after the claim expired) another copier taken
                        // it over.
                        if state.source_url == source_url
                            && state.status == FileStatus::Pending
                            && state
                                .claim
                                .as_ref()
                                .is_some_and(|c| c.owner == invocation.request_id)
                        {
                            apply(state, &result, budget, &self.schedule, Utc::now());
                            applied = Some(state.clone());
                        }
                    }
                })
                .await?;
            if written.is_none() {
                // The record was deleted during the attempt (at its expiry, when its stream
                // record may already have been handled): nothing points at the copy any more.
                let versions = self.store.delete_every_version(&file.s3_key).await?;
                tracing::warn!(
                    pk,
                    kind = kind.as_str(),
                    versions,
                    "the record was deleted during the attempt; its copy is removed"
                );
                continue;
            }
            let Some(state) = applied else {
                tracing::warn!(
                    pk,
                    kind = kind.as_str(),
                    latency_ms,
                    "the file changed or was taken over during the attempt; its outcome is not recorded"
                );
                continue;
            };
            let outcome = match state.status {
                FileStatus::Copied => {
                    report.copied += 1;
                    "copied"
                }
                FileStatus::Pending => {
                    report.retrying += 1;
                    "retry"
                }
                FileStatus::Failed => {
                    report.failed += 1;
                    "failed"
                }
            };
            tracing::info!(
                pk,
                kind = kind.as_str(),
                outcome,
                attempts = state.attempts,
                size = state.size,
                error = state.error.as_deref(),
                next_attempt_at = state.next_attempt_at.as_deref(),
                latency_ms,
                "{FILE_OUTCOME_EVENT}"
            );
            metrics::file(outcome);
        }
        Ok(report)
    }
}

/// Records one attempt's result in a file's state, releasing its claim: copied; pending
/// again with the time of the next attempt (a transient failure with attempts left); or
/// failed.
fn apply(
    state: &mut FileState,
    result: &Result<Uploaded, CopyError>,
    budget: Duration,
    schedule: &RetrySchedule,
    now: DateTime<Utc>,
) {
    state.attempts += 1;
    state.next_attempt_at = None;
    state.claim = None;
    match result {
        Ok(up) => {
            state.status = FileStatus::Copied;
            state.size = Some(up.size);
            state.sha256 = Some(up.sha256.clone());
            state.content_type = Some(up.content_type.clone());
            state.copied_at = Some(timestamp(now));
            state.error = None;
        }
        Err(e) => {
            state.error = Some(match e {
                CopyError::Timeout => format!(
                    "the copy did not finish within the {} s it had",
                    budget.as_secs()
                ),
                e => e.describe(),
            });
            match schedule.delay_after(state.attempts) {
                Some(delay) if e.is_transient() => {
                    let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
                    state.next_attempt_at = Some(timestamp(next));
                }
                _ => state.status = FileStatus::Failed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lambda_stream_and_scheduled_events() {
        let event: CopierEvent = serde_json::from_str(
            r#"{"Records":[{"eventID":"1","eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"CALL#voki#c1"},"sk":{"S":"CALL"}},
            "NewImage":{"files_pending":{"BOOL":true}},"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_IMAGE"}}]}"#,
        )
        .expect("event");
        let CopierEvent::Stream(event) = event else {
            panic!("a stream batch")
        };
        assert_eq!(event.records[0].dynamodb.key("pk"), Some("CALL#voki#c1"));
        assert_eq!(event.records[0].dynamodb.key("sk"), Some("CALL"));
        assert_eq!(
            event.records[0].dynamodb.sequence_number.as_deref(),
            Some("111")
        );
        let scheduled: CopierEvent = serde_json::from_str(
            r#"{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","time":"2026-11-27T10:00:00Z","detail":{}}"#,
        )
        .expect("scheduled");
        assert!(matches!(scheduled, CopierEvent::Scheduled(_)));
    }

    /// DynamoDB's deletion at expiry is told from a caller's deletion by its identity.
    #[test]
    fn expiry_deletions_are_told_from_callers_deletions() {
        let event: CopierEvent = serde_json::from_str(
            r#"{"Records":[{"eventID":"1","eventName":"REMOVE","eventSource":"aws:dynamodb",
            "userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"},
            "dynamodb":{"Keys":{"pk":{"S":"CALL#voki#c1"},"sk":{"S":"CALL"}},
            "OldImage":{"pk":{"S":"CALL#voki#c1"},"expires_at":{"N":"1700000000"}},
            "SequenceNumber":"112","StreamViewType":"NEW_AND_OLD_IMAGES"}},
            {"eventID":"2","eventName":"REMOVE","dynamodb":{"Keys":{"pk":{"S":"CALL#voki#c2"},"sk":{"S":"CALL"}},"SequenceNumber":"113"}}]}"#,
        )
        .expect("event");
        let CopierEvent::Stream(event) = event else {
            panic!("a stream batch")
        };
        assert!(event.records[0].is_expiry());
        assert_eq!(
            event.records[0]
                .dynamodb
                .old_image
                .as_ref()
                .map(|i| i["expires_at"].clone()),
            Some(serde_json::json!({"N": "1700000000"}))
        );
        assert!(!event.records[1].is_expiry(), "a caller's deletion");
    }

    #[test]
    fn outcomes_space_retries_then_fail() {
        let schedule = RetrySchedule::default();
        let now: DateTime<Utc> = "2026-11-27T10:00:00Z".parse().expect("t");
        let budget = Duration::from_secs(600);
        let mut s = FileState::pending("https://h/a", "k");
        s.claim = Some(claim("request-1", now + chrono::Duration::minutes(15)));
        apply(&mut s, &Err(CopyError::Status(503)), budget, &schedule, now);
        assert_eq!((s.status, s.attempts), (FileStatus::Pending, 1));
        assert_eq!(s.claim, None, "the outcome releases the claim");
        assert_eq!(
            s.next_attempt_at.as_deref(),
            Some("2026-11-27T10:01:00.000Z")
        );
        assert!(!s.is_due(now) && s.is_due(now + chrono::Duration::minutes(1)));
        apply(&mut s, &Err(CopyError::Timeout), budget, &schedule, now);
        assert_eq!(
            s.next_attempt_at.as_deref(),
            Some("2026-11-27T10:05:00.000Z")
        );
        assert_eq!(
            s.error.as_deref(),
            Some("the copy did not finish within the 600 s it had")
        );
        for _ in 2..schedule.max_attempts() {
            apply(&mut s, &Err(CopyError::Timeout), budget, &schedule, now);
        }
        assert_eq!(
            (s.status, s.attempts, s.next_attempt_at.as_deref()),
            (FileStatus::Failed, schedule.max_attempts(), None)
        );
        let mut s = FileState::pending("https://h/a", "k");
        apply(&mut s, &Err(CopyError::Status(404)), budget, &schedule, now);
        assert_eq!((s.status, s.attempts), (FileStatus::Failed, 1));
        assert_eq!(s.error.as_deref(), Some("source answered HTTP 404"));
    }

    #[test]
    fn the_default_schedule_spans_hours() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 6);
        let total: Duration = (1..schedule.max_attempts())
            .filter_map(|n| schedule.delay_after(n))
            .sum();
        assert_eq!(total, Duration::from_secs(321 * 60));
        assert_eq!(schedule.delay_after(0), None);
        assert_eq!(schedule.delay_after(6), None);
    }
}
