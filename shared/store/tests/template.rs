//! The infrastructure template declares the table and bucket exactly as the code expects
//! (`callvault_store::schema`), which is also what local provisioning creates.

use callvault_store::schema;
use serde_yaml_ng::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml exists");
    serde_yaml_ng::from_str(&text).expect("template is YAML")
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    &template["Resources"][name]
}

#[test]
fn table_keys_stream_and_billing_match_the_schema() {
    let template = template();
    let table = resource(&template, "Table");
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let props = &table["Properties"];
    let keys: Vec<(String, String)> = props["KeySchema"]
        .as_sequence()
        .expect("KeySchema list")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or_default().to_owned(),
                k["KeyType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (schema::PARTITION_KEY.to_owned(), "HASH".to_owned()),
            (schema::SORT_KEY.to_owned(), "RANGE".to_owned())
        ]
    );
    let attributes: Vec<(&str, &str)> = props["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions list")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or_default(),
                a["AttributeType"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        [(schema::PARTITION_KEY, "S"), (schema::SORT_KEY, "S")]
    );
    assert_eq!(
        props["StreamSpecification"]["StreamViewType"],
        schema::STREAM_VIEW_TYPE.as_str()
    );
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
    assert!(
        props["GlobalSecondaryIndexes"].is_null(),
        "the schema declares no indexes yet"
    );
}

#[test]
fn bucket_aborts_incomplete_multipart_uploads() {
    let template = template();
    let bucket = resource(&template, "ArchiveBucket");
    assert_eq!(bucket["Type"], "AWS::S3::Bucket");
    let rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .expect("rules");
    assert!(rules
        .iter()
        .any(|r| !r["AbortIncompleteMultipartUpload"].is_null()));
}
