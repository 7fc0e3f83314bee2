use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::{CallRecord, Provider};
use callvault_verify::{Authentication, Verified};
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::item::{get_s, s, Item};
use crate::schema::{call_pk, CALL_SK, PARTITION_KEY, SORT_KEY};
use crate::StoreError;

/// One authenticated delivery as storage sees it. Holding a [`Verified`] body is what makes a
/// `Delivery` constructible at all, so nothing unauthenticated reaches the table.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The authenticated body.
    pub verified: &'a Verified,
    /// The provider that sent it.
    pub provider: Provider,
    /// The provider's delivery or event id (the idempotency key).
    pub delivery_id: String,
    /// When the function received it.
    pub received_at: DateTime<Utc>,
    /// Request headers worth keeping, with secrets already removed.
    pub headers: Vec<(String, String)>,
}

/// Whether a write created something or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record was written.
    Stored,
    /// The record already existed (a retry or resend); nothing changed.
    Duplicate,
}

/// A call record as read back from the table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    /// The normalized record.
    pub record: CallRecord,
    /// Delivery ids that built the record.
    pub delivery_ids: Vec<String>,
    /// When the first delivery was received (RFC 3339).
    pub received_at: String,
    /// How the first delivery was authenticated (`signature:<id>`, `token:<id>`, `unsigned`).
    pub authentication: String,
}

/// Reads and writes call records and rejected deliveries in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct CallStore {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn authentication_label(auth: &Authentication) -> String {
    match auth {
        Authentication::Signature(id) => format!("signature:{id}"),
        Authentication::Token(id) => format!("token:{id}"),
        Authentication::Unsigned => "unsigned".to_owned(),
    }
}

fn headers_attr(headers: &[(String, String)]) -> AttributeValue {
    AttributeValue::M(headers.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

impl CallStore {
    /// A store over `table`.
    pub fn new(ddb: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            ddb,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
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

    /// Writes a call record unless one with the same provider and call id exists: a single
    /// conditional PutItem, so concurrent duplicates produce exactly one record.
    pub async fn put_call(
        &self,
        delivery: &Delivery<'_>,
        record: &CallRecord,
    ) -> Result<PutOutcome, StoreError> {
        let now = timestamp(delivery.received_at);
        let mut item: Item = Item::new();
        item.insert(
            PARTITION_KEY.into(),
            s(call_pk(record.provider, &record.provider_call_id)),
        );
        item.insert(SORT_KEY.into(), s(CALL_SK));
        item.insert("kind".into(), s("call"));
        item.insert("record".into(), AttributeValue::M(serde_dynamo::to_item(record)?));
        item.insert("delivery_ids".into(), AttributeValue::L(vec![s(&delivery.delivery_id)]));
        item.insert("received_at".into(), s(&now));
        item.insert("updated_at".into(), s(&now));
        item.insert(
            "authentication".into(),
            s(authentication_label(delivery.verified.authentication())),
        );
        let result = self
            .ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(PutOutcome::Duplicate)
            }
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// Keeps an authenticated delivery that could not be turned into a record: raw body,
    /// headers (secrets removed) and the reason. Keyed by the body's SHA-256 so a retried bad
    /// delivery is kept once.
    pub async fn keep_rejected(
        &self,
        delivery: &Delivery<'_>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let digest = hex::encode(Sha256::digest(delivery.verified.body()));
        let mut item = Item::new();
        item.insert(
            PARTITION_KEY.into(),
            s(format!("REJECTED#{}#{digest}", delivery.provider)),
        );
        item.insert(SORT_KEY.into(), s("REJECTED"));
        item.insert("kind".into(), s("rejected"));
        item.insert("provider".into(), s(delivery.provider.as_str()));
        item.insert("reason".into(), s(reason));
        item.insert(
            "body".into(),
            AttributeValue::B(Blob::new(delivery.verified.body())),
        );
        item.insert("body_sha256".into(), s(&digest));
        item.insert("headers".into(), headers_attr(&delivery.headers));
        item.insert("received_at".into(), s(timestamp(delivery.received_at)));
        item.insert(
            "authentication".into(),
            s(authentication_label(delivery.verified.authentication())),
        );
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Reads one call record.
    pub async fn get_call(
        &self,
        provider: Provider,
        provider_call_id: &str,
    ) -> Result<Option<StoredCall>, StoreError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(call_pk(provider, provider_call_id)))
            .key(SORT_KEY, s(CALL_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let record = match item.get("record") {
            Some(AttributeValue::M(m)) => serde_dynamo::from_item(m.clone())?,
            _ => return Err(StoreError::Unavailable("call item has no record map".into())),
        };
        let delivery_ids = item
            .get("delivery_ids")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default();
        Ok(Some(StoredCall {
            record,
            delivery_ids,
            received_at: get_s(&item, "received_at").unwrap_or_default().to_owned(),
            authentication: get_s(&item, "authentication").unwrap_or_default().to_owned(),
        }))
    }
}
