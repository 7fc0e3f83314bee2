//! `callvault deliveries` and `callvault rejected`: what arrived, exactly as it arrived.

use anyhow::{bail, Context};
use callvault_query::{CallDetail, DeliveryEvent};
use callvault_records::Provider;
use callvault_store::{KeptBody, RecordStore, RejectedDelivery};
use chrono::{DateTime, Days, Utc};
use serde::Serialize;

/// A delivery's event chosen by its delivery id or (a prefix of at least 8 characters of)
/// its body's SHA-256.
pub fn find<'a>(detail: &'a CallDetail, delivery: &str) -> anyhow::Result<&'a DeliveryEvent> {
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
        [] => bail!("no delivery {delivery} in this call (`callvault deliveries list` names them)"),
        _ => bail!("{delivery} names several deliveries: give more of the SHA-256"),
    }
}

/// One delivery, whole: its event and exact body.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// The event.
    #[serde(flatten)]
    pub event: DeliveryEvent,
    /// The body, base64 (in JSON output; tables print it as text).
    pub body_base64: String,
    /// The body's bytes.
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// The exact body of a delivery event, from its item or from S3.
pub async fn body_of(
    store: &RecordStore,
    pk: &str,
    event: &DeliveryEvent,
    record_sk: &str,
) -> anyhow::Result<Vec<u8>> {
    match &event.body_s3_uri {
        Some(uri) => Ok(store.get_object(uri).await?),
        None => {
            let sk = callvault_store::schema::event_sk(record_sk, &event.body_sha256);
            let items = store.query_prefix(pk, &sk).await?;
            let item = items.first().context("the delivery's event item is gone")?;
            match item.get("body") {
                Some(aws_sdk_dynamodb::types::AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
                _ => bail!("the delivery's event item has no body"),
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

/// A kept delivery as listed.
#[derive(Debug, Clone, Serialize)]
pub struct KeptRow {
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// The provider.
    pub provider: Provider,
    /// The webhook.
    pub webhook: String,
    /// Why it was kept.
    pub reason: String,
    /// Its body's SHA-256 (its id among the kept deliveries of its day).
    pub body_sha256: String,
    /// Where its body is.
    pub body: String,
}

/// The kept deliveries of `providers` received in `[since, until]`, oldest first.
pub async fn kept(
    store: &RecordStore,
    providers: &[Provider],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<Vec<RejectedDelivery>> {
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

impl From<&RejectedDelivery> for KeptRow {
    fn from(r: &RejectedDelivery) -> Self {
        Self {
            received_at: r.received_at,
            provider: r.provider,
            webhook: r.webhook.clone(),
            reason: r.reason.clone(),
            body_sha256: r.body_sha256.clone(),
            body: match &r.body {
                KeptBody::Inline(bytes) => format!("inline, {} bytes", bytes.len()),
                KeptBody::S3(uri) => uri.clone(),
            },
        }
    }
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
