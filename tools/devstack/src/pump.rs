//! The local stand-in for AWS's event plumbing, invoking functions through cargo lambda
//! watch's invoke API with the events AWS would send:
//!
//! - the copier's event source mapping: reads the emulator's DynamoDB stream and invokes
//!   `recording-copier` with the records the deployed mapping's filter would pass
//!   (`files_pending` set, or an item DynamoDB deleted at its expiry); a batch whose invocation fails, or the records it reports as
//!   failed, are sent again, at most [`MAX_RETRIES`] times (the template's
//!   `MaximumRetryAttempts`), and reading the stream goes on through outages, as the mapping
//!   does;
//! - the copier's schedule: a sweep event every `sweep` interval;
//! - the bucket's notifications through the spool queue: each spooled delivery, as an SQS
//!   message holding an S3 notification, to `spool-replayer` (which removes it once applied;
//!   one it cannot apply yet is offered again on the next round, as SQS would).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodbstreams::types::AttributeValue;
use callvault_archive::stream::{
    BatchResponse, Change, ScheduledEvent, StreamEvent, StreamRecord, UserIdentity,
};
use callvault_store::follow::{StartAt, StreamFollower};
use callvault_store::schema::FILES_PENDING;
use callvault_store::RecordStore;
use serde_json::{json, Value};

fn key_json(keys: &HashMap<String, AttributeValue>) -> HashMap<String, Value> {
    keys.iter()
        .filter_map(|(k, v)| Some((k.clone(), json!({ "S": v.as_s().ok()? }))))
        .collect()
}

/// An item image from the stream in DynamoDB JSON, as Lambda hands it to the copier, but
/// for binary attributes (an inline body), which are left out: the copier reads none.
fn image_json(image: &HashMap<String, AttributeValue>) -> HashMap<String, Value> {
    image
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), attribute_json(v)?)))
        .collect()
}

fn attribute_json(value: &AttributeValue) -> Option<Value> {
    Some(match value {
        AttributeValue::S(v) => json!({ "S": v }),
        AttributeValue::N(v) => json!({ "N": v }),
        AttributeValue::Bool(v) => json!({ "BOOL": v }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::L(v) => {
            json!({ "L": v.iter().filter_map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(v) => json!({ "M": image_json(v) }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        _ => return None,
    })
}

/// The SQS message an S3 notification of a new spooled object becomes.
fn spool_message(key: &str) -> Value {
    let notification = json!({"Records": [{
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"object": {"key": key}}
    }]});
    json!({
        "messageId": key,
        "eventSource": "aws:sqs",
        "body": notification.to_string()
    })
}

/// Times a copier batch is sent again after its invocation failed (the template's
/// `MaximumRetryAttempts`).
const MAX_RETRIES: u32 = 5;

/// Invokes the copier with `batch`; returns the sequence numbers of the records to send
/// again: all of them when the invocation failed, else those it reported as failed.
async fn invoke_copier(http: &reqwest::Client, url: &str, batch: &StreamEvent) -> Vec<String> {
    let all = || {
        batch
            .records
            .iter()
            .filter_map(|r| r.dynamodb.sequence_number.clone())
            .collect()
    };
    match http.post(url).json(batch).send().await {
        Ok(response) if response.status().is_success() => {
            let body: Option<BatchResponse> = response.json().await.ok();
            println!(
                "invoked copier with {} record(s): {body:?}",
                batch.records.len()
            );
            body.map_or_else(all, |b| {
                b.batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect()
            })
        }
        Ok(response) => {
            println!("copier invocation failed: HTTP {}", response.status());
            all()
        }
        Err(e) => {
            println!("copier invocation failed: {e}");
            all()
        }
    }
}

async fn invoke(http: &reqwest::Client, url: &str, event: &Value, what: &str) {
    match http.post(url).json(event).send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            println!("{what}: HTTP {status} {body}");
        }
        Err(e) => println!("{what}: invocation failed: {e}"),
    }
}

/// Runs until the process is stopped.
pub async fn run(
    table: &str,
    bucket: &str,
    invoke_base: &str,
    sweep: Duration,
    invoke_timeout: Duration,
) -> anyhow::Result<()> {
    // Short timeouts, so a stalled emulator delays the plumbing instead of stopping it.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    let ddb = callvault_store::DynamoDbClient::new(&sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let store = RecordStore::new(
        ddb.clone(),
        callvault_store::S3Client::new(&sdk),
        table,
        bucket,
    );
    let http = reqwest::Client::builder().timeout(invoke_timeout).build()?;
    let invoke_url = format!("{invoke_base}/recording-copier/invocations");
    let replayer_url = format!("{invoke_base}/spool-replayer/invocations");
    let mut last_sweep = Instant::now();
    let mut stream = StreamFollower::new(&ddb, streams, table, StartAt::Oldest)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail()))?
        .context("the table has no stream")?;
    println!("pumping {} to {invoke_url}", stream.arn());
    // Records to send again, with the retries they have had.
    let mut waiting: Vec<(StreamRecord, u32)> = Vec::new();
    loop {
        let polled = match stream.poll().await {
            Ok(records) => records,
            Err(e) => {
                println!("reading the stream failed (retrying): {}", e.detail());
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        };
        let mut batch: Vec<(StreamRecord, u32)> = std::mem::take(&mut waiting);
        for record in polled {
            let Some(change) = record.dynamodb else {
                continue;
            };
            let pending = change
                .new_image
                .as_ref()
                .and_then(|i| i.get(FILES_PENDING))
                .is_some_and(|v| v.as_bool().is_ok_and(|b| *b));
            let user_identity = record.user_identity.map(|u| UserIdentity {
                kind: u.r#type.unwrap_or_default(),
                principal_id: u.principal_id.unwrap_or_default(),
            });
            let record = StreamRecord {
                event_name: record.event_name.map(|e| e.as_str().to_owned()),
                user_identity,
                dynamodb: Change {
                    keys: key_json(&change.keys.unwrap_or_default()),
                    old_image: change.old_image.as_ref().map(image_json),
                    sequence_number: change.sequence_number,
                },
            };
            // The deployed mapping's filter: a file due now, or an item DynamoDB deleted at
            // its expiry (the emulator expires nothing by itself, so these come from tests
            // that delete as DynamoDB would).
            if pending || record.is_expiry() {
                batch.push((record, 0));
            }
        }
        if !batch.is_empty() {
            let event = StreamEvent {
                records: batch.iter().map(|(r, _)| r.clone()).collect(),
            };
            let failed = invoke_copier(&http, &invoke_url, &event).await;
            for (record, retries) in batch {
                let sequence = record.dynamodb.sequence_number.clone().unwrap_or_default();
                if !failed.contains(&sequence) {
                    continue;
                }
                if retries < MAX_RETRIES {
                    waiting.push((record, retries + 1));
                } else {
                    println!("record {sequence} failed {MAX_RETRIES} retries: left to the sweeps");
                }
            }
        }
        if last_sweep.elapsed() >= sweep {
            last_sweep = Instant::now();
            invoke(
                &http,
                &invoke_url,
                &json!(ScheduledEvent::sweep()),
                "copier sweep",
            )
            .await;
        }
        match store.spooled_keys().await {
            Ok(keys) if !keys.is_empty() => {
                let records: Vec<Value> = keys.iter().map(|k| spool_message(k)).collect();
                let what = format!("spool replayer with {} delivery(ies)", records.len());
                invoke(&http, &replayer_url, &json!({ "Records": records }), &what).await;
            }
            Ok(_) => {}
            Err(e) => println!("listing the spool failed: {}", e.detail()),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
