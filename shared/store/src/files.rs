//! Archive state of the files a record points at (recording, transcript file, media): kept
//! beside the record in a `files` map so webhook merges and the copier never overwrite each
//! other, plus a `files_pending` flag that the copier's stream filter selects on and the due
//! attributes that the copier's sweep queries ([`add_file_attributes`]).

use std::collections::BTreeMap;

use callvault_records::Normalized;
use callvault_verify::Scope;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::item::{s, Item};
use crate::schema::{due_pk, FILES_DUE_AT, FILES_DUE_PK, FILES_PENDING};

/// Which file of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A call recording.
    Recording,
    /// A transcript file (the post-call provider's `transcriptUri`).
    Transcript,
    /// WhatsApp message media.
    Media,
}

impl FileKind {
    /// The name used in keys and the `files` map.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Transcript => "transcript",
            Self::Media => "media",
        }
    }
}

/// Copy status of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Waiting for the copier.
    Pending,
    /// Archived in the bucket.
    Copied,
    /// Given up: see `error`.
    Failed,
}

/// The archive state of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// The provider's URL.
    pub source_url: String,
    /// Where the copy goes (deterministic: provider / date / id / kind).
    pub s3_key: String,
    /// Copy status.
    pub status: FileStatus,
    /// Copy attempts so far (each attempt may retry transient errors inside itself).
    #[serde(default)]
    pub attempts: u32,
    /// Size in bytes, once copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the content (hex), once copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Content type, once copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Why the last attempt failed (never with the URL's query string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When a file waiting after a failed attempt is due for the next one (RFC 3339); the
    /// copier leaves it alone until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// When the copy completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_at: Option<String>,
    /// The copier invocation fetching the file now, if one is (see [`Claim`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// A copier invocation's hold on a file while it fetches it: other copiers leave the file
/// alone until the claim is released (with the attempt's outcome) or expires (the invocation
/// ended without recording one), after which any copier may take it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who holds it: the Lambda request id of the invocation.
    pub owner: String,
    /// When it expires (RFC 3339): no later than the end of the owner's invocation.
    pub until: String,
}

impl Claim {
    /// Whether the claim still holds at `now` (an unreadable expiry holds nothing).
    pub fn holds(&self, now: DateTime<Utc>) -> bool {
        parse_time(&self.until).is_some_and(|until| until > now)
    }
}

/// A time as the store writes it, or `None` when it is not RFC 3339.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl FileState {
    /// A file waiting for its first copy attempt.
    pub fn pending(source_url: impl Into<String>, s3_key: impl Into<String>) -> Self {
        Self {
            source_url: source_url.into(),
            s3_key: s3_key.into(),
            status: FileStatus::Pending,
            attempts: 0,
            size: None,
            sha256: None,
            content_type: None,
            error: None,
            next_attempt_at: None,
            copied_at: None,
            claim: None,
        }
    }

    /// Whether the copier should try this file at `now`: pending, due, and not claimed by a
    /// copier whose claim still holds.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at(now).is_some_and(|due| due <= now)
    }

    /// When the copier should next look at this file, as of `now`: `None` unless it is
    /// pending; else its next attempt's time (`now` when it has none, or an unreadable one),
    /// or the expiry of a claim on it when that is later.
    pub fn due_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.status != FileStatus::Pending {
            return None;
        }
        let next = self
            .next_attempt_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now);
        let claimed = self.claim.as_ref().and_then(|c| parse_time(&c.until));
        Some(claimed.map_or(next, |until| until.max(next)))
    }
}

/// The files of a record, by kind.
pub type Files = BTreeMap<FileKind, FileState>;

