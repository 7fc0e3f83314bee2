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
    let expected: Vec<(&str, &str)> = schema::key_attributes()
        .into_iter()
        .map(|name| (name, "S"))
        .collect();
    assert_eq!(attributes, expected);
    assert_eq!(
        props["StreamSpecification"]["StreamViewType"],
        schema::STREAM_VIEW_TYPE.as_str()
    );
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
}

#[test]
fn indexes_match_the_schema_in_name_keys_and_projection() {
    let template = template();
    let indexes = template["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes list");
    assert_eq!(indexes.len(), schema::INDEXES.len());
    for (declared, index) in indexes.iter().zip(schema::INDEXES) {
        assert_eq!(declared["IndexName"], index.name);
        let keys: Vec<(&str, &str)> = declared["KeySchema"]
            .as_sequence()
            .expect("KeySchema list")
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap_or_default(),
                    k["KeyType"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [(index.hash, "HASH"), (index.range, "RANGE")],
            "{}",
            index.name
        );
        assert_eq!(
            declared["Projection"]["ProjectionType"],
            index.projection_type().as_str(),
            "{}",
            index.name
        );
        let projected: Vec<&str> = declared["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .map(|list| list.iter().filter_map(|a| a.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(projected, index.projected, "{}", index.name);
    }
}

/// What the local stack creates is what the schema says (read back from the emulator).
#[tokio::test]
async fn the_local_table_has_the_schema_indexes() -> anyhow::Result<()> {
    let emulator = callvault_testkit::Emulator::start()?;
    let sdk = emulator.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    schema::create_table(&ddb, "t").await?;
    let table = ddb
        .describe_table()
        .table_name("t")
        .send()
        .await?
        .table
        .expect("described");
    let mut names: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    names.sort();
    let mut expected: Vec<String> = schema::INDEXES.iter().map(|i| i.name.to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(
        table
            .stream_specification()
            .and_then(|s| s.stream_view_type()),
        Some(&schema::STREAM_VIEW_TYPE)
    );
    Ok(())
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

/// The text of a scalar, through a YAML tag (`!Sub "..."`, `!GetAtt X.Arn`).
fn text(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) => text(&tagged.value),
        other => other.as_str(),
    }
}

/// A string or a list of strings, as IAM statements write `Action` and `Resource`.
fn texts(value: &Value) -> Vec<&str> {
    match value.as_sequence() {
        Some(list) => list.iter().filter_map(text).collect(),
        None => text(value).into_iter().collect(),
    }
}

/// Each function may write spooled deliveries only under its own prefix
/// (`spool::spool_prefix` of its binary's name): the spool replayer applies an object only if
/// that prefix names the webhook the object claims, so one function cannot spool for another.
#[test]
fn each_function_writes_only_its_own_spool_prefix() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let mut writers = Vec::new();
    for function in resources.values() {
        if function["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = text(&function["Metadata"]["BuildProperties"]["Binary"]).expect("binary");
        let role = text(&function["Properties"]["Role"])
            .and_then(|r| r.strip_suffix(".Arn"))
            .expect("a role of the template");
        let statements = template["Resources"][role]["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| {
                p["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
            });
        let spool_writes: Vec<&str> = statements
            .filter(|s| texts(&s["Action"]).contains(&"s3:PutObject"))
            .flat_map(|s| texts(&s["Resource"]))
            .filter(|r| r.contains(callvault_store::SPOOL_PREFIX))
            .collect();
        if !spool_writes.is_empty() {
            let own = format!(
                "${{ArchiveBucket.Arn}}/{}*",
                callvault_store::spool_prefix(binary)
            );
            assert_eq!(spool_writes, [own.as_str()], "{binary}");
            writers.push(binary);
        }
    }
    writers.sort_unstable();
    assert_eq!(
        writers,
        [
            "hatif-call",
            "hatif-whatsapp",
            "postcall",
            "voiceinfra",
            "voki"
        ],
        "the webhooks, and only they, spool"
    );
}
