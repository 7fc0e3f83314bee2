//! The store's clients and its plain requests: reads, conditional writes, objects.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;

use crate::error::Service;
use crate::item::{s, Item};
use crate::retention::Retention;
use crate::schema::{events_prefix, PARTITION_KEY, SORT_KEY};
use crate::{StoreError, Stored};

/// A record listed by [`RecordStore::with_file_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStateEntry {
    /// The record's partition key.
    pub pk: String,
    /// The record's sort key.
    pub sk: String,
    /// Its provider.
    pub provider: String,
    /// Its index time key (`<time>#<provider>#<id>`): it sorts by the call's or message's time.
    pub time_sk: String,
}

/// Reads and writes normalized records, delivery events, rejected deliveries and the spool.
#[derive(Debug, Clone)]
pub struct RecordStore {
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    table: String,
    bucket: String,
    retention: Option<Retention>,
}

/// Sorts a failed DynamoDB (or DynamoDB Streams) request into a [`StoreError`].
pub(crate) fn dynamodb<E>(
    operation: &'static str,
) -> impl FnOnce(SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::request(Service::DynamoDb, operation, e)
}

fn s3<E>(
    operation: &'static str,
) -> impl FnOnce(SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> StoreError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::request(Service::S3, operation, e)
}

impl RecordStore {
    /// A store over `table` and the archive `bucket`, not told how long to keep what it writes
    /// (see [`Self::with_retention`]): a record it rewrites keeps the expiry it has, and what
    /// it creates gets none.
    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        s3: aws_sdk_s3::Client,
        table: impl Into<String>,
        bucket: impl Into<String>,
    ) -> Self {
        Self {
            ddb,
            s3,
            table: table.into(),
            bucket: bucket.into(),
            retention: None,
        }
    }

    /// This store, giving every record, delivery event and kept delivery it writes the
    /// expiry `retention` implies (none when it keeps them forever): what the functions use.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// How long what this store writes is kept, if it was told ([`Self::with_retention`]).
    pub fn retention(&self) -> Option<&Retention> {
        self.retention.as_ref()
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The DynamoDB client.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.ddb
    }

    /// The S3 client.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// The `s3://` URI of `key` in the archive bucket.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// One cheap request (DescribeTable) so the connection and credentials are ready before
    /// the first delivery, and a missing table is reported at start.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.ddb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(dynamodb("DescribeTable"))?;
        Ok(())
    }

    /// Reads the record stored under `(pk, sk)` (see [`crate::schema`]).
    pub async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Stored>, StoreError> {
        self.raw_item(pk, sk)
            .await?
            .as_ref()
            .map(Stored::from_item)
            .transpose()
    }

    /// The item at `(pk, sk)` as stored (consistent read).
    pub(crate) async fn raw_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamodb("GetItem"))?;
        Ok(out.item)
    }

    /// Every record of partition `pk` whose sort key starts with `sk_prefix`, with its sort
    /// key: the records of one call under each scope (`schema::CALL_SK`).
    pub async fn records(
        &self,
        pk: &str,
        sk_prefix: &str,
    ) -> Result<Vec<(String, Stored)>, StoreError> {
        self.query_prefix(pk, sk_prefix)
            .await?
            .iter()
            .map(|item| {
                let sk = crate::item::get_s(item, SORT_KEY)
                    .unwrap_or_default()
                    .to_owned();
                Stored::from_item(item).map(|stored| (sk, stored))
            })
            .collect()
    }

    /// The delivery events of the record at `(pk, sk)`, in key order.
    pub async fn events(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        let mut events = self.query_prefix(pk, &events_prefix(sk)).await?;
        // The prefix of `MSG#m1` also starts `MSG#m1#x`'s: keep this record's own.
        events.retain(|e| crate::item::get_s(e, "record_sk") == Some(sk));
        Ok(events)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix` (all pages).
    pub async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let query = self
                .ddb
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_values(":pk", s(pk));
            // DynamoDB refuses an empty `begins_with` operand: an empty prefix means the whole partition.
            let query = if prefix.is_empty() {
                query.key_condition_expression("#pk = :pk")
            } else {
                query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SORT_KEY)
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let out = query
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb("Query"))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// The records with a file in `state` (`pending` or `failed`), oldest first, from the
    /// sparse file-state index: at most `limit`, each with its provider and index time.
    pub async fn with_file_state(
        &self,
        state: &str,
        limit: usize,
    ) -> Result<Vec<FileStateEntry>, StoreError> {
        let index = crate::schema::BY_FILE_STATE;
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .ddb
                .query()
                .table_name(&self.table)
                .index_name(index.name)
                .key_condition_expression("#state = :state")
                .expression_attribute_names("#state", index.hash)
                .expression_attribute_values(":state", s(state))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb("Query"))?;
            for item in out.items.unwrap_or_default() {
                let text = |name| {
                    crate::item::get_s(&item, name)
                        .unwrap_or_default()
                        .to_owned()
                };
                entries.push(FileStateEntry {
                    pk: text(PARTITION_KEY),
                    sk: text(SORT_KEY),
                    provider: text("provider"),
                    time_sk: text(index.range),
                });
                if entries.len() >= limit {
                    return Ok(entries);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(entries),
            }
        }
    }

    /// Deletes one item (used by replay once a kept delivery has been re-ingested).
    pub async fn delete_item(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.ddb
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .send()
            .await
            .map_err(dynamodb("DeleteItem"))?;
        Ok(())
    }

    /// Writes an item unconditionally.
    pub(crate) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(dynamodb("PutItem"))?;
        Ok(())
    }

    /// Writes an item unless one with its key exists; `false` when it did.
    pub(crate) async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let put = self
            .ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY);
        conditional(put.send().await)
    }

    /// Writes a record item if the stored version is still `version` (0: absent). `false`
    /// when another writer got there first.
    pub(crate) async fn put_if_version(
        &self,
        item: Item,
        version: u64,
    ) -> Result<bool, StoreError> {
        let put = self
            .ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = if version == 0 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY)
        } else {
            put.condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        };
        conditional(put.send().await)
    }

    /// Writes an object to the archive bucket and returns its `s3://` URI.
    pub(crate) async fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<String, StoreError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3("PutObject"))?;
        Ok(self.uri(key))
    }

    /// Reads an object from the archive bucket by `s3://` URI or key.
    pub async fn get_object(&self, uri_or_key: &str) -> Result<Vec<u8>, StoreError> {
        let key = uri_or_key
            .strip_prefix(&format!("s3://{}/", self.bucket))
            .unwrap_or(uri_or_key);
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(s3("GetObject"))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::local(Service::S3, "GetObject", e))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Deletes an object of the archive bucket.
    pub(crate) async fn delete_object(&self, key: &str) -> Result<(), StoreError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(s3("DeleteObject"))?;
        Ok(())
    }
}

/// The outcome of a conditional PutItem: written, or the condition did not hold.
fn conditional(
    result: Result<
        aws_sdk_dynamodb::operation::put_item::PutItemOutput,
        SdkError<PutItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::request(Service::DynamoDb, "PutItem", e)),
    }
}
