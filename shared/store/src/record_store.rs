use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use callvault_records::{CallRecord, ContactRecord, MessageRecord, Normalized, Offloaded};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::files::{any_pending, with_new_files, Files};
use crate::index::add_index_attributes;
use crate::item::{get_s, get_string_list, s, string_list, string_map, Item};
use crate::schema::FILES_PENDING;
use crate::schema::{record_key, rejected_pk, EVENT_PREFIX, PARTITION_KEY, SORT_KEY};
use crate::{Delivery, Kept, StoreError};

/// Raw bodies up to this size stay in their event item; larger ones go to S3. One S3 PUT costs
/// about as much as 4 KB of DynamoDB writes, so this is where S3 becomes the cheaper place.
pub const RAW_INLINE_LIMIT: usize = 4 * 1024;
/// Records whose JSON is larger than this keep their inline transcript in S3 only (in the
/// raw delivery), with a pointer in the record, so a record write stays under ~9 WCU.
pub const RECORD_INLINE_LIMIT: usize = 8 * 1024;
/// Largest record JSON written to the table (DynamoDB items stop at 400 KB).
pub const MAX_RECORD_BYTES: usize = 300 * 1024;
/// Attempts at the optimistic read-merge-write of a record before giving up.
const MAX_MERGE_ATTEMPTS: usize = 10;

/// Whether a write created or changed something, or found it already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The delivery was applied to its record.
    Stored,
    /// This delivery was applied before (a retry, resend or concurrent copy); nothing changed.
    Duplicate,
}

/// A record as read back from the table, with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The normalized record.
    pub record: Normalized,
    /// Ids of the deliveries merged into it, in the order they were applied.
    pub delivery_ids: Vec<String>,
    /// Incremented on every applied delivery.
    pub version: u64,
    /// When the first delivery was received (RFC 3339).
    pub received_at: String,
    /// When the last delivery was applied (RFC 3339).
    pub updated_at: String,
    /// How the first delivery was authenticated.
    pub authentication: String,
    /// Archive state of the files the record points at.
    pub files: Files,
}

/// Reads and writes normalized records, delivery events and rejected deliveries.
#[derive(Debug, Clone)]
pub struct RecordStore {
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    table: String,
    bucket: String,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Characters kept in S3 key segments taken from provider ids; others become `_`.
fn key_segment(id: &str) -> String {
    id.chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn record_item(record: &Normalized) -> Result<AttributeValue, StoreError> {
    Ok(AttributeValue::M(match record {
        Normalized::Call(r) => serde_dynamo::to_item(r)?,
        Normalized::Message(r) => serde_dynamo::to_item(r)?,
        Normalized::Contact(r) => serde_dynamo::to_item(r)?,
    }))
}

fn parse_record(item: &Item) -> Result<Normalized, StoreError> {
    let Some(AttributeValue::M(map)) = item.get("record") else {
        return Err(StoreError::Corrupt("item has no record map".into()));
    };
    let map = map.clone();
    Ok(match get_s(item, "kind") {
        Some("call") => Normalized::Call(serde_dynamo::from_item::<_, CallRecord>(map)?),
        Some("message") => Normalized::Message(serde_dynamo::from_item::<_, MessageRecord>(map)?),
        Some("contact") => Normalized::Contact(serde_dynamo::from_item::<_, ContactRecord>(map)?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown record kind {other:?}"
            )))
        }
    })
}

impl Stored {
    /// Reads a record item as returned by GetItem or Query.
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        parse_stored(item)
    }
}

/// Reads the `record` map of a record item.
pub fn record_of(item: &Item) -> Result<Normalized, StoreError> {
    parse_record(item)
}

fn parse_stored(item: &Item) -> Result<Stored, StoreError> {
    Ok(Stored {
        record: parse_record(item)?,
        delivery_ids: get_string_list(item, "delivery_ids"),
        version: item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        received_at: get_s(item, "received_at").unwrap_or_default().to_owned(),
        updated_at: get_s(item, "updated_at").unwrap_or_default().to_owned(),
        authentication: get_s(item, "authentication").unwrap_or_default().to_owned(),
        files: match item.get("files") {
            Some(AttributeValue::M(m)) => serde_dynamo::from_item(m.clone())?,
            _ => Files::new(),
        },
    })
}

/// The record item: the record, its bookkeeping, and its files.
struct RecordItem<'a> {
    pk: &'a str,
    sk: &'a str,
    provider: &'a str,
    record: &'a Normalized,
    delivery_ids: &'a [String],
    version: u64,
    received_at: &'a str,
    updated_at: &'a str,
    authentication: &'a str,
    files: &'a Files,
}

