//! `Keyring::from_json`: the secrets document every function loads at cold start
//! (`{"secrets": {...}, "channels": {"<key>": {...}}}`), from arbitrary text.
//!
//! Properties:
//! - parsing never panics;
//! - an accepted document is a JSON object whose `secrets` become the default set and whose
//!   `channels` become per-key sets, with exactly the ids of the document (sorted); a key
//!   without a set of its own falls back to the default; every configured secret verifies
//!   a signature it made through the set of its key;
//! - `Debug` output does not depend on the secret values (they are never shown);
//! - a rejected document's error message does not quote any value of the document: the
//!   error ends up in the function's start-up log, and the values are secrets.

use callvault_verify::{HmacSha256Hex, Keyring, Secret, SecretConfigError, SecretSet};
use serde_json::Value;

/// The ids of a set, in order.
fn ids(set: &SecretSet) -> Vec<String> {
    set.iter().map(|(id, _)| id.to_string()).collect()
}

/// The same document with every secret value replaced by `x`.
fn redacted(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let redact = |map: &mut serde_json::Map<String, Value>| {
        for value in map.values_mut() {
            *value = Value::from("x");
        }
    };
    if let Some(Value::Object(secrets)) = doc.get_mut("secrets") {
        redact(secrets);
    }
    if let Some(Value::Object(channels)) = doc.get_mut("channels") {
        for channel in channels.values_mut() {
            if let Value::Object(map) = channel {
                redact(map);
            }
        }
    }
    doc
}

/// Every string value and number in `doc` (not object keys), and every object key.
fn leaves(doc: &Value, values: &mut Vec<String>, keys: &mut Vec<String>) {
    match doc {
        Value::String(s) => values.push(s.clone()),
        Value::Number(n) => values.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, values, keys)),
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                leaves(v, values, keys);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// Wording serde and this crate use in messages; a value that is part of it is not a leak.
const WORDING: &str = "secret configuration is not valid JSON of the documented shape: \
    wrong type or value at line column truncated JSON at not valid JSON at \
    unknown field `, expected `secrets` or `channels` duplicate field ` expected a JSON object";

fn check_no_value_leak(json: &str, message: &str) {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        return;
    };
    // The position is computed, not quoted, and its digits could equal a numeric value.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(what, _)| what);
    let (mut values, mut keys) = (Vec::new(), Vec::new());
    leaves(&doc, &mut values, &mut keys);
    // Field names may be named (`unknown field `x``): they are not secrets. Take them out of
    // the message, longest first, so that only the rest is searched for values.
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut rest = message.to_owned();
    for key in keys.iter().filter(|k| !k.is_empty()) {
        rest = rest.replace(key.as_str(), "\u{0}");
    }
    for value in values {
        let leaked =
            value.chars().count() >= 4 && rest.contains(&value) && !WORDING.contains(&value);
        assert!(
            !leaked,
            "error message quotes the value {value:?}: {message}"
        );
    }
}

/// Checks the properties on one input.
pub fn run(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let keyring = match Keyring::from_json(json) {
        Ok(keyring) => keyring,
        Err(SecretConfigError::Json(message)) => {
            check_no_value_leak(json, &message);
            return;
        }
        Err(
            SecretConfigError::Empty(_)
            | SecretConfigError::EmptySecret(_)
            | SecretConfigError::EmptyKey,
        ) => return,
    };

    let doc: Value = serde_json::from_str(json).expect("an accepted keyring is JSON");
    let object = doc.as_object().expect("an accepted keyring is an object");
    assert!(object.keys().all(|k| k == "secrets" || k == "channels"));
    let sorted_keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("a map").keys().cloned().collect();
        keys.sort();
        keys
    };
    let default_ids = object.get("secrets").map(sorted_keys).unwrap_or_default();
    assert_eq!(
        keyring.default_set().map(ids).unwrap_or_default(),
        default_ids
    );
    assert_eq!(
        keyring.for_key(None).map(ids),
        keyring.default_set().map(ids)
    );

    let channels = object.get("channels").and_then(Value::as_object);
    let mut unknown_key = String::from("not-a-channel");
    while channels.is_some_and(|c| c.contains_key(&unknown_key)) {
        unknown_key.push('!');
    }
    assert_eq!(
        keyring.for_key(Some(&unknown_key)).map(ids),
        keyring.default_set().map(ids)
    );

    let mut configured = Vec::new();
    if let Some(Value::Object(secrets)) = object.get("secrets") {
        configured.extend(secrets.values().map(|v| (None, v)));
    }
    for (key, channel) in channels.into_iter().flatten() {
        let set = keyring
            .for_key(Some(key))
            .expect("a configured channel has a set");
        assert_eq!(ids(set), sorted_keys(channel));
        configured.extend(
            channel
                .as_object()
                .expect("a map")
                .values()
                .map(|v| (Some(key.as_str()), v)),
        );
    }
    for (key, value) in configured {
        let value = value.as_str().expect("secrets are strings");
        assert!(!value.is_empty());
        let signature = HmacSha256Hex::BARE.sign(&Secret::new(value), b"body");
        let set = keyring.for_key(key).expect("configured");
        assert!(HmacSha256Hex::BARE
            .verify(Some(&signature), b"body", set)
            .is_ok());
    }

    let redacted = Keyring::from_json(&redacted(&doc).to_string()).expect("same shape");
    assert_eq!(format!("{keyring:?}"), format!("{redacted:?}"));
}
