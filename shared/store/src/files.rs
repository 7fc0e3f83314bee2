//! Archive state of the files a record points at (recording, transcript file, media): kept
//! beside the record in a `files` map so webhook merges and the copier never overwrite each
//! other, plus a `files_pending` flag that the copier's stream filter selects on.

use std::collections::BTreeMap;

use callvault_records::Normalized;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::index::{call_time, message_time};

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
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the copy completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_at: Option<String>,
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
            copied_at: None,
        }
    }
}

/// The files of a record, by kind.
pub type Files = BTreeMap<FileKind, FileState>;

/// Keeps the characters that are safe in an S3 key segment; others become `_`.
pub(crate) fn key_segment(id: &str) -> String {
    id.chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
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
/// `<provider>/<YYYY>/<MM>/<DD>/<id>/<kind>.<ext>` (the date of the call or message, or of
/// receipt when it has none).
pub fn files_of(
    record: &Normalized,
    received_at: DateTime<Utc>,
) -> Vec<(FileKind, String, String)> {
    let mut out = Vec::new();
    let mut push = |kind: FileKind, url: &str, provider: &str, day: DateTime<Utc>, id: &str| {
        let ext = extension(url).unwrap_or_else(|| {
            if kind == FileKind::Transcript {
                "json".into()
            } else {
                "bin".into()
            }
        });
        let key = format!(
            "{provider}/{}/{}/{}.{ext}",
            day.format("%Y/%m/%d"),
            key_segment(id),
            kind.as_str()
        );
        out.push((kind, url.to_owned(), key));
    };
    match record {
        Normalized::Call(c) => {
            let day = call_time(c, received_at);
            if let Some(r) = &c.recording {
                push(
                    FileKind::Recording,
                    &r.source_url,
                    c.provider.as_str(),
                    day,
                    &c.provider_call_id,
                );
            }
            if let Some(f) = c.transcript.as_ref().and_then(|t| t.file.as_ref()) {
                push(
                    FileKind::Transcript,
                    &f.source_url,
                    c.provider.as_str(),
                    day,
                    &c.provider_call_id,
                );
            }
        }
        Normalized::Message(m) => {
            if let Some(media) = &m.media {
                let id = format!("{}_{}", m.conversation_id, m.message_id);
                push(
                    FileKind::Media,
                    &media.source_url,
                    m.provider.as_str(),
                    message_time(m, received_at),
                    &id,
                );
            }
        }
        Normalized::Contact(_) => {}
    }
    out
}

/// Adds pending entries for files the record points at that `existing` does not track yet;
/// entries already tracked keep their state.
pub fn with_new_files(
    mut existing: Files,
    record: &Normalized,
    received_at: DateTime<Utc>,
) -> Files {
    for (kind, source_url, s3_key) in files_of(record, received_at) {
        existing
            .entry(kind)
            .or_insert_with(|| FileState::pending(source_url, s3_key));
    }
    existing
}

/// Whether any file still waits for the copier.
pub fn any_pending(files: &Files) -> bool {
    files.values().any(|f| f.status == FileStatus::Pending)
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
        let files = files_of(&Normalized::Call(call), Utc::now());
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
        let keys: Vec<_> = files_of(&Normalized::Call(odd), at)
            .into_iter()
            .map(|(_, _, k)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "postcall/2026/11/23/.._x_y/recording.bin",
                "postcall/2026/11/23/.._x_y/transcript.json"
            ]
        );
    }

    #[test]
    fn new_files_are_pending_and_tracked_ones_keep_their_state() {
        let call = Normalized::Call(voiceinfra::normalize(
            voiceinfra::parse(br#"{"call_id":"c","recording_url":"https://h/a.wav"}"#).expect("p"),
        ));
        let files = with_new_files(Files::new(), &call, Utc::now());
        assert!(any_pending(&files));
        let mut copied = files.clone();
        copied
            .get_mut(&FileKind::Recording)
            .expect("recording")
            .status = FileStatus::Copied;
        let again = with_new_files(copied.clone(), &call, Utc::now());
        assert_eq!(again, copied);
        assert!(!any_pending(&again));
    }
}
