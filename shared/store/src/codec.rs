//! Record items: a normalized record with its bookkeeping, to and from a DynamoDB item.

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::{CallRecord, ContactRecord, MessageRecord, Normalized};
use callvault_verify::Scope;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::files::{add_file_attributes, Files};
use crate::index::add_index_attributes;
use crate::item::{get_s, get_string_list, s, string_list, Item};
use crate::retention::{set_expiry, Retention};
use crate::schema::{EXPIRES_AT, PARTITION_KEY, SORT_KEY};
use crate::size::RECENT_DELIVERIES;
use crate::StoreError;

/// Attribute names of a record item's bookkeeping.
mod attr {
    pub const RECORD: &str = "record";
    pub const KIND: &str = "kind";
    pub const PROVIDER: &str = "provider";
    pub const SCOPE: &str = "scope";
    pub const DELIVERY_IDS: &str = "delivery_ids";
    pub const BODY_SHA256S: &str = "body_sha256s";
    pub const DELIVERY_COUNT: &str = "delivery_count";
    pub const VERSION: &str = "version";
    pub const RECEIVED_AT: &str = "received_at";
    pub const UPDATED_AT: &str = "updated_at";
    pub const AUTHENTICATION: &str = "authentication";
    pub const FILES: &str = "files";
}

/// A time as the store writes it (RFC 3339, milliseconds, UTC: fixed width, so string order
/// is time order).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Which deliveries built a record: how many, and the latest ones (bounded, see
/// [`RECENT_DELIVERIES`]); every delivery also has its own event item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Deliveries applied so far.
    pub count: u64,
    /// The provider's ids of the latest deliveries applied that had one, oldest first.
    pub delivery_ids: Vec<String>,
    /// SHA-256 digests of the latest bodies applied, oldest first.
    pub body_sha256s: Vec<String>,
}

impl History {
    /// Whether this exact body is among the latest applied.
    pub fn recently_applied(&self, body_sha256: &str) -> bool {
        self.body_sha256s.iter().any(|d| d == body_sha256)
    }

    /// Records one more applied delivery, forgetting the oldest beyond the bound.
    pub(crate) fn push(&mut self, delivery_id: Option<&str>, body_sha256: &str) {
        fn bounded_push(list: &mut Vec<String>, value: &str) {
            list.retain(|v| v != value);
            list.push(value.to_owned());
            let excess = list.len().saturating_sub(RECENT_DELIVERIES);
            list.drain(..excess);
        }
        self.count += 1;
        if let Some(id) = delivery_id {
            bounded_push(&mut self.delivery_ids, id);
        }
        bounded_push(&mut self.body_sha256s, body_sha256);
    }
}

/// A record as read back from the table, with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The normalized record.
    pub record: Normalized,
    /// The secrets that authenticated its deliveries, for scoped providers (Hatif).
    pub scope: Option<Scope>,
    /// The deliveries that built it.
    pub history: History,
    /// Incremented on every change (a delivery applied, a copy outcome recorded).
    pub version: u64,
    /// When the first delivery was received (RFC 3339).
    pub received_at: String,
    /// When the last change was made (RFC 3339).
    pub updated_at: String,
    /// How the first delivery was authenticated.
    pub authentication: String,
    /// Archive state of the files the record points at.
    pub files: Files,
    /// When the record expires (epoch seconds, the table's TTL attribute), as last written;
    /// `None`: kept forever.
    pub expires_at: Option<i64>,
}

fn record_value(record: &Normalized) -> Result<AttributeValue, StoreError> {
    Ok(AttributeValue::M(match record {
        Normalized::Call(r) => serde_dynamo::to_item(r)?,
        Normalized::Message(r) => serde_dynamo::to_item(r)?,
        Normalized::Contact(r) => serde_dynamo::to_item(r)?,
    }))
}

