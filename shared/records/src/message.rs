use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::merge::{earliest, Merge};
use crate::{Direction, FileRef, Provider};

/// One WhatsApp message, normalized; status updates of the same message merge into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Which provider reported the message.
    pub provider: Provider,
    /// The conversation the message belongs to; messages list by conversation.
    pub conversation_id: String,
    /// The provider's message id.
    pub message_id: String,
    /// Provider workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// Provider channel (the WhatsApp number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// The contact on the other side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// Inbound or outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Message type as sent (`Text`, `Image`, `Location`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Media file at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<FileRef>,
    /// MIME type of the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Normalized delivery status; never moves backwards.
    pub status: MessageStatus,
    /// The provider's status as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
    /// When each status was first reported (the delivery's receive time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_times: BTreeMap<String, DateTime<Utc>>,
    /// The workspace user who sent an outbound message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_user_id: Option<String>,
    /// Shared location, for location messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Whether the message is billable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    /// Provider error code (0 when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Provider error reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// When the message was created (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Payload fields the schema has no place for, kept as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extras: Map<String, Value>,
}

/// A latitude/longitude pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
}

/// Normalized WhatsApp message status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// A status without documented meaning; see `provider_status`.
    Unknown,
    /// Accepted by WhatsApp.
    Sent,
    /// Delivered to the recipient's device.
    Delivered,
    /// Read by the recipient.
    Read,
    /// Could not be delivered.
    Failed,
}

impl MessageStatus {
    /// Parses a provider status name, case-insensitively.
    pub fn from_provider(status: &str) -> Self {
        match status.to_ascii_lowercase().as_str() {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// Order in which statuses may follow each other; a failure outranks everything.
    pub fn rank(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Failed => 4,
        }
    }
}

impl MessageRecord {
    /// The time the message is listed under: its creation time, else `received_at` (its
    /// first receipt).
    pub fn listed_at(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        self.created_at.unwrap_or(received_at)
    }

    /// Combines two deliveries about the same message in an order-independent way: the one
    /// with the more advanced status is preferred field by field; on a tie a field both give
    /// different values keeps the greater by its JSON text, the creation time the earlier;
    /// status times accumulate (the earliest of each status).
    pub fn merge(self, other: Self) -> Self {
        let (hi, lo) = if other.status.rank() > self.status.rank() {
            (other, self)
        } else {
            (self, other)
        };
        let m = Merge {
            tie: hi.status.rank() == lo.status.rank(),
        };
        let mut status_times = hi.status_times;
        for (status, at) in lo.status_times {
            let kept = status_times.entry(status).or_insert(at);
            *kept = (*kept).min(at);
        }
        Self {
            provider: hi.provider,
            conversation_id: hi.conversation_id,
            message_id: hi.message_id,
            workspace_id: m.pick(hi.workspace_id, lo.workspace_id),
            channel_id: m.pick(hi.channel_id, lo.channel_id),
            contact_id: m.pick(hi.contact_id, lo.contact_id),
            direction: m.pick(hi.direction, lo.direction),
            message_type: m.pick(hi.message_type, lo.message_type),
            body: m.pick(hi.body, lo.body),
            media: m.pick(hi.media, lo.media),
            mime_type: m.pick(hi.mime_type, lo.mime_type),
            status: hi.status,
            provider_status: m.pick(hi.provider_status, lo.provider_status),
            status_times,
            sender_user_id: m.pick(hi.sender_user_id, lo.sender_user_id),
            location: m.pick(hi.location, lo.location),
            billable: m.pick(hi.billable, lo.billable),
            error_code: m.pick(hi.error_code, lo.error_code),
            error_reason: m.pick(hi.error_reason, lo.error_reason),
            created_at: earliest(lo.created_at, hi.created_at),
            extras: m.union(hi.extras, lo.extras),
        }
    }
}
