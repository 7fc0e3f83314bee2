//! VoiceInfra "call completed" webhook (`X-VoiceInfra-Signature`, bare hex HMAC-SHA256).

use chrono::{DateTime, Utc};

use crate::payload::{payload, Time};
use crate::storable;
use crate::{
    from_json, optional_id, require_id, Agent, AgentKind, CallRecord, CallStatus, FileRef,
    ParseError, PhoneNumber, Provider, Transcript,
};

/// The header carrying VoiceInfra's signature.
pub const SIGNATURE_HEADER: &str = "x-voiceinfra-signature";

payload! {
    /// The documented payload. Only `call_id` is required; unknown fields are kept.
    pub struct Payload {
        /// Unique identifier for the call.
        "call_id" => pub call_id: String,
        /// Caller's number (E.164).
        "from_number" => pub from_number: Option<String>,
        /// Called number.
        "to_number" => pub to_number: Option<String>,
        /// The AI agent that handled the call.
        "agent_id" => pub agent_id: Option<String>,
        /// Total duration in seconds.
        "duration_seconds" => pub duration_seconds: Option<u64>,
        /// Call start (ISO 8601).
        "start_time" => pub start_time: Option<DateTime<Utc>> as Time,
        /// Call end (ISO 8601).
        "end_time" => pub end_time: Option<DateTime<Utc>> as Time,
        /// Recording audio URL.
        "recording_url" => pub recording_url: Option<String>,
        /// Full transcript with speaker labels.
        "transcript" => pub transcript: Option<String>,
        /// `answered`, `voicemail` or `failed`.
        "call_outcome" => pub call_outcome: Option<String>,
        /// AI summary.
        "summary" => pub summary: Option<String>,
    }
}

/// Documented sample id: the dashboard's "Test" button sends the example payload.
const SAMPLE_CALL_ID: &str = "call_01HXYZ123456";

/// Where the transcript sits in the raw body (for records whose transcript is offloaded).
pub const TRANSCRIPT_POINTER: &str = "/transcript";

/// Parses a raw body. `call_id` and `agent_id` (parts of storage keys) are at most
/// [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes.
pub fn parse(body: &[u8]) -> Result<Payload, ParseError> {
    let payload: Payload = from_json(body)?;
    require_id("call_id", &payload.call_id)?;
    optional_id("agent_id", payload.agent_id.as_deref())?;
    Ok(payload)
}

/// Maps `call_outcome` to the normalized status.
fn status(outcome: Option<&str>) -> CallStatus {
    match outcome.map(str::to_ascii_lowercase).as_deref() {
        Some("answered") => CallStatus::Completed,
        Some("voicemail") => CallStatus::Voicemail,
        Some("failed") => CallStatus::Failed,
        _ => CallStatus::Unknown,
    }
}

/// Normalizes a parsed payload into a call record. Numbers DynamoDB cannot store in `extras`
/// are kept as text ([`storable_numbers`](crate::storable_numbers)).
pub fn normalize(p: Payload) -> CallRecord {
    let mut r = CallRecord::new(Provider::VoiceInfra, p.call_id);
    r.test_delivery = r.provider_call_id == SAMPLE_CALL_ID;
    r.from = p.from_number.as_deref().and_then(PhoneNumber::parse);
    r.to = p.to_number.as_deref().and_then(PhoneNumber::parse);
    r.agent = p.agent_id.map(|id| Agent {
        id,
        name: None,
        kind: AgentKind::Ai,
    });
    r.status = status(p.call_outcome.as_deref());
    r.provider_status = p.call_outcome.clone();
    r.started_at = p.start_time;
    r.ended_at = p.end_time;
    r.duration_seconds = p.duration_seconds;
    r.recording = FileRef::from_url(p.recording_url);
    r.transcript = p.transcript.map(|text| Transcript {
        text: Some(text),
        words: Vec::new(),
        file: None,
        offloaded: None,
    });
    r.summary = p.summary;
    r.outcome = p.call_outcome;
    r.extras = p.extra;
    storable::call(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");

    #[test]
    fn seed_payload_normalizes_every_field() {
        let record = normalize(parse(SEED).expect("seed parses"));
        assert_eq!(record.provider_call_id, "call_01HXYZ123456");
        assert_eq!(
            record.from.and_then(|p| p.e164).as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            record.to.and_then(|p| p.e164).as_deref(),
            Some("+18005551234")
        );
        assert_eq!(
            record.agent.map(|a| (a.id, a.kind)),
            Some(("agent_abc123".into(), AgentKind::Ai))
        );
        assert_eq!(record.duration_seconds, Some(147));
        assert_eq!(
            record.started_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-01-15T14:23:00+00:00")
        );
        assert_eq!(
            record.ended_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-01-15T14:25:27+00:00")
        );
        assert_eq!(
            record.recording.map(|r| r.source_url).as_deref(),
            Some("https://recordings.voiceinfra.ai/call_01HXYZ123456.mp3")
        );
        assert_eq!(record.status, CallStatus::Completed);
        assert_eq!(record.provider_status.as_deref(), Some("answered"));
        assert!(record
            .summary
            .is_some_and(|s| s.starts_with("Customer called")));
        assert!(record.extras.is_empty());
        assert!(
            record.test_delivery,
            "the documented sample is what the Test button sends"
        );
    }

    #[test]
    fn unknown_fields_are_kept_and_outcomes_map() {
        let body = br#"{"call_id":"c1","call_outcome":"voicemail","campaign":{"id":7},"transcript":"A: hi"}"#;
        let record = normalize(parse(body).expect("parses"));
        assert_eq!(record.status, CallStatus::Voicemail);
        assert_eq!(
            record.extras.get("campaign"),
            Some(&serde_json::json!({"id": 7}))
        );
        assert_eq!(
            record.transcript.and_then(|t| t.text).as_deref(),
            Some("A: hi")
        );
        let failed =
            normalize(parse(br#"{"call_id":"c","call_outcome":"FAILED"}"#).expect("parses"));
        assert_eq!(failed.status, CallStatus::Failed);
        let odd =
            normalize(parse(br#"{"call_id":"c","call_outcome":"transferred"}"#).expect("parses"));
        assert_eq!(
            (odd.status, odd.provider_status.as_deref()),
            (CallStatus::Unknown, Some("transferred"))
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"not json",
            b"[]",
            b"{}",
            br#"{"call_id":""}"#,
            br#"{"call_id":12}"#,
            br#"{"call_id":"c","duration_seconds":-1}"#,
            br#"{"call_id":"c","start_time":"yesterday"}"#,
            b"{\"call_id\":\"\xff\"}",
        ] {
            assert!(parse(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn key_ids_are_at_most_256_bytes() {
        use crate::testing::check_id_limit;
        check_id_limit(r#"{"call_id":"@ID@"}"#, "call_id", parse);
        check_id_limit(r#"{"call_id":"c","agent_id":"@ID@"}"#, "agent_id", parse);
    }

    #[test]
    fn out_of_range_numbers_in_extras_are_kept_as_text() {
        let body = format!(r#"{{"call_id":"c",{}}}"#, crate::testing::UNKNOWN_NUMBERS);
        let r = normalize(parse(body.as_bytes()).expect("parses"));
        crate::testing::assert_numbers_kept(&r.extras);
        assert_eq!(r.extras.len(), 2);
    }
}
