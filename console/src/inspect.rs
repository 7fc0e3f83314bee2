//! What arrived, exactly as it arrived: a call's deliveries with their bodies, and the
//! deliveries kept instead of applied (the console's pages and `callvault deliveries` and
//! `callvault kept` read them here).

use callvault_query::{CallDetail, DeliveryEvent};
use callvault_records::Provider;
use callvault_store::{RecordStore, RejectedDelivery, StoreError};
use chrono::{DateTime, Days, Utc};

/// Why a delivery or its body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// No delivery of the call has this id or SHA-256 prefix.
    #[error("no delivery {0} in this call (`callvault deliveries list` names them)")]
    NoDelivery(String),
    /// The prefix names more than one delivery.
    #[error("{0} names several deliveries: give more of the SHA-256")]
    SeveralDeliveries(String),
    /// The event item that holds the body is gone.
    #[error("the delivery's event item is gone")]
    EventGone,
    /// The event item holds no body.
    #[error("the delivery's event item has no body")]
    NoBody,
    /// Reading the table or bucket failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// A delivery's event chosen by its delivery id or (a prefix of at least 8 characters of)
/// its body's SHA-256.
pub fn find<'a>(detail: &'a CallDetail, delivery: &str) -> Result<&'a DeliveryEvent, InspectError> {
    let matches: Vec<_> = detail
        .events
        .iter()
        .filter(|e| {
            e.delivery_id == delivery
                || (delivery.len() >= 8
                    && e.body_sha256.starts_with(&delivery.to_ascii_lowercase()))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(InspectError::NoDelivery(delivery.to_owned())),
        _ => Err(InspectError::SeveralDeliveries(delivery.to_owned())),
    }
}

/// The exact body of a delivery event, from its item or from S3.
pub async fn body_of(
    store: &RecordStore,
    pk: &str,
    event: &DeliveryEvent,
    record_sk: &str,
) -> Result<Vec<u8>, InspectError> {
    match &event.body_s3_uri {
        Some(uri) => Ok(store.get_object(uri).await?),
        None => {
            let sk = callvault_store::schema::event_sk(record_sk, &event.body_sha256);
            let items = store.query_prefix(pk, &sk).await?;
            let item = items.first().ok_or(InspectError::EventGone)?;
            match item.get("body") {
                Some(aws_sdk_dynamodb::types::AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
                _ => Err(InspectError::NoBody),
            }
        }
    }
}

/// The days from `since` to `until`, each `YYYY-MM-DD` (kept deliveries are grouped by day).
pub fn days(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    let (mut day, last) = (since.date_naive(), until.date_naive());
    let mut days = Vec::new();
    while day <= last && days.len() < 366 {
        days.push(day.format("%Y-%m-%d").to_string());
        day = match day.checked_add_days(Days::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    days
}

/// The kept deliveries of `providers` received in `[since, until]`, oldest first.
pub async fn kept(
    store: &RecordStore,
    providers: &[Provider],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<RejectedDelivery>, StoreError> {
    let mut all = Vec::new();
    for provider in providers {
        for day in days(since, until) {
            all.extend(
                store
                    .rejected(*provider, &day)
                    .await?
                    .into_iter()
                    .filter(|r| r.received_at >= since && r.received_at <= until),
            );
        }
    }
    all.sort_by_key(|r| r.received_at);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_cover_the_range() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        assert_eq!(
            days(at("2026-11-27T23:00:00Z"), at("2026-11-29T01:00:00Z")),
            ["2026-11-27", "2026-11-28", "2026-11-29"]
        );
        assert!(days(at("2026-11-28T00:00:00Z"), at("2026-11-27T00:00:00Z")).is_empty());
    }
}
