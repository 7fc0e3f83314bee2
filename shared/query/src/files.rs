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

/// The key [`Reader::link_prefix`] presigns a link to (never fetched): only characters that
/// stand for themselves in a URL path.
const PROBE_KEY: &str = "callvault-link-prefix-probe";

/// A presigned link that does not have the shape every link of the bucket shares (an
/// `http` or `https` URL whose path ends in the key).
#[derive(Debug, thiserror::Error)]
#[error("a presigned link to {key} does not end in its key: {link}")]
pub struct UnexpectedLink {
    /// The key presigned.
    pub key: &'static str,
    /// The link without its query (the signature and credential scope).
    pub link: String,
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

    /// What every presigned link of this reader begins with: the scheme, host and port the
    /// S3 client addresses the bucket at, and the path before the object key. That is
    /// `https://<bucket>.s3.<region>.amazonaws.com/` (virtual-hosted, the SDK's default),
    /// `https://s3.<region>.amazonaws.com/<bucket>/` (path-style: `force_path_style`, or a
    /// bucket name that cannot be a host name), and against a custom endpoint
    /// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `--endpoint-url`) that endpoint, with the
    /// bucket as a path segment when its host is an IP address (`http://127.0.0.1:4566/<bucket>/`)
    /// or as a subdomain otherwise. It is read from a link presigned by the same client, so it
    /// is exactly what [`Self::link_to`] produces; nothing is sent to S3.
    pub async fn link_prefix(&self) -> Result<String, QueryError> {
        let presigned = self
            .store
            .s3()
            .get_object()
            .bucket(self.store.bucket())
            .key(PROBE_KEY)
            .presigned(
                PresigningConfig::expires_in(Duration::from_secs(60))
                    .map_err(|e| StoreError::local(Service::S3, "PresignGetObject", e))?,
            )
            .await
            .map_err(|e| StoreError::request(Service::S3, "PresignGetObject", e))?;
        let link = presigned.uri().split(['?', '#']).next().unwrap_or_default();
        link.strip_suffix(PROBE_KEY)
            .filter(|prefix| {
                prefix.ends_with('/')
                    && ["https://", "http://"]
                        .iter()
                        .any(|scheme| prefix.len() > scheme.len() && prefix.starts_with(scheme))
            })
            .map(str::to_owned)
            .ok_or_else(|| {
                StoreError::local(
                    Service::S3,
                    "PresignGetObject",
                    UnexpectedLink {
                        key: PROBE_KEY,
                        link: link.to_owned(),
                    },
                )
                .into()
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

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    use super::*;

    /// A change to an S3 client's configuration.
    type Configure = fn(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder;

    /// A reader whose S3 client is configured as `configure` says (nothing is sent).
    fn reader(bucket: &str, configure: Configure) -> Reader {
        let s3 = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ));
        let ddb = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .build();
        Reader::new(
            aws_sdk_dynamodb::Client::from_conf(ddb),
            aws_sdk_s3::Client::from_conf(configure(s3).build()),
            "calls",
            bucket,
        )
    }

    #[tokio::test]
    async fn the_link_prefix_is_where_the_client_addresses_the_bucket() {
        let cases: [(&str, Configure, &str); 6] = [
            (
                "callvault-archive",
                |b| b,
                "https://callvault-archive.s3.eu-west-1.amazonaws.com/",
            ),
            (
                "callvault-archive",
                |b| b.region(Region::new("us-east-1")),
                "https://callvault-archive.s3.us-east-1.amazonaws.com/",
            ),
            (
                "callvault-archive",
                |b| b.force_path_style(true),
                "https://s3.eu-west-1.amazonaws.com/callvault-archive/",
            ),
            (
                "archive.example.com",
                |b| b,
                "https://s3.eu-west-1.amazonaws.com/archive.example.com/",
            ),
            (
                "callvault-archive",
                |b| b.endpoint_url("http://127.0.0.1:4566"),
                "http://127.0.0.1:4566/callvault-archive/",
            ),
            (
                "callvault-archive",
                |b| b.endpoint_url("http://localhost:4566"),
                "http://callvault-archive.localhost:4566/",
            ),
        ];
        for (bucket, configure, expected) in cases {
            let reader = reader(bucket, configure);
            let prefix = reader.link_prefix().await.expect("a prefix");
            assert_eq!(prefix, expected);
            // Every link to a file of the bucket begins with it.
            let link = reader
                .store
                .s3()
                .get_object()
                .bucket(bucket)
                .key("hatif/2026/11/02/default/c%2F1/recording.mp3")
                .presigned(PresigningConfig::expires_in(Duration::from_secs(900)).expect("15 min"))
                .await
                .expect("presigned");
            assert!(
                link.uri().starts_with(&prefix),
                "{} under {prefix}",
                link.uri()
            );
        }
    }
}
