//! VoiceInfra "call completed": `voiceinfra::parse` and `voiceinfra::normalize` on raw bytes,
//! as the `voiceinfra` function calls them after verification.
//!
//! Properties: parsing never panics; a rejection never quotes the body; an accepted body is a
//! JSON object with a non-empty `call_id`; the record keeps that id, the outcome as sent, and
//! is a test delivery exactly for the documented sample id; the record passes
//! `check_call_record` (JSON round trip, merge with itself and with an empty record).

use crate::checks::{accepted, check_call_record};
use callvault_records::{voiceinfra, Provider};

/// Checks the properties on one input.
pub fn run(body: &[u8]) {
    let Some(payload) = accepted(body, voiceinfra::parse) else {
        return;
    };
    let call_id = payload.call_id.clone();
    let outcome = payload.call_outcome.clone();
    let record = voiceinfra::normalize(payload);
    assert_eq!(record.provider, Provider::VoiceInfra);
    assert_eq!(record.provider_call_id, call_id);
    assert_eq!(record.provider_status, outcome);
    assert_eq!(record.test_delivery, call_id == "call_01HXYZ123456");
    check_call_record(&record);
}
