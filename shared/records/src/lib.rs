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
mod payload;
mod phone;
pub mod postcall;
mod provider;
mod storable;
pub mod voiceinfra;
pub mod voki;

pub use call::{
    Agent, AgentKind, CallRecord, CallStatus, Contact, Direction, FileRef, Offloaded, Transcript,
    Word,
};
pub use contact::ContactRecord;
pub use error::{Invalid, ParseError, Position, Unsupported};
pub use message::{Location, MessageRecord, MessageStatus};
pub use normalized::Normalized;
pub use phone::{to_e164, Country, PhoneNumber};
pub use provider::Provider;
pub use storable::storable_numbers;

/// The longest identifier, in UTF-8 bytes, that any parser accepts for a value that becomes
/// part of a storage key: call, conversation, message, agent and contact ids.
///
/// DynamoDB refuses (permanently) a partition key over 2,048 bytes and a sort key over 1,024
/// bytes, index keys included; every key callvault builds is a short prefix plus at most two
/// such ids, so 256 bytes each keeps every key well inside both limits. A longer id is
/// refused at parse time with [`ParseError::Field`] (`longer than 256 bytes`), never quoting
/// the value.
pub const MAX_ID_BYTES: usize = 256;

/// The reason given for an id over [`MAX_ID_BYTES`] (a test checks that they agree).
const ID_TOO_LONG: &str = "longer than 256 bytes";

/// Parses a JSON body into `T`, describing failures without quoting the body.
///
/// JSON is UTF-8 (RFC 8259), so the whole body is checked first: serde_json checks the
/// strings it keeps but skips the ones it ignores unchecked, and would otherwise accept a body
/// with invalid UTF-8 in an unknown field (a body that no other JSON reader accepts, and in
/// which an offloaded transcript's JSON pointer could not be followed).
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError::not_utf8(body, &e))?;
    // serde also reads a struct from a JSON array (fields by position); every provider
    // documents an object.
    if text.trim_start_matches(JSON_WHITESPACE).starts_with('[') {
        return Err(Invalid::NotAnObject.into());
    }
    serde_json::from_str(text).map_err(|e| ParseError::from_json(&e))
}

/// The characters JSON allows between tokens.
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Rejects an empty identifier, or one longer than [`MAX_ID_BYTES`].
pub(crate) fn require_id(field: &'static str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        return Err(ParseError::Field {
            field,
            reason: "must not be empty",
        });
    }
    id_length(field, value)
}

/// Rejects an optional identifier longer than [`MAX_ID_BYTES`]; an absent (or empty) one is
/// accepted, as before the limit.
pub(crate) fn optional_id(field: &'static str, value: Option<&str>) -> Result<(), ParseError> {
    value.map_or(Ok(()), |value| id_length(field, value))
}

/// Rejects an identifier of more than [`MAX_ID_BYTES`] UTF-8 bytes (not characters), without
/// quoting it.
fn id_length(field: &'static str, value: &str) -> Result<(), ParseError> {
    if value.len() > MAX_ID_BYTES {
        return Err(ParseError::Field {
            field,
            reason: ID_TOO_LONG,
        });
    }
    Ok(())
}

