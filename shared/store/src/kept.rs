//! What the store keeps of each delivery besides the record: the raw body (inline or in S3),
//! one event item per distinct body applied to a record, and rejected deliveries (kept raw
//! with the reason they could not be applied, for inspection and replay).

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use callvault_records::Provider;
use callvault_verify::{Authentication, Scope, Verified};
use chrono::{DateTime, Utc};

use crate::codec::timestamp;
use crate::error::Service;
use crate::item::{get_s, s, string_map, Item};
use crate::retention::set_expiry;
use crate::schema::{event_sk, raw_key, rejected_pk, CONFLICTS, PARTITION_KEY, SORT_KEY};
use crate::size::RAW_INLINE_LIMIT;
use crate::{Contribution, Delivery, RecordStore, StoreError};

/// Where a delivery's raw body was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// In the DynamoDB item itself.
    Inline,
    /// In S3, at this `s3://bucket/key`.
    S3(String),
}

/// A raw body as read back from a kept item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptBody {
    /// The exact bytes, from the item.
    Inline(Vec<u8>),
    /// In S3, at this `s3://bucket/key`.
    S3(String),
}

impl KeptBody {
    fn of_item(item: &Item) -> Option<Self> {
        match (item.get("body"), get_s(item, "body_s3_uri")) {
            (Some(AttributeValue::B(b)), _) => Some(Self::Inline(b.as_ref().to_vec())),
            (_, Some(uri)) => Some(Self::S3(uri.to_owned())),
            _ => None,
        }
    }
}

fn put_body(item: &mut Item, body: &[u8], kept: &Kept) {
    match kept {
        Kept::Inline => item.insert("body".into(), AttributeValue::B(Blob::new(body))),
        Kept::S3(uri) => item.insert("body_s3_uri".into(), s(uri)),
    };
}

/// The attributes every kept form of a delivery carries: who sent it, when, how it was
/// authenticated, its kept headers and its body's digest.
fn delivery_attributes(item: &mut Item, delivery: &Delivery<'_>, body_sha256: &str) {
    item.insert("provider".into(), s(delivery.provider.as_str()));
    item.insert("webhook".into(), s(delivery.webhook));
    item.insert("received_at".into(), s(timestamp(delivery.received_at)));
    item.insert(
        "authentication".into(),
        s(delivery.verified.authentication().to_string()),
    );
    if let Some(scope) = delivery.verified.scope() {
        item.insert("scope".into(), s(scope.to_string()));
    }
    item.insert("headers".into(), string_map(&delivery.headers));
    item.insert("body_sha256".into(), s(body_sha256));
}

/// The event item of one delivery applied to the record at `(pk, record_sk)`: its provider's
/// delivery id and event type from `contribution`, the record fields it conflicts in, and
/// its record's expiry (`expires_at`, epoch seconds; `None`: kept forever).
#[allow(clippy::too_many_arguments)]
pub(crate) fn event_item(
    pk: &str,
    record_sk: &str,
    delivery: &Delivery<'_>,
    contribution: &Contribution<'_>,
    body_sha256: &str,
    kept: &Kept,
    conflicts: &[String],
    expires_at: Option<i64>,
) -> Item {
    let mut item = Item::new();
    item.insert(PARTITION_KEY.into(), s(pk));
    item.insert(SORT_KEY.into(), s(event_sk(record_sk, body_sha256)));
    item.insert("kind".into(), s("event"));
    item.insert("record_sk".into(), s(record_sk));
    if let Some(id) = contribution.delivery_id {
        item.insert("delivery_id".into(), s(id));
    }
    item.insert("event_type".into(), s(contribution.event_type));
    delivery_attributes(&mut item, delivery, body_sha256);
    put_body(&mut item, delivery.verified.body(), kept);
    if !conflicts.is_empty() {
        item.insert(CONFLICTS.into(), AttributeValue::Ss(conflicts.to_vec()));
    }
    set_expiry(&mut item, expires_at);
    item
}

/// A delivery that passed authentication but could not be applied to a record (not the
/// documented shape, unsupported, or refused by storage for good), kept with the reason:
/// the one type the store writes and replay reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedDelivery {
    /// Its item's partition key (`REJECTED#<provider>#<day>`).
    pub pk: String,
    /// Its item's sort key (the body's SHA-256: a retried bad delivery is kept once).
    pub sk: String,
    /// The provider that sent it.
    pub provider: Provider,
    /// The webhook (function) that received it.
    pub webhook: String,
    /// Why it could not be applied.
    pub reason: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// How it was authenticated (`signature:<id>`, `token:<id>`, `unsigned`).
    pub authentication: String,
    /// The secrets that authenticated it, for scoped providers.
    pub scope: Option<Scope>,
    /// Kept request headers (credentials removed).
    pub headers: Vec<(String, String)>,
    /// SHA-256 of the body, lowercase hex.
    pub body_sha256: String,
    /// The body, or where it is.
    pub body: KeptBody,
}

