//! Properties shared by the provider targets: a parse error never quotes the body, and a
//! normalized record survives a JSON round trip, merges with itself into itself, and merges
//! with an empty record of the same identity into itself in either order.

use std::collections::BTreeMap;

use callvault_records::{
    CallRecord, ContactRecord, Invalid, MessageRecord, MessageStatus, Normalized, ParseError,
    Unsupported,
};
use serde_json::{Map, Value};

/// Whether `body` is a JSON object: the only top-level shape any provider documents.
///
/// RFC 8259's grammar allows `\uXXXX` escapes of lone UTF-16 surrogates, which serde_json
/// rejects in a `Value` but skips unchecked in fields a payload type ignores (as JavaScript's
/// and Python's parsers accept them). Such escapes are replaced by `\u0000` before the check,
/// so only bodies that are not JSON by the grammar count as not JSON. Likewise the grammar
/// puts no bound on a number (`1e400`), which a `Value` refuses as out of range and a payload
/// type skips in a field it ignores: such a body is checked by syntax alone.
fn is_json_object(body: &[u8]) -> bool {
    let mut body = body.to_vec();
    let mut i = 0;
    while i + 6 <= body.len() {
        let escape = &body[i..i + 6];
        let surrogate = escape[0] == b'\\'
            && escape[1] == b'u'
            && escape[2].eq_ignore_ascii_case(&b'd')
            && matches!(escape[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
            && escape[4..].iter().all(u8::is_ascii_hexdigit);
        if surrogate {
            body[i + 2..i + 6].copy_from_slice(b"0000");
            i += 6;
        } else {
            i += 1;
        }
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) => value.is_object(),
        Err(e) if e.to_string().starts_with("number out of range") => {
            body.trim_ascii_start().starts_with(b"{")
                && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok()
        }
        Err(_) => false,
    }
}

/// Parses `body` with a provider's `parse`: a rejection is checked with [`check_parse_error`]
/// and gives `None`; an accepted body must be a JSON object.
pub fn accepted<T>(body: &[u8], parse: impl FnOnce(&[u8]) -> Result<T, ParseError>) -> Option<T> {
    match parse(body) {
        Ok(payload) => {
            assert!(
                is_json_object(body),
                "accepted a body that is not a JSON object"
            );
            Some(payload)
        }
        Err(err) => {
            check_parse_error(&err);
            None
        }
    }
}

/// A field name as serde reports it for callvault's payload types: letters, digits and `_`.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A parse error describes the problem by category, position and field name only: the
/// response and the logs must never carry body content. The message forms are the variants
/// of [`Invalid`] and [`Unsupported`] (where the readers make them), matched here without a
/// wildcard, so a new form cannot go unchecked; the strings they carry are checked to be
/// names, not body content.
fn check_parse_error(err: &ParseError) {
    match err {
        ParseError::Invalid(invalid) => match invalid {
            Invalid::NotAnObject
            | Invalid::MemberNotAnObject(_)
            | Invalid::Truncated(_)
            | Invalid::Syntax(_)
            | Invalid::WrongType(_) => {}
            Invalid::MissingField(field) => assert!(
                is_field_name(field),
                "missing-field message names no field: {err}"
            ),
        },
        ParseError::Field { field, reason } => {
            assert!(!field.is_empty() && !reason.is_empty(), "{err:?}");
        }
        // Voki's unknown event names are quoted, cut short (documented).
        ParseError::Unsupported(Unsupported::EventType(name)) => assert!(
            name.chars().count() <= Unsupported::NAME_CHARS,
            "unsupported message quotes too much: {err}"
        ),
    }
    assert!(!err.to_string().is_empty());
}

/// The record serializes to JSON and deserializes back to itself, both bare and inside
/// [`Normalized`] (the store keeps records the same way, through serde).
fn check_round_trip<T>(record: &T, normalized: Normalized)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(record).expect("a record serializes");
    let back: T = serde_json::from_str(&json).expect("a serialized record deserializes");
    assert_eq!(&back, record, "JSON round trip changed the record: {json}");
    let json = serde_json::to_string(&normalized).expect("a normalized record serializes");
    let back: Normalized = serde_json::from_str(&json).expect("a normalized record deserializes");
    assert_eq!(
        back, normalized,
        "JSON round trip changed the record: {json}"
    );
    assert_eq!(
        normalized.clone().merge(normalized.clone()),
        normalized,
        "Normalized::merge with itself"
    );
}

