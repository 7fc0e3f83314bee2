//! Storage errors, each sorted once into what can help: trying again later (transient) or
//! nothing (permanent: the request will be refused whatever happens).

use std::fmt;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use thiserror::Error;

/// An error with its causes, as the SDK and other libraries return them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The AWS service a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The table.
    DynamoDb,
    /// The archive bucket.
    S3,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DynamoDb => "DynamoDB",
            Self::S3 => "S3",
        })
    }
}

/// What went wrong with one request, which decides whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The service refused the request as invalid (DynamoDB `ValidationException`, S3
    /// `InvalidArgument`): it will be refused every time. Permanent.
    Invalid,
    /// The item is larger than DynamoDB accepts. Permanent.
    ItemTooLarge,
    /// A key (of the table or an index) is longer than DynamoDB accepts. Permanent.
    KeyTooLarge,
    /// The service throttled the request.
    Throttled,
    /// No answer within the time allowed (connect, attempt or operation timeout).
    Timeout,
    /// The service could not be reached or answered with a server error.
    Unavailable,
    /// The table or bucket does not exist or access is denied: the deployment needs fixing,
    /// after which the same request succeeds.
    Misconfigured,
    /// Any other answer; treated as transient.
    Other,
}

impl FailureKind {
    /// Whether the same request can never succeed.
    pub fn is_permanent(self) -> bool {
        matches!(self, Self::Invalid | Self::ItemTooLarge | Self::KeyTooLarge)
    }

    /// Sorts a service error code (and, for DynamoDB's catch-all `ValidationException`, its
    /// message) into a kind.
    pub fn of_code(code: Option<&str>, message: Option<&str>, status: u16) -> Self {
        let message = message.unwrap_or_default().to_ascii_lowercase();
        match code.unwrap_or_default() {
            "ValidationException" if message.contains("item size") => Self::ItemTooLarge,
            "ValidationException" if message.contains("key") && message.contains("exceeded") => {
                Self::KeyTooLarge
            }
            "ValidationException"
            | "InvalidArgument"
            | "EntityTooLarge"
            | "KeyTooLongError"
            | "SerializationException" => Self::Invalid,
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "TooManyRequestsException" => Self::Throttled,
            "ResourceNotFoundException"
            | "NoSuchBucket"
            | "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException" => Self::Misconfigured,
            "RequestTimeout" | "RequestTimeoutException" => Self::Timeout,
            _ if status >= 500 => Self::Unavailable,
            _ if status == 429 => Self::Throttled,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "refused as invalid",
            Self::ItemTooLarge => "item too large",
            Self::KeyTooLarge => "key too long",
            Self::Throttled => "throttled",
            Self::Timeout => "timed out",
            Self::Unavailable => "unavailable",
            Self::Misconfigured => "table, bucket or permission missing",
            Self::Other => "failed",
        })
    }
}

/// Something the store refuses to write because DynamoDB would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unstorable {
    /// The item (record, bookkeeping, summary and files together) is over the store's limit.
    #[error("the record would be {bytes} bytes, over the {limit}-byte item limit")]
    ItemTooLarge {
        /// The item's size as DynamoDB counts it.
        bytes: usize,
        /// The store's limit ([`crate::size::MAX_ITEM_BYTES`]).
        limit: usize,
    },
}

