//! Hatif "Call Webhook" (call completed).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::duration::parse_hms;
use crate::payload::{payload, Time};
use crate::storable::{self, require_storable};
use crate::{
    from_json, optional_id, require_id, Agent, AgentKind, CallRecord, CallStatus, Contact, FileRef,
    ParseError, PhoneNumber, Provider, Transcript, Word,
};

payload! {
    /// The documented payload. Only `callId` is required; unknown fields are kept.
    pub struct Payload {
        /// Call id (UUID).
        "callId" => pub call_id: String,
        /// Workspace.
        "workspaceId" => pub workspace_id: Option<String>,
        /// Channel (selects the secret).
        "channelId" => pub channel_id: Option<String>,
        /// Integer status; its meanings are not documented, so it is kept raw.
        "status" => pub status: Option<i64>,
        /// Integer call type; meanings not documented, kept raw in extras.
        "type" => pub call_type: Option<i64>,
        /// Caller number.
        "callerNumber" => pub caller_number: Option<String>,
        /// Callee number.
        "calleeNumber" => pub callee_number: Option<String>,
        /// When the call was picked up.
        "pickupTime" => pub pickup_time: Option<DateTime<Utc>> as Time,
        /// When the call was hung up.
        "hangupTime" => pub hangup_time: Option<DateTime<Utc>> as Time,
        /// Human agent (workspace user) id.
        "userId" => pub user_id: Option<String>,
        /// Human agent name.
        "userName" => pub user_name: Option<String>,
        /// Contact id.
        "contactId" => pub contact_id: Option<String>,
        /// Contact number.
        "contactNumber" => pub contact_number: Option<String>,
        /// Talk time as `HH:MM:SS`.
        "callLength" => pub call_length: Option<String>,
        /// AI agent id.
        "aiAgentId" => pub ai_agent_id: Option<String>,
        /// Recording URL.
        "recordingUrl" => pub recording_url: Option<String>,
        /// Transcript with word timings.
        "transcription" => pub transcription: Option<Transcription>,
        /// AI summary.
        "summary" => pub summary: Option<String>,
        /// Integer sentiment; meanings not documented, kept raw.
        "sentiment" => pub sentiment: Option<i64>,
        /// Evaluation criteria results.
        "evaluationCriteriaResult" => pub evaluation_criteria_result: Vec<Value>,
        /// When the call record was created.
        "creationTime" => pub creation_time: Option<DateTime<Utc>> as Time,
    }
}

/// Hatif's transcription object.
#[derive(Debug, Clone, Deserialize)]
pub struct Transcription {
    /// Full text.
    pub text: Option<String>,
    /// Word timings.
    #[serde(default)]
    pub words: Vec<Word>,
}

/// Where the transcript sits in the raw body (for records whose transcript is offloaded).
pub const TRANSCRIPT_POINTER: &str = "/transcription";

/// Parses a raw body. Ids that end up in storage keys (`callId`, `channelId`, `userId`,
/// `aiAgentId`, `contactId`) are at most [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes, and word
/// times are numbers DynamoDB can store.
pub fn parse(body: &[u8]) -> Result<Payload, ParseError> {
    let payload: Payload = from_json(body)?;
    require_id("callId", &payload.call_id)?;
    optional_id("channelId", payload.channel_id.as_deref())?;
    optional_id("userId", payload.user_id.as_deref())?;
    optional_id("aiAgentId", payload.ai_agent_id.as_deref())?;
    optional_id("contactId", payload.contact_id.as_deref())?;
    for word in payload.transcription.iter().flat_map(|t| &t.words) {
        require_storable("transcription.words[].start", word.start)?;
        require_storable("transcription.words[].end", word.end)?;
    }
    if let Some(length) = &payload.call_length {
        if parse_hms(length).is_none() {
            return Err(ParseError::Field {
                field: "callLength",
                reason: "expected HH:MM:SS",
            });
        }
    }
    Ok(payload)
}

