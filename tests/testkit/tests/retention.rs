//! The template's retention: its parameters (0 keeps forever), the bucket's lifecycle rule
//! per retention and prefix (and none for 0), the table's time to live on the attribute the
//! store writes, the variables the functions read it from, and the copier's stream filter,
//! which passes DynamoDB's deletions at expiry of items that left something in the bucket
//! and nothing else new.

use callvault_records::Provider;
use callvault_store::retention::{KEPT_RETENTION_ENV, RECORD_RETENTION_ENV};
use callvault_store::schema::{EXPIRES_AT, RAW_PREFIX, STREAM_VIEW_TYPE};
use callvault_store::SPOOL_PREFIX;
use callvault_testkit::template::{Deployment, Template};
use serde_json::{json, Value};

/// The retention parameters and their defaults.
const PARAMETERS: [(&str, &str); 5] = [
    ("RecordRetentionDays", "0"),
    ("KeptRetentionDays", "0"),
    ("FileRetentionDays", "0"),
    ("RawBodyRetentionDays", "0"),
    ("SpoolRetentionDays", "30"),
];

fn template() -> Template {
    Template::load().expect("infra/template.yaml loads")
}

/// The bucket's lifecycle rules as deployed: `(prefix, current days, noncurrent days)` of
/// each rule that expires objects by prefix, and whether the abort rule is there.
fn lifecycle(stack: &Deployment<'_>) -> (Vec<(String, String, String)>, bool) {
    let bucket = stack
        .resource("ArchiveBucket")
        .expect("resolves")
        .expect("the bucket");
    let rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_array()
        .expect("rules")
        .clone();
    let render = |v: &Value| stack.render(v).expect("renders");
    let by_prefix = rules
        .iter()
        .filter(|r| !r["Prefix"].is_null())
        .map(|r| {
            assert_eq!(r["Status"], "Enabled", "{r}");
            (
                render(&r["Prefix"]),
                render(&r["ExpirationInDays"]),
                render(&r["NoncurrentVersionExpiration"]["NoncurrentDays"]),
            )
        })
        .collect();
    let aborts = rules
        .iter()
        .any(|r| !r["AbortIncompleteMultipartUpload"].is_null());
    (by_prefix, aborts)
}

fn file_prefixes() -> Vec<String> {
    Provider::ALL
        .iter()
        .map(|p| format!("{}/", p.as_str()))
        .collect()
}

#[test]
fn every_retention_is_a_documented_parameter_where_0_keeps_forever() {
    let template = template();
    for (name, default) in PARAMETERS {
        let parameter = &template.document()["Parameters"][name];
        assert_eq!(parameter["Type"], "Number", "{name}");
        assert_eq!(parameter["Default"].to_string().trim_matches('"'), default);
        assert_eq!(parameter["MinValue"], 0, "{name}");
        let description = parameter["Description"].as_str().unwrap_or_default();
        assert!(
            description.contains("0, the default, keeps") || description.contains("0 keeps"),
            "{name} says what 0 does: {description}"
        );
        if default != "0" {
            assert!(
                description.contains(&format!("e.g. {default}"))
                    || description.contains(&format!("default {default}"))
                    || description.contains(&format!("{default}, the default")),
                "{name} names its default: {description}"
            );
        }
    }
}

#[test]
fn lifecycle_rules_follow_the_parameters() {
    let template = template();
    let defaults = template.deploy(&[]).expect("defaults");
    let (rules, aborts) = lifecycle(&defaults);
    assert!(aborts, "the abort-multipart rule stays");
    assert_eq!(
        rules,
        [(SPOOL_PREFIX.to_owned(), "30".to_owned(), "1".to_owned())],
        "by default only the spool expires"
    );

    let set = template
        .deploy(&[
            ("FileRetentionDays", "90"),
            ("RawBodyRetentionDays", "400"),
            ("SpoolRetentionDays", "0"),
            ("EnabledProviders", "voki"),
        ])
        .expect("deploys");
    let (rules, aborts) = lifecycle(&set);
    assert!(aborts);
    let mut expected: Vec<(String, String, String)> = file_prefixes()
        .into_iter()
        .map(|p| (p, "90".to_owned(), "1".to_owned()))
        .collect();
    expected.push((RAW_PREFIX.to_owned(), "400".to_owned(), "1".to_owned()));
    assert_eq!(
        rules, expected,
        "every provider's files (a disabled one's too) and raw bodies; no spool rule"
    );
}

