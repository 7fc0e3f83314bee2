//! What an item the table deleted at its expiry leaves in the archive bucket, and removing
//! it: a record's archived files (recordings, transcript files, media) and a delivery event's
//! raw body, every version of each, so nothing of an expired record stays recoverable. The
//! copier calls [`RecordStore::remove_expired`] with the item's last image, from the table's
//! stream (`docs/records.md`, Retention).
//!
//! A record's archive keys are its own (derived from its provider, scope and id), so they go
//! with it. A raw body is content-addressed (`raw/<provider>/<sha256>`) and may also be the
//! body of another item: the event of the same body applied to a record of another scope (in
//! the same partition), or a kept delivery of the same body. It is removed only when no such
//! item remains; otherwise it stays for that item, and goes when the last one does or when
//! the bucket's lifecycle rule for `raw/` expires it.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use base64::Engine;
use callvault_records::Provider;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::error::Service;
use crate::files::Files;
use crate::item::{get_s, s, Item};
use crate::record_store::dynamodb;
use crate::schema::{rejected_pk, EVENT_PREFIX, PARTITION_KEY, RAW_PREFIX, SORT_KEY};
use crate::{RecordStore, StoreError};

/// Keys BatchGetItem takes in one request.
const BATCH_GET_LIMIT: usize = 100;
/// Objects DeleteObjects takes in one request.
const DELETE_LIMIT: usize = 1000;
/// Rounds of BatchGetItem's unprocessed keys tried again before giving up.
const MAX_UNPROCESSED_ROUNDS: usize = 10;

/// What [`RecordStore::remove_expired`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiredRemoval {
    /// Archive keys whose every version was deleted (a key with no version left is listed
    /// too: the removal is idempotent).
    pub deleted: Vec<String>,
    /// Raw bodies left in place because another item still has them as its body.
    pub kept_shared: Vec<String>,
    /// Versions deleted, over every key.
    pub versions: usize,
}

/// One version (or delete marker) of an archive key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    /// Its version id.
    pub(crate) id: String,
    /// When it was written.
    pub(crate) written: Option<DateTime<Utc>>,
    /// Its size in bytes (0 for a delete marker).
    pub(crate) bytes: u64,
}

/// An item image in DynamoDB JSON (`{"pk": {"S": "..."}}`, as the stream carries it) read as
/// an [`Item`].
pub fn image_from_json(image: &HashMap<String, Value>) -> Result<Item, StoreError> {
    image
        .iter()
        .map(|(name, value)| Ok((name.clone(), attribute_from_json(value)?)))
        .collect()
}

/// An [`Item`] in DynamoDB JSON, as the table's stream carries an image.
pub fn image_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute_to_json(value)))
            .collect(),
    )
}

fn malformed(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stream image: {what}"))
}

