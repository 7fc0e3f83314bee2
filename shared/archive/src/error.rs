use thiserror::Error;

/// Why a copy failed. [`CopyError::is_transient`] tells whether trying again may help.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CopyError {
    /// The URL is not a valid URL.
    #[error("invalid source URL: {0}")]
    InvalidUrl(String),
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
    /// Connection failure, reset, or a broken body stream.
    #[error("network error: {0}")]
    Network(String),
    /// S3 refused or failed.
    #[error("archive bucket error: {0}")]
    Storage(String),
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

    pub(crate) fn s3<E: std::error::Error + 'static>(err: E) -> Self {
        Self::Storage(aws_sdk_s3::error::DisplayErrorContext(err).to_string())
    }
}
