//! The Post-Call Webhook API: unsigned (authenticated here by a shared token), never retried,
//! 10 s timeout, idempotent by `callId`.

use serde_json::Value;

use crate::payload::payload;
use crate::storable::{self, require_storable};
use crate::{
    from_json, require_id, CallRecord, CallStatus, Contact, FileRef, ParseError, PhoneNumber,
    Provider, Transcript,
};

payload! {
    /// The documented payload. Only `callId` is required; unknown fields are kept.
    pub struct Payload {
        /// Call id.
        "callId" => pub call_id: String,
        /// Recording file URL.
        "recordingUri" => pub recording_uri: Option<String>,
        /// Transcript file (JSON) URL.
        "transcriptUri" => pub transcript_uri: Option<String>,
        /// Extracted caller information.
        "callerDetails" => pub caller_details: Option<CallerDetails>,
        /// AI analysis.
        "callAnalysis" => pub call_analysis: Option<CallAnalysis>,
    }
}

payload! {
    /// `callerDetails`: name, phone and email are lifted out; every other field (`scheduledTime`,
    /// `address`, `pincode`, `city`, `state`, `country`, `age`, `gender`, `occupation`, `company`,
    /// `preferredContactMethod`, `bestTimeToCall`, `language`, and anything else) is kept in
    /// `extra` as sent.
    pub struct CallerDetails {
        /// Caller name.
        "name" => pub name: Option<String>,
        /// Caller phone, in any written form.
        "phoneNumber" => pub phone_number: Option<String>,
        /// Caller email.
        "email" => pub email: Option<String>,
    }
}

payload! {
    /// `callAnalysis`.
    pub struct CallAnalysis {
        /// Summary.
        "summary" => pub summary: Option<String>,
        /// Mood.
        "mood" => pub mood: Option<String>,
        /// Score 0-100 (a number; numeric strings are accepted).
        "score" => pub score: Option<Value>,
        /// Outcome, e.g. "Appointment Scheduled".
        "callOutcome" => pub call_outcome: Option<String>,
        /// Category.
        "classification" => pub classification: Option<String>,
        /// Interests and needs (object).
        "interestsAndNeeds" => pub interests_and_needs: Option<Value>,
        /// Action items (object).
        "actionItems" => pub action_items: Option<Value>,
        /// Sentiment (object).
        "sentiment" => pub sentiment: Option<Value>,
    }
}

/// Parses a raw body. `callId` (part of storage keys) is at most
/// [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes, and the score a number DynamoDB can store.
pub fn parse(body: &[u8]) -> Result<Payload, ParseError> {
    let payload: Payload = from_json(body)?;
    require_id("callId", &payload.call_id)?;
    if let Some(score) = payload
        .call_analysis
        .as_ref()
        .and_then(|a| a.score.as_ref())
    {
        if score_value(score).is_none() && !score.is_null() {
            return Err(ParseError::Field {
                field: "callAnalysis.score",
                reason: "expected a number",
            });
        }
        require_storable("callAnalysis.score", score_value(score))?;
    }
    Ok(payload)
}

/// The score as a finite number. Rust's float parsing also reads `NaN`, `inf` and
/// out-of-range text such as `1e999` (infinity), none of which is a score, nor storable as a
/// DynamoDB number.
fn score_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|score: &f64| score.is_finite())
}