impl RejectedDelivery {
    /// Reads a rejected-delivery item.
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let text = |name: &str| get_s(item, name).unwrap_or_default().to_owned();
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("rejected item {}: {what}", text("sk")));
        Ok(Self {
            pk: text(PARTITION_KEY),
            sk: text(SORT_KEY),
            provider: serde_json::from_value(serde_json::Value::String(text("provider")))
                .map_err(|_| corrupt("unknown provider"))?,
            webhook: text("webhook"),
            reason: text("reason"),
            received_at: text("received_at")
                .parse()
                .map_err(|_| corrupt("unreadable received_at"))?,
            authentication: text("authentication"),
            scope: get_s(item, "scope")
                .map(str::parse)
                .transpose()
                .map_err(|e: String| corrupt(&e))?,
            headers: item
                .get("headers")
                .and_then(|h| h.as_m().ok())
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            body_sha256: text("body_sha256"),
            body: KeptBody::of_item(item).ok_or_else(|| corrupt("no body"))?,
        })
    }

    /// The kept delivery as it passed authentication, with `body` (its bytes, read with
    /// [`RecordStore::kept_body`]), so that replay can apply it.
    pub fn verified(&self, body: Vec<u8>) -> Result<Verified, StoreError> {
        let authentication: Authentication =
            self.authentication.parse().map_err(StoreError::Corrupt)?;
        Ok(Verified::reinstate_unchecked(
            body,
            authentication,
            self.scope.clone(),
        ))
    }
}

impl RecordStore {
    /// Keeps a raw body in S3 under its content address ([`raw_key`]) and returns its URI.
    /// A body already there is not written again (a conditional PUT), so the versioned
    /// bucket holds each body once however often it arrives.
    pub(crate) async fn keep_raw(
        &self,
        provider: Provider,
        body_sha256: &str,
        body: &[u8],
    ) -> Result<String, StoreError> {
        let key = raw_key(provider, body_sha256);
        let put = self
            .s3()
            .put_object()
            .bucket(self.bucket())
            .key(&key)
            .if_none_match("*")
            .content_type("application/octet-stream")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await;
        match put {
            Ok(_) => {}
            // Already kept (412), or kept concurrently by another writer (409).
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => {}
            Err(e) => return Err(StoreError::request(Service::S3, "PutObject", e)),
        }
        Ok(self.uri(&key))
    }

    /// Keeps an authenticated delivery that could not be applied: raw body, headers (secrets
    /// removed) and the reason, under `REJECTED#<provider>#<day>` keyed by the body's SHA-256
    /// (a retried bad delivery is kept once; its reason is the latest), expiring as the
    /// store's retention says from its receipt.
    pub async fn keep_rejected(
        &self,
        delivery: &Delivery<'_>,
        reason: &str,
    ) -> Result<Kept, StoreError> {
        let digest = delivery.body_sha256();
        let body = delivery.verified.body();
        let kept = if body.len() > RAW_INLINE_LIMIT {
            Kept::S3(self.keep_raw(delivery.provider, &digest, body).await?)
        } else {
            Kept::Inline
        };
        let mut item = Item::new();
        item.insert(
            PARTITION_KEY.into(),
            s(rejected_pk(delivery.provider, &delivery.day())),
        );
        item.insert(SORT_KEY.into(), s(&digest));
        item.insert("kind".into(), s("rejected"));
        item.insert("reason".into(), s(reason));
        delivery_attributes(&mut item, delivery, &digest);
        put_body(&mut item, body, &kept);
        set_expiry(
            &mut item,
            self.retention()
                .and_then(|r| r.kept_expiry(delivery.received_at)),
        );
        self.put(item).await?;
        Ok(kept)
    }

    /// The rejected deliveries one provider's webhooks kept on `day` (`YYYY-MM-DD`).
    pub async fn rejected(
        &self,
        provider: Provider,
        day: &str,
    ) -> Result<Vec<RejectedDelivery>, StoreError> {
        self.query_prefix(&rejected_pk(provider, day), "")
            .await?
            .iter()
            .map(RejectedDelivery::from_item)
            .collect()
    }

    /// The bytes of a kept body, from the item or from S3.
    pub async fn kept_body(&self, body: &KeptBody) -> Result<Vec<u8>, StoreError> {
        match body {
            KeptBody::Inline(bytes) => Ok(bytes.clone()),
            KeptBody::S3(uri) => self.get_object(uri).await,
        }
    }
}
