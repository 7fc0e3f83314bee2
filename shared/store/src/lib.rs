//! DynamoDB and S3 storage for verified deliveries and normalized records.
//!
//! [`schema`] is the one definition of the table and bucket layout: local provisioning creates
//! exactly it, and a test checks the infrastructure template against it. [`CallStore`] writes
//! records idempotently and keeps rejected deliveries raw; it accepts only
//! [`callvault_verify::Verified`] bodies.

mod call_store;
mod error;
mod item;
pub mod schema;

pub use call_store::{CallStore, Delivery, PutOutcome, StoredCall};
pub use error::StoreError;

/// The DynamoDB client type, re-exported so callers need no direct SDK dependency.
pub use aws_sdk_dynamodb::Client as DynamoDbClient;
/// The S3 client type.
pub use aws_sdk_s3::Client as S3Client;