#[test]
fn the_table_expires_items_by_the_stores_attribute_and_the_functions_get_the_retention() {
    let template = template();
    let stack = template.deploy(&[]).expect("defaults");
    let table = stack.resource("Table").expect("resolves").expect("table");
    let ttl = &table["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], EXPIRES_AT);
    assert_eq!(ttl["Enabled"], true);
    assert_eq!(
        table["Properties"]["StreamSpecification"]["StreamViewType"],
        STREAM_VIEW_TYPE.as_str()
    );
    let variables = &template.document()["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        variables[RECORD_RETENTION_ENV],
        json!({"Ref": "RecordRetentionDays"})
    );
    assert_eq!(
        variables[KEPT_RETENTION_ENV],
        json!({"Ref": "KeptRetentionDays"})
    );
}

/// Whether `event` matches a Lambda event filter `pattern` (the subset the template uses:
/// nested objects, lists of values, `exists` and `prefix`).
fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => {
            fields
                .iter()
                .all(|(name, inner)| match (inner, event.get(name)) {
                    (Value::Array(allowed), value) => allowed.iter().any(|a| match a {
                        Value::Object(op) if op.contains_key("exists") => {
                            value.is_some_and(|v| !v.is_object()) == (op["exists"] == true)
                        }
                        Value::Object(op) if op.contains_key("prefix") => value
                            .and_then(Value::as_str)
                            .zip(op["prefix"].as_str())
                            .is_some_and(|(v, p)| v.starts_with(p)),
                        literal => value == Some(literal),
                    }),
                    (Value::Object(_), Some(value)) => matches(inner, value),
                    _ => false,
                })
        }
        _ => false,
    }
}

fn copier_filters(stack: &Deployment<'_>) -> Vec<Value> {
    let copier = stack
        .resource("RecordingCopierFunction")
        .expect("resolves")
        .expect("the copier");
    copier["Properties"]["Events"]["TableStream"]["Properties"]["FilterCriteria"]["Filters"]
        .as_array()
        .expect("filters")
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().expect("text")).expect("JSON"))
        .collect()
}

fn removal(by_dynamodb: bool, old_image: Value) -> Value {
    let mut record = json!({"eventName": "REMOVE", "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": old_image["pk"], "sk": old_image["sk"]}, "OldImage": old_image}});
    if by_dynamodb {
        record["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    record
}

fn with_file(kind: &str) -> Value {
    json!({"pk": {"S": "CALL#postcall#c1"}, "sk": {"S": "CALL"}, "kind": {"S": "call"},
        "files": {"M": {kind: {"M": {"s3_key": {"S": format!("postcall/2026/11/20/c1/{kind}.bin")},
            "status": {"S": "copied"}}}}}})
}

#[test]
fn the_copier_hears_of_expired_items_that_left_files_and_of_nothing_else_new() {
    let template = template();
    let stack = template.deploy(&[]).expect("defaults");
    let filters = copier_filters(&stack);
    assert!(filters.len() <= 5, "Lambda takes 5 filters per mapping");
    let passes = |event: &Value| filters.iter().any(|f| matches(f, event));

    let due =
        json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"files_pending": {"BOOL": true}}}});
    assert!(passes(&due), "a record with a file due");
    for kind in ["recording", "transcript", "media"] {
        assert!(passes(&removal(true, with_file(kind))), "an expired {kind}");
        assert!(
            !passes(&removal(false, with_file(kind))),
            "a caller's deletion of a record with a {kind}"
        );
    }
    let event = |body: Value| {
        let mut image = json!({"pk": {"S": "CALL#voki#c1"}, "sk": {"S": "EVENT#CALL#abc"},
            "kind": {"S": "event"}, "body_sha256": {"S": "abc"}});
        image.as_object_mut().expect("map").extend(
            body.as_object()
                .expect("map")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        image
    };
    assert!(passes(&removal(
        true,
        event(json!({"body_s3_uri": {"S": "s3://b/raw/voki/abc"}}))
    )));
    assert!(
        !passes(&removal(true, event(json!({"body": {"B": "e30="}})))),
        "an event whose body was inline left nothing"
    );
    let kept = json!({"pk": {"S": "REJECTED#voki#2026-11-20"}, "sk": {"S": "abc"},
        "kind": {"S": "rejected"}, "body_s3_uri": {"S": "s3://b/raw/voki/abc"}});
    assert!(
        !passes(&removal(true, kept)),
        "a kept delivery's body is left to the raw/ lifecycle rule"
    );
    let contact =
        json!({"pk": {"S": "CONTACT#voki#cu1"}, "sk": {"S": "CONTACT"}, "kind": {"S": "contact"}});
    assert!(!passes(&removal(true, contact)), "a contact has no files");
}