/// Reads the `record` map of a record item.
pub fn record_of(item: &Item) -> Result<Normalized, StoreError> {
    let Some(AttributeValue::M(map)) = item.get(attr::RECORD) else {
        return Err(StoreError::Corrupt("item has no record map".into()));
    };
    let map = map.clone();
    Ok(match get_s(item, attr::KIND) {
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

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl Stored {
    /// Reads a record item as returned by GetItem or Query.
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        let text = |name| get_s(item, name).unwrap_or_default().to_owned();
        let delivery_ids = get_string_list(item, attr::DELIVERY_IDS);
        Ok(Self {
            record: record_of(item)?,
            scope: get_s(item, attr::SCOPE)
                .map(str::parse)
                .transpose()
                .map_err(StoreError::Corrupt)?,
            history: History {
                // Items written before the count existed list every delivery.
                count: number(item, attr::DELIVERY_COUNT).max(delivery_ids.len() as u64),
                delivery_ids,
                body_sha256s: get_string_list(item, attr::BODY_SHA256S),
            },
            version: number(item, attr::VERSION),
            received_at: text(attr::RECEIVED_AT),
            updated_at: text(attr::UPDATED_AT),
            authentication: text(attr::AUTHENTICATION),
            files: match item.get(attr::FILES) {
                Some(AttributeValue::M(m)) => serde_dynamo::from_item(m.clone())?,
                _ => Files::new(),
            },
            expires_at: item
                .get(EXPIRES_AT)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok()),
        })
    }

    /// When the record was first delivered ([`Self::received_at`] read back).
    pub fn first_received(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(DateTime::parse_from_rfc3339(&self.received_at)
            .map_err(|e| StoreError::malformed("received_at", e))?
            .with_timezone(&Utc))
    }

    /// The record's expiry under `retention` (from its first delivery); a writer that was
    /// given none (`None`) keeps the expiry the record has.
    pub(crate) fn expiry(&self, retention: Option<&Retention>) -> Result<Option<i64>, StoreError> {
        Ok(match retention {
            Some(retention) => retention.record_expiry(self.first_received()?),
            None => self.expires_at,
        })
    }

    /// The record item, keyed `(pk, sk)`, with its index attributes, summary and its
    /// [expiry](Self::expiry). `now` decides whether a file waiting for a retry is due (and
    /// so whether the copier's stream filter passes the item), and is the due time of a file
    /// waiting for its first attempt.
    pub(crate) fn to_item(
        &self,
        pk: &str,
        sk: &str,
        now: DateTime<Utc>,
        retention: Option<&Retention>,
    ) -> Result<Item, StoreError> {
        let mut item = Item::new();
        item.insert(PARTITION_KEY.into(), s(pk));
        item.insert(SORT_KEY.into(), s(sk));
        item.insert(attr::KIND.into(), s(self.record.kind()));
        item.insert(attr::PROVIDER.into(), s(self.record.provider().as_str()));
        if let Some(scope) = &self.scope {
            item.insert(attr::SCOPE.into(), s(scope.to_string()));
        }
        item.insert(attr::RECORD.into(), record_value(&self.record)?);
        item.insert(
            attr::DELIVERY_IDS.into(),
            string_list(&self.history.delivery_ids),
        );
        item.insert(
            attr::BODY_SHA256S.into(),
            string_list(&self.history.body_sha256s),
        );
        item.insert(
            attr::DELIVERY_COUNT.into(),
            AttributeValue::N(self.history.count.to_string()),
        );
        item.insert(
            attr::VERSION.into(),
            AttributeValue::N(self.version.to_string()),
        );
        item.insert(attr::RECEIVED_AT.into(), s(&self.received_at));
        item.insert(attr::UPDATED_AT.into(), s(&self.updated_at));
        item.insert(attr::AUTHENTICATION.into(), s(&self.authentication));
        if !self.files.is_empty() {
            item.insert(
                attr::FILES.into(),
                AttributeValue::M(serde_dynamo::to_item(&self.files)?),
            );
        }
        add_file_attributes(&mut item, pk, &self.files, now);
        let received_at = self.first_received()?;
        add_index_attributes(&mut item, &self.record, received_at, &self.files)?;
        set_expiry(&mut item, self.expiry(retention)?);
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_a_count_and_the_latest_deliveries() {
        let mut history = History::default();
        for i in 0..25 {
            history.push(Some(&format!("d{i}")), &format!("h{i}"));
        }
        history.push(None, "h25");
        assert_eq!(history.count, 26);
        assert_eq!(history.delivery_ids.len(), RECENT_DELIVERIES);
        assert_eq!(
            history.delivery_ids.first().map(String::as_str),
            Some("d15")
        );
        // Only the body decides: a delivery id seen before with another body is new.
        assert!(history.recently_applied("h20"));
        assert!(history.recently_applied("h25"));
        assert!(!history.recently_applied("h3"));
        history.push(Some("d24"), "h24");
        assert_eq!(history.delivery_ids.len(), RECENT_DELIVERIES);
    }
}
