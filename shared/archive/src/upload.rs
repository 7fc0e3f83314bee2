//! Streaming a download into S3 with bounded memory.
//!
//! Download and upload overlap: the body is read into a part buffer; each full part is
//! uploaded by its own task while reading continues, with at most `max_in_flight` parts
//! uploading at once. Peak memory is about `part_size × (max_in_flight + 1)` whatever the
//! file size. A file smaller than one part is sent with a single PutObject. On any failure the
//! multipart upload is aborted, so no partial object is ever visible.
//!
//! Each object is written once: the PUT (or the multipart completion) is conditional on no
//! object being at the key, and the content's digest and size are attached as object tags
//! (which change no version) rather than by copying the object onto itself.
//!
//! Bodies are sent without payload signing: the SDK would otherwise hash every byte a second
//! time (SigV4's payload SHA-256) beside the digest computed here. Each body still carries the
//! CRC32 checksum the SDK adds and S3 verifies, inside TLS.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use bytes::BytesMut;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::source::{Download, HttpSource};
use crate::CopyError;

/// Metadata key holding the SHA-256 of the source URL (hex): which link the object was copied
/// from, without keeping the link (its query string may hold an access token).
pub const META_SOURCE: &str = "source-sha256";
/// Tag holding the content's SHA-256 (hex).
pub const TAG_SHA256: &str = "sha256";
/// Tag holding the size in bytes.
pub const TAG_SIZE: &str = "size";

/// The [`META_SOURCE`] value of a source URL.
pub fn source_digest(source_url: &str) -> String {
    hex::encode(Sha256::digest(source_url.as_bytes()))
}

/// Part size and parallelism of multipart uploads.
#[derive(Debug, Clone, Copy)]
pub struct UploadConfig {
    /// Bytes per part (S3 requires at least 5 MiB for all but the last part).
    pub part_size: usize,
    /// Parts uploading at the same time.
    pub max_in_flight: usize,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            part_size: 8 * 1024 * 1024,
            max_in_flight: 4,
        }
    }
}

/// A completed copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes copied.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Content type stored with the object.
    pub content_type: String,
    /// Parts used (1 for a single PUT).
    pub parts: usize,
}

/// Where an upload goes.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The S3 client.
    pub s3: &'a aws_sdk_s3::Client,
    /// Bucket.
    pub bucket: &'a str,
    /// Key.
    pub key: &'a str,
    /// The source URL, stored as metadata.
    pub source_url: &'a str,
}

/// The tags recording a copy's digest and size, in the URL-encoded form PutObject takes.
fn tags_query(size: u64, sha256: &str) -> String {
    format!("{TAG_SHA256}={sha256}&{TAG_SIZE}={size}")
}

/// Attaches the digest and size tags to the object at `target` (no new version).
pub(crate) async fn put_tags(
    target: &Target<'_>,
    size: u64,
    sha256: &str,
) -> Result<(), CopyError> {
    let tag = |key: &str, value: String| {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(CopyError::s3)
    };
    let tagging = Tagging::builder()
        .tag_set(tag(TAG_SHA256, sha256.to_owned())?)
        .tag_set(tag(TAG_SIZE, size.to_string())?)
        .build()
        .map_err(CopyError::s3)?;
    target
        .s3
        .put_object_tagging()
        .bucket(target.bucket)
        .key(target.key)
        .tagging(tagging)
        .send()
        .await
        .map_err(CopyError::s3)?;
    Ok(())
}

/// Whether an S3 error says the conditional write found an object already there (412) or
/// lost a race with a concurrent writer of the same key (409).
fn already_written<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    err.raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
}

/// The outcome of a conditional write: written now, or an object was already at the key
/// (a concurrent copier of the same file); the caller then reads what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// This copy wrote the object.
    Now(Uploaded),
    /// An object was already at the key; nothing was written.
    AlreadyThere,
}

