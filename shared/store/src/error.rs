use thiserror::Error;

/// A storage failure. Any of these means the delivery is not durable and the provider should
/// retry.
#[derive(Debug, Error)]
pub enum StoreError {
    /// DynamoDB or S3 refused or could not be reached.
    #[error("storage request failed: {0}")]
    Unavailable(String),
    /// A record could not be converted to or from a DynamoDB item.
    #[error("item conversion failed: {0}")]
    Item(#[from] serde_dynamo::Error),
    /// A stored item is not in the expected shape.
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    /// The normalized record would not fit a DynamoDB item even without its transcript.
    #[error("record of {0} bytes is too large to store")]
    RecordTooLarge(usize),
    /// Too many concurrent writers kept changing the same record.
    #[error("record {0} changed concurrently too often")]
    Contention(String),
}

impl StoreError {
    /// Wraps an SDK error with its full cause chain (the SDK's `Display` alone is terse).
    pub fn sdk<E: std::error::Error + 'static>(err: E) -> Self {
        Self::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
    }
}
