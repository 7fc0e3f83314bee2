//! Copying one file: idempotent, retried with backoff for transient failures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::source::HttpSource;
use crate::upload::{
    stream_to_s3, Target, UploadConfig, Uploaded, META_SHA256, META_SIZE, META_SOURCE_URL,
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

    /// Copies `source_url` to `key`. If the object is already there from the same source
    /// with its digest recorded (an earlier copy whose record update was lost), nothing is
    /// downloaded again. Transient failures are retried with exponential backoff; permanent
    /// ones return at once.
    pub async fn copy(
        &self,
        provider: &str,
        source_url: &str,
        key: &str,
    ) -> Result<Uploaded, CopyError> {
        if let Some(existing) = self.existing(source_url, key).await? {
            return Ok(existing);
        }
        let source = self.sources.for_provider(provider);
        let target = Target {
            s3: &self.s3,
            bucket: &self.bucket,
            key,
            source_url,
        };
        let mut delay = self.retry.base_delay;
        let mut tries = 0;
        loop {
            tries += 1;
            let started = Instant::now();
            let result = match source.open(source_url).await {
                Ok(download) => {
                    stream_to_s3(download, &target, self.upload, source.policy().max_bytes).await
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && tries < self.retry.tries => {
                    tracing::warn!(key, tries, error = %e, elapsed_ms = started.elapsed().as_millis() as u64, "copy failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
    }

    async fn existing(&self, source_url: &str, key: &str) -> Result<Option<Uploaded>, CopyError> {
        let head = match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
            Err(e) => return Err(CopyError::s3(e)),
        };
        let meta = head.metadata.unwrap_or_default();
        match (
            meta.get(META_SOURCE_URL),
            meta.get(META_SHA256),
            meta.get(META_SIZE).and_then(|s| s.parse().ok()),
        ) {
            (Some(url), Some(sha256), Some(size)) if url == source_url => Ok(Some(Uploaded {
                size,
                sha256: sha256.clone(),
                content_type: head
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".into()),
                parts: 0,
            })),
            _ => Ok(None),
        }
    }
}