/// Shared checks for the providers' tests: the id limit and the number rule.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use serde_json::{json, Map, Value};

    /// The refusal of an over-long id.
    pub(crate) fn too_long(field: &'static str) -> ParseError {
        ParseError::Field {
            field,
            reason: "longer than 256 bytes",
        }
    }

    /// The refusal of a typed number DynamoDB cannot store.
    pub(crate) fn out_of_range(field: &'static str) -> ParseError {
        ParseError::Field {
            field,
            reason: "outside the storable range (magnitude 1e-130 to 1e125)",
        }
    }

    /// Ids at the limit and just over it, and whether each is accepted: the limit is in UTF-8
    /// bytes, so 129 two-byte characters (258 bytes) are refused and 128 (256 bytes) are not.
    fn ids_at_the_limit() -> Vec<(String, bool)> {
        let ascii = "a".repeat(MAX_ID_BYTES);
        let two_byte = "é".repeat(MAX_ID_BYTES / 2);
        let three_byte = format!("{}a", "€".repeat(85));
        vec![
            (ascii.clone(), true),
            (two_byte.clone(), true),
            (three_byte.clone(), true),
            (format!("{ascii}b"), false),
            (format!("{two_byte}a"), false),
            (format!("{three_byte}b"), false),
            ("é".repeat(129), false),
            ("€".repeat(86), false),
        ]
    }

    /// For each id in [`ids_at_the_limit`] put in place of `@ID@` in `template`: an id of 256
    /// bytes parses, a longer one is refused naming `field`, and the message never quotes it.
    pub(crate) fn check_id_limit<T>(
        template: &str,
        field: &'static str,
        parse: impl Fn(&[u8]) -> Result<T, ParseError>,
    ) {
        assert!(template.contains("@ID@"), "{template}");
        for (id, accepted) in ids_at_the_limit() {
            let body = template.replace("@ID@", &id);
            let what = format!("{field}: {} bytes, {} chars", id.len(), id.chars().count());
            match parse(body.as_bytes()) {
                Ok(_) => assert!(accepted, "accepted {what}"),
                Err(err) => {
                    assert!(!accepted, "refused {what}: {err}");
                    assert_eq!(err, too_long(field), "{what}");
                    let start: String = id.chars().take(8).collect();
                    assert!(!err.to_string().contains(&start), "{what}");
                }
            }
        }
    }

    /// Unknown fields with numbers in and out of DynamoDB's range, for a JSON object.
    pub(crate) const UNKNOWN_NUMBERS: &str = r#""x": 1e200,
        "nums": {"tiny": 1e-200, "neg": -1e200, "nested": [1e200, {"deep": [1e-200, 0.5]}],
                 "max": 1e125, "int": 123, "half": 0.5, "zero": 0}"#;

    /// What [`UNKNOWN_NUMBERS`] becomes in a record: out-of-range floats as serde_json writes
    /// them, everything else as it was.
    pub(crate) fn assert_numbers_kept(map: &Map<String, Value>) {
        assert_eq!(map.get("x"), Some(&Value::from("1e+200")), "{map:?}");
        assert_eq!(
            map.get("nums"),
            Some(&json!({"tiny": "1e-200", "neg": "-1e+200",
                "nested": ["1e+200", {"deep": ["1e-200", 0.5]}],
                "max": 1e125, "int": 123, "half": 0.5, "zero": 0})),
            "{map:?}"
        );
    }
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
                Some(ParseError::Invalid(Invalid::Syntax(Position {
                    line: 1,
                    column: at
                }))),
                "{body}"
            );
        }
        let multi_line = b"{\n  \"callId\": \"c\",\n  \"x\": \"a\xe2\x82\"\n}";
        assert_eq!(
            postcall::parse(multi_line).err(),
            Some(ParseError::Invalid(Invalid::Syntax(Position {
                line: 3,
                column: 10
            })))
        );
    }

    #[test]
    fn the_id_reason_names_the_limit() {
        assert_eq!(ID_TOO_LONG, format!("longer than {MAX_ID_BYTES} bytes"));
    }

    /// A JSON array with the fields in declaration order used to be read as a Voki envelope.
    #[test]
    fn arrays_are_not_payloads() {
        let array = br#" ["call.created", "2026-02-20T14:00:00Z", {"id": "c"}]"#;
        let expected = Some(ParseError::Invalid(Invalid::NotAnObject));
        assert_eq!(voki::parse(array).err(), expected);
        assert_eq!(voiceinfra::parse(br#"["c"]"#).err(), expected);
        assert_eq!(hatif::call::parse(b"\r\n[\"c\"]").err(), expected);
        assert_eq!(hatif::whatsapp::parse(br#"["c", "m"]"#).err(), expected);
        assert_eq!(postcall::parse(br#"["c"]"#).err(), expected);
        assert!(voki::parse(br#"{"event":"call.created","data":{"id":"c"}}"#).is_ok());
    }
}
