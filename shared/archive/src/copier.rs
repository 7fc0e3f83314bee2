//! Copying one file: idempotent, retried with backoff for transient failures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::source::HttpSource;
use crate::upload::{
    put_tags, source_digest, stream_to_s3, Target, UploadConfig, Uploaded, Written, META_SOURCE,
    TAG_SHA256, TAG_SIZE,
};
use crate::CopyError;

/// How often and how patiently transient failures are retried within one copy.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries per copy (1 = no retry).
    pub tries: u32,
    /// Delay before the first retry; doubled each time.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            tries: 3,
            base_delay: Duration::from_millis(500),
        }
    }
}

/// The HTTP sources: one per provider with a host allowlist, and a default for the others.
#[derive(Debug, Clone)]
pub struct Sources {
    default: HttpSource,
    per_provider: HashMap<String, HttpSource>,
}

impl Sources {
    /// Sources with the same policy for every provider.
    pub fn uniform(default: HttpSource) -> Self {
        Self {
            default,
            per_provider: HashMap::new(),
        }
    }

    /// Uses `source` (with its own allowlist) for `provider`.
    pub fn with_provider(mut self, provider: &str, source: HttpSource) -> Self {
        self.per_provider.insert(provider.to_owned(), source);
        self
    }

    fn for_provider(&self, provider: &str) -> &HttpSource {
        self.per_provider.get(provider).unwrap_or(&self.default)
    }
}

/// Copies provider files into the archive bucket.
#[derive(Debug, Clone)]
pub struct Copier {
    sources: Sources,
    s3: aws_sdk_s3::Client,
    bucket: String,
    upload: UploadConfig,
    retry: RetryPolicy,
}

impl Copier {
    /// A copier reading through `sources` and writing to `bucket`.
    pub fn new(
        sources: Sources,
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        upload: UploadConfig,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            sources,
            s3,
            bucket: bucket.into(),
            upload,
            retry,
        }
    }

    /// The archive bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The longest a single copy may take (the source policy's total timeout).
    pub fn max_duration(&self, provider: &str) -> Duration {
        self.sources.for_provider(provider).policy().total_timeout
    }

    /// Copies `source_url` to `key` within the source policy's total timeout; see
    /// [`Copier::copy_within`].
    pub async fn copy(
        &self,
        provider: &str,
        source_url: &str,
        key: &str,
    ) -> Result<Uploaded, CopyError> {
        self.copy_within(provider, source_url, key, self.max_duration(provider))
            .await
    }

    /// Copies `source_url` to `key`, giving up (with [`CopyError::Timeout`]) once `budget`
    /// has passed. If the object is already there from the same source (an earlier copy whose
    /// record update was lost, or a concurrent copier of the same file), nothing is downloaded
    /// again and no second version is written. Transient failures are retried with
    /// exponential backoff while the budget lasts; permanent ones return at once.
    pub async fn copy_within(
        &self,
        provider: &str,
        source_url: &str,
        key: &str,
        budget: Duration,
    ) -> Result<Uploaded, CopyError> {
        let deadline = Instant::now() + budget;
        let target = Target {
            s3: &self.s3,
            bucket: &self.bucket,
            key,
            source_url,
        };
        if let Some(existing) = self.existing(&target, true).await? {
            return Ok(existing);
        }
        let source = self.sources.for_provider(provider);
        let mut delay = self.retry.base_delay;
        let mut tries = 0;
        loop {
            tries += 1;
            let started = Instant::now();
            let left = deadline.saturating_duration_since(started);
            let result = match source.open(source_url, left).await {
                Ok(download) => {
                    stream_to_s3(download, &target, self.upload, source.policy().max_bytes).await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(Written::Now(uploaded)) => return Ok(uploaded),
                Ok(Written::AlreadyThere) => {
                    return self
                        .existing(&target, false)
                        .await?
                        .ok_or_else(|| CopyError::s3("the object at the key vanished"))
                }
                Err(e)
                    if e.is_transient()
                        && tries < self.retry.tries
                        && deadline.saturating_duration_since(Instant::now()) > delay * 2 =>
                {
                    tracing::warn!(key, tries, error = %e.describe(), elapsed_ms = started.elapsed().as_millis() as u64, "copy failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The object already at the target's key, with its digest and size: from its tags, or
    /// (when a copier stopped between writing it and tagging it) by reading it once and
    /// tagging it. With `same_source`, only an object copied from this very URL counts.
    async fn existing(
        &self,
        target: &Target<'_>,
        same_source: bool,
    ) -> Result<Option<Uploaded>, CopyError> {
        let head = match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(target.key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
            Err(e) => return Err(CopyError::s3(e)),
        };
        let from_source = head
            .metadata
            .as_ref()
            .and_then(|m| m.get(META_SOURCE))
            .is_some_and(|digest| *digest == source_digest(target.source_url));
        if same_source && !from_source {
            return Ok(None);
        }
        let content_type = head
            .content_type
            .unwrap_or_else(|| "application/octet-stream".into());
        let tags = self
            .s3
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(target.key)
            .send()
            .await
            .map_err(CopyError::s3)?;
        let tag = |name: &str| {
            tags.tag_set()
                .iter()
                .find(|t| t.key() == name)
                .map(|t| t.value().to_owned())
        };
        let (sha256, size) = match (tag(TAG_SHA256), tag(TAG_SIZE).and_then(|s| s.parse().ok())) {
            (Some(sha256), Some(size)) => (sha256, size),
            _ => {
                let (sha256, size) = self.digest_of(target.key).await?;
                put_tags(target, size, &sha256).await?;
                (sha256, size)
            }
        };
        Ok(Some(Uploaded {
            size,
            sha256,
            content_type,
            parts: 0,
        }))
    }

    /// The SHA-256 and size of an object, read from the bucket.
    async fn digest_of(&self, key: &str) -> Result<(String, u64), CopyError> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(CopyError::s3)?;
        let mut body = out.body;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(CopyError::s3)?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((hex::encode(hasher.finalize()), size))
    }
}
