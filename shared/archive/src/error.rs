use thiserror::Error;

/// An error with its causes, as the SDK and other libraries return them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a copy failed. [`CopyError::is_transient`] tells whether trying again may help. A
/// stored or logged description is the whole chain of causes ([`CopyError::describe`]).
#[derive(Debug, Error)]
pub enum CopyError {
    /// The URL is not a valid URL.
    #[error("invalid source URL")]
    InvalidUrl(#[source] url::ParseError),
    /// The SSRF policy refused the URL, an address or a redirect; nothing was sent there.
    #[error("refused: {0}")]
    Refused(String),
    /// The source answered with a non-success status.
    #[error("source answered HTTP {0}")]
    Status(u16),
    /// The file is larger than the configured cap.
    #[error("file larger than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// The source sent fewer bytes than it declared.
    #[error("truncated download: {got} of {expected} bytes")]
    Truncated {
        /// Declared length.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// The source timed out or stalled.
    #[error("source timed out")]
    Timeout,
    /// Connection failure, reset, or a broken body stream. The cause never carries the URL
    /// (its query string may hold the provider's access token).
    #[error("network error")]
    Network(#[source] reqwest::Error),
    /// S3 refused or failed.
    #[error("archive bucket error")]
    Storage(#[source] BoxError),
}

impl CopyError {
    /// Whether a retry may succeed: timeouts, resets, 5xx, 408/429, truncation, S3 errors.
    /// Refusals, 4xx, invalid URLs and oversized files fail fast.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status(code) => *code >= 500 || *code == 408 || *code == 429,
            Self::Truncated { .. } | Self::Timeout | Self::Network(_) | Self::Storage(_) => true,
            Self::InvalidUrl(_) | Self::Refused(_) | Self::TooLarge { .. } => false,
        }
    }

    /// An S3 (or upload bookkeeping) failure.
    pub(crate) fn s3<E: Into<BoxError>>(err: E) -> Self {
        Self::Storage(err.into())
    }

    /// The error and each of its causes, `: `-separated: what is stored with a failed file
    /// and logged.
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        let mut current = std::error::Error::source(self);
        while let Some(e) = current {
            text.push_str(": ");
            text.push_str(&e.to_string());
            current = e.source();
        }
        text
    }
}
