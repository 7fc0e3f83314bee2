//! What a record item carries for the table's secondary indexes: the index key attributes and
//! the small `summary` the list indexes project. `docs/records.md` explains each index.

use callvault_records::{CallRecord, CallStatus, Direction, MessageRecord, MessageStatus};
use callvault_records::{Normalized, PhoneNumber, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::files::{FileKind, FileStatus, Files};
use crate::item::{s, Item};
use crate::schema::{
    agent_pk, calls_pk, contact_pk, conversation_pk, AGENT_PK, CALLS_PK, CONTACT_PK,
    CONVERSATION_PK, FILE_STATE, FROM_NUMBER, MESSAGE_SK, SUMMARY, TIME_SK, TO_NUMBER,
};
use crate::size::summary_text;
use crate::StoreError;

/// The short form of a call that list queries return (projected into the list indexes).
/// Names and numbers in it are cut to `size::MAX_SUMMARY_TEXT` characters, so an index entry
/// stays small whatever a provider sends; the record has them whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    /// Which provider.
    pub provider: Provider,
    /// The provider's call id.
    pub provider_call_id: String,
    /// When the call started (or was answered, or ended; else when it was first received).
    pub time: DateTime<Utc>,
    /// Normalized status.
    pub status: CallStatus,
    /// Inbound or outbound, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Calling number (E.164 when it could be placed, else as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Called number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Talk time in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// The agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The contact's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The contact's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// Archive status of the recording, when the call has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<FileStatus>,
    /// `pending` while any of its files waits for the copier, else `failed` when one failed
    /// (see [`file_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_state: Option<String>,
    /// Whether this was a provider's test delivery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_delivery: bool,
}

/// The short form of a WhatsApp message (in the file-state index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// Which provider.
    pub provider: Provider,
    /// The conversation.
    pub conversation_id: String,
    /// The provider's message id.
    pub message_id: String,
    /// When the message was created (else when it was first received).
    pub time: DateTime<Utc>,
    /// Normalized status.
    pub status: MessageStatus,
    /// Inbound or outbound, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Archive status of the media, when the message has some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<FileStatus>,
}

/// The `summary` attribute of a record item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Summary {
    /// A call.
    Call(CallSummary),
    /// A WhatsApp message.
    Message(MessageSummary),
}

/// The `time_sk` of a record: its time, then provider and id so that it is unique.
pub fn time_sk(time: DateTime<Utc>, provider: Provider, id: &str) -> String {
    format!("{}#{provider}#{id}", crate::timestamp(time))
}

/// The `message_sk` of a message: creation time then message id; messages without a
/// creation time sort after those with one (`~` follows every digit).
pub fn message_sk(message: &MessageRecord) -> String {
    match message.created_at {
        Some(t) => format!("{}#{}", crate::timestamp(t), message.message_id),
        None => format!("~#{}", message.message_id),
    }
}

/// The number a phone index is keyed by: the E.164 form, or nothing for numbers that could
/// not be placed (no country code).
fn number_key(number: Option<&PhoneNumber>) -> Option<&str> {
    number.and_then(|n| n.e164.as_deref())
}

fn shown_number(number: Option<&PhoneNumber>) -> Option<String> {
    number.map(|n| summary_text(n.shown()))
}

/// The `file_state` of a record: `pending` while any file waits for the copier (so a failed
/// file never hides one still being retried), else `failed` if any file failed, else none
/// (the record leaves the sparse index once everything is copied).
pub fn file_state(files: &Files) -> Option<&'static str> {
    if files.values().any(|f| f.status == FileStatus::Pending) {
        Some("pending")
    } else if files.values().any(|f| f.status == FileStatus::Failed) {
        Some("failed")
    } else {
        None
    }
}

/// The summary of a call.
pub fn call_summary(call: &CallRecord, received_at: DateTime<Utc>, files: &Files) -> CallSummary {
    CallSummary {
        provider: call.provider,
        provider_call_id: call.provider_call_id.clone(),
        time: call.listed_at(received_at),
        status: call.status,
        direction: call.direction,
        from: shown_number(call.from.as_ref()),
        to: shown_number(call.to.as_ref()),
        duration_seconds: call.duration_seconds,
        agent_id: call.agent.as_ref().map(|a| a.id.clone()),
        agent_name: call
            .agent
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .map(summary_text),
        contact_id: call.contact.as_ref().and_then(|c| c.id.clone()),
        contact_name: call
            .contact
            .as_ref()
            .and_then(|c| c.name.as_deref())
            .map(summary_text),
        recording: files.get(&FileKind::Recording).map(|f| f.status),
        file_state: file_state(files).map(str::to_owned),
        test_delivery: call.test_delivery,
    }
}

