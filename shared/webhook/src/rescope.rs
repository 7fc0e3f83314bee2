//! Moving Hatif records written before a channel's records were scoped by the channel its
//! body names.
//!
//! A Hatif record's scope is now `channel:<channelId>` whichever of that channel's secrets
//! (its own, or the default ones while it has none) verified it. Earlier, a delivery the
//! default secrets verified was scoped `default` whatever channel it named, so a later
//! delivery about the same call or message (a WhatsApp status of a message in flight during
//! the upgrade) would make a second record beside it. [`rescope`] applies each delivery of
//! such a record again under its channel's scope, exactly as a live delivery is applied (so it
//! merges with whatever arrived there since, in any order), keeps the files the old record
//! had archived, then removes the old record and its events. Running it again finds nothing
//! left to move.

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::{Normalized, Provider};
use callvault_store::files::FileStatus;
use callvault_store::schema::{record_key, PARTITION_KEY, SORT_KEY};
use callvault_store::{record_of, RecordStore, RejectedDelivery, Service, StoreError};
use callvault_verify::{Scope, Verified};
use serde::Serialize;

use crate::replay::{reingest, webhook_named};
use crate::Outcome;

/// Record item attributes the scan filters on (docs/records.md, "Table layout").
const PROVIDER: &str = "provider";
const SCOPE: &str = "scope";
const RECORD: &str = "record";

/// A Hatif record scoped `default` whose deliveries name a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyRecord {
    /// Its partition key.
    pub pk: String,
    /// Its sort key (`CALL#default`, `MSG#default#<message id>`).
    pub sk: String,
    /// The channel its deliveries name.
    pub channel: String,
    /// The sort key of its channel's record, where its deliveries go.
    pub to_sk: String,
}

/// What [`rescope`] did with one record.
#[derive(Debug)]
pub enum Rescoped {
    /// Its deliveries were applied under the channel's scope and it was removed.
    Moved {
        /// How many distinct deliveries (events) it had.
        deliveries: usize,
    },
    /// It was no longer there (moved by an earlier run).
    Gone,
    /// A delivery of it could not be applied again (the outcome says why): it stays where it
    /// is, and so do its events.
    Stays(Outcome),
}

fn text<'a>(item: &'a callvault_store::Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The record's channel, if its body named one.
fn channel_of(record: &Normalized) -> Option<&str> {
    match record {
        Normalized::Call(c) => c.channel_id.as_deref(),
        Normalized::Message(m) => m.channel_id.as_deref(),
        Normalized::Contact(_) => None,
    }
    .filter(|c| !c.is_empty())
}

/// Every Hatif record scoped `default` whose deliveries name a channel: a scan of the table
/// (a one-off after upgrading).
pub async fn legacy_records(store: &RecordStore) -> Result<Vec<LegacyRecord>, StoreError> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .dynamodb()
            .scan()
            .table_name(store.table())
            .filter_expression(
                "#provider = :hatif AND #scope = :default AND attribute_exists(#record)",
            )
            .expression_attribute_names("#provider", PROVIDER)
            .expression_attribute_names("#scope", SCOPE)
            .expression_attribute_names("#record", RECORD)
            .expression_attribute_values(":hatif", AttributeValue::S(Provider::Hatif.to_string()))
            .expression_attribute_values(":default", AttributeValue::S(Scope::Default.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::request(Service::DynamoDb, "Scan", e))?;
        for item in page.items.unwrap_or_default() {
            let record = record_of(&item)?;
            let (Some(pk), Some(sk), Some(channel)) = (
                text(&item, PARTITION_KEY),
                text(&item, SORT_KEY),
                channel_of(&record),
            ) else {
                continue;
            };
            let (_, to_sk) = record_key(&record, Some(&Scope::Channel(channel.to_owned())));
            found.push(LegacyRecord {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                channel: channel.to_owned(),
                to_sk,
            });
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(found),
        }
    }
}

/// Moves one legacy record into its channel's scope (see the module): its deliveries applied
/// again, oldest first, with their own receive times, headers and authentication; its
/// archived files kept; then it and its events removed. An error leaves it in place (what was
/// applied already is applied again harmlessly by the next run).
pub async fn rescope(store: &RecordStore, legacy: &LegacyRecord) -> Result<Rescoped, StoreError> {
    let Some(old) = store.get_item(&legacy.pk, &legacy.sk).await? else {
        return Ok(Rescoped::Gone);
    };
    // An event holds its delivery in the same attributes as a kept delivery.
    let mut events = store
        .events(&legacy.pk, &legacy.sk)
        .await?
        .iter()
        .map(RejectedDelivery::from_item)
        .collect::<Result<Vec<_>, _>>()?;
    events.sort_by_key(|e| e.received_at);
    let scope = Scope::Channel(legacy.channel.clone());
    for event in &events {
        let body = store.kept_body(&event.body).await?;
        let authentication = event.authentication.parse().map_err(StoreError::Corrupt)?;
        let verified = Verified::reinstate_unchecked(body, authentication, Some(scope.clone()));
        let webhook = webhook_named(&event.webhook)?;
        match reingest(store, webhook, &event.headers, &verified, event.received_at).await {
            Outcome::Accepted(_) => {}
            Outcome::StorageFailed(error) => return Err(error),
            other => return Ok(Rescoped::Stays(other)),
        }
    }
    let copied: Vec<_> = old
        .files
        .iter()
        .filter(|(_, f)| f.status == FileStatus::Copied)
        .collect();
    if !copied.is_empty() {
        store
            .update_files(&legacy.pk, &legacy.to_sk, |files| {
                for (kind, archived) in &copied {
                    if let Some(file) = files.get_mut(kind) {
                        if file.source_url == archived.source_url
                            && file.status != FileStatus::Copied
                        {
                            *file = (*archived).clone();
                        }
                    }
                }
            })
            .await?;
    }
    for event in &events {
        store.delete_item(&legacy.pk, &event.sk).await?;
    }
    store.delete_item(&legacy.pk, &legacy.sk).await?;
    Ok(Rescoped::Moved {
        deliveries: events.len(),
    })
}
