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
}

impl StoreError {
    /// Wraps an SDK error with its full cause chain (the SDK's `Display` alone is terse).
    pub fn sdk<E: std::error::Error + 'static>(err: E) -> Self {
        Self::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
    }
}