/// Normalizes a parsed payload. The webhook fires when a call is over, so the status is
/// `completed`; the call id `test-*` (the documentation's test request) marks a test delivery.
/// Numbers DynamoDB cannot store in free-form values are kept as text
/// ([`storable_numbers`](crate::storable_numbers)).
pub fn normalize(p: Payload) -> CallRecord {
    let mut r = CallRecord::new(Provider::PostCall, p.call_id);
    r.test_delivery = r.provider_call_id.starts_with("test-");
    r.status = CallStatus::Completed;
    r.recording = FileRef::from_url(p.recording_uri);
    r.transcript = FileRef::from_url(p.transcript_uri).map(|file| Transcript {
        text: None,
        words: Vec::new(),
        file: Some(file),
        offloaded: None,
    });
    if let Some(c) = p.caller_details {
        let phone = c.phone_number.as_deref().and_then(PhoneNumber::parse);
        r.from = phone.clone();
        r.contact = Contact {
            id: None,
            name: c.name,
            email: c.email,
            phone,
            details: c.extra,
        }
        .non_empty();
    }
    if let Some(a) = p.call_analysis {
        r.summary = a.summary;
        r.mood = a.mood;
        r.score = a.score.as_ref().and_then(score_value);
        r.outcome = a.call_outcome;
        r.classification = a.classification;
        r.interests_and_needs = a.interests_and_needs;
        r.action_items = a.action_items;
        r.sentiment = a.sentiment;
        if !a.extra.is_empty() {
            r.extras
                .insert("callAnalysis".into(), Value::Object(a.extra));
        }
    }
    r.extras.extend(p.extra);
    storable::call(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!("../../../tests/fixtures/postcall.json");

    #[test]
    fn seed_payload_normalizes_every_field() {
        let r = normalize(parse(SEED).expect("seed parses"));
        assert_eq!(r.provider_call_id, "693bff62619c51fac21acf50");
        assert!(!r.test_delivery);
        assert_eq!(r.status, CallStatus::Completed);
        assert_eq!(
            r.recording.map(|f| f.source_url).as_deref(),
            Some("https://storage.example.com/recordings/693bff62619c51fac21acf50/call_recording.ogg")
        );
        assert_eq!(
            r.transcript
                .and_then(|t| t.file)
                .map(|f| f.source_url)
                .as_deref(),
            Some(
                "https://storage.example.com/transcripts/transcript_693bff62619c51fac21acf50.json"
            )
        );
        let c = r.contact.expect("caller");
        assert_eq!(c.name.as_deref(), Some("John Smith"));
        assert_eq!(c.email.as_deref(), Some("john.smith@example.com"));
        assert_eq!(
            c.phone.as_ref().and_then(|p| p.e164.as_deref()),
            Some("+15551234567")
        );
        assert_eq!(r.from.and_then(|p| p.e164).as_deref(), Some("+15551234567"));
        for (k, v) in [
            ("scheduledTime", "2025-01-20T10:00:00Z"),
            ("address", "123 Main Street"),
            ("city", "New York"),
            ("state", "NY"),
            ("country", "USA"),
            ("language", "English"),
        ] {
            assert_eq!(c.details.get(k), Some(&Value::from(v)), "{k}");
        }
        assert_eq!(
            r.summary.as_deref(),
            Some("Customer called to schedule a product demo...")
        );
        assert_eq!(r.mood.as_deref(), Some("Positive"));
        assert_eq!(r.score, Some(85.0));
        assert_eq!(r.outcome.as_deref(), Some("Demo Scheduled"));
        assert_eq!(r.classification.as_deref(), Some("Sales Inquiry"));
    }

    #[test]
    fn objects_are_kept_and_test_calls_flagged() {
        let body = br#"{"callId":"test-call-123","callerDetails":{"name":"Test User","phoneNumber":"+1-555-000-0000"},
            "callAnalysis":{"score":"72","actionItems":{"callback":"tomorrow"},"sentiment":{"overall":"neutral"},"interestsAndNeeds":{"product":"demo"}}}"#;
        let r = normalize(parse(body).expect("parses"));
        assert!(r.test_delivery);
        assert_eq!(r.score, Some(72.0));
        assert_eq!(
            r.action_items,
            Some(serde_json::json!({"callback": "tomorrow"}))
        );
        assert_eq!(r.sentiment, Some(serde_json::json!({"overall": "neutral"})));
        assert_eq!(
            r.interests_and_needs,
            Some(serde_json::json!({"product": "demo"}))
        );
        assert!(parse(br#"{"callId":"c","callAnalysis":{"score":"high"}}"#).is_err());
        assert!(parse(br#"{"recordingUri":"x"}"#).is_err());
    }

    /// Numeric strings that Rust's float parsing reads as NaN or infinity used to be accepted
    /// as scores: NaN made the record unequal to itself, and neither is a DynamoDB number.
    #[test]
    fn non_finite_scores_are_rejected() {
        for score in ["NaN", "nan", " inf ", "-infinity", "1e999", "-1e400"] {
            let body = format!(r#"{{"callId":"c","callAnalysis":{{"score":"{score}"}}}}"#);
            assert_eq!(
                parse(body.as_bytes()).err(),
                Some(ParseError::Field {
                    field: "callAnalysis.score",
                    reason: "expected a number"
                }),
                "{score}"
            );
        }
        let r = normalize(
            parse(br#"{"callId":"c","callAnalysis":{"score":" 1e2 "}}"#).expect("finite"),
        );
        assert_eq!(r.score, Some(100.0));
    }

    #[test]
    fn the_call_id_is_at_most_256_bytes() {
        crate::testing::check_id_limit(r#"{"callId":"@ID@"}"#, "callId", parse);
    }

    #[test]
    fn out_of_range_numbers_in_free_form_values_are_kept_as_text() {
        let numbers = crate::testing::UNKNOWN_NUMBERS;
        let body = format!(
            r#"{{"callId":"c",{numbers},"callerDetails":{{"name":"A",{numbers}}},
                "callAnalysis":{{"score":1e125,{numbers},"sentiment":{{"overall":1e200,"n":0.5}},
                    "actionItems":[1e-200,123],"interestsAndNeeds":-1e200}}}}"#
        );
        let r = normalize(parse(body.as_bytes()).expect("parses"));
        crate::testing::assert_numbers_kept(&r.extras);
        let Some(Value::Object(analysis)) = r.extras.get("callAnalysis") else {
            panic!("callAnalysis extras")
        };
        crate::testing::assert_numbers_kept(analysis);
        crate::testing::assert_numbers_kept(&r.contact.expect("caller").details);
        assert_eq!(r.score, Some(1e125));
        assert_eq!(
            r.sentiment,
            Some(serde_json::json!({"overall": "1e+200", "n": 0.5}))
        );
        assert_eq!(r.action_items, Some(serde_json::json!(["1e-200", 123])));
        assert_eq!(r.interests_and_needs, Some(Value::from("-1e+200")));
    }

    #[test]
    fn scores_out_of_range_are_refused() {
        for score in [
            "1e200",
            "-1e200",
            "1e-200",
            r#""1e200""#,
            r#"" -1e-200 ""#,
            "1e126",
        ] {
            let body = format!(r#"{{"callId":"c","callAnalysis":{{"score":{score}}}}}"#);
            assert_eq!(
                parse(body.as_bytes()).err(),
                Some(crate::testing::out_of_range("callAnalysis.score")),
                "{score}"
            );
        }
        for (score, kept) in [
            ("0", 0.0),
            ("-0.0", 0.0),
            (r#""1e-400""#, 0.0),
            ("1e-129", 1e-129),
            ("85", 85.0),
        ] {
            let body = format!(r#"{{"callId":"c","callAnalysis":{{"score":{score}}}}}"#);
            let r = normalize(parse(body.as_bytes()).expect(score));
            assert_eq!(r.score, Some(kept), "{score}");
        }
    }
}
