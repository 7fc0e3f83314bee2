//! Numbers a record may hold: DynamoDB stores a number only when it is zero or its magnitude
//! is between 1e-130 and 9.9999999999999999999999999999999999999e125 (38 significant digits
//! at most), and refuses the whole item otherwise.
//!
//! An `f64` has at most 17 significant digits, and JSON integers (`i64`/`u64`) are far inside
//! the range, so only the magnitude of floats needs checking. Free-form values
//! ([`serde_json::Value`]) keep an out-of-range float as its text ([`storable_numbers`]);
//! typed `f64` fields cannot change type, so parsers refuse an out-of-range value
//! ([`require_storable`]).

use serde_json::{Map, Value};

use crate::{CallRecord, Contact, ContactRecord, MessageRecord, ParseError};

/// The smallest non-zero magnitude DynamoDB stores.
const MIN_MAGNITUDE: f64 = 1e-130;
/// The smallest magnitude above DynamoDB's largest (9.99…e125, 38 nines): every `f64` below
/// it is written with at most 17 significant digits, so it is below the largest.
const MAX_MAGNITUDE_EXCLUSIVE: f64 = 1e126;

/// Whether DynamoDB can store `x` as a number: zero, or finite with magnitude in
/// `[1e-130, 1e126)`.
///
/// The comparison on `f64` agrees with the decimal text serde_json writes (the shortest text
/// that reads back as the same `f64`): the `f64` nearest 1e126 is written `1e126`, and every
/// smaller one as a decimal below 10^126; likewise at 1e-130.
fn is_storable(x: f64) -> bool {
    x == 0.0 || (x.is_finite() && (MIN_MAGNITUDE..MAX_MAGNITUDE_EXCLUSIVE).contains(&x.abs()))
}

