//! How long the table keeps what the store writes: every record item, its delivery events
//! and every kept delivery carry the table's TTL attribute ([`EXPIRES_AT`], epoch seconds)
//! when a retention is configured, and none when it is kept forever. DynamoDB deletes an
//! item some time after it expires, and the deletion reaches the copier on the table's
//! stream, which then deletes the record's archived files and raw bodies (`docs/records.md`,
//! Retention).
//!
//! A record and its delivery events expire together: their expiry counts from the record's
//! first delivery. A kept delivery's counts from its own receipt. The functions read the
//! configuration from the environment variables named here (`callvault_runtime` does), and
//! give it to the store with [`crate::RecordStore::with_retention`].

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::item::Item;
use crate::schema::EXPIRES_AT;

/// The environment variable giving the days records (calls, messages, contacts) and their
/// delivery events are kept, from the record's first delivery (`0` or unset: forever).
pub const RECORD_RETENTION_ENV: &str = "RECORD_RETENTION_DAYS";
/// The environment variable giving the days kept deliveries are kept, from their receipt
/// (`0` or unset: forever).
pub const KEPT_RETENTION_ENV: &str = "KEPT_RETENTION_DAYS";

const SECONDS_PER_DAY: i64 = 86_400;

/// How long the table keeps records (with their events) and kept deliveries. The default
/// keeps everything forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Days a record and its delivery events are kept after the record's first delivery;
    /// `None`: forever.
    pub record_days: Option<u32>,
    /// Days a kept delivery is kept after its receipt; `None`: forever.
    pub kept_days: Option<u32>,
}

impl Retention {
    /// Keeps everything forever.
    pub const FOREVER: Self = Self {
        record_days: None,
        kept_days: None,
    };

    /// A retention of `record_days` and `kept_days` days, `0` meaning forever (as the
    /// template's parameters and the environment variables say it).
    pub fn days(record_days: u32, kept_days: u32) -> Self {
        let days = |d: u32| (d > 0).then_some(d);
        Self {
            record_days: days(record_days),
            kept_days: days(kept_days),
        }
    }

    /// When a record first delivered at `first_received` expires, and with it every
    /// delivery event of it: epoch seconds, `None` when records are kept forever.
    pub fn record_expiry(&self, first_received: DateTime<Utc>) -> Option<i64> {
        expiry(self.record_days, first_received)
    }

    /// When a kept delivery received at `received` expires (epoch seconds), `None` when kept
    /// deliveries are kept forever.
    pub fn kept_expiry(&self, received: DateTime<Utc>) -> Option<i64> {
        expiry(self.kept_days, received)
    }
}

fn expiry(days: Option<u32>, from: DateTime<Utc>) -> Option<i64> {
    days.map(|d| from.timestamp() + i64::from(d) * SECONDS_PER_DAY)
}

/// Sets an item's expiry (the TTL attribute), or leaves it without one for `None`.
pub(crate) fn set_expiry(item: &mut Item, expires_at: Option<i64>) {
    match expires_at {
        Some(at) => {
            item.insert(EXPIRES_AT.into(), AttributeValue::N(at.to_string()));
        }
        None => {
            item.remove(EXPIRES_AT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_keep_forever_and_days_count_from_the_start() {
        let at: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("t");
        assert_eq!(Retention::days(0, 0), Retention::FOREVER);
        assert_eq!(Retention::FOREVER.record_expiry(at), None);
        let retention = Retention::days(2, 1);
        assert_eq!(
            retention.record_expiry(at),
            Some(at.timestamp() + 2 * 86_400)
        );
        assert_eq!(retention.kept_expiry(at), Some(at.timestamp() + 86_400));
        let mut item = Item::new();
        set_expiry(&mut item, retention.kept_expiry(at));
        assert_eq!(
            item.get(EXPIRES_AT),
            Some(&AttributeValue::N((at.timestamp() + 86_400).to_string()))
        );
        set_expiry(&mut item, None);
        assert!(item.is_empty());
    }
}
