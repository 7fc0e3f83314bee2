//! A table's items as comparable JSON: what two runs of the same deliveries must agree on, with
//! what depends on when a delivery was received masked.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

/// Items by `"<pk> <sk>"`.
pub type Snapshot = BTreeMap<String, Value>;

/// The items of `table` (those whose `pk` contains `only`, when given), masked.
pub async fn scan(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    only: Option<&str>,
) -> anyhow::Result<Snapshot> {
    let mut items = BTreeMap::new();
    let mut start = None;
    loop {
        let mut request = ddb.scan().table_name(table).set_exclusive_start_key(start);
        if let Some(part) = only {
            request = request
                .filter_expression("contains(pk, :part)")
                .expression_attribute_values(":part", AttributeValue::S(part.to_owned()));
        }
        let out = request.send().await?;
        for item in out.items.unwrap_or_default() {
            let mut value =
                Value::Object(item.iter().map(|(k, v)| (k.clone(), json_of(v))).collect());
            let key = format!("{} {}", value["pk"], value["sk"]);
            mask(&mut value);
            items.insert(key, value);
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// An attribute value as JSON (binaries as their text when they are UTF-8, else as their
/// digest; sets as lists).
fn json_of(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!(s),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => match std::str::from_utf8(b.as_ref()) {
            Ok(text) => json!(text),
            Err(_) => json!(format!("sha256:{}", crate::sha256_hex(b.as_ref()))),
        },
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
        AttributeValue::L(l) => Value::Array(l.iter().map(json_of).collect()),
        AttributeValue::Ss(set) => json!(set),
        AttributeValue::Ns(set) => json!(set),
        other => json!(format!("{other:?}")),
    }
}

/// Masks the times of receipt and Lambda's trace id, and sorts the latest-delivery lists (two
/// runs may apply the same deliveries in another order).
fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match key.as_str() {
                    "received_at"
                    | "updated_at"
                    | "time_sk"
                    | "status_times"
                    | "time"
                    | "x-amzn-trace-id"
                    | "lambda-runtime-aws-request-id" => *v = json!("*"),
                    "delivery_ids" | "body_sha256s" => {
                        if let Value::Array(list) = v {
                            list.sort_by_key(ToString::to_string);
                        }
                    }
                    _ => mask(v),
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(mask),
        _ => {}
    }
}

/// A snapshot of one run's items with the run's id replaced by `RUN` and every 64-digit hex
/// string (body digests, signatures, and keys made of them) by `HEX`, so two runs of the same
/// deliveries under different ids compare equal. An event item, keyed by its body's digest, is
/// keyed by the digest of its body with the run's id replaced instead (a body kept in S3, by
/// its event type and delivery id), so two events of one record stay apart.
pub fn without_run(snapshot: &Snapshot, run: &str) -> Snapshot {
    fn text(s: &str, run: &str) -> String {
        let s = s.replace(run, "RUN");
        let mut out = String::with_capacity(s.len());
        let mut hex = String::new();
        for c in s.chars() {
            if c.is_ascii_hexdigit() {
                hex.push(c);
                continue;
            }
            out.push_str(if hex.len() == 64 { "HEX" } else { &hex });
            hex.clear();
            out.push(c);
        }
        out.push_str(if hex.len() == 64 { "HEX" } else { &hex });
        out
    }
    fn value(v: &Value, run: &str) -> Value {
        match v {
            Value::String(s) => Value::String(text(s, run)),
            Value::Array(list) => {
                let mut list: Vec<Value> = list.iter().map(|v| value(v, run)).collect();
                list.sort_by_key(ToString::to_string);
                Value::Array(list)
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (text(k, run), value(v, run)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    snapshot
        .iter()
        .map(|(k, v)| {
            let key = match (v["kind"].as_str(), v["body"].as_str()) {
                (Some("event"), Some(body)) => format!(
                    "{} [{}]",
                    text(k, run),
                    crate::sha256_hex(text(body, run).as_bytes())
                ),
                (Some("event"), None) => format!(
                    "{} [{} {}]",
                    text(k, run),
                    v["event_type"].as_str().unwrap_or_default(),
                    text(v["delivery_id"].as_str().unwrap_or_default(), run)
                ),
                _ => text(k, run),
            };
            (key, value(v, run))
        })
        .collect()
}

/// What differs between two snapshots, item by item (`left` and `right` name them).
pub fn differences(
    (left_name, left): (&str, &Snapshot),
    (right_name, right): (&str, &Snapshot),
) -> Vec<String> {
    let mut differences = Vec::new();
    for (key, value) in right {
        match left.get(key) {
            None => differences.push(format!("missing in {left_name}: {key}")),
            Some(v) if v != value => differences.push(format!(
                "{key}:\n  {left_name}: {v}\n  {right_name}: {value}"
            )),
            Some(_) => {}
        }
    }
    for key in left.keys().filter(|k| !right.contains_key(*k)) {
        differences.push(format!("only in {left_name}: {key}"));
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_compare_without_their_ids_and_digests() {
        let digest = "a".repeat(64);
        let a: Snapshot = [
            (
                format!("CALL#x-r1 EVENT#{digest}"),
                json!({"id": "x-r1", "sha": digest, "n": "1234", "list": ["b", "a"]}),
            ),
            // Two events of one record stay apart.
            (
                format!("CALL#x-r1 EVENT#{}", "c".repeat(64)),
                json!({"kind": "event", "body": "{\"id\":\"x-r1\",\"status\":\"sent\"}"}),
            ),
            (
                format!("CALL#x-r1 EVENT#{}", "d".repeat(64)),
                json!({"kind": "event", "body": "{\"id\":\"x-r1\",\"status\":\"read\"}"}),
            ),
        ]
        .into();
        assert_eq!(without_run(&a, "r1").len(), 3);
        let a: Snapshot = [(
            format!("CALL#x-r1 EVENT#{digest}"),
            json!({"id": "x-r1", "sha": digest, "n": "1234", "list": ["b", "a"]}),
        )]
        .into();
        let other = "b".repeat(64);
        let b: Snapshot = [(
            format!("CALL#x-r2 EVENT#{other}"),
            json!({"id": "x-r2", "sha": other, "n": "1234", "list": ["a", "b"]}),
        )]
        .into();
        assert!(
            differences(("a", &without_run(&a, "r1")), ("b", &without_run(&b, "r2"))).is_empty()
        );
        let c: Snapshot = [(
            format!("CALL#x-r2 EVENT#{other}"),
            json!({"id": "x-r2", "sha": other, "n": "1235", "list": ["a", "b"]}),
        )]
        .into();
        assert_eq!(
            differences(("a", &without_run(&a, "r1")), ("c", &without_run(&c, "r2"))).len(),
            1
        );
    }
}