impl RecordItem<'_> {
    fn into_item(self) -> Result<Item, StoreError> {
        let mut item = Item::new();
        item.insert(PARTITION_KEY.into(), s(self.pk));
        item.insert(SORT_KEY.into(), s(self.sk));
        item.insert("kind".into(), s(self.record.kind()));
        item.insert("provider".into(), s(self.provider));
        item.insert("record".into(), record_item(self.record)?);
        item.insert("delivery_ids".into(), string_list(self.delivery_ids));
        item.insert(
            "version".into(),
            AttributeValue::N(self.version.to_string()),
        );
        item.insert("received_at".into(), s(self.received_at));
        item.insert("updated_at".into(), s(self.updated_at));
        item.insert("authentication".into(), s(self.authentication));
        if !self.files.is_empty() {
            item.insert(
                "files".into(),
                AttributeValue::M(serde_dynamo::to_item(self.files)?),
            );
        }
        if any_pending(self.files) {
            item.insert(FILES_PENDING.into(), AttributeValue::Bool(true));
        }
        let received_at = DateTime::parse_from_rfc3339(self.received_at)
            .map_err(|e| StoreError::Corrupt(format!("received_at: {e}")))?
            .with_timezone(&Utc);
        add_index_attributes(&mut item, self.record, received_at, self.files)?;
        Ok(item)
    }
}

/// Moves an inline transcript out of a too-large call record, pointing at the raw delivery.
fn offload_transcript(record: &mut Normalized, s3_uri: &str, pointer: &str) {
    if let Normalized::Call(call) = record {
        if let Some(t) = call.transcript.as_mut() {
            t.text = None;
            t.words.clear();
            t.offloaded = Some(Offloaded {
                s3_uri: s3_uri.to_owned(),
                json_pointer: pointer.to_owned(),
            });
        }
    }
}

fn has_inline_transcript(record: &Normalized) -> bool {
    matches!(record, Normalized::Call(c) if c.transcript.as_ref().is_some_and(|t| t.text.is_some() || !t.words.is_empty()))
}

impl RecordStore {
    /// A store over `table` and the archive `bucket`.
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
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// One cheap request (DescribeTable) so the connection and credentials are ready before
    /// the first delivery, and a missing table is reported at start.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.ddb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Applies one delivery to its record, idempotently and in any order with the other
    /// deliveries of the same call or message:
    ///
    /// 1. read the record; if it already lists `delivery_id`, it is a duplicate: stop;
    /// 2. keep the raw body: in the event item, or (when large) as one S3 object;
    /// 3. write the event entry `EVENT#<delivery_id>` (same content on every retry);
    /// 4. merge into the record and write it on condition that its version is unchanged,
    ///    re-reading and re-merging on conflict.
    ///
    /// A crash between steps leaves nothing inconsistent: the record lists only applied
    /// deliveries, and the retry redoes the rest.
    pub async fn ingest(
        &self,
        delivery: &Delivery<'_>,
        delivery_id: &str,
        event_type: &str,
        mut record: Normalized,
        transcript_pointer: Option<&str>,
    ) -> Result<PutOutcome, StoreError> {
        let (pk, sk) = record_key(&record);
        let mut existing = self.get_item(&pk, &sk).await?;
        if existing
            .as_ref()
            .is_some_and(|e| e.delivery_ids.iter().any(|d| d == delivery_id))
        {
            return Ok(PutOutcome::Duplicate);
        }

        let body = delivery.verified.body();
        let record_len = serde_json::to_vec(&record)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        let offload = record_len > RECORD_INLINE_LIMIT
            && has_inline_transcript(&record)
            && transcript_pointer.is_some();
        let kept = if body.len() > RAW_INLINE_LIMIT || offload {
            let key = format!(
                "raw/{}/{}/{}-{}.json",
                delivery.provider,
                delivery.day(),
                key_segment(delivery_id),
                &delivery.body_sha256()[..16]
            );
            Kept::S3(
                self.put_object(&key, body.to_vec(), "application/json")
                    .await?,
            )
        } else {
            Kept::Inline
        };
        if let (true, Kept::S3(uri), Some(pointer)) = (offload, &kept, transcript_pointer) {
            offload_transcript(&mut record, uri, pointer);
        }
        let record_len = serde_json::to_vec(&record)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if record_len > MAX_RECORD_BYTES {
            return Err(StoreError::RecordTooLarge(record_len));
        }

        let mut event = Item::new();
        event.insert(PARTITION_KEY.into(), s(&pk));
        event.insert(SORT_KEY.into(), s(format!("{EVENT_PREFIX}{delivery_id}")));
        event.insert("kind".into(), s("event"));
        event.insert("delivery_id".into(), s(delivery_id));
        event.insert("event_type".into(), s(event_type));
        event.insert("provider".into(), s(delivery.provider.as_str()));
        event.insert("webhook".into(), s(delivery.webhook));
        event.insert("received_at".into(), s(timestamp(delivery.received_at)));
        event.insert(
            "authentication".into(),
            s(delivery.verified.authentication().to_string()),
        );
        event.insert("headers".into(), string_map(&delivery.headers));
        event.insert("body_sha256".into(), s(delivery.body_sha256()));
        match &kept {
            Kept::Inline => event.insert("body".into(), AttributeValue::B(Blob::new(body))),
            Kept::S3(uri) => event.insert("body_s3_uri".into(), s(uri)),
        };
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(event))
            .send()
            .await
            .map_err(StoreError::sdk)?;

