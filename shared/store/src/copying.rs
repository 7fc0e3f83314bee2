//! The copier's reads and writes of a record's files, beside the webhook merge: the records
//! with a file due (the sparse due index, every shard), the claim a copier takes on a file
//! before fetching it, and the one-off indexing of records written before the due attributes
//! existed. `docs/records.md` (Files) describes the attributes.

use chrono::{DateTime, Utc};

use crate::files::{Claim, FileKind, FileState, FileStatus};
use crate::item::{get_s, s};
use crate::record_store::dynamodb;
use crate::schema::{
    due_partitions, BY_FILES_DUE, FILES_DUE_PK, FILE_STATE, PARTITION_KEY, SORT_KEY,
};
use crate::{timestamp, RecordStore, StoreError, Stored};

/// Attempts at the optimistic read-check-write of a claim (or a re-index) before giving up.
const MAX_WRITE_ATTEMPTS: usize = 10;

/// A record with a file due, listed by [`RecordStore::due_records`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEntry {
    /// The record's partition key.
    pub pk: String,
    /// The record's sort key.
    pub sk: String,
    /// When its earliest waiting file became due (RFC 3339 ms).
    pub due_at: String,
}

/// A claim a copier asks for: on which file of a record, under which link, for whom.
#[derive(Debug, Clone, Copy)]
pub struct FileClaim<'a> {
    /// Which file of the record.
    pub kind: FileKind,
    /// The link the copier is about to fetch (the claim fails if the record has another).
    pub source_url: &'a str,
    /// The claim to take.
    pub claim: &'a Claim,
}

/// What [`RecordStore::claim_file`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The file (as claimed) is the caller's until the claim expires: fetch it, then record
    /// the outcome.
    Claimed(Box<FileState>),
    /// Another invocation holds the file (its claim has not expired): leave it alone.
    Busy,
    /// The file is no longer due: copied, failed, waiting for a later attempt, given a new
    /// link, or its record is gone.
    NotDue,
}

/// What [`RecordStore::index_waiting_files`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reindexed {
    /// Records read (every record listed with a file pending or failed).
    pub records: usize,
    /// Records rewritten with the attributes they lacked.
    pub updated: usize,
}

impl RecordStore {
    /// The records with a file due by `now`, oldest due first: at most `limit`, read from the
    /// due index's shards in turn (keys only; nothing that waits for a later time is read).
    /// The index is eventually consistent: read the record itself before acting on it.
    pub async fn due_records(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let index = BY_FILES_DUE;
        let now = timestamp(now);
        let mut entries = Vec::new();
        for partition in due_partitions() {
            let mut taken = 0;
            let mut start = None;
            loop {
                let page = i32::try_from(limit - taken).unwrap_or(i32::MAX);
                let out = self
                    .dynamodb()
                    .query()
                    .table_name(self.table())
                    .index_name(index.name)
                    .key_condition_expression("#shard = :shard AND #due <= :now")
                    .expression_attribute_names("#shard", index.hash)
                    .expression_attribute_names("#due", index.range)
                    .expression_attribute_values(":shard", s(&partition))
                    .expression_attribute_values(":now", s(&now))
                    .limit(page)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(dynamodb("Query"))?;
                for item in out.items.unwrap_or_default() {
                    let text = |name| get_s(&item, name).unwrap_or_default().to_owned();
                    entries.push(DueEntry {
                        pk: text(PARTITION_KEY),
                        sk: text(SORT_KEY),
                        due_at: text(index.range),
                    });
                    taken += 1;
                }
                match out.last_evaluated_key {
                    Some(key) if !key.is_empty() && taken < limit => start = Some(key),
                    _ => break,
                }
            }
        }
        entries.sort_by(|a, b| a.due_at.cmp(&b.due_at));
        entries.truncate(limit);
        Ok(entries)
    }

    /// Claims a file of the record at `(pk, sk)` for the claim's owner, if it is still due at
    /// `now` with the link the request names and no other claim holds it: one write
    /// conditional on the record's version, so of copiers racing for a file exactly one wins
    /// (the others re-read and find it claimed). `known` is the record as the caller just
    /// read it, if it did (saves a read). The claim changes nothing else: the attempt is
    /// counted when its outcome is recorded.
    pub async fn claim_file(
        &self,
        pk: &str,
        sk: &str,
        request: &FileClaim<'_>,
        now: DateTime<Utc>,
        known: Option<Stored>,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut stored = match known {
            Some(stored) => Some(stored),
            None => self.get_item(pk, sk).await?,
        };
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let Some(mut next) = stored else {
                return Ok(ClaimOutcome::NotDue);
            };
            let Some(state) = next.files.get_mut(&request.kind) else {
                return Ok(ClaimOutcome::NotDue);
            };
            if state.source_url != request.source_url || state.status != FileStatus::Pending {
                return Ok(ClaimOutcome::NotDue);
            }
            if state.claim.as_ref().is_some_and(|c| c.holds(now)) {
                return Ok(ClaimOutcome::Busy);
            }
            if !state.is_due(now) {
                return Ok(ClaimOutcome::NotDue);
            }
            state.claim = Some(request.claim.clone());
            let claimed = Box::new(state.clone());
            let expected = next.version;
            next.version += 1;
            if self
                .put_if_version(next.to_item(pk, sk, now, self.retention())?, expected)
                .await?
            {
                return Ok(ClaimOutcome::Claimed(claimed));
            }
            stored = self.get_item(pk, sk).await?;
        }
        Err(StoreError::Contention(pk.to_owned()))
    }

    /// Gives every record listed with a file `pending` or `failed` the attributes this
    /// version writes and it lacks: the due attributes the copier's sweep finds waiting files
    /// by, and the file state a waiting file now shows (`pending`, where a failed sibling
    /// showed `failed` before). Run once after upgrading a table written by a version without
    /// them; idempotent, and records any newer version wrote are left as they are.
    pub async fn index_waiting_files(&self, now: DateTime<Utc>) -> Result<Reindexed, StoreError> {
        let mut done = Reindexed::default();
        for state in ["pending", "failed"] {
            for entry in self.with_file_state(state, usize::MAX).await? {
                done.records += 1;
                if self.index_record(&entry.pk, &entry.sk, now).await? {
                    done.updated += 1;
                }
            }
        }
        Ok(done)
    }

    /// Rewrites the record at `(pk, sk)` if its due shard or file state is not what its files
    /// give (conditional on its version; its data and `updated_at` unchanged). `true` when
    /// it was rewritten.
    async fn index_record(
        &self,
        pk: &str,
        sk: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let Some(item) = self.raw_item(pk, sk).await? else {
                return Ok(false);
            };
            let mut stored = Stored::from_item(&item)?;
            let wanted = stored.to_item(pk, sk, now, self.retention())?;
            let same = |name: &str| get_s(&item, name) == get_s(&wanted, name);
            if same(FILES_DUE_PK) && same(FILE_STATE) {
                return Ok(false);
            }
            let expected = stored.version;
            stored.version += 1;
            if self
                .put_if_version(stored.to_item(pk, sk, now, self.retention())?, expected)
                .await?
            {
                return Ok(true);
            }
        }
        Err(StoreError::Contention(pk.to_owned()))
    }
}

/// The claim `owner` takes on a file until `until` (see [`Claim`]).
pub fn claim(owner: &str, until: DateTime<Utc>) -> Claim {
    Claim {
        owner: owner.to_owned(),
        until: timestamp(until),
    }
}
