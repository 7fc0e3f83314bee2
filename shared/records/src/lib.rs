//! Provider payloads and the normalized cross-provider records they become.
//!
//! Pure code: each provider module parses that provider's documented payload from the raw body
//! (keeping unknown fields) and normalizes it into a [`CallRecord`], [`MessageRecord`] or
//! [`ContactRecord`]. Records merge order-independently when several deliveries describe the
//! same call or message. Fields are documented in `docs/records.md`.

mod call;
mod contact;
pub mod duration;
mod error;
pub mod hatif;
mod merge;
mod message;
mod normalized;
mod phone;
pub mod postcall;
mod provider;
pub mod voiceinfra;
pub mod voki;

pub use call::{
    Agent, AgentKind, CallRecord, CallStatus, Contact, Direction, FileRef, Offloaded, Transcript,
    Word,
};
pub use contact::ContactRecord;
pub use error::ParseError;
pub use message::{Location, MessageRecord, MessageStatus};
pub use normalized::Normalized;
pub use phone::PhoneNumber;
pub use provider::Provider;

/// Parses a JSON body into `T`, describing failures without quoting the body.
///
/// JSON is UTF-8 (RFC 8259), so the whole body is checked first: serde_json checks the
/// strings it keeps but skips the ones it ignores unchecked, and would otherwise accept a body
/// with invalid UTF-8 in an unknown field (a body that no other JSON reader accepts, and in
/// which an offloaded transcript's JSON pointer could not be followed).
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError::not_utf8(body, &e))?;
    // serde also reads a struct from a JSON array (fields by position); every provider
    // documents an object.
    if text.trim_start_matches(JSON_WHITESPACE).starts_with('[') {
        return Err(ParseError::Invalid("expected a JSON object".into()));
    }
    serde_json::from_str(text).map_err(|e| ParseError::from_json(&e))
}

/// The characters JSON allows between tokens.
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Rejects an empty identifier.
pub(crate) fn require_id(field: &'static str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        return Err(ParseError::Field {
            field,
            reason: "must not be empty".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider's parse, reduced to its error.
    type Parse = fn(&[u8]) -> Option<ParseError>;

    /// Invalid UTF-8 in a field no provider type reads used to pass (serde_json skips ignored
    /// strings unchecked); every provider now rejects it, naming the position.
    #[test]
    fn invalid_utf8_in_an_ignored_field_is_rejected() {
        let bodies: [(&str, Parse); 5] = [
            (r#"{"call_id":"c","x":"\xff"}"#, |b| {
                voiceinfra::parse(b).err()
            }),
            (r#"{"callId":"c","x":"\xff"}"#, |b| {
                hatif::call::parse(b).err()
            }),
            (
                r#"{"conversationId":"c","messageId":"m","x":"\xff"}"#,
                |b| hatif::whatsapp::parse(b).err(),
            ),
            (
                r#"{"event":"call.created","x":"\xff","data":{"id":"c"}}"#,
                |b| voki::parse(b).err(),
            ),
            (r#"{"callId":"c","x":"\xff"}"#, |b| postcall::parse(b).err()),
        ];
        for (body, parse) in bodies {
            let valid = body.replace("\\xff", "y");
            assert_eq!(parse(valid.as_bytes()), None, "{valid}");
            let (before, after) = body.split_once("\\xff").expect("marker");
            let invalid = [before.as_bytes(), b"\xff", after.as_bytes()].concat();
            let at = before.len() + 1;
            assert_eq!(
                parse(&invalid),
                Some(ParseError::Invalid(format!(
                    "not valid JSON at line 1 column {at}"
                ))),
                "{body}"
            );
        }
        let multi_line = b"{\n  \"callId\": \"c\",\n  \"x\": \"a\xe2\x82\"\n}";
        assert_eq!(
            postcall::parse(multi_line).err(),
            Some(ParseError::Invalid(
                "not valid JSON at line 3 column 10".into()
            ))
        );
    }

    /// A JSON array with the fields in declaration order used to be read as a Voki envelope.
    #[test]
    fn arrays_are_not_payloads() {
        let array = br#" ["call.created", "2026-02-20T14:00:00Z", {"id": "c"}]"#;
        let expected = Some(ParseError::Invalid("expected a JSON object".into()));
        assert_eq!(voki::parse(array).err(), expected);
        assert_eq!(voiceinfra::parse(br#"["c"]"#).err(), expected);
        assert_eq!(hatif::call::parse(b"\r\n[\"c\"]").err(), expected);
        assert_eq!(hatif::whatsapp::parse(br#"["c", "m"]"#).err(), expected);
        assert_eq!(postcall::parse(br#"["c"]"#).err(), expected);
        assert!(voki::parse(br#"{"event":"call.created","data":{"id":"c"}}"#).is_ok());
    }
}