/// One S3 key segment of a provider's id: ASCII letters, digits, `-` and `_` as they are,
/// every other byte percent-encoded, so two different ids never give the same segment and a
/// segment never holds `/`.
pub(crate) fn key_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The file extension of a URL's last path segment, if it looks like one.
fn extension(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    let (_, ext) = last.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

/// The files a record points at, with their deterministic archive keys:
/// `<provider>/<YYYY>/<MM>/<DD>/[<scope>/]<id>/<kind>.<ext>` (the date of the call or message,
/// or of receipt when it has none; a message's id is `<conversation>/<message>`). Every id
/// segment is encoded by [`key_segment`], so two records never share a key.
pub fn files_of(
    record: &Normalized,
    scope: Option<&Scope>,
    received_at: DateTime<Utc>,
) -> Vec<(FileKind, String, String)> {
    let mut out = Vec::new();
    let scope = scope.map(|s| format!("{}/", key_segment(&s.to_string())));
    let scope = scope.as_deref().unwrap_or_default();
    let mut push = |kind: FileKind, url: &str, provider: &str, day: DateTime<Utc>, id: &str| {
        let ext = extension(url).unwrap_or_else(|| {
            if kind == FileKind::Transcript {
                "json".into()
            } else {
                "bin".into()
            }
        });
        let key = format!(
            "{provider}/{}/{scope}{id}/{}.{ext}",
            day.format("%Y/%m/%d"),
            kind.as_str()
        );
        out.push((kind, url.to_owned(), key));
    };
    match record {
        Normalized::Call(c) => {
            let day = c.listed_at(received_at);
            if let Some(r) = &c.recording {
                push(
                    FileKind::Recording,
                    &r.source_url,
                    c.provider.as_str(),
                    day,
                    &key_segment(&c.provider_call_id),
                );
            }
            if let Some(f) = c.transcript.as_ref().and_then(|t| t.file.as_ref()) {
                push(
                    FileKind::Transcript,
                    &f.source_url,
                    c.provider.as_str(),
                    day,
                    &key_segment(&c.provider_call_id),
                );
            }
        }
        Normalized::Message(m) => {
            if let Some(media) = &m.media {
                let id = format!(
                    "{}/{}",
                    key_segment(&m.conversation_id),
                    key_segment(&m.message_id)
                );
                push(
                    FileKind::Media,
                    &media.source_url,
                    m.provider.as_str(),
                    m.listed_at(received_at),
                    &id,
                );
            }
        }
        Normalized::Contact(_) => {}
    }
    out
}

/// The files map after a delivery: pending entries for files the record points at that
/// `existing` does not track yet (entries already tracked keep their state), and a fresh
/// pending entry for a file not yet copied whose link has failed (the file `failed`, or
/// waiting after a failed attempt) when the delivery brings a different URL for it: a
/// provider's new link replaces the one that failed. A file with no failed attempt keeps its
/// link, so a late delivery of an older link cannot replace a fresh one untried.
pub fn with_new_files(
    mut existing: Files,
    merged: &Normalized,
    delivered: &Normalized,
    scope: Option<&Scope>,
    received_at: DateTime<Utc>,
) -> Files {
    for (kind, source_url, s3_key) in files_of(merged, scope, received_at) {
        existing
            .entry(kind)
            .or_insert_with(|| FileState::pending(source_url, s3_key));
    }
    for (kind, source_url, s3_key) in files_of(delivered, scope, received_at) {
        if let Some(state) = existing.get_mut(&kind) {
            let link_failed = state.status == FileStatus::Failed
                || (state.status == FileStatus::Pending && state.attempts > 0);
            if link_failed && state.source_url != source_url {
                *state = FileState::pending(source_url, s3_key);
            }
        }
    }
    existing
}

/// Whether any file still waits for the copier (now or after a backoff).
pub fn any_pending(files: &Files) -> bool {
    files.values().any(|f| f.status == FileStatus::Pending)
}

/// Whether any file is due for the copier at `now`.
pub fn any_due(files: &Files, now: DateTime<Utc>) -> bool {
    files.values().any(|f| f.is_due(now))
}

/// When the copier should next look at the record, as of `now`: the earliest
/// [`FileState::due_at`] of its files, `None` when no file waits.
pub fn due_at(files: &Files, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    files.values().filter_map(|f| f.due_at(now)).min()
}

/// Adds what the copier finds a record's files by to the record item at partition `pk`,
/// as of `now`: `files_pending` while a file is due (the stream filter), and while any file
/// waits, due or not, `files_due_at` (the earliest time one is due) with `files_due_pk` (the
/// record's due shard): the sparse index the sweep queries. A record whose files are all
/// copied or failed has neither.
pub(crate) fn add_file_attributes(item: &mut Item, pk: &str, files: &Files, now: DateTime<Utc>) {
    if any_due(files, now) {
        item.insert(
            FILES_PENDING.into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(true),
        );
    }
    if let Some(due) = due_at(files, now) {
        item.insert(FILES_DUE_AT.into(), s(crate::timestamp(due)));
        item.insert(FILES_DUE_PK.into(), s(due_pk(pk)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_records::{postcall, voiceinfra};

    #[test]
    fn keys_are_deterministic_and_safe() {
        let call = voiceinfra::normalize(
            voiceinfra::parse(include_bytes!("../../../tests/fixtures/voiceinfra.json"))
                .expect("seed"),
        );
        let files = files_of(&Normalized::Call(call), None, Utc::now());
        assert_eq!(
            files,
            [(
                FileKind::Recording,
                "https://recordings.voiceinfra.ai/call_01HXYZ123456.mp3".to_owned(),
                "voiceinfra/2025/01/15/call_01HXYZ123456/recording.mp3".to_owned()
            )]
        );
        let odd = postcall::normalize(
            postcall::parse(br#"{"callId":"../x y","recordingUri":"https://h/r?sig=1","transcriptUri":"https://h/t"}"#).expect("p"),
        );
        let at: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().expect("t");
        let keys: Vec<_> = files_of(&Normalized::Call(odd), None, at)
            .into_iter()
            .map(|(_, _, k)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "postcall/2026/11/23/%2E%2E%2Fx%20y/recording.bin",
                "postcall/2026/11/23/%2E%2E%2Fx%20y/transcript.json"
            ]
        );
    }

    #[test]
    fn keys_are_injective() {
        let at: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().expect("t");
        let key = |id: &str, scope: Option<&Scope>| {
            let body = serde_json::json!({"callId": id, "recordingUri": "https://h/r.mp3"});
            let call =
                postcall::normalize(postcall::parse(body.to_string().as_bytes()).expect("p"));
            files_of(&Normalized::Call(call), scope, at)
                .into_iter()
                .map(|(_, _, k)| k)
                .next()
                .expect("recording")
        };
        let ids = [
            "a/b",
            "a_b",
            "a%2Fb",
            "a b",
            "a.b",
            "ab",
            &"x".repeat(200),
            &"x".repeat(201),
        ];
        let keys: std::collections::BTreeSet<_> = ids.iter().map(|id| key(id, None)).collect();
        assert_eq!(keys.len(), ids.len(), "{keys:?}");
        let c1 = Scope::Channel("c1".into());
        assert_ne!(key("a", Some(&c1)), key("a", Some(&Scope::Default)));
        assert_eq!(
            key("a", Some(&c1)),
            "postcall/2026/11/23/channel%3Ac1/a/recording.mp3"
        );
        assert_ne!(key("a", Some(&c1)), key("a", None));
    }

    #[test]
    fn new_files_are_pending_and_tracked_ones_keep_their_state() {
        let call = Normalized::Call(voiceinfra::normalize(
            voiceinfra::parse(br#"{"call_id":"c","recording_url":"https://h/a.wav"}"#).expect("p"),
        ));
        let files = with_new_files(Files::new(), &call, &call, None, Utc::now());
        assert!(any_pending(&files));
        let mut copied = files.clone();
        copied
            .get_mut(&FileKind::Recording)
            .expect("recording")
            .status = FileStatus::Copied;
        let again = with_new_files(copied.clone(), &call, &call, None, Utc::now());
        assert_eq!(again, copied);
        assert!(!any_pending(&again));
    }

    #[test]
    fn a_new_link_resets_a_file_whose_link_failed() {
        let call = |url: &str| {
            let body = serde_json::json!({"call_id": "c", "recording_url": url});
            Normalized::Call(voiceinfra::normalize(
                voiceinfra::parse(body.to_string().as_bytes()).expect("p"),
            ))
        };
        let (old, new) = (call("https://h/old.wav"), call("https://h/new.wav"));
        let mut files = with_new_files(Files::new(), &old, &old, None, Utc::now());
        let failed = files.get_mut(&FileKind::Recording).expect("recording");
        failed.status = FileStatus::Failed;
        failed.attempts = 6;
        failed.error = Some("source answered HTTP 500".into());
        // The same link again changes nothing; a new one starts over.
        let same = with_new_files(files.clone(), &old, &old, None, Utc::now());
        assert_eq!(same, files);
        let reset = with_new_files(files.clone(), &old, &new, None, Utc::now());
        let state = &reset[&FileKind::Recording];
        assert_eq!(
            (
                state.status,
                state.attempts,
                state.source_url.as_str(),
                state.error.as_deref()
            ),
            (FileStatus::Pending, 0, "https://h/new.wav", None)
        );
        // A file waiting after a failed attempt takes the new link too; one not tried yet
        // keeps its link (a late delivery of an older link must not replace a fresh one).
        let mut waiting = with_new_files(Files::new(), &old, &old, None, Utc::now());
        assert_eq!(
            with_new_files(waiting.clone(), &old, &new, None, Utc::now()),
            waiting
        );
        waiting.get_mut(&FileKind::Recording).expect("r").attempts = 1;
        let relinked = with_new_files(waiting, &old, &new, None, Utc::now());
        assert_eq!(
            (
                relinked[&FileKind::Recording].source_url.as_str(),
                relinked[&FileKind::Recording].attempts
            ),
            ("https://h/new.wav", 0)
        );
        // A copied file keeps its copy.
        let mut copied = files.clone();
        copied.get_mut(&FileKind::Recording).expect("r").status = FileStatus::Copied;
        assert_eq!(
            with_new_files(copied.clone(), &old, &new, None, Utc::now()),
            copied
        );
    }

    #[test]
    fn files_waiting_for_a_retry_are_not_due_before_their_time() {
        let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().expect("t");
        let mut state = FileState::pending("https://h/a", "k");
        assert!(state.is_due(now));
        state.next_attempt_at = Some("2026-11-23T10:05:00.000Z".into());
        assert!(!state.is_due(now));
        assert!(state.is_due(now + chrono::Duration::minutes(5)));
        state.status = FileStatus::Failed;
        assert!(!state.is_due(now + chrono::Duration::hours(1)));
    }

    /// A claimed file is not due while the claim holds, and is due again (for a takeover) once
    /// it has expired; the record's due time follows its earliest waiting file.
    #[test]
    fn claims_hide_a_file_until_they_expire() {
        let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().expect("t");
        let mut recording = FileState::pending("https://h/a", "k");
        recording.claim = Some(Claim {
            owner: "req-1".into(),
            until: "2026-11-23T10:15:00.000Z".into(),
        });
        assert!(!recording.is_due(now));
        assert_eq!(
            recording.due_at(now),
            Some("2026-11-23T10:15:00Z".parse().expect("t"))
        );
        assert!(recording.is_due(now + chrono::Duration::minutes(15)));
        let mut transcript = FileState::pending("https://h/t", "k2");
        transcript.next_attempt_at = Some("2026-11-23T10:05:00.000Z".into());
        let mut files = Files::from([
            (FileKind::Recording, recording),
            (FileKind::Transcript, transcript),
        ]);
        assert_eq!(
            due_at(&files, now),
            Some("2026-11-23T10:05:00Z".parse().expect("t"))
        );
        for file in files.values_mut() {
            file.status = FileStatus::Failed;
        }
        assert_eq!(due_at(&files, now), None);
        let mut item = Item::new();
        add_file_attributes(&mut item, "CALL#voki#c1", &files, now);
        assert!(item.is_empty(), "no file waits: out of both indexes");
        files.insert(FileKind::Media, FileState::pending("https://h/m", "k3"));
        add_file_attributes(&mut item, "CALL#voki#c1", &files, now);
        assert_eq!(
            crate::item::get_s(&item, FILES_DUE_AT),
            Some("2026-11-23T10:00:00.000Z")
        );
        assert!(item.contains_key(FILES_PENDING) && item.contains_key(FILES_DUE_PK));
    }
}
