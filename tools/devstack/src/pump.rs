//! The local stand-in for AWS's event plumbing, invoking functions through cargo lambda
//! watch's invoke API with the events AWS would send:
//!
//! - the copier's event source mapping: reads the emulator's DynamoDB stream and invokes
//!   `recording-copier` with the records the deployed mapping's filter would pass
//!   (`files_pending` set);
//! - the copier's schedule: a sweep event every `sweep` interval;
//! - the bucket's notifications through the spool queue: each spooled delivery, as an SQS
//!   message holding an S3 notification, to `spool-replayer` (which removes it once applied;
//!   one it cannot apply yet is offered again on the next round, as SQS would).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use callvault_archive::stream::{BatchResponse, Change, ScheduledEvent, StreamEvent, StreamRecord};
use callvault_store::schema::FILES_PENDING;
use callvault_store::RecordStore;
use serde_json::{json, Value};

fn key_json(keys: &HashMap<String, AttributeValue>) -> HashMap<String, Value> {
    keys.iter()
        .filter_map(|(k, v)| Some((k.clone(), json!({ "S": v.as_s().ok()? }))))
        .collect()
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
) -> anyhow::Result<()> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ddb = callvault_store::DynamoDbClient::new(&sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let store = RecordStore::new(
        ddb.clone(),
        callvault_store::S3Client::new(&sdk),
        table,
        bucket,
    );
    let http = reqwest::Client::new();
    let invoke_url = format!("{invoke_base}/recording-copier/invocations");
    let replayer_url = format!("{invoke_base}/spool-replayer/invocations");
    let mut last_sweep = Instant::now();
    let table_desc = ddb.describe_table().table_name(table).send().await?;
    let stream_arn = table_desc
        .table
        .and_then(|t| t.latest_stream_arn)
        .context("the table has no stream")?;
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    println!("pumping {stream_arn} to {invoke_url}");
    loop {
        let shards = streams
            .describe_stream()
            .stream_arn(&stream_arn)
            .send()
            .await?
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.shard_id else { continue };
            if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(id) {
                let it = streams
                    .get_shard_iterator()
                    .stream_arn(&stream_arn)
                    .shard_id(slot.key())
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await?
                    .shard_iterator;
                slot.insert(it);
            }
        }
        let mut batch = StreamEvent::default();
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let out = streams.get_records().shard_iterator(current).send().await?;
            for record in out.records.unwrap_or_default() {
                let Some(change) = record.dynamodb else {
                    continue;
                };
                let pending = change
                    .new_image
                    .as_ref()
                    .and_then(|i| i.get(FILES_PENDING))
                    .is_some_and(|v| v.as_bool().is_ok_and(|b| *b));
                if pending {
                    batch.records.push(StreamRecord {
                        dynamodb: Change {
                            keys: key_json(&change.keys.unwrap_or_default()),
                            sequence_number: change.sequence_number,
                        },
                    });
                }
            }
            *iterator = out.next_shard_iterator;
        }
        if !batch.records.is_empty() {
            let count = batch.records.len();
            match http.post(&invoke_url).json(&batch).send().await {
                Ok(response) => {
                    let status = response.status();
                    let body: Option<BatchResponse> = response.json().await.ok();
                    println!("invoked copier with {count} record(s): HTTP {status}, {body:?}");
                }
                Err(e) => println!("copier invocation failed: {e}"),
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
