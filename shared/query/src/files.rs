//! Archived files of a record: where they are, presigned links, and streaming them out.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use callvault_records::{CallRecord, Provider, Transcript, Word};
use callvault_store::files::{FileKind, FileState, FileStatus};
use callvault_store::{Service, StoreError};
use callvault_verify::Scope;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{QueryError, Reader};

/// Longest lifetime of a presigned link (S3's limit for SigV4).
pub const MAX_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// A presigned link to an archived file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileLink {
    /// The link (GET, no credentials needed until it expires).
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The archived file.
    pub file: FileState,
}

/// An archived file opened for reading.
#[derive(Debug)]
pub struct OpenFile {
    /// The file's archive state (size, SHA-256, content type).
    pub file: FileState,
    /// Its content, streamed from S3.
    pub body: ByteStream,
}

impl Reader {
    /// The archive state of one file of a call, if it has been copied.
    pub async fn archived_file(
        &self,
        provider: Provider,
        call_id: &str,
        scope: Option<&Scope>,
        kind: FileKind,
    ) -> Result<FileState, QueryError> {
        let (_, stored, _) = self.stored_call(provider, call_id, scope).await?;
        let id = format!("{provider}/{call_id}");
        let file = stored
            .files
            .get(&kind)
            .cloned()
            .ok_or_else(|| QueryError::NotFound(format!("{} of call {id}", kind.as_str())))?;
        if file.status != FileStatus::Copied {
            return Err(QueryError::NotArchived {
                kind: kind.as_str(),
                id,
                status: serde_json::to_value(file.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            });
        }
        Ok(file)
    }

    /// A presigned GET link to an archived file of a call, valid for `lifetime` (at most
    /// [`MAX_LINK_LIFETIME`]).
    pub async fn file_link(
        &self,
        provider: Provider,
        call_id: &str,
        scope: Option<&Scope>,
        kind: FileKind,
        lifetime: Duration,
    ) -> Result<FileLink, QueryError> {
        let file = self.archived_file(provider, call_id, scope, kind).await?;
        self.link_to(file, lifetime).await
    }

    /// A presigned GET link to an archived file (of a call or a message), valid for
    /// `lifetime` (at most [`MAX_LINK_LIFETIME`]).
    pub async fn link_to(
        &self,
        file: FileState,
        lifetime: Duration,
    ) -> Result<FileLink, QueryError> {
        let lifetime = lifetime.min(MAX_LINK_LIFETIME);
        let presigned = self
            .store
            .s3()
            .get_object()
            .bucket(self.store.bucket())
            .key(&file.s3_key)
            .presigned(
                PresigningConfig::expires_in(lifetime)
                    .map_err(|e| StoreError::local(Service::S3, "PresignGetObject", e))?,
            )
            .await
            .map_err(|e| StoreError::request(Service::S3, "PresignGetObject", e))?;
        Ok(FileLink {
            url: presigned.uri().to_owned(),
            expires_at: Utc::now()
                + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::zero()),
            file,
        })
    }

    /// Opens an archived file of a call for streaming.
    pub async fn open_file(
        &self,
        provider: Provider,
        call_id: &str,
        scope: Option<&Scope>,
        kind: FileKind,
    ) -> Result<OpenFile, QueryError> {
        let file = self.archived_file(provider, call_id, scope, kind).await?;
        let out = self
            .store
            .s3()
            .get_object()
            .bucket(self.store.bucket())
            .key(&file.s3_key)
            .send()
            .await
            .map_err(|e| StoreError::request(Service::S3, "GetObject", e))?;
        Ok(OpenFile {
            file,
            body: out.body,
        })
    }
}

/// The most bytes [`Reader::read_file`] callers usually want of a text file (a transcript).
pub const MAX_TEXT_FILE: u64 = 4 << 20;

impl Reader {
    /// The first `max` bytes of an archived file (the whole file when it is smaller).
    pub async fn read_file(&self, file: &FileState, max: u64) -> Result<Vec<u8>, QueryError> {
        if file.size == Some(0) || max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .store
            .s3()
            .get_object()
            .bucket(self.store.bucket())
            .key(&file.s3_key)
            .range(format!("bytes=0-{}", max.saturating_sub(1)))
            .send()
            .await
            .map_err(|e| StoreError::request(Service::S3, "GetObject", e))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::local(Service::S3, "GetObject", e))?;
        Ok(bytes.to_vec())
    }

    /// A call's transcript with its text and word timings, read back from the raw delivery
    /// when they were moved out of a call too large for one item. `None` when the call has
    /// no transcript.
    pub async fn transcript(&self, record: &CallRecord) -> Result<Option<Transcript>, QueryError> {
        let Some(transcript) = &record.transcript else {
            return Ok(None);
        };
        let Some(offloaded) = &transcript.offloaded else {
            return Ok(Some(transcript.clone()));
        };
        /// The provider's transcript object, as the raw delivery has it.
        #[derive(serde::Deserialize)]
        struct Raw {
            text: Option<String>,
            #[serde(default)]
            words: Vec<Word>,
        }
        let body = self.store.get_object(&offloaded.s3_uri).await?;
        let raw = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.pointer(&offloaded.json_pointer).cloned())
            .and_then(|v| serde_json::from_value::<Raw>(v).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "no transcript at {} in the kept delivery",
                    offloaded.json_pointer
                ))
            })?;
        Ok(Some(Transcript {
            text: raw.text,
            words: raw.words,
            ..transcript.clone()
        }))
    }
}
