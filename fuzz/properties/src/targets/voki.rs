//! Voki: `voki::parse` and `voki::normalize` on raw bytes, as the `voki` function calls them
//! after verification.
//!
//! Properties: parsing never panics; a rejection never quotes the body (an unknown event name
//! is quoted, at most 64 characters, as documented); an accepted body is a JSON object; a
//! `call.*` event becomes a call record with the event's status and stage time, a
//! `customer.created` a contact; records pass `check_call_record` / `check_contact_record`.
//! The same call data delivered as `call.created`, `call.assigned`, `call.started` and one
//! terminal event (`completed` or `missed`) merges into the same record in all 24 orders,
//! with the terminal status and every stage's time.

use crate::checks::{accepted, check_call_record, check_contact_record, merge_in_every_order};
use callvault_records::voki::{self, Data, Event};
use callvault_records::{CallRecord, CallStatus, Normalized, Provider};
use chrono::TimeDelta;

fn call(normalized: Normalized) -> CallRecord {
    match normalized {
        Normalized::Call(record) => record,
        other => panic!("a call event gave a {}", other.kind()),
    }
}

/// Checks the properties on one input.
pub fn run(body: &[u8]) {
    let Some(envelope) = accepted(body, voki::parse) else {
        return;
    };
    let event = envelope.event;
    let timestamp = envelope.timestamp;
    let is_call = matches!(envelope.data, Data::Call(_));
    assert_eq!(is_call, event != Event::CustomerCreated);
    match voki::normalize(envelope.clone()) {
        Normalized::Contact(contact) => {
            assert_eq!(event, Event::CustomerCreated);
            assert_eq!(contact.provider, Provider::Voki);
            assert_eq!(contact.created_at, timestamp);
            check_contact_record(&contact);
        }
        Normalized::Call(record) => {
            assert_eq!(record.provider, Provider::Voki);
            let stage = event.name().trim_start_matches("call.");
            assert_eq!(record.stages.get(stage), timestamp.as_ref());
            assert_eq!(record.stages.len(), usize::from(timestamp.is_some()));
            check_call_record(&record);
        }
        Normalized::Message(_) => panic!("a Voki event gave a message"),
    }
    if !is_call {
        return;
    }

    let terminal = if body.len().is_multiple_of(2) {
        (Event::CallCompleted, CallStatus::Completed)
    } else {
        (Event::CallMissed, CallStatus::Missed)
    };
    let events = [
        Event::CallCreated,
        Event::CallAssigned,
        Event::CallStarted,
        terminal.0,
    ];
    let stages: Vec<CallRecord> = events
        .iter()
        .zip(0..)
        .map(|(&event, minutes)| {
            let mut delivery = envelope.clone();
            delivery.event = event;
            delivery.timestamp =
                timestamp.and_then(|t| t.checked_add_signed(TimeDelta::minutes(minutes)));
            call(voki::normalize(delivery))
        })
        .collect();
    let merged = merge_in_every_order(&stages, CallRecord::merge);
    assert_eq!(merged.status, terminal.1);
    assert_eq!(
        merged.stages.len(),
        stages.iter().map(|r| r.stages.len()).sum::<usize>()
    );
    check_call_record(&merged);
}