/// Streams `download` into `target`, enforcing `max_bytes` and the declared length.
pub async fn stream_to_s3(
    download: Download,
    target: &Target<'_>,
    config: UploadConfig,
    max_bytes: u64,
) -> Result<Written, CopyError> {
    let Download {
        response,
        content_length,
        content_type,
    } = download;
    let mut body = response.bytes_stream();
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let first_part = content_length.map_or(config.part_size, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(config.part_size)
    });
    let mut buffer = BytesMut::with_capacity(first_part);
    let mut multipart: Option<Multipart> = None;

    let result: Result<Written, CopyError> = async {
        loop {
            let chunk = match body.next().await {
                Some(chunk) => chunk.map_err(HttpSource::classify)?,
                None => break,
            };
            total += chunk.len() as u64;
            if total > max_bytes {
                return Err(CopyError::TooLarge { limit: max_bytes });
            }
            hasher.update(&chunk);
            // Fill fixed-size part buffers exactly: a buffer never grows past `part_size`, so
            // each part in flight holds one allocation of that size and nothing more.
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let room = config.part_size - buffer.len();
                let (now, later) = rest.split_at(room.min(rest.len()));
                buffer.extend_from_slice(now);
                rest = later;
                if buffer.len() == config.part_size {
                    let part =
                        std::mem::replace(&mut buffer, BytesMut::with_capacity(config.part_size))
                            .freeze();
                    if multipart.is_none() {
                        multipart = Some(
                            Multipart::start(target, &content_type, config.max_in_flight).await?,
                        );
                    }
                    if let Some(m) = multipart.as_mut() {
                        m.send(part).await?;
                    }
                }
            }
        }
        if let Some(expected) = content_length {
            if total != expected {
                return Err(CopyError::Truncated {
                    expected,
                    got: total,
                });
            }
        }
        let sha256 = hex::encode(hasher.finalize_reset());
        let uploaded = |parts| Uploaded {
            size: total,
            sha256: sha256.clone(),
            content_type: content_type.clone(),
            parts,
        };
        match multipart.as_mut() {
            None => {
                let put = target
                    .s3
                    .put_object()
                    .bucket(target.bucket)
                    .key(target.key)
                    .if_none_match("*")
                    .content_type(&content_type)
                    .metadata(META_SOURCE, source_digest(target.source_url))
                    .tagging(tags_query(total, &sha256))
                    .body(ByteStream::from(buffer.split().freeze()))
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(Written::Now(uploaded(1))),
                    Err(e) if already_written(&e) => Ok(Written::AlreadyThere),
                    Err(e) => Err(CopyError::s3(e)),
                }
            }
            Some(m) => {
                if !buffer.is_empty() {
                    m.send(buffer.split().freeze()).await?;
                }
                match m.finish().await? {
                    Some(parts) => {
                        put_tags(target, total, &sha256).await?;
                        Ok(Written::Now(uploaded(parts)))
                    }
                    None => Ok(Written::AlreadyThere),
                }
            }
        }
    }
    .await;

    if matches!(result, Err(_) | Ok(Written::AlreadyThere)) {
        if let Some(m) = multipart {
            m.abort().await;
        }
    }
    result
}

/// A multipart upload in progress.
struct Multipart {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: String,
    next_part: i32,
    slots: Arc<Semaphore>,
    tasks: JoinSet<Result<CompletedPart, CopyError>>,
    done: Vec<CompletedPart>,
}

impl Multipart {
    async fn start(
        target: &Target<'_>,
        content_type: &str,
        max_in_flight: usize,
    ) -> Result<Self, CopyError> {
        let out = target
            .s3
            .create_multipart_upload()
            .bucket(target.bucket)
            .key(target.key)
            .content_type(content_type)
            .metadata(META_SOURCE, source_digest(target.source_url))
            .send()
            .await
            .map_err(CopyError::s3)?;
        let upload_id = out
            .upload_id
            .ok_or_else(|| CopyError::s3("S3 returned no upload id"))?;
        Ok(Self {
            s3: target.s3.clone(),
            bucket: target.bucket.to_owned(),
            key: target.key.to_owned(),
            upload_id,
            next_part: 1,
            slots: Arc::new(Semaphore::new(max_in_flight.max(1))),
            tasks: JoinSet::new(),
            done: Vec::new(),
        })
    }

    /// Starts uploading one part once a slot is free; fails early if an earlier part failed.
    async fn send(&mut self, part: bytes::Bytes) -> Result<(), CopyError> {
        while let Some(done) = self.tasks.try_join_next() {
            self.done.push(done.map_err(CopyError::s3)??);
        }
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(CopyError::s3)?;
        let number = self.next_part;
        self.next_part += 1;
        let (s3, bucket, key, upload_id) = (
            self.s3.clone(),
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.clone(),
        );
        self.tasks.spawn(async move {
            let _permit = permit;
            let out = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(part))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(CopyError::s3)?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build())
        });
        Ok(())
    }

    /// Completes the upload unless an object is already at the key: `Some(parts)` when this
    /// upload wrote it, `None` when another writer got there first (the caller aborts).
    async fn finish(&mut self) -> Result<Option<usize>, CopyError> {
        let mut parts = std::mem::take(&mut self.done);
        while let Some(done) = self.tasks.join_next().await {
            parts.push(done.map_err(CopyError::s3)??);
        }
        parts.sort_by_key(|p| p.part_number);
        let count = parts.len();
        let completed = self
            .s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .if_none_match("*")
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        match completed {
            Ok(_) => Ok(Some(count)),
            Err(e) if already_written(&e) => Ok(None),
            Err(e) => Err(CopyError::s3(e)),
        }
    }

    async fn abort(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let aborted = self
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(key = %self.key, error = %aws_sdk_s3::error::DisplayErrorContext(e), "could not abort multipart upload; the bucket lifecycle rule removes it");
        }
    }
}