/// `record` merged with itself is itself, and so is `record` merged with `empty` (a record of
/// the same identity and nothing else) in either order.
fn check_merge_identities<T>(record: &T, empty: T, merge: fn(T, T) -> T)
where
    T: Clone + PartialEq + std::fmt::Debug,
{
    assert_eq!(
        merge(record.clone(), record.clone()),
        *record,
        "merge with itself"
    );
    assert_eq!(
        merge(record.clone(), empty.clone()),
        *record,
        "merge with an empty record"
    );
    // Whichever side it is on, the record has the later (or the same) stage and every value.
    assert_eq!(
        merge(empty, record.clone()),
        *record,
        "empty record merged first"
    );
}

/// Checks a normalized call record (see the module documentation).
pub fn check_call_record(record: &CallRecord) {
    assert!(!record.provider_call_id.trim().is_empty());
    if let Some(score) = record.score {
        assert!(score.is_finite(), "score {score} is not a finite number");
    }
    check_round_trip(record, Normalized::Call(record.clone()));
    let empty = CallRecord::new(record.provider, record.provider_call_id.clone());
    check_merge_identities(record, empty, CallRecord::merge);
}

/// An empty message record with the identity of `record`.
fn empty_message(record: &MessageRecord) -> MessageRecord {
    MessageRecord {
        provider: record.provider,
        conversation_id: record.conversation_id.clone(),
        message_id: record.message_id.clone(),
        workspace_id: None,
        channel_id: None,
        contact_id: None,
        direction: None,
        message_type: None,
        body: None,
        media: None,
        mime_type: None,
        status: MessageStatus::Unknown,
        provider_status: None,
        status_times: BTreeMap::new(),
        sender_user_id: None,
        location: None,
        billable: None,
        error_code: None,
        error_reason: None,
        created_at: None,
        extras: Map::new(),
    }
}

/// Checks a normalized message record (see the module documentation).
pub fn check_message_record(record: &MessageRecord) {
    assert!(!record.conversation_id.trim().is_empty());
    assert!(!record.message_id.trim().is_empty());
    check_round_trip(record, Normalized::Message(record.clone()));
    check_merge_identities(record, empty_message(record), MessageRecord::merge);
}

/// Checks a normalized contact record (see the module documentation).
pub fn check_contact_record(record: &ContactRecord) {
    assert!(!record.provider_contact_id.trim().is_empty());
    check_round_trip(record, Normalized::Contact(record.clone()));
    assert_eq!(
        record.clone().merge(record.clone()),
        *record,
        "merge with itself"
    );
    let empty = ContactRecord {
        provider: record.provider,
        provider_contact_id: record.provider_contact_id.clone(),
        name: None,
        email: None,
        phone: None,
        created_at: None,
        test_delivery: false,
        details: Map::new(),
    };
    assert_eq!(
        record.clone().merge(empty),
        *record,
        "merge with an empty record"
    );
}

/// Folds `records` with `merge` in every order and checks that every order gives the same
/// record, which is returned.
pub fn merge_in_every_order<T, F>(records: &[T], merge: F) -> T
where
    T: Clone + PartialEq + std::fmt::Debug,
    F: Fn(T, T) -> T,
{
    let orders = permutations(records.len());
    let fold = |order: &Vec<usize>| {
        order
            .iter()
            .map(|&i| records[i].clone())
            .reduce(&merge)
            .expect("at least one record")
    };
    let first = fold(&orders[0]);
    for order in &orders[1..] {
        assert_eq!(
            fold(order),
            first,
            "merge order {order:?} gives another record"
        );
    }
    first
}

/// Every ordering of `0..n` (Heap's algorithm).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn go(k: usize, items: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(items.clone());
            return;
        }
        for i in 0..k {
            go(k - 1, items, out);
            let j = if k.is_multiple_of(2) { i } else { 0 };
            items.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    go(n, &mut (0..n).collect(), &mut out);
    out
}