/// Normalizes a parsed payload. The webhook is sent when a call is over: a call that was
/// picked up is `completed`, one that was not is `missed`; the raw integer status is kept.
/// Numbers DynamoDB cannot store in free-form values are kept as text
/// ([`storable_numbers`](crate::storable_numbers)).
pub fn normalize(p: Payload) -> CallRecord {
    let mut record = CallRecord::new(Provider::Hatif, p.call_id);
    let mut extras = p.extra;
    record.workspace_id = p.workspace_id;
    record.channel_id = p.channel_id;
    record.from = p.caller_number.as_deref().and_then(PhoneNumber::parse);
    record.to = p.callee_number.as_deref().and_then(PhoneNumber::parse);
    let human = p.user_id.map(|id| Agent {
        id,
        name: p.user_name,
        kind: AgentKind::Human,
    });
    record.agent = match (p.ai_agent_id, human) {
        (Some(id), human) => {
            if let Some(h) = human {
                extras.insert("userId".into(), Value::String(h.id));
                if let Some(name) = h.name {
                    extras.insert("userName".into(), Value::String(name));
                }
            }
            Some(Agent {
                id,
                name: None,
                kind: AgentKind::Ai,
            })
        }
        (None, human) => human,
    };
    record.contact = Contact {
        id: p.contact_id,
        phone: p.contact_number.as_deref().and_then(PhoneNumber::parse),
        ..Contact::default()
    }
    .non_empty();
    record.status = if p.pickup_time.is_some() {
        CallStatus::Completed
    } else {
        CallStatus::Missed
    };
    record.provider_status = p.status.map(|s| s.to_string());
    if let Some(t) = p.call_type {
        extras.insert("type".into(), Value::from(t));
    }
    record.started_at = p.creation_time;
    record.answered_at = p.pickup_time;
    record.ended_at = p.hangup_time;
    record.duration_seconds = p.call_length.as_deref().and_then(parse_hms);
    record.recording = FileRef::from_url(p.recording_url);
    record.transcript = p
        .transcription
        .map(|t| Transcript {
            text: t.text,
            words: t.words,
            file: None,
            offloaded: None,
        })
        .filter(|t| t.text.is_some() || !t.words.is_empty());
    record.summary = p.summary;
    record.sentiment = p.sentiment.map(Value::from);
    record.evaluation = p.evaluation_criteria_result;
    record.extras = extras;
    storable::call(&mut record);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!("../../../../tests/fixtures/hatif-call.json");

    #[test]
    fn seed_payload_normalizes_every_field() {
        let r = normalize(parse(SEED).expect("seed parses"));
        assert_eq!(r.provider, Provider::Hatif);
        assert_eq!(r.provider_call_id, "4722cd84-0ec7-4ef5-8c34-1b0150f45f53");
        assert_eq!(
            r.workspace_id.as_deref(),
            Some("ef0efa32-d1c1-43d4-a5e2-fe7b4f00403c")
        );
        assert_eq!(
            r.channel_id.as_deref(),
            Some("5f6d08bc-455a-4532-98b8-19e2cee51160")
        );
        assert_eq!(r.provider_status.as_deref(), Some("0"));
        assert_eq!(r.extras.get("type"), Some(&Value::from(1)));
        assert_eq!(
            r.from,
            Some(PhoneNumber {
                raw: "string".into(),
                e164: None
            })
        );
        assert_eq!(r.to.as_ref().map(|p| p.raw.as_str()), Some("string"));
        assert_eq!(
            r.answered_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2019-08-24T14:15:22.123+00:00")
        );
        assert!(r.ended_at.is_some() && r.started_at.is_some());
        assert_eq!(r.status, CallStatus::Completed);
        assert_eq!(r.duration_seconds, Some(332));
        let agent = r.agent.expect("agent");
        assert_eq!(
            (agent.id.as_str(), agent.kind),
            ("de6aefb3-8e9c-49f1-b481-86af32c29492", AgentKind::Ai)
        );
        assert_eq!(
            r.extras.get("userId"),
            Some(&Value::from("2c4a230c-5085-4924-a3e1-25fb4fc5965b"))
        );
        assert_eq!(r.extras.get("userName"), Some(&Value::from("string")));
        let contact = r.contact.expect("contact");
        assert_eq!(
            contact.id.as_deref(),
            Some("b5ec5d98-4bee-4da1-ad24-dde86346cb1d")
        );
        assert_eq!(contact.phone.map(|p| p.raw).as_deref(), Some("string"));
        assert_eq!(r.recording.map(|f| f.source_url).as_deref(), Some("string"));
        let t = r.transcript.expect("transcript");
        assert_eq!(t.text.as_deref(), Some("string"));
        assert_eq!(t.words.len(), 1);
        assert_eq!(t.words[0].speaker.as_deref(), Some("string"));
        assert_eq!((t.words[0].start, t.words[0].end), (Some(0.0), Some(0.0)));
        assert_eq!(r.summary.as_deref(), Some("string"));
        assert_eq!(r.sentiment, Some(Value::from(1)));
        assert_eq!(r.evaluation.len(), 1);
        assert_eq!(r.evaluation[0]["rationale"], Value::from("string"));
    }

    #[test]
    fn human_only_agent_unanswered_call_and_bad_length() {
        let r = normalize(
            parse(br#"{"callId":"c","userId":"u1","userName":"Ana","callerNumber":"+966 50 123 4567"}"#)
                .expect("parses"),
        );
        assert_eq!(
            r.agent.map(|a| (a.id, a.name, a.kind)),
            Some(("u1".into(), Some("Ana".into()), AgentKind::Human))
        );
        assert_eq!(r.status, CallStatus::Missed);
        assert_eq!(
            r.from.and_then(|p| p.e164).as_deref(),
            Some("+966501234567")
        );
        assert!(parse(br#"{"callId":"c","callLength":"5 minutes"}"#).is_err());
        assert!(parse(br#"{"callId":"c","status":"zero"}"#).is_err());
    }

    #[test]
    fn key_ids_are_at_most_256_bytes() {
        use crate::testing::check_id_limit;
        for (template, field) in [
            (r#"{"callId":"@ID@"}"#, "callId"),
            (
                r#"{"callId":"c","userId":"@ID@","userName":"Ana"}"#,
                "userId",
            ),
            // With an AI agent the user goes to extras, but is still an agent id.
            (
                r#"{"callId":"c","userId":"@ID@","aiAgentId":"a"}"#,
                "userId",
            ),
            (r#"{"callId":"c","aiAgentId":"@ID@"}"#, "aiAgentId"),
            (r#"{"callId":"c","contactId":"@ID@"}"#, "contactId"),
            // The record's scope, in its key.
            (r#"{"callId":"c","channelId":"@ID@"}"#, "channelId"),
        ] {
            check_id_limit(template, field, parse);
        }
    }

    #[test]
    fn a_1100_character_call_id_is_refused_without_quoting_it() {
        let id = "c".repeat(1100);
        let err = parse(format!(r#"{{"callId":"{id}"}}"#).as_bytes()).expect_err("too long");
        assert_eq!(err, crate::testing::too_long("callId"));
        assert_eq!(
            err.to_string(),
            "invalid value for `callId`: longer than 256 bytes"
        );
        // Empty ids: the call id is required, the others stay optional as before.
        let empty = parse(br#"{"callId":" "}"#).expect_err("empty");
        assert_eq!(
            empty.to_string(),
            "invalid value for `callId`: must not be empty"
        );
        let r = normalize(parse(br#"{"callId":"c","userId":"","contactId":""}"#).expect("p"));
        assert_eq!(r.agent.map(|a| a.id).as_deref(), Some(""));
    }

    #[test]
    fn out_of_range_numbers_in_free_form_values_are_kept_as_text() {
        let body = format!(
            r#"{{"callId":"c",{},"evaluationCriteriaResult":[{{"score":1e200,"weight":0.5}}],
                "transcription":{{"words":[{{"text":"hi","start":1e125,"end":0}}]}}}}"#,
            crate::testing::UNKNOWN_NUMBERS
        );
        let r = normalize(parse(body.as_bytes()).expect("parses"));
        crate::testing::assert_numbers_kept(&r.extras);
        assert_eq!(r.extras.len(), 2);
        assert_eq!(
            r.evaluation,
            vec![serde_json::json!({"score": "1e+200", "weight": 0.5})]
        );
        let words = r.transcript.expect("transcript").words;
        assert_eq!((words[0].start, words[0].end), (Some(1e125), Some(0.0)));
    }

    #[test]
    fn word_times_out_of_range_are_refused() {
        for bad in ["1e200", "-1e200", "1e-200", "-1e-200", "1e126"] {
            for (key, field) in [
                ("start", "transcription.words[].start"),
                ("end", "transcription.words[].end"),
            ] {
                let body = format!(
                    r#"{{"callId":"c","transcription":{{"words":[{{"text":"a","start":1}},{{"text":"b","{key}":{bad}}}]}}}}"#
                );
                assert_eq!(
                    parse(body.as_bytes()).err(),
                    Some(crate::testing::out_of_range(field)),
                    "{key} {bad}"
                );
            }
        }
    }
}
