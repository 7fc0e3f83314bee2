//! The functions' metrics, read back from their output: a webhook request of every outcome
//! (stored, duplicate, kept, unauthorized, too large, wrong method, spooled while DynamoDB
//! stalls, storage failed while S3 stalls too) and a spool replay each write the documents
//! of `callvault_runtime::metrics`, named by the invocation's request id, which the delivery's
//! log line carries too; and the template's alarms and dashboard use exactly those names
//! and dimensions.

use std::collections::BTreeSet;
use std::time::Duration;

use callvault_e2e::emf::{metric_documents, MetricDocument};
use callvault_e2e::voiceinfra_signature;
use callvault_runtime::metrics::{self, dimension};
use callvault_testkit::lambda::{function_url_event, Invocation, LambdaHarness};
use callvault_testkit::template::Template;
use serde_json::{json, Value};

use crate::faults::{Rig, METRICS_NAMESPACE};

const WEBHOOK: &str = "voiceinfra";
const PROVIDER: &str = "voiceinfra";

/// Sends one request to the webhook under the harness, with the Lambda timeout as deadline.
async fn send(
    harness: &LambdaHarness,
    method: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> anyhow::Result<Invocation> {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let event = function_url_event(method, "/", &headers, body);
    harness.invoke(&event, Duration::from_secs(10)).await
}

/// The documents `invocation` wrote, once they are in the function's output.
async fn documents_of(harness: &LambdaHarness, invocation: &Invocation) -> Vec<MetricDocument> {
    for _ in 0..50 {
        let documents: Vec<MetricDocument> = metric_documents(&harness.log())
            .into_iter()
            .filter(|d| d.request_id.as_deref() == Some(invocation.request_id.as_str()))
            .collect();
        if !documents.is_empty() {
            return documents;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

/// Checks that a webhook request answered `status` wrote exactly one count of `Deliveries`
/// with this outcome, one of `Requests` and one latency, and that its log line names the same
/// invocation.
async fn assert_delivery_metrics(
    harness: &LambdaHarness,
    invocation: &Invocation,
    outcome: &str,
    status: u16,
) -> anyhow::Result<()> {
    assert_eq!(invocation.reply()?.status, status, "{outcome}");
    let documents = documents_of(harness, invocation).await;
    let find = |metric: &str| {
        documents
            .iter()
            .find(|d| d.metrics.contains_key(metric))
            .unwrap_or_else(|| panic!("{outcome}: no {metric} in {documents:#?}"))
    };
    let deliveries = find(metrics::DELIVERIES.name);
    assert_eq!(deliveries.dimensions[dimension::PROVIDER], PROVIDER);
    assert_eq!(deliveries.dimensions[dimension::OUTCOME], outcome);
    assert_eq!(deliveries.count(metrics::DELIVERIES.name), Some(1.0));
    assert_eq!(
        find(metrics::REQUESTS.name).count(metrics::REQUESTS.name),
        Some(1.0)
    );
    let latency = find(metrics::ANSWER_LATENCY.name);
    assert_eq!(latency.count(metrics::ANSWER_LATENCY.name), Some(1.0));
    assert_eq!(
        latency.metrics[metrics::ANSWER_LATENCY.name].0.as_deref(),
        Some("Milliseconds")
    );
    for d in &documents {
        assert_eq!(d.namespace, METRICS_NAMESPACE);
        assert_listed(d);
    }
    let line = harness
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "delivery" && l["span"]["requestId"] == invocation.request_id)
        .unwrap_or_else(|| panic!("{outcome}: no delivery line with its request id"));
    assert_eq!(line["outcome"], outcome);
    Ok(())
}

/// Each metric of a document is one of `metrics::ALL`, with its dimensions.
fn assert_listed(document: &MetricDocument) {
    for name in document.metrics.keys() {
        let metric = metrics::ALL
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not in metrics::ALL"));
        let mut expected: Vec<String> = metric.dimensions.iter().map(|d| d.to_string()).collect();
        expected.sort();
        assert_eq!(document.dimension_names(), expected, "{name}");
    }
}

#[tokio::test]
async fn every_outcome_writes_the_metrics_the_alarms_and_dashboard_read() -> anyhow::Result<()> {
    // The template's side: what its alarms and dashboard read is what the functions write.
    let listed: BTreeSet<(String, Vec<String>)> = metrics::ALL
        .iter()
        .map(|m| {
            let mut dims: Vec<String> = m.dimensions.iter().map(|d| d.to_string()).collect();
            dims.sort();
            (m.name.to_owned(), dims)
        })
        .collect();
    let template = Template::load()?;
    assert_eq!(
        template.custom_metrics(),
        listed,
        "the template's alarms and dashboard read other metrics than the functions write"
    );

    let mut rig = Rig::start().await?;
    rig.run(WEBHOOK).await?;
    let run = chrono::Utc::now().format("%H%M%S%3f").to_string();
    let body = |n: &str| json!({"call_id": format!("metrics-{run}-{n}")}).to_string();
    let signed = |body: &str| -> anyhow::Result<Vec<(&str, String)>> {
        Ok(vec![voiceinfra_signature(body.as_bytes())?])
    };

    let harness = &rig.functions[WEBHOOK];
    let stored = body("stored");
    let i = send(harness, "POST", &signed(&stored)?, stored.as_bytes()).await?;
    assert_delivery_metrics(harness, &i, "stored", 200).await?;
    let i = send(harness, "POST", &signed(&stored)?, stored.as_bytes()).await?;
    assert_delivery_metrics(harness, &i, "duplicate", 200).await?;
    let unusable = json!({"call_id": 7}).to_string();
    let i = send(harness, "POST", &signed(&unusable)?, unusable.as_bytes()).await?;
    assert_delivery_metrics(harness, &i, "kept", 200).await?;
    let (header, _) = voiceinfra_signature(stored.as_bytes())?;
    let forged = vec![(header, "0".repeat(64))];
    let i = send(harness, "POST", &forged, stored.as_bytes()).await?;
    assert_delivery_metrics(harness, &i, "unauthorized", 401).await?;
    let large = vec![b' '; 1024 * 1024 + 1];
    let i = send(harness, "POST", &signed(&stored)?, &large).await?;
    assert_delivery_metrics(harness, &i, "too_large", 413).await?;
    let i = send(harness, "GET", &[], b"").await?;
    assert_delivery_metrics(harness, &i, "method_not_allowed", 405).await?;

    rig.dynamodb.pause()?;
    let spooled = body("spooled");
    let i = send(harness, "POST", &signed(&spooled)?, spooled.as_bytes()).await;
    let failed = body("failed");
    rig.s3.pause()?;
    let j = send(harness, "POST", &signed(&failed)?, failed.as_bytes()).await;
    rig.s3.resume()?;
    rig.dynamodb.resume()?;
    assert_delivery_metrics(harness, &i?, "spooled", 200).await?;
    assert_delivery_metrics(harness, &j?, "storage_failed", 503).await?;

    // The spool replayer counts what it applies.
    // (The storage-failed delivery's spool write may land too, once S3 answers again.)
    let spooled_keys = rig.store().await.spooled_keys().await?.len();
    assert!(spooled_keys >= 1, "the spooled delivery is in the spool");
    rig.run("spool-replayer").await?;
    let notifications = rig.spool_notifications().await?;
    let replayer = &rig.functions["spool-replayer"];
    let replay = replayer
        .invoke(&notifications, Duration::from_secs(60))
        .await?;
    let documents = documents_of(replayer, &replay).await;
    let replays = documents
        .iter()
        .find(|d| d.metrics.contains_key(metrics::SPOOL_REPLAYS.name))
        .unwrap_or_else(|| panic!("no SpoolReplays in {documents:#?}"));
    assert_listed(replays);
    assert_eq!(replays.dimensions[dimension::OUTCOME], "stored");
    assert_eq!(
        replays.count(metrics::SPOOL_REPLAYS.name),
        Some(spooled_keys as f64)
    );
    assert!(
        rig.store().await.spooled_keys().await?.is_empty(),
        "the spooled delivery was applied"
    );
    Ok(())
}