/// A storage failure. [`StoreError::is_permanent`] tells whether trying again can help.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A DynamoDB or S3 request failed.
    #[error("{service} {operation} {kind}")]
    Request {
        /// Which service.
        service: Service,
        /// The operation, e.g. `PutItem`.
        operation: &'static str,
        /// What kind of failure.
        kind: FailureKind,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// The store did not send a write that DynamoDB would refuse.
    #[error(transparent)]
    Unstorable(#[from] Unstorable),
    /// A record could not be converted to or from a DynamoDB item.
    #[error("item conversion failed")]
    Item(#[from] serde_dynamo::Error),
    /// A stored item is not in the expected shape.
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    /// A stored value could not be read back.
    #[error("{what} is malformed")]
    Malformed {
        /// Which value, e.g. `spooled delivery <key>`.
        what: String,
        /// Why it could not be read.
        #[source]
        source: BoxError,
    },
    /// Too many concurrent writers kept changing the same record.
    #[error("record {0} changed concurrently too often")]
    Contention(String),
    /// Storage did not finish within the time its caller allowed.
    #[error("storage did not finish within {0:?}")]
    Deadline(std::time::Duration),
}

impl StoreError {
    /// A failed SDK request, sorted by kind.
    pub fn request<E>(
        service: Service,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let kind = match &err {
            SdkError::TimeoutError(_) => FailureKind::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => FailureKind::Timeout,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => FailureKind::Unavailable,
            SdkError::ConstructionFailure(_) => FailureKind::Invalid,
            SdkError::ServiceError(s) => {
                FailureKind::of_code(s.err().code(), s.err().message(), s.raw().status().as_u16())
            }
            _ => FailureKind::Other,
        };
        Self::Request {
            service,
            operation,
            kind,
            source: Box::new(err),
        }
    }

    /// A failure of a local step around a request (building a presigned link, reading a
    /// response body); transient.
    pub fn local<E>(service: Service, operation: &'static str, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Request {
            service,
            operation,
            kind: FailureKind::Other,
            source: Box::new(err),
        }
    }

    /// A stored value (`what`) that could not be read back.
    pub fn malformed<E>(what: impl Into<String>, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Malformed {
            what: what.into(),
            source: Box::new(err),
        }
    }

    /// What kind of request failure this is, for request failures.
    pub fn kind(&self) -> Option<FailureKind> {
        match self {
            Self::Request { kind, .. } => Some(*kind),
            Self::Deadline(_) => Some(FailureKind::Timeout),
            _ => None,
        }
    }

    /// Whether the same write can never succeed: a request DynamoDB or S3 refused as invalid,
    /// an item over the size limit, a record that cannot be converted or a malformed stored
    /// item. Throttling, timeouts, outages, missing resources and contention are transient.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Request { kind, .. } => kind.is_permanent(),
            Self::Unstorable(_) | Self::Item(_) | Self::Corrupt(_) | Self::Malformed { .. } => true,
            Self::Contention(_) | Self::Deadline(_) => false,
        }
    }

    /// The error with every cause, on one line (for logs and kept reasons; the SDK's own
    /// messages name the problem without quoting item values).
    pub fn detail(&self) -> String {
        aws_sdk_dynamodb::error::DisplayErrorContext(self).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_validation_messages_sort_into_kinds() {
        // The messages DynamoDB (and the emulator) send for each permanent refusal.
        let kind =
            |message: &str| FailureKind::of_code(Some("ValidationException"), Some(message), 400);
        assert_eq!(
            kind("Item size has exceeded the maximum allowed size"),
            FailureKind::ItemTooLarge
        );
        assert_eq!(
            kind("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
            FailureKind::KeyTooLarge
        );
        assert_eq!(
            kind("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
            FailureKind::KeyTooLarge
        );
        assert_eq!(
            kind("Number overflow. Attempting to store a number with magnitude larger than supported range"),
            FailureKind::Invalid
        );
        for k in [
            FailureKind::ItemTooLarge,
            FailureKind::KeyTooLarge,
            FailureKind::Invalid,
        ] {
            assert!(k.is_permanent(), "{k:?}");
        }
    }

    #[test]
    fn outages_throttling_and_misconfiguration_are_transient() {
        for (code, status, expected) in [
            (
                "ProvisionedThroughputExceededException",
                400,
                FailureKind::Throttled,
            ),
            ("ThrottlingException", 400, FailureKind::Throttled),
            ("SlowDown", 503, FailureKind::Throttled),
            ("InternalServerError", 500, FailureKind::Unavailable),
            ("", 502, FailureKind::Unavailable),
            ("ResourceNotFoundException", 400, FailureKind::Misconfigured),
            ("AccessDenied", 403, FailureKind::Misconfigured),
            ("Whatever", 400, FailureKind::Other),
        ] {
            let kind = FailureKind::of_code(Some(code), None, status);
            assert_eq!(kind, expected, "{code}");
            assert!(!kind.is_permanent(), "{code}");
        }
        assert!(!StoreError::Contention("pk".into()).is_permanent());
        assert!(StoreError::from(Unstorable::ItemTooLarge { bytes: 2, limit: 1 }).is_permanent());
    }
}
