use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{PhoneNumber, Provider};

/// One call, normalized across providers. See `docs/records.md` for every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Which provider reported the call.
    pub provider: Provider,
    /// The provider's own call id; with `provider`, the record's identity.
    pub provider_call_id: String,
    /// Provider workspace or account the call belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// Provider channel, line or department the call came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Inbound or outbound, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Calling party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PhoneNumber>,
    /// Called party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<PhoneNumber>,
    /// The human or AI agent that handled the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// The customer side of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Normalized status.
    pub status: CallStatus,
    /// The provider's status value exactly as sent (text, or an integer as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
    /// When the call started (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the call was answered (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Talk duration in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// The call recording: provider URL, and the archived copy once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<FileRef>,
    /// The transcript, inline and/or as a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Transcript>,
    /// AI summary of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Outcome as the provider names it (for example `answered`, `Demo Scheduled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Payload fields the normalized schema has no place for, kept as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extras: Map<String, Value>,
}

/// Direction of a call or message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Customer to business.
    Inbound,
    /// Business to customer.
    Outbound,
}

/// Normalized call status across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Waiting in a queue (Voki `call.created`).
    Queued,
    /// Assigned to an agent, not yet connected (Voki `call.assigned`).
    Assigned,
    /// Connected and in progress (Voki `call.started`).
    InProgress,
    /// Ended after being answered.
    Completed,
    /// Reached voicemail.
    Voicemail,
    /// Not answered, or the caller left before being served.
    Missed,
    /// Failed to connect.
    Failed,
    /// The provider's status has no documented meaning; see `provider_status`.
    Unknown,
}

/// Whether an agent is a person or an AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// A human agent.
    Human,
    /// An AI voice agent.
    Ai,
}

/// The agent that handled a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The provider's agent or user id.
    pub id: String,
    /// Display name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human or AI.
    pub kind: AgentKind,
}

/// The customer side of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The provider's contact or customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// Any further details the provider extracted (address, language, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

/// A file the provider hosts (recording, transcript, media) that callvault archives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The provider's URL, as sent.
    pub source_url: String,
}

impl FileRef {
    /// A file reference for a non-empty URL.
    pub fn from_url(url: Option<String>) -> Option<Self> {
        url.filter(|u| !u.trim().is_empty())
            .map(|source_url| Self { source_url })
    }
}

/// A call transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// Full text with speaker labels, when sent inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Transcript file at the provider, when sent as a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
}