fn attribute_from_json(value: &Value) -> Result<AttributeValue, StoreError> {
    let Some((kind, inner)) = value.as_object().and_then(|m| m.iter().next()) else {
        return Err(malformed("an attribute is not a one-key object"));
    };
    let text = || {
        inner
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("{kind} is not a string")))
    };
    let texts = || -> Result<Vec<String>, StoreError> {
        inner
            .as_array()
            .ok_or_else(|| malformed(&format!("{kind} is not a list")))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| malformed(&format!("{kind} holds a non-string")))
            })
            .collect()
    };
    let bytes = |b64: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(Blob::new)
            .map_err(|_| malformed("binary value is not base64"))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "B" => AttributeValue::B(bytes(&text()?)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(|| malformed("BOOL"))?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts()?),
        "NS" => AttributeValue::Ns(texts()?),
        "BS" => AttributeValue::Bs(
            texts()?
                .iter()
                .map(|b| bytes(b))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(|| malformed("L is not a list"))?
                .iter()
                .map(attribute_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .ok_or_else(|| malformed("M is not an object"))?
                .iter()
                .map(|(k, v)| Ok((k.clone(), attribute_from_json(v)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        other => return Err(malformed(&format!("unknown attribute type {other}"))),
    })
}

fn attribute_to_json(value: &AttributeValue) -> Value {
    let b64 = |b: &Blob| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    let (kind, inner) = match value {
        AttributeValue::S(v) => ("S", Value::String(v.clone())),
        AttributeValue::N(v) => ("N", Value::String(v.clone())),
        AttributeValue::B(v) => ("B", b64(v)),
        AttributeValue::Bool(v) => ("BOOL", Value::Bool(*v)),
        AttributeValue::Ss(v) => ("SS", strings(v)),
        AttributeValue::Ns(v) => ("NS", strings(v)),
        AttributeValue::Bs(v) => ("BS", Value::Array(v.iter().map(b64).collect())),
        AttributeValue::L(v) => ("L", Value::Array(v.iter().map(attribute_to_json).collect())),
        AttributeValue::M(v) => (
            "M",
            Value::Object(
                v.iter()
                    .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                    .collect(),
            ),
        ),
        _ => ("NULL", Value::Bool(true)),
    };
    serde_json::json!({ kind: inner })
}

/// The archive keys of a record item's files (whatever their copy status: a file whose copy
/// failed may still have versions of an earlier copy).
pub(crate) fn file_keys(image: &Item) -> Result<Vec<String>, StoreError> {
    match image.get("files") {
        Some(AttributeValue::M(map)) => {
            let files: Files = serde_dynamo::from_item(map.clone())?;
            Ok(files.into_values().map(|f| f.s3_key).collect())
        }
        _ => Ok(Vec::new()),
    }
}

impl RecordStore {
    /// Removes what the item whose last image is `image` left in the archive bucket, once the
    /// table deleted it at its expiry: for a record, every version of each of its files; for
    /// a delivery event with its body in the bucket, every version of that raw body unless
    /// another item still has it as its body (see the module's documentation). Any other
    /// item leaves nothing. Idempotent: a key with no version left is skipped.
    pub async fn remove_expired(&self, image: &Item) -> Result<ExpiredRemoval, StoreError> {
        let mut removal = ExpiredRemoval::default();
        let is_event = get_s(image, SORT_KEY).is_some_and(|sk| sk.starts_with(EVENT_PREFIX));
        if is_event {
            let Some(key) = self.raw_body_key(image) else {
                return Ok(removal);
            };
            if self.raw_body_shared(image, &key, &|_, _| false).await? {
                removal.kept_shared.push(key);
                return Ok(removal);
            }
            removal.versions += self.delete_every_version(&key).await?;
            removal.deleted.push(key);
        } else {
            for key in file_keys(image)? {
                removal.versions += self.delete_every_version(&key).await?;
                removal.deleted.push(key);
            }
        }
        Ok(removal)
    }

    /// The bucket key of an event's or a kept delivery's raw body, when it is in this bucket
    /// under `raw/`.
    pub(crate) fn raw_body_key(&self, image: &Item) -> Option<String> {
        let uri = get_s(image, "body_s3_uri")?;
        let key = uri.strip_prefix(&format!("s3://{}/", self.bucket()))?;
        key.starts_with(RAW_PREFIX).then(|| key.to_owned())
    }

    /// Whether an item other than the event `image` (expired, or being erased) has the raw
    /// body at `key` as its body: an event of the same body in the same partition (a record
    /// of another scope), or a kept delivery of it, on any day since the body was first
    /// stored. Items for which `going(pk, sk)` holds (those an erasure removes with it) do
    /// not count.
    pub(crate) async fn raw_body_shared(
        &self,
        image: &Item,
        key: &str,
        going: &(dyn Fn(&str, &str) -> bool + Sync),
    ) -> Result<bool, StoreError> {
        let text = |name| get_s(image, name).unwrap_or_default();
        let (pk, sk, sha) = (text(PARTITION_KEY), text(SORT_KEY), text("body_sha256"));
        if self.other_events_of_body(pk, sk, sha, going).await? {
            return Ok(true);
        }
        let Ok(provider) =
            serde_json::from_value::<Provider>(Value::String(text("provider").to_owned()))
        else {
            // An event names its provider; without one, keep the body rather than guess.
            return Ok(true);
        };
        let Some(first_stored) = self.oldest_version(key).await? else {
            return Ok(false);
        };
        self.kept_on_any_day(provider, sha, first_stored.date_naive(), going)
            .await
    }

    /// Whether partition `pk` holds an event of body `sha` other than the one at `sk` and
    /// those `going`.
    async fn other_events_of_body(
        &self,
        pk: &str,
        sk: &str,
        sha: &str,
        going: &(dyn Fn(&str, &str) -> bool + Sync),
    ) -> Result<bool, StoreError> {
        let mut start = None;
        loop {
            let out = self
                .dynamodb()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :events)")
                .filter_expression("#sha = :sha")
                .projection_expression("#sk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_names("#sha", "body_sha256")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":events", s(EVENT_PREFIX))
                .expression_attribute_values(":sha", s(sha))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb("Query"))?;
            if out.items().iter().any(|e| {
                let other = get_s(e, SORT_KEY).unwrap_or_default();
                other != sk && !going(pk, other)
            }) {
                return Ok(true);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(false),
            }
        }
    }

    /// Whether a kept delivery of `provider` with body `sha` (other than those `going`)
    /// exists under any day from `since` to today (a kept delivery of a body is received
    /// after the body was first stored).
    async fn kept_on_any_day(
        &self,
        provider: Provider,
        sha: &str,
        since: NaiveDate,
        going: &(dyn Fn(&str, &str) -> bool + Sync),
    ) -> Result<bool, StoreError> {
        let today = Utc::now().date_naive();
        let days: Vec<NaiveDate> = since.iter_days().take_while(|d| *d <= today).collect();
        for chunk in days.chunks(BATCH_GET_LIMIT) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|day| {
                    Item::from([
                        (
                            PARTITION_KEY.to_owned(),
                            s(rejected_pk(provider, &day.format("%Y-%m-%d").to_string())),
                        ),
                        (SORT_KEY.to_owned(), s(sha)),
                    ])
                })
                .collect();
            let built = |e| StoreError::local(Service::DynamoDb, "BatchGetItem", e);
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression("#pk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .consistent_read(true)
                .build()
                .map_err(built)?;
            for _ in 0..MAX_UNPROCESSED_ROUNDS {
                let out = self
                    .dynamodb()
                    .batch_get_item()
                    .request_items(self.table(), request.clone())
                    .send()
                    .await
                    .map_err(dynamodb("BatchGetItem"))?;
                if out
                    .responses
                    .as_ref()
                    .and_then(|r| r.get(self.table()))
                    .is_some_and(|items| {
                        items
                            .iter()
                            .any(|kept| !going(get_s(kept, PARTITION_KEY).unwrap_or_default(), sha))
                    })
                {
                    return Ok(true);
                }
                match out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(self.table()))
                {
                    Some(rest) if !rest.keys.is_empty() => request = rest,
                    _ => break,
                }
            }
        }
        Ok(false)
    }

    /// When the oldest version of `key` still in the bucket was written, `None` when it has
    /// none.
    async fn oldest_version(&self, key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let versions = self.versions(key).await?;
        Ok(versions.iter().filter_map(|v| v.written).min())
    }

    /// Every version and delete marker of exactly `key`: its version id, when it was
    /// written and its size.
    pub(crate) async fn versions(&self, key: &str) -> Result<Vec<Version>, StoreError> {
        Ok(self
            .versions_under(key)
            .await?
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, version)| version)
            .collect())
    }

    /// Every version and delete marker of every key under `prefix`, with its key.
    pub(crate) async fn versions_under(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, Version)>, StoreError> {
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        let at = |t: Option<&aws_sdk_s3::primitives::DateTime>| {
            t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        };
        loop {
            let out = self
                .s3()
                .list_object_versions()
                .bucket(self.bucket())
                .prefix(prefix)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .map_err(|e| StoreError::request(Service::S3, "ListObjectVersions", e))?;
            for v in out.versions() {
                if let (Some(key), Some(id)) = (v.key(), v.version_id()) {
                    let bytes = v.size().map_or(0, |n| u64::try_from(n).unwrap_or(0));
                    let written = at(v.last_modified());
                    let id = id.to_owned();
                    found.push((key.to_owned(), Version { id, written, bytes }));
                }
            }
            for m in out.delete_markers() {
                if let (Some(key), Some(id)) = (m.key(), m.version_id()) {
                    let written = at(m.last_modified());
                    let id = id.to_owned();
                    found.push((
                        key.to_owned(),
                        Version {
                            id,
                            written,
                            bytes: 0,
                        },
                    ));
                }
            }
            if out.is_truncated() != Some(true) {
                return Ok(found);
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            version_marker = out.next_version_id_marker().map(str::to_owned);
        }
    }

    /// Deletes every version and delete marker of `key` (so nothing of it stays recoverable);
    /// returns how many there were.
    pub async fn delete_every_version(&self, key: &str) -> Result<usize, StoreError> {
        let versions = self.versions(key).await?;
        for chunk in versions.chunks(DELETE_LIMIT) {
            let built = |e| StoreError::local(Service::S3, "DeleteObjects", e);
            let objects = chunk
                .iter()
                .map(|version| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .version_id(&version.id)
                        .build()
                        .map_err(built)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .s3()
                .delete_objects()
                .bucket(self.bucket())
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(built)?,
                )
                .send()
                .await
                .map_err(|e| StoreError::request(Service::S3, "DeleteObjects", e))?;
            if let Some(error) = out.errors().first() {
                return Err(StoreError::Corrupt(format!(
                    "S3 did not delete a version of {key}: {} {}",
                    error.code().unwrap_or_default(),
                    error.message().unwrap_or_default()
                )));
            }
        }
        Ok(versions.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_read_back_as_written() {
        let item = Item::from([
            ("pk".to_owned(), s("CALL#voki#c1")),
            ("n".to_owned(), AttributeValue::N("12".into())),
            (
                "b".to_owned(),
                AttributeValue::B(Blob::new(b"\x00\xffbody")),
            ),
            ("t".to_owned(), AttributeValue::Bool(true)),
            (
                "ss".to_owned(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "l".to_owned(),
                    AttributeValue::L(vec![s("x"), AttributeValue::Null(true)]),
                )])),
            ),
        ]);
        let json = image_to_json(&item);
        assert_eq!(json["pk"], serde_json::json!({"S": "CALL#voki#c1"}));
        let map: HashMap<String, Value> = serde_json::from_value(json).expect("an object");
        assert_eq!(image_from_json(&map).expect("readable"), item);
        let bad = HashMap::from([("x".to_owned(), serde_json::json!({"Q": 1}))]);
        assert!(image_from_json(&bad).is_err());
    }
}