/// Adds the index attributes of `record` to its item. `received_at` is when the record's
/// first delivery arrived.
pub(crate) fn add_index_attributes(
    item: &mut Item,
    record: &Normalized,
    received_at: DateTime<Utc>,
    files: &Files,
) -> Result<(), StoreError> {
    let summary = match record {
        Normalized::Call(call) => {
            let time = call.listed_at(received_at);
            item.insert(
                TIME_SK.into(),
                s(time_sk(time, call.provider, &call.provider_call_id)),
            );
            item.insert(CALLS_PK.into(), s(calls_pk(call.provider)));
            if let Some(n) = number_key(call.from.as_ref()) {
                item.insert(FROM_NUMBER.into(), s(n));
            }
            if let Some(n) = number_key(call.to.as_ref()) {
                item.insert(TO_NUMBER.into(), s(n));
            }
            if let Some(agent) = call.agent.as_ref().filter(|a| !a.id.is_empty()) {
                item.insert(AGENT_PK.into(), s(agent_pk(call.provider, &agent.id)));
            }
            if let Some(id) = call.contact.as_ref().and_then(|c| c.id.as_deref()) {
                if !id.is_empty() {
                    item.insert(CONTACT_PK.into(), s(contact_pk(call.provider, id)));
                }
            }
            Summary::Call(call_summary(call, received_at, files))
        }
        Normalized::Message(message) => {
            let time = message.listed_at(received_at);
            let id = format!("{}#{}", message.conversation_id, message.message_id);
            item.insert(TIME_SK.into(), s(time_sk(time, message.provider, &id)));
            item.insert(
                CONVERSATION_PK.into(),
                s(conversation_pk(message.provider, &message.conversation_id)),
            );
            item.insert(MESSAGE_SK.into(), s(message_sk(message)));
            Summary::Message(MessageSummary {
                provider: message.provider,
                conversation_id: message.conversation_id.clone(),
                message_id: message.message_id.clone(),
                time,
                status: message.status,
                direction: message.direction,
                media: files.get(&FileKind::Media).map(|f| f.status),
            })
        }
        Normalized::Contact(_) => return Ok(()),
    };
    if let Some(state) = file_state(files) {
        item.insert(FILE_STATE.into(), s(state));
    }
    item.insert(
        SUMMARY.into(),
        aws_sdk_dynamodb::types::AttributeValue::M(serde_dynamo::to_item(&summary)?),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::FileState;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0)
            .single()
            .expect("valid time")
    }

    fn file(status: FileStatus) -> FileState {
        FileState {
            status,
            ..FileState::pending("https://example.test/a.mp3", "k")
        }
    }

    #[test]
    fn time_keys_sort_in_time_order() {
        let early = time_sk(at(9), Provider::Voki, "zzz");
        let late = time_sk(at(10), Provider::Hatif, "aaa");
        assert!(early < late);
        assert_eq!(early, "2026-11-23T09:00:00.000Z#voki#zzz");
    }

    #[test]
    fn messages_without_creation_time_sort_last() {
        let mut m: MessageRecord = serde_json::from_value(serde_json::json!({
            "provider": "hatif", "conversation_id": "conv", "message_id": "m1", "status": "sent"
        }))
        .expect("minimal message");
        let unknown = message_sk(&m);
        m.created_at = Some(at(23));
        assert!(message_sk(&m) < unknown);
    }

    #[test]
    fn file_state_is_pending_while_any_file_waits_and_absent_when_all_copied() {
        let mut files = Files::new();
        assert_eq!(file_state(&files), None);
        files.insert(FileKind::Recording, file(FileStatus::Copied));
        assert_eq!(file_state(&files), None);
        files.insert(FileKind::Transcript, file(FileStatus::Pending));
        assert_eq!(file_state(&files), Some("pending"));
        files.insert(FileKind::Recording, file(FileStatus::Failed));
        assert_eq!(
            file_state(&files),
            Some("pending"),
            "a failed file never hides a waiting one"
        );
        files.insert(FileKind::Transcript, file(FileStatus::Copied));
        assert_eq!(file_state(&files), Some("failed"));
    }

    #[test]
    fn call_items_get_every_index_key_they_have_values_for() {
        let mut call = CallRecord::new(Provider::Hatif, "c9");
        call.from = PhoneNumber::parse("+1 415 555 0100");
        call.to = PhoneNumber::parse("0501234567");
        call.agent = Some(callvault_records::Agent {
            id: "a7".into(),
            name: Some("Sam".into()),
            kind: callvault_records::AgentKind::Human,
        });
        let mut item = Item::new();
        add_index_attributes(&mut item, &Normalized::Call(call), at(1), &Files::new())
            .expect("serializable");
        assert_eq!(crate::item::get_s(&item, FROM_NUMBER), Some("+14155550100"));
        assert!(
            !item.contains_key(TO_NUMBER),
            "unplaceable numbers are not indexed"
        );
        assert_eq!(crate::item::get_s(&item, AGENT_PK), Some("AGENT#hatif#a7"));
        assert_eq!(crate::item::get_s(&item, CALLS_PK), Some("CALLS#hatif"));
        assert!(!item.contains_key(CONTACT_PK));
        assert!(!item.contains_key(FILE_STATE));
        let summary: Summary =
            serde_dynamo::from_attribute_value(item[SUMMARY].clone()).expect("summary reads back");
        let Summary::Call(summary) = summary else {
            panic!("call summary expected")
        };
        assert_eq!(summary.to.as_deref(), Some("0501234567"));
        assert_eq!(summary.agent_name.as_deref(), Some("Sam"));
    }
}
