//! DynamoDB and S3 storage for verified deliveries and normalized records.
//!
//! [`schema`] is the one definition of the table and bucket layout: local provisioning creates
//! exactly it, and a test checks the infrastructure template against it. [`RecordStore`]
//! writes records idempotently and order-independently ([`RecordStore::ingest`]), keeps every
//! delivery's raw body, keeps rejected deliveries ([`RejectedDelivery`]) and spools deliveries
//! that DynamoDB could not take ([`SpooledDelivery`]); it accepts only
//! [`callvault_verify::Verified`] bodies. [`size`] bounds what it writes, and every failure is
//! a [`StoreError`] that says whether trying again can help.
//!
//! Modules by concern: `codec` (record items), `kept` (raw bodies, events, rejected
//! deliveries), `ingest` (the optimistic merge loop), `copying` (the copier's due records,
//! file claims and re-indexing), `record_store` (clients and plain requests), `spool`,
//! [`retention`] (the expiry every record, event and kept delivery is written with) and
//! [`expiry`] (what an expired item leaves in the bucket, removed) and [`erase`] (one
//! person's data, found, planned and removed everywhere).

mod codec;
mod copying;
mod delivery;
pub mod erase;
mod error;
pub mod expiry;
pub mod files;
#[cfg(feature = "follow")]
pub mod follow;
pub mod index;
mod ingest;
mod item;
mod kept;
mod record_store;
pub mod retention;
pub mod schema;
pub mod size;
mod spool;

pub use codec::{record_of, timestamp, History, Stored};
pub use copying::{claim, ClaimOutcome, DueEntry, FileClaim, Reindexed};
pub use delivery::Delivery;
pub use error::{BoxError, FailureKind, Service, StoreError, Unstorable};
pub use ingest::{Contribution, PutOutcome};
pub use item::Item;
pub use kept::{Kept, KeptBody, RejectedDelivery};
pub use record_store::{FileStateEntry, RecordStore};
pub use retention::Retention;
pub use spool::{spool_prefix, spooled_by, SpooledDelivery, SPOOL_PREFIX};

/// The DynamoDB client type, re-exported so callers need no direct SDK dependency.
pub use aws_sdk_dynamodb::Client as DynamoDbClient;
/// The S3 client type.
pub use aws_sdk_s3::Client as S3Client;
