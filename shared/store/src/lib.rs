//! DynamoDB and S3 storage for verified deliveries and normalized records.
//!
//! [`schema`] is the one definition of the table and bucket layout: local provisioning creates
//! exactly it, and a test checks the infrastructure template against it. [`RecordStore`]
//! writes records idempotently and order-independently, keeps every delivery's raw body, and
//! keeps rejected deliveries; it accepts only [`callvault_verify::Verified`] bodies.

mod delivery;
mod error;
pub mod files;
pub mod index;
mod item;
mod record_store;
pub mod schema;
mod spool;

pub use delivery::{Delivery, Kept};
pub use error::StoreError;
pub use item::Item;
pub use record_store::{record_of, PutOutcome, RecordStore, Stored};
pub use spool::SpooledDelivery;

/// The DynamoDB client type, re-exported so callers need no direct SDK dependency.
pub use aws_sdk_dynamodb::Client as DynamoDbClient;
/// The S3 client type.
pub use aws_sdk_s3::Client as S3Client;
