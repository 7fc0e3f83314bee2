//! Hatif WhatsApp message webhook: `hatif::channel_id`, `hatif::whatsapp::parse` and
//! `hatif::whatsapp::normalize` on raw bytes, as the `hatif-whatsapp` function calls them.
//!
//! Properties: nothing panics; a rejection never quotes the body; an accepted body is a JSON
//! object and the channel that selected the secret is the record's channel (both ways); the
//! record's status is the provider's status mapped, stamped with the receive time; the record
//! passes `check_message_record`.
//! The same message reported `Sent`, `Delivered`, `Read` and `Failed` merges into the same
//! record in every order, ends `failed`, and keeps the time of each status.

use crate::checks::{accepted, check_message_record, merge_in_every_order};
use callvault_records::{hatif, MessageRecord, MessageStatus, Provider};
use chrono::{DateTime, TimeDelta, Utc};

/// Checks the properties on one input.
pub fn run(body: &[u8]) {
    let channel = hatif::channel_id(body);
    let Some(payload) = accepted(body, hatif::whatsapp::parse) else {
        return;
    };
    assert_eq!(
        channel, payload.channel_id,
        "secret chosen for another channel"
    );
    let status = payload.status.clone();
    let received_at = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).expect("in range");
    let record = hatif::whatsapp::normalize(payload.clone(), received_at);
    assert_eq!(record.provider, Provider::Hatif);
    assert_eq!(record.channel_id, channel);
    assert_eq!(record.provider_status, status);
    assert_eq!(
        record.status,
        status
            .as_deref()
            .map_or(MessageStatus::Unknown, MessageStatus::from_provider)
    );
    match &status {
        Some(s) => assert_eq!(
            record.status_times.get(&s.to_ascii_lowercase()),
            Some(&received_at)
        ),
        None => assert!(record.status_times.is_empty()),
    }
    check_message_record(&record);

    let statuses = ["Sent", "Delivered", "Read", "Failed"];
    let updates: Vec<MessageRecord> = statuses
        .iter()
        .zip(0..)
        .map(|(s, i)| {
            let mut update = payload.clone();
            update.status = Some((*s).to_owned());
            hatif::whatsapp::normalize(update, received_at + TimeDelta::seconds(i))
        })
        .collect();
    let merged = merge_in_every_order(&updates, MessageRecord::merge);
    assert_eq!(merged.status, MessageStatus::Failed);
    assert_eq!(merged.provider_status.as_deref(), Some("Failed"));
    assert_eq!(merged.status_times.len(), statuses.len());
    check_message_record(&merged);
}
