//! Reading stored calls, messages and archived files back out of the table and bucket.
//!
//! One library behind both the `callvault` CLI and the `query-api` function: [`input`] reads
//! what users type, [`Reader`] answers every access pattern through the table's indexes (no
//! scans), and lists page with opaque cursors. Key construction comes from
//! `callvault_store::schema`, the one definition of the layout.

mod calls;
mod cursor;
mod error;
mod files;
pub mod input;
mod messages;
mod paged;

pub use calls::{CallDetail, CallFilter, DeliveryEvent};
pub use callvault_store::index::{CallSummary, MessageSummary};
pub use callvault_verify::Scope;
pub use error::{InputError, QueryError};
pub use files::{FileLink, OpenFile, UnexpectedLink, MAX_LINK_LIFETIME, MAX_TEXT_FILE};
pub use messages::{MessageDetail, MAX_CONVERSATION};
pub use paged::Page;

use callvault_store::RecordStore;

/// Reads records and files from one table and bucket.
#[derive(Debug, Clone)]
pub struct Reader {
    store: RecordStore,
}

impl Reader {
    /// A reader over `table` and `bucket`.
    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        s3: aws_sdk_s3::Client,
        table: impl Into<String>,
        bucket: impl Into<String>,
    ) -> Self {
        Self {
            store: RecordStore::new(ddb, s3, table, bucket),
        }
    }

    /// A reader from one SDK configuration.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        table: impl Into<String>,
        bucket: impl Into<String>,
    ) -> Self {
        Self::new(
            aws_sdk_dynamodb::Client::new(config),
            aws_sdk_s3::Client::new(config),
            table,
            bucket,
        )
    }

    /// One cheap request so that connections are ready (and a wrong table name shows early).
    pub async fn warm_up(&self) -> Result<(), QueryError> {
        Ok(self.store.warm_up().await?)
    }
}
