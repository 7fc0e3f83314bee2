//! Applying a delivery to its record, idempotently and in any order, and the copier's
//! updates of a record's files: both optimistic read-merge-write loops on the record's
//! `version`.

use callvault_records::{Normalized, Offloaded};
use callvault_verify::Scope;
use chrono::{DateTime, Utc};

use crate::codec::{timestamp, History, Stored};
use crate::files::{with_new_files, FileState, FileStatus, Files};
use crate::kept::{event_item, Kept};
use crate::schema::{raw_key, record_key};
use crate::size::{self, RAW_INLINE_LIMIT, RECORD_INLINE_LIMIT};
use crate::{Delivery, RecordStore, StoreError};

/// Attempts at the optimistic read-merge-write of a record before giving up.
const MAX_MERGE_ATTEMPTS: usize = 10;

/// Whether a write created or changed something, or found it already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The delivery was applied to its record.
    Stored,
    /// These exact bytes were applied to the record before (a retry, a resend or a concurrent
    /// copy): nothing changed. A different body is never a duplicate, whatever its ids.
    Duplicate,
}

/// What one delivery contributes to a record.
#[derive(Debug, Clone)]
pub struct Contribution<'a> {
    /// The provider's own id of the delivery, where it sends one: kept in the history and the
    /// event, never part of the delivery's identity (its body's SHA-256 is).
    pub delivery_id: Option<&'a str>,
    /// What happened (`call.completed`, `message.read`, ...), kept with the event.
    pub event_type: &'a str,
    /// The normalized record this delivery contributes to.
    pub record: Normalized,
    /// The secrets that authenticated it, for providers whose records are scoped (Hatif):
    /// part of the record's identity.
    pub scope: Option<&'a Scope>,
    /// Where the inline transcript sits in the raw body, if the provider sends one inline.
    pub transcript_pointer: Option<&'a str>,
}

/// Moves an inline transcript out of a too-large call record, pointing at the raw delivery.
fn offload_transcript(record: &mut Normalized, s3_uri: &str, pointer: &str) {
    if let Normalized::Call(call) = record {
        if let Some(t) = call.transcript.as_mut() {
            t.text = None;
            t.words.clear();
            t.offloaded = Some(Offloaded {
                s3_uri: s3_uri.to_owned(),
                json_pointer: pointer.to_owned(),
            });
        }
    }
}

fn has_inline_transcript(record: &Normalized) -> bool {
    matches!(record, Normalized::Call(c) if c.transcript.as_ref().is_some_and(|t| t.text.is_some() || !t.words.is_empty()))
}

/// One delivery applied to what is stored (nothing yet, or `existing`).
struct Application<'a> {
    delivery: &'a Delivery<'a>,
    contribution: &'a Contribution<'a>,
    body_sha256: &'a str,
}

impl Application<'_> {
    fn onto(&self, existing: Option<&Stored>) -> Stored {
        let c = self.contribution;
        let received_at = self.delivery.received_at;
        let now = timestamp(received_at);
        let mut next = match existing {
            Some(e) => {
                let record = e.record.clone().merge(c.record.clone());
                Stored {
                    files: with_new_files(
                        e.files.clone(),
                        &record,
                        &c.record,
                        c.scope,
                        received_at,
                    ),
                    record,
                    version: e.version + 1,
                    updated_at: now,
                    ..e.clone()
                }
            }
            None => Stored {
                files: with_new_files(Files::new(), &c.record, &c.record, c.scope, received_at),
                record: c.record.clone(),
                scope: c.scope.cloned(),
                history: History::default(),
                version: 1,
                received_at: now.clone(),
                updated_at: now,
                authentication: self.delivery.verified.authentication().to_string(),
                expires_at: None,
            },
        };
        next.history.push(c.delivery_id, self.body_sha256);
        next
    }
}