        for _ in 0..MAX_MERGE_ATTEMPTS {
            let now = timestamp(delivery.received_at);
            let (merged, mut ids, version, received_at, authentication, files) =
                match existing.take() {
                    Some(e) => (
                        e.record.merge(record.clone()),
                        e.delivery_ids,
                        e.version,
                        e.received_at,
                        e.authentication,
                        e.files,
                    ),
                    None => (
                        record.clone(),
                        Vec::new(),
                        0,
                        now.clone(),
                        delivery.verified.authentication().to_string(),
                        Files::new(),
                    ),
                };
            ids.push(delivery_id.to_owned());
            let files = with_new_files(files, &merged, delivery.received_at);
            let item = RecordItem {
                pk: &pk,
                sk: &sk,
                provider: delivery.provider.as_str(),
                record: &merged,
                delivery_ids: &ids,
                version: version + 1,
                received_at: &received_at,
                updated_at: &now,
                authentication: &authentication,
                files: &files,
            }
            .into_item()?;
            match self.put_if_version(item, version).await? {
                true => return Ok(PutOutcome::Stored),
                false => {
                    existing = self.get_item(&pk, &sk).await?;
                    if existing
                        .as_ref()
                        .is_some_and(|e| e.delivery_ids.iter().any(|d| d == delivery_id))
                    {
                        return Ok(PutOutcome::Duplicate);
                    }
                }
            }
        }
        Err(StoreError::Contention(pk))
    }

    /// Changes the files of the record at `(pk, sk)` with `change`, optimistically: re-read
    /// and re-applied if a webhook delivery (or another copier) wrote the record meanwhile.
    /// Returns the files as written, or `None` if there is no such record.
    pub async fn update_files(
        &self,
        pk: &str,
        sk: &str,
        mut change: impl FnMut(&mut Files),
    ) -> Result<Option<Files>, StoreError> {
        for _ in 0..MAX_MERGE_ATTEMPTS {
            let Some(mut stored) = self.get_item(pk, sk).await? else {
                return Ok(None);
            };
            change(&mut stored.files);
            let now = timestamp(Utc::now());
            let provider = stored.record.provider();
            let item = RecordItem {
                pk,
                sk,
                provider: provider.as_str(),
                record: &stored.record,
                delivery_ids: &stored.delivery_ids,
                version: stored.version + 1,
                received_at: &stored.received_at,
                updated_at: &now,
                authentication: &stored.authentication,
                files: &stored.files,
            }
            .into_item()?;
            if self.put_if_version(item, stored.version).await? {
                return Ok(Some(stored.files));
            }
        }
        Err(StoreError::Contention(pk.to_owned()))
    }

    /// Writes a record item if the stored version is still `version` (0: absent). `false`
    /// when another writer got there first.
    async fn put_if_version(&self, item: Item, version: u64) -> Result<bool, StoreError> {
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
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// Keeps an authenticated delivery that could not be turned into a record: raw body,
    /// headers (secrets removed) and the reason, under `REJECTED#<provider>#<day>` keyed by
    /// the body's SHA-256 (a retried bad delivery is kept once).
    pub async fn keep_rejected(
        &self,
        delivery: &Delivery<'_>,
        reason: &str,
    ) -> Result<Kept, StoreError> {
        let digest = delivery.body_sha256();
        let body = delivery.verified.body();
        let mut item = Item::new();
        item.insert(
            PARTITION_KEY.into(),
            s(rejected_pk(delivery.provider, &delivery.day())),
        );
        item.insert(SORT_KEY.into(), s(&digest));
        item.insert("kind".into(), s("rejected"));
        item.insert("provider".into(), s(delivery.provider.as_str()));
        item.insert("webhook".into(), s(delivery.webhook));
        item.insert("reason".into(), s(reason));
        item.insert("body_sha256".into(), s(&digest));
        item.insert("headers".into(), string_map(&delivery.headers));
        item.insert("received_at".into(), s(timestamp(delivery.received_at)));
        item.insert(
            "authentication".into(),
            s(delivery.verified.authentication().to_string()),
        );
        let kept = if body.len() > RAW_INLINE_LIMIT {
            let key = format!(
                "raw/rejected/{}/{}/{digest}",
                delivery.provider,
                delivery.day()
            );
            let uri = self
                .put_object(&key, body.to_vec(), "application/octet-stream")
                .await?;
            item.insert("body_s3_uri".into(), s(&uri));
            Kept::S3(uri)
        } else {
            item.insert("body".into(), AttributeValue::B(Blob::new(body)));
            Kept::Inline
        };
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(kept)
    }

    /// Reads the record stored under `(pk, sk)` (see [`crate::schema`]).
    pub async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Stored>, StoreError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.item.as_ref().map(parse_stored).transpose()
    }

    /// The delivery events kept under a record's partition, in key order.
    pub async fn events(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.query_prefix(pk, EVENT_PREFIX).await
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
                .map_err(StoreError::sdk)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
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
            .map_err(StoreError::sdk)?;
        Ok(())
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
            .map_err(StoreError::sdk)?;
        Ok(format!("s3://{}/{key}", self.bucket))
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
            .map_err(StoreError::sdk)?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }
}
