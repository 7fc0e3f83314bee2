//! Hatif call webhook: `hatif::channel_id` (which selects the secret before verification),
//! `hatif::call::parse` and `hatif::call::normalize` on raw bytes, as the `hatif-call`
//! function calls them; and `duration::parse_hms` (Hatif's `callLength`) on the same bytes.
//!
//! Properties: nothing panics; a rejection never quotes the body; an accepted body is a JSON
//! object and the channel that selected the secret is the channel of the record (both ways);
//! the record keeps the call id, is `completed` exactly when the call was picked up (else
//! `missed`), has the duration of `callLength`, and an AI agent whenever `aiAgentId` is sent;
//! the record passes `check_call_record`. A duration `parse_hms` accepts is written only
//! with digits, `:` and `.`, and formatting it back as `d.HH:MM:SS` or `H:MM:SS` parses to the
//! same number of seconds.

use crate::checks::{accepted, check_call_record};
use callvault_records::duration::parse_hms;
use callvault_records::{hatif, AgentKind, CallStatus, Provider};

fn check_duration(text: &str) {
    let Some(seconds) = parse_hms(text) else {
        return;
    };
    assert!(
        text.trim()
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.'),
        "accepted {text:?} as a duration"
    );
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let clock = |h: u64| format!("{h:02}:{:02}:{:02}", rest % 3600 / 60, rest % 60);
    assert_eq!(
        parse_hms(&format!("{days}.{}", clock(rest / 3600))),
        Some(seconds)
    );
    assert_eq!(parse_hms(&clock(seconds / 3600)), Some(seconds));
}

/// Checks the properties on one input.
pub fn run(body: &[u8]) {
    if let Ok(text) = std::str::from_utf8(body) {
        check_duration(text);
    }
    let channel = hatif::channel_id(body);
    let Some(payload) = accepted(body, hatif::call::parse) else {
        return;
    };
    assert_eq!(
        channel, payload.channel_id,
        "secret chosen for another channel"
    );
    if let Some(length) = &payload.call_length {
        check_duration(length);
    }
    let call_id = payload.call_id.clone();
    let picked_up = payload.pickup_time.is_some();
    let ai_agent = payload.ai_agent_id.clone();
    let duration = payload.call_length.as_deref().and_then(parse_hms);
    let length_sent = payload.call_length.is_some();
    let record = hatif::call::normalize(payload);
    assert_eq!(record.provider, Provider::Hatif);
    assert_eq!(record.provider_call_id, call_id);
    assert_eq!(record.channel_id, channel);
    let expected = if picked_up {
        CallStatus::Completed
    } else {
        CallStatus::Missed
    };
    assert_eq!(record.status, expected);
    assert_eq!(record.duration_seconds, duration);
    assert_eq!(record.duration_seconds.is_some(), length_sent);
    if let Some(id) = ai_agent {
        let agent = record.agent.as_ref().expect("an AI agent");
        assert_eq!(
            (agent.id.as_str(), agent.kind),
            (id.as_str(), AgentKind::Ai)
        );
    }
    check_call_record(&record);
}