impl RecordStore {
    /// Applies one delivery to its record, idempotently and in any order with the other
    /// deliveries of the same call or message:
    ///
    /// 1. read the record; if its latest deliveries include this exact body, it is a
    ///    duplicate: stop (a delivery is the same delivery only when its bytes are the same;
    ///    ids never decide it);
    /// 2. refuse, before writing anything, a record that would be too large to store;
    /// 3. keep the raw body: in the event item, or (when large) as one S3 object addressed by
    ///    its content;
    /// 4. write the event `EVENT#<record sk>#<body sha256>` unless it exists: one event per
    ///    distinct body, whatever delivery ids it arrives with, naming the fields in which the
    ///    body differs from what the record keeps ([`Normalized::conflicts`]);
    /// 5. merge into the record and write it on condition that its version is unchanged,
    ///    re-reading and re-merging on conflict. Beyond the latest bodies the record lists, a
    ///    body whose event already existed and whose merge changes nothing was applied
    ///    before: a duplicate.
    ///
    /// A crash between steps leaves nothing inconsistent: the record changes only in step 5,
    /// and the retry redoes the rest (step 5 then applies the body, since its merge is not yet
    /// in the record). Merging is idempotent, so applying a body twice changes nothing.
    pub async fn ingest(
        &self,
        delivery: &Delivery<'_>,
        mut contribution: Contribution<'_>,
    ) -> Result<PutOutcome, StoreError> {
        let (pk, sk) = record_key(&contribution.record, contribution.scope);
        let body_sha256 = delivery.body_sha256();
        let mut existing = self.get_item(&pk, &sk).await?;
        if existing
            .as_ref()
            .is_some_and(|e| e.history.recently_applied(&body_sha256))
        {
            return Ok(PutOutcome::Duplicate);
        }

        let body = delivery.verified.body();
        let record_len = serde_json::to_vec(&contribution.record).map_or(usize::MAX, |v| v.len());
        let offload = record_len > RECORD_INLINE_LIMIT
            && has_inline_transcript(&contribution.record)
            && contribution.transcript_pointer.is_some();
        let raw_uri = (body.len() > RAW_INLINE_LIMIT || offload)
            .then(|| self.uri(&raw_key(delivery.provider, &body_sha256)));
        if let (true, Some(uri), Some(pointer)) =
            (offload, &raw_uri, contribution.transcript_pointer)
        {
            offload_transcript(&mut contribution.record, uri, pointer);
        }

        let application = Application {
            delivery,
            contribution: &contribution,
            body_sha256: &body_sha256,
        };
        let now = Utc::now();
        let applied = application.onto(existing.as_ref());
        size::check(&applied.to_item(&pk, &sk, now, self.retention())?)?;
        // The event expires with its record (from the record's first delivery).
        let expires_at = applied.expiry(self.retention())?;

        // What this body says that the stored record keeps otherwise (docs/records.md): kept
        // with its event, so a differing body is never silently reduced to its new fields.
        let conflicts = existing.as_ref().map_or_else(Vec::new, |e| {
            let merged = e.record.clone().merge(contribution.record.clone());
            Normalized::conflicts(&merged, &contribution.record)
        });
        let kept = match raw_uri {
            Some(_) => Kept::S3(self.keep_raw(delivery.provider, &body_sha256, body).await?),
            None => Kept::Inline,
        };
        let event = event_item(
            &pk,
            &sk,
            delivery,
            &contribution,
            &body_sha256,
            &kept,
            &conflicts,
            expires_at,
        );
        let event_existed = !self.put_new(event).await?;

        for _ in 0..MAX_MERGE_ATTEMPTS {
            let next = application.onto(existing.as_ref());
            if let Some(e) = existing.as_ref() {
                // The record lists the digests of its latest bodies: a body it does not list
                // was never applied while the list is whole. Beyond it, an event that already
                // existed and a merge that changes nothing say it was (an event alone does
                // not: a delivery whose record write failed after its event was written
                // comes back, and its merge may change nothing).
                let listed_all = e.history.count <= e.history.body_sha256s.len() as u64;
                if event_existed && !listed_all && next.record == e.record && next.files == e.files
                {
                    return Ok(PutOutcome::Duplicate);
                }
            }
            let item = next.to_item(&pk, &sk, now, self.retention())?;
            size::check(&item)?;
            let expected = existing.as_ref().map_or(0, |e| e.version);
            if self.put_if_version(item, expected).await? {
                return Ok(PutOutcome::Stored);
            }
            existing = self.get_item(&pk, &sk).await?;
            if existing
                .as_ref()
                .is_some_and(|e| e.history.recently_applied(&body_sha256))
            {
                return Ok(PutOutcome::Duplicate);
            }
        }
        Err(StoreError::Contention(pk))
    }

    /// Changes the files of the record at `(pk, sk)` with `change`, optimistically: re-read
    /// and re-applied if a webhook delivery (or another copier) wrote the record meanwhile.
    /// Returns the files as written, or `None` if there is no such record.
    pub async fn update_files(
        &self,
        pk: &str,
        sk: &str,
        mut change: impl FnMut(&mut Files),
    ) -> Result<Option<Files>, StoreError> {
        for _ in 0..MAX_MERGE_ATTEMPTS {
            let Some(mut stored) = self.get_item(pk, sk).await? else {
                return Ok(None);
            };
            let expected = stored.version;
            change(&mut stored.files);
            let now: DateTime<Utc> = Utc::now();
            stored.version += 1;
            stored.updated_at = timestamp(now);
            if self
                .put_if_version(stored.to_item(pk, sk, now, self.retention())?, expected)
                .await?
            {
                return Ok(Some(stored.files));
            }
        }
        Err(StoreError::Contention(pk.to_owned()))
    }
}

impl RecordStore {
    /// Starts the failed files of the record at `(pk, sk)` over (a re-drive after the cause
    /// was fixed): pending, due now, attempts from zero, so the copier's stream trigger picks
    /// them up. Returns how many files were failed.
    pub async fn redrive_failed(&self, pk: &str, sk: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        self.update_files(pk, sk, |files| {
            count = 0;
            for state in files.values_mut() {
                if state.status == FileStatus::Failed {
                    *state = FileState::pending(state.source_url.clone(), state.s3_key.clone());
                    count += 1;
                }
            }
        })
        .await?;
        Ok(count)
    }
}