/// Replaces every number DynamoDB cannot store with its text, recursively inside arrays and
/// objects, so that a free-form value is always storable.
///
/// Integers (`i64`/`u64`) are always kept. A float that is non-zero with magnitude below
/// 1e-130, or 1e126 and above, becomes `Value::String` of serde_json's own rendering of the
/// number (`Number`'s `Display`: the shortest text that reads back as the same `f64`, with
/// an explicit exponent sign for large numbers): `1e200` becomes `"1e+200"`, `-1e200`
/// `"-1e+200"`, `1e-200` `"1e-200"`, and `1.5e300` `"1.5e+300"`. Every other value is left
/// exactly as it was.
///
/// The `f64` held decides, not the text of the body: serde_json's default float parsing may
/// be one unit in the last place off, so a body's `1e-130` can be read as
/// 9.999999999999999e-131 and then kept as `"9.999999999999999e-131"`.
pub fn storable_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            // `as_f64` is `Some` for every number; only floats can be out of range.
            if n.is_f64() && !n.as_f64().is_some_and(is_storable) {
                *value = Value::String(n.to_string());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(storable_numbers),
        Value::Object(map) => storable_map(map),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// [`storable_numbers`] on every value of a map.
fn storable_map(map: &mut Map<String, Value>) {
    map.values_mut().for_each(storable_numbers);
}

/// Refuses a typed number DynamoDB cannot store (zero is fine).
pub(crate) fn require_storable(field: &'static str, value: Option<f64>) -> Result<(), ParseError> {
    match value {
        Some(x) if !is_storable(x) => Err(ParseError::Field {
            field,
            reason: "outside the storable range (magnitude 1e-130 to 1e125)",
        }),
        _ => Ok(()),
    }
}

/// [`storable_numbers`] on every free-form value of a call record. The record is taken apart
/// field by field so that a new field must be placed here or among the ignored ones.
pub(crate) fn call(record: &mut CallRecord) {
    let CallRecord {
        contact,
        sentiment,
        evaluation,
        action_items,
        interests_and_needs,
        extras,
        // Typed: strings, times, phone numbers, an integer, enums, and `score` and the
        // transcript's word times (f64), which their parsers check.
        provider: _,
        provider_call_id: _,
        workspace_id: _,
        channel_id: _,
        direction: _,
        from: _,
        to: _,
        agent: _,
        status: _,
        provider_status: _,
        started_at: _,
        answered_at: _,
        ended_at: _,
        stages: _,
        duration_seconds: _,
        recording: _,
        transcript: _,
        summary: _,
        mood: _,
        score: _,
        outcome: _,
        classification: _,
        test_delivery: _,
    } = record;
    if let Some(Contact { details, .. }) = contact {
        storable_map(details);
    }
    sentiment
        .iter_mut()
        .chain(evaluation.iter_mut())
        .chain(action_items.iter_mut())
        .chain(interests_and_needs.iter_mut())
        .for_each(storable_numbers);
    storable_map(extras);
}

/// [`storable_numbers`] on every free-form value of a message record (its `extras`; the
/// location's coordinates are checked by the parser).
pub(crate) fn message(record: &mut MessageRecord) {
    storable_map(&mut record.extras);
}

/// [`storable_numbers`] on every free-form value of a contact record (its `details`).
pub(crate) fn contact(record: &mut ContactRecord) {
    storable_map(&mut record.details);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn storable(mut value: Value) -> Value {
        storable_numbers(&mut value);
        value
    }

    #[test]
    fn out_of_range_floats_become_their_text() {
        let value: Value = serde_json::from_str(
            r#"{"big": 1e200, "tiny": 1e-200, "neg": -1e200, "negtiny": -1e-200,
                "odd": 1.5e300, "edge": 1e126, "under": 9.99e-131,
                "nested": [1e200, {"deep": [1e-200, 0.5]}],
                "max": 1e125, "int": 123, "half": 0.5, "zero": 0.0, "negzero": -0.0,
                "i64": -9223372036854775808, "u64": 18446744073709551615,
                "s": "1e200", "b": true, "n": null}"#,
        )
        .expect("json");
        assert_eq!(
            storable(value),
            json!({"big": "1e+200", "tiny": "1e-200", "neg": "-1e+200", "negtiny": "-1e-200",
                "odd": "1.5e+300", "edge": "1e+126", "under": "9.99e-131",
                "nested": ["1e+200", {"deep": ["1e-200", 0.5]}],
                "max": 1e125, "int": 123, "half": 0.5, "zero": 0.0, "negzero": -0.0,
                "i64": i64::MIN, "u64": u64::MAX, "s": "1e200", "b": true, "n": null})
        );
    }

    /// At the edges the `f64` held decides, as it is what the record's JSON will say.
    #[test]
    fn the_edges_are_those_of_the_f64_held() {
        let below_max = f64::from_bits(1e126_f64.to_bits() - 1);
        let edges = json!([1e-130, -1e-130, below_max, -below_max, 1e125]);
        assert_eq!(storable(edges.clone()), edges);
        assert_eq!(Value::from(below_max).to_string(), "9.999999999999998e+125");
        let beyond = json!([9.999999999999999e-131, 1e126, -1e126]);
        assert_eq!(
            storable(beyond),
            json!(["9.999999999999999e-131", "1e+126", "-1e+126"])
        );
        // serde_json's default float parsing (without `float_roundtrip`) may be one unit in
        // the last place off: it reads `1e-130` as 9.999999999999999e-131, which is then out
        // of range and kept as the text of what was read.
        let read: Value = serde_json::from_str("[1e-130]").expect("json");
        if read[0].as_f64() != Some(1e-130) {
            assert_eq!(storable(read), json!(["9.999999999999999e-131"]));
        }
    }

    /// The text is serde_json's own rendering, which is also what a record's JSON holds.
    #[test]
    fn the_text_is_serde_json_rendering() {
        for (text, rendered) in [
            ("1e200", "1e+200"),
            ("1E+200", "1e+200"),
            ("-1e-200", "-1e-200"),
            ("123.0e300", "1.23e+302"),
        ] {
            let value: Value = serde_json::from_str(text).expect("number");
            assert_eq!(value.to_string(), rendered);
            assert_eq!(storable(value), Value::from(rendered), "{text}");
        }
        // An integer too large for u64 is read as a float, and checked as one.
        let huge = format!("1{}", "0".repeat(200));
        let value: Value = serde_json::from_str(&huge).expect("number");
        assert_eq!(storable(value), Value::from("1e+200"));
        let value: Value = serde_json::from_str(&format!("1{}", "0".repeat(30))).expect("n");
        assert_eq!(storable(value.clone()), value);
    }

    #[test]
    fn typed_numbers_out_of_range_are_refused() {
        for ok in [
            None,
            Some(0.0),
            Some(-0.0),
            Some(1e125),
            Some(-1e-130),
            Some(85.5),
        ] {
            assert_eq!(require_storable("f", ok), Ok(()), "{ok:?}");
        }
        for bad in [1e126, -1e200, 1e-131, -1e-200, f64::NAN, f64::INFINITY] {
            assert_eq!(
                require_storable("f", Some(bad)),
                Err(ParseError::Field {
                    field: "f",
                    reason: "outside the storable range (magnitude 1e-130 to 1e125)"
                }),
                "{bad}"
            );
        }
    }
}
