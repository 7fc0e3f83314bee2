//! The Post-Call Webhook API: `postcall::parse` and `postcall::normalize` on raw bytes, as the
//! `postcall` function calls them after the token check.
//!
//! Properties: parsing never panics; a rejection never quotes the body; an accepted body is a
//! JSON object with a non-empty `callId`; the record is `completed`, keeps the id, is a test
//! delivery exactly for `test-*` ids, has a finite score when it has one, and its caller is
//! both `from` and the contact's phone; the record passes `check_call_record`.

use crate::checks::{accepted, check_call_record};
use callvault_records::{postcall, CallStatus, Provider};

/// Checks the properties on one input.
pub fn run(body: &[u8]) {
    let Some(payload) = accepted(body, postcall::parse) else {
        return;
    };
    let call_id = payload.call_id.clone();
    let record = postcall::normalize(payload);
    assert_eq!(record.provider, Provider::PostCall);
    assert_eq!(record.provider_call_id, call_id);
    assert_eq!(record.status, CallStatus::Completed);
    assert_eq!(record.test_delivery, call_id.starts_with("test-"));
    assert_eq!(
        record.from.as_ref(),
        record.contact.as_ref().and_then(|c| c.phone.as_ref())
    );
    check_call_record(&record);
}
