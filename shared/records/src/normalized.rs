use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{CallRecord, ContactRecord, MessageRecord};

/// What one delivery normalizes into.
// One value per delivery, moved a few times and never held in bulk: boxing the call variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Normalized {
    /// A call record.
    Call(CallRecord),
    /// A WhatsApp message record.
    Message(MessageRecord),
    /// A contact record.
    Contact(ContactRecord),
}

impl Normalized {
    /// `call`, `message` or `contact`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Call(_) => "call",
            Self::Message(_) => "message",
            Self::Contact(_) => "contact",
        }
    }

    /// The provider the record came from.
    pub fn provider(&self) -> crate::Provider {
        match self {
            Self::Call(r) => r.provider,
            Self::Message(r) => r.provider,
            Self::Contact(r) => r.provider,
        }
    }

    /// Merges a record built from another delivery for the same entity. Records of different
    /// kinds never share a key, so a kind mismatch keeps `self`.
    pub fn merge(self, other: Self) -> Self {
        match (self, other) {
            (Self::Call(a), Self::Call(b)) => Self::Call(a.merge(b)),
            (Self::Message(a), Self::Message(b)) => Self::Message(a.merge(b)),
            (Self::Contact(a), Self::Contact(b)) => Self::Contact(a.merge(b)),
            (a, _) => a,
        }
    }

    /// The lifecycle stage of the record (a call's or message's status rank; contacts have
    /// none): a delivery of a later stage is preferred field by field when merging.
    pub fn stage(&self) -> u8 {
        match self {
            Self::Call(r) => r.status.rank(),
            Self::Message(r) => r.status.rank(),
            Self::Contact(_) => 0,
        }
    }

    /// The fields in which `delivered`, a record of the same stage as `merged` (the record
    /// after `delivered` was merged in), says something else than `merged` keeps: what that
    /// delivery could not change, by the merge rules (docs/records.md). A delivery of an
    /// earlier stage has none (the later stage is preferred by design), and neither does one
    /// of a later stage (it is the one preferred). Names are the record's JSON fields, with
    /// `.<key>` for an entry of a map (`stages.completed`, `extras.x`).
    pub fn conflicts(merged: &Self, delivered: &Self) -> Vec<String> {
        if delivered.stage() != merged.stage() {
            return Vec::new();
        }
        let (Ok(Value::Object(merged)), Ok(Value::Object(delivered))) = (
            serde_json::to_value(merged),
            serde_json::to_value(delivered),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (field, value) in &delivered {
            let kept = merged.get(field).unwrap_or(&Value::Null);
            match (value, kept) {
                (Value::Null, _) => {}
                _ if OWN_RULE_FIELDS.contains(&field.as_str()) => {}
                (Value::Object(entries), Value::Object(kept))
                    if MAP_FIELDS.contains(&field.as_str()) =>
                {
                    for (key, value) in entries {
                        if kept.get(key) != Some(value) {
                            out.push(format!("{field}.{key}"));
                        }
                    }
                }
                (value, kept) if value != kept => out.push(field.clone()),
                _ => {}
            }
        }
        out
    }
}

/// Record fields with a merge rule of their own, which any value of theirs follows: the later
/// of two end times is kept.
const OWN_RULE_FIELDS: &[&str] = &["ended_at"];

/// Record fields that are maps whose entries accumulate across deliveries: a delivery
/// conflicts with an entry it gives another value, not with entries it lacks.
const MAP_FIELDS: &[&str] = &["stages", "status_times", "extras", "details"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{voiceinfra, voki};

    fn voiceinfra_call(body: serde_json::Value) -> Normalized {
        Normalized::Call(voiceinfra::normalize(
            voiceinfra::parse(body.to_string().as_bytes()).expect("parses"),
        ))
    }

    /// A body of the same stage sets what was unknown and moves the end time later; a value
    /// both give differently is settled the same way in either order (the greater), and the
    /// body whose value lost names the field.
    #[test]
    fn a_body_of_the_same_stage_adds_and_settles_conflicts_in_any_order() {
        let first = voiceinfra_call(serde_json::json!({
            "call_id": "c", "summary": "first", "end_time": "2026-11-23T10:05:00Z"
        }));
        let later = voiceinfra_call(serde_json::json!({
            "call_id": "c", "summary": "second", "end_time": "2026-11-23T10:07:00Z",
            "sentiment": "positive"
        }));
        let merged = first.clone().merge(later.clone());
        assert_eq!(
            later.clone().merge(first.clone()),
            merged,
            "order-independent"
        );
        let Normalized::Call(call) = &merged else {
            panic!("a call")
        };
        assert_eq!(call.summary.as_deref(), Some("second"));
        assert_eq!(
            call.extras.get("sentiment"),
            Some(&serde_json::json!("positive"))
        );
        assert_eq!(
            call.ended_at.map(|t| t.to_rfc3339()),
            Some("2026-11-23T10:07:00+00:00".into())
        );
        assert_eq!(Normalized::conflicts(&merged, &first), ["summary"]);
        assert!(Normalized::conflicts(&merged, &later).is_empty());
    }

    /// Deliveries of an earlier stage never conflict: the later stage is preferred.
    #[test]
    fn an_earlier_stage_does_not_conflict() {
        let stage = |event: &str, status: &str| {
            let body = serde_json::json!({
                "event": event, "timestamp": "2026-02-20T14:00:00Z",
                "data": {"id": "c1", "status": status}
            });
            voki::normalize(voki::parse(body.to_string().as_bytes()).expect("parses"))
        };
        let completed = stage("call.completed", "done");
        let started = stage("call.started", "talking");
        let merged = completed.clone().merge(started.clone());
        assert!(Normalized::conflicts(&merged, &started).is_empty());
        let other_time = {
            let body = serde_json::json!({
                "event": "call.completed", "timestamp": "2026-02-20T15:00:00Z",
                "data": {"id": "c1", "status": "done"}
            });
            voki::normalize(voki::parse(body.to_string().as_bytes()).expect("parses"))
        };
        let merged = merged.merge(other_time.clone());
        // The later stage time is kept: the earlier delivery names it.
        assert!(Normalized::conflicts(&merged, &other_time).is_empty());
        assert_eq!(
            Normalized::conflicts(&merged, &completed),
            ["stages.completed"]
        );
    }
}
