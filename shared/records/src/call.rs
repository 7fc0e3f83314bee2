use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::merge::{first, greater, Merge};
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
    /// Time of each lifecycle stage reported separately (Voki: `created`, `assigned`,
    /// `started`, `completed`, `missed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, DateTime<Utc>>,
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
    /// Sentiment as the provider sends it: a label, a raw integer enum, or an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Value>,
    /// Mood of the caller, when the provider detects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood: Option<String>,
    /// Quality or satisfaction score (post-call provider: 0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Outcome as the provider names it (for example `answered`, `Demo Scheduled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Call category as the provider classifies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Results of the provider's evaluation criteria, as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation: Vec<Value>,
    /// Follow-up actions identified by the provider, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_items: Option<Value>,
    /// Interests and needs extracted by the provider, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interests_and_needs: Option<Value>,
    /// True when the delivery is a provider's test or sample payload.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_delivery: bool,
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
    /// The provider's status has no documented meaning; see `provider_status`.
    Unknown,
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
}

impl CallStatus {
    /// Position in the lifecycle; a record's status only moves to a higher rank, so a
    /// late-arriving earlier stage never overwrites a later one.
    pub fn rank(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Queued => 1,
            Self::Assigned => 2,
            Self::InProgress => 3,
            Self::Completed | Self::Voicemail | Self::Missed | Self::Failed => 4,
        }
    }

    /// Whether the call is over.
    pub fn is_terminal(self) -> bool {
        self.rank() == 4
    }
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
    /// Any further details the provider extracted (address, language, ...), as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

impl Contact {
    /// `None` when nothing is known about the contact.
    pub fn non_empty(self) -> Option<Self> {
        (self != Self::default()).then_some(self)
    }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Full text with speaker labels, when sent inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Word timings, when sent (Hatif).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// Transcript file at the provider, when sent as a link (post-call provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// Where the full inline transcript is when it was too large for the table: the raw
    /// delivery in S3 (`s3://bucket/key`) and the JSON pointer to the transcript in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offloaded: Option<Offloaded>,
}

/// A part of a delivery kept in S3 instead of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offloaded {
    /// `s3://bucket/key` of the raw delivery.
    pub s3_uri: String,
    /// JSON pointer (RFC 6901) to the part inside that document.
    pub json_pointer: String,
}

/// One transcribed word with its timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// The word.
    pub text: String,
    /// Start offset as sent by the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// End offset as sent by the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// Token type as sent (for example `word`, `spacing`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// Speaker label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
}

impl CallRecord {
    /// An empty record for a call, with `status` unknown; adapters fill in what they know.
    pub fn new(provider: Provider, provider_call_id: impl Into<String>) -> Self {
        Self {
            provider,
            provider_call_id: provider_call_id.into(),
            workspace_id: None,
            channel_id: None,
            direction: None,
            from: None,
            to: None,
            agent: None,
            contact: None,
            status: CallStatus::Unknown,
            provider_status: None,
            started_at: None,
            answered_at: None,
            ended_at: None,
            stages: BTreeMap::new(),
            duration_seconds: None,
            recording: None,
            transcript: None,
            summary: None,
            sentiment: None,
            mood: None,
            score: None,
            outcome: None,
            classification: None,
            evaluation: Vec::new(),
            action_items: None,
            interests_and_needs: None,
            test_delivery: false,
            extras: Map::new(),
        }
    }

    /// The time the call is listed under: when it started, was answered or ended, whichever
    /// is known first in that order, else `received_at` (when its first delivery arrived).
    pub fn listed_at(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        self.started_at
            .or(self.answered_at)
            .or(self.ended_at)
            .unwrap_or(received_at)
    }

    /// Combines this record with one built from another delivery of the same call, so that
    /// deliveries in any order give the same result. The record of the later lifecycle stage
    /// (higher [`CallStatus::rank`]) is preferred field by field, falling back to the other's
    /// value where it has none, so a terminal status is never replaced; on equal rank a field
    /// both give different values is settled by a fixed rule that does not depend on the
    /// order (the later end time or stage time; otherwise the greater value by its JSON text),
    /// and a repeated delivery changes nothing. Stage times accumulate.
    pub fn merge(self, other: Self) -> Self {
        let (hi, lo) = if other.status.rank() > self.status.rank() {
            (other, self)
        } else {
            (self, other)
        };
        let m = Merge {
            tie: hi.status.rank() == lo.status.rank(),
        };
        let mut stages = lo.stages;
        for (stage, at) in hi.stages {
            let at = match stages.get(&stage) {
                Some(&kept) if m.tie => kept.max(at),
                _ => at,
            };
            stages.insert(stage, at);
        }
        // A later stage's provider status replaces the earlier one's, even by its absence.
        let provider_status = if m.tie {
            m.pick(hi.provider_status, lo.provider_status)
        } else {
            hi.provider_status
        };
        Self {
            provider: hi.provider,
            provider_call_id: hi.provider_call_id,
            workspace_id: m.pick(hi.workspace_id, lo.workspace_id),
            channel_id: m.pick(hi.channel_id, lo.channel_id),
            direction: m.pick(hi.direction, lo.direction),
            from: m.pick(hi.from, lo.from),
            to: m.pick(hi.to, lo.to),
            agent: m.pick(hi.agent, lo.agent),
            contact: m.pick(hi.contact, lo.contact),
            status: if m.tie {
                greater(hi.status, lo.status)
            } else {
                hi.status
            },
            provider_status,
            started_at: m.pick(hi.started_at, lo.started_at),
            answered_at: m.pick(hi.answered_at, lo.answered_at),
            ended_at: if m.tie {
                hi.ended_at.max(lo.ended_at)
            } else {
                first(hi.ended_at, lo.ended_at)
            },
            stages,
            duration_seconds: m.pick(hi.duration_seconds, lo.duration_seconds),
            recording: m.pick(hi.recording, lo.recording),
            transcript: m.pick(hi.transcript, lo.transcript),
            summary: m.pick(hi.summary, lo.summary),
            sentiment: m.pick(hi.sentiment, lo.sentiment),
            mood: m.pick(hi.mood, lo.mood),
            score: m.pick(hi.score, lo.score),
            outcome: m.pick(hi.outcome, lo.outcome),
            classification: m.pick(hi.classification, lo.classification),
            evaluation: match (hi.evaluation.is_empty(), lo.evaluation.is_empty()) {
                (false, false) if m.tie => greater(hi.evaluation, lo.evaluation),
                (true, _) => lo.evaluation,
                _ => hi.evaluation,
            },
            action_items: m.pick(hi.action_items, lo.action_items),
            interests_and_needs: m.pick(hi.interests_and_needs, lo.interests_and_needs),
            test_delivery: hi.test_delivery || lo.test_delivery,
            extras: m.union(hi.extras, lo.extras),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn listed_at_prefers_start_then_answer_then_end_then_receipt() {
        let mut call = CallRecord::new(Provider::Voki, "c1");
        assert_eq!(call.listed_at(at(5)), at(5));
        call.ended_at = Some(at(8));
        assert_eq!(call.listed_at(at(5)), at(8));
        call.answered_at = Some(at(7));
        assert_eq!(call.listed_at(at(5)), at(7));
        call.started_at = Some(at(6));
        assert_eq!(call.listed_at(at(5)), at(6));
    }
}
