//! `callvault trigger`: sends signed sample deliveries (the providers' documented examples,
//! `callvault_catalog::samples`) to the stack's webhook URLs, authenticated with the stack's
//! own secrets, then reads each record back: a pass/fail grid of whether they landed.
//!
//! What it sends is marked as test records: every id of a sample ends in its run,
//! `callvault-test-<time>` ([`TEST_MARK`], after the sample's own prefix such as `vk-` or
//! `conv-`), so `trigger --cleanup` finds the records by their keys and removes them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use callvault_catalog::samples::{of_event, Sample, Target as Record};
use callvault_catalog::Webhook;
use callvault_records::Provider;
use callvault_store::files::FileStatus;
use callvault_store::schema::{
    call_pk, contact_pk, conversation_pk, CALL_SK, EVENT_PREFIX, PARTITION_KEY, SORT_KEY,
};
use callvault_store::{RecordStore, Stored};
use callvault_verify::Keyring;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::CliError;

/// What the ids of everything `trigger` sends carry: the start of its run.
pub const TEST_MARK: &str = "callvault-test-";

/// The run of samples sent at `now`, the end of each of their ids: [`TEST_MARK`] and the
/// time.
pub fn test_run(now: DateTime<Utc>) -> String {
    format!("{TEST_MARK}{}", now.format("%Y%m%d%H%M%S"))
}

/// The webhooks and events to send: a webhook or provider name and some of its events (all
/// of them when none is named), or everything.
pub fn selection(all: bool, what: &[String]) -> Result<Vec<(Webhook, &'static str)>, CliError> {
    let pairs = |webhooks: Vec<Webhook>| -> Vec<(Webhook, &'static str)> {
        webhooks
            .into_iter()
            .flat_map(|w| w.events().iter().map(move |e| (w, *e)))
            .collect()
    };
    if all {
        if !what.is_empty() {
            return Err(CliError::Usage(
                "--all sends everything: name no webhook or event with it".into(),
            ));
        }
        return Ok(pairs(Webhook::ALL.to_vec()));
    }
    let Some((first, events)) = what.split_first() else {
        return Err(CliError::Usage(
            "name a provider or webhook (and optionally events), or pass --all".into(),
        ));
    };
    let webhooks: Vec<Webhook> = match Webhook::from_name(first) {
        Some(w) => vec![w],
        None => {
            let provider = callvault_query::input::provider(first)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            Webhook::ALL
                .into_iter()
                .filter(|w| w.provider() == provider)
                .collect()
        }
    };
    let mut chosen = pairs(webhooks);
    if !events.is_empty() {
        for event in events {
            if !chosen.iter().any(|(_, e)| e == event) {
                let known: Vec<_> = chosen.iter().map(|(_, e)| *e).collect();
                return Err(CliError::Usage(format!(
                    "{first} has no event {event:?} (it has: {})",
                    known.join(", ")
                )));
            }
        }
        chosen.retain(|(_, e)| events.iter().any(|x| x == e));
    }
    Ok(chosen)
}

/// One row of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The webhook.
    pub webhook: String,
    /// The event type.
    pub event: String,
    /// The HTTP status, when the request got an answer.
    pub http: Option<u16>,
    /// The answer's `status` (stored, duplicate, kept, spooled) or error.
    pub reply: String,
    /// Whether the record it should become is in the table.
    pub stored: bool,
    /// Request time, in milliseconds.
    pub ms: u128,
    /// The record's id.
    pub record: String,
    /// Whether everything went as it should.
    pub pass: bool,
}

/// Builds the samples for `chosen`, authenticated with the keyring of each webhook.
pub fn samples(
    chosen: &[(Webhook, &'static str)],
    keyring_of: impl Fn(Webhook) -> anyhow::Result<Keyring>,
    run: &str,
) -> anyhow::Result<Vec<Sample>> {
    chosen
        .iter()
        .map(|(webhook, event)| {
            let keyring = keyring_of(*webhook)?;
            Ok(of_event(&keyring, *webhook, event, run, false)?)
        })
        .collect()
}

fn record_id(record: &Record) -> String {
    match record {
        Record::Call(id) | Record::Contact(id) => id.clone(),
        Record::Message {
            conversation,
            message,
        } => format!("{conversation}/{message}"),
    }
}

/// Whether the record a sample should become is in the table.
async fn landed(store: &RecordStore, provider: Provider, record: &Record) -> anyhow::Result<bool> {
    Ok(match record {
        Record::Call(id) => !store
            .records(&call_pk(provider, id), CALL_SK)
            .await?
            .is_empty(),
        Record::Message {
            conversation,
            message,
        } => store
            .records(&conversation_pk(provider, conversation), "MSG#")
            .await?
            .iter()
            .any(|(sk, _)| sk.ends_with(&format!("#{message}"))),
        Record::Contact(id) => store
            .get_item(&contact_pk(provider, id), "CONTACT")
            .await?
            .is_some(),
    })
}

/// Sends one sample to `url` and reads its record back.
pub async fn send(
    http: &reqwest::Client,
    store: &RecordStore,
    url: &str,
    sample: &Sample,
) -> anyhow::Result<Row> {
    let mut request = http
        .post(format!("{url}{}", sample.suffix()))
        .body(sample.body.clone())
        .timeout(Duration::from_secs(30));
    for (name, value) in &sample.headers {
        request = request.header(*name, value);
    }
    let started = Instant::now();
    let (http_status, reply) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let reply = body["status"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("(no JSON answer)")
                .to_owned();
            (Some(status), reply)
        }
        Err(e) => (None, format!("no answer: {}", e.without_url())),
    };
    let ms = started.elapsed().as_millis();
    let stored = landed(store, sample.webhook.provider(), &sample.target)
        .await
        .context("reading the record back")?;
    let pass =
        http_status == Some(200) && matches!(reply.as_str(), "stored" | "duplicate") && stored;
    Ok(Row {
        webhook: sample.webhook.name().to_owned(),
        event: sample.event.to_owned(),
        http: http_status,
        reply,
        stored,
        ms,
        record: record_id(&sample.target),
        pass,
    })
}

/// A test record `trigger --cleanup` removed.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// Its partition key (`CALL#voki#vk-callvault-test-...`).
    pub record: String,
    /// How many items went: the record (one per scope) and its delivery events.
    pub items: usize,
    /// The bucket's keys that went with it: its archived files and its deliveries' raw bodies.
    pub files: Vec<String>,
}

/// The partition keys of the table that carry [`TEST_MARK`], from a scan of the whole table.
async fn marked_partitions(store: &RecordStore) -> Result<BTreeSet<String>, CliError> {
    let mut partitions = BTreeSet::new();
    let mut start = None;
    loop {
        let out = store
            .dynamodb()
            .scan()
            .table_name(store.table())
            .filter_expression("contains(#pk, :mark)")
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":mark", AttributeValue::S(TEST_MARK.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| CliError::aws(format!("scanning table {}", store.table()), e))?;
        for item in out.items.unwrap_or_default() {
            if let Some(AttributeValue::S(pk)) = item.get(PARTITION_KEY) {
                partitions.insert(pk.clone());
            }
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(partitions),
        }
    }
}

/// The bucket's keys an item of a test record points at: a record's archived files, a
/// delivery event's raw body.
fn keys_of(store: &RecordStore, item: &callvault_store::Item) -> Vec<String> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    if text(SORT_KEY).is_some_and(|sk| sk.starts_with(EVENT_PREFIX)) {
        return text("body_s3_uri")
            .map(|uri| {
                let bucket = format!("s3://{}/", store.bucket());
                uri.strip_prefix(&bucket).unwrap_or(uri).to_owned()
            })
            .into_iter()
            .collect();
    }
    Stored::from_item(item)
        .map(|stored| {
            stored
                .files
                .into_values()
                .filter(|f| f.status == FileStatus::Copied)
                .map(|f| f.s3_key)
                .collect()
        })
        .unwrap_or_default()
}

/// Removes every test record: each partition whose key carries [`TEST_MARK`] (found by a
/// scan of the whole table), all of its items, and the archived files and raw bodies they
/// point at. Returns what went.
pub async fn cleanup(store: &RecordStore) -> anyhow::Result<Vec<Removed>> {
    let mut removed = Vec::new();
    for pk in marked_partitions(store).await? {
        let items = store.query_prefix(&pk, "").await?;
        let files: Vec<String> = items.iter().flat_map(|i| keys_of(store, i)).collect();
        for key in &files {
            store
                .s3()
                .delete_object()
                .bucket(store.bucket())
                .key(key)
                .send()
                .await
                .map_err(|e| CliError::aws(format!("removing {key} of {pk}"), e))?;
        }
        for item in &items {
            if let Some(sk) = item.get(SORT_KEY).and_then(|v| v.as_s().ok()) {
                store.delete_item(&pk, sk).await?;
            }
        }
        removed.push(Removed {
            record: pk,
            items: items.len(),
            files,
        });
    }
    Ok(removed)
}

/// The sample as a ready-to-paste `curl` command.
pub fn curl(url: &str, sample: &Sample) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut command = format!(
        "curl -sS -X POST {}",
        quote(&format!("{url}{}", sample.suffix()))
    );
    for (name, value) in &sample.headers {
        command.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    command.push_str(&format!(
        " --data-binary {}",
        quote(&String::from_utf8_lossy(&sample.body))
    ));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_name_webhooks_providers_and_events() {
        let all = selection(true, &[]).expect("all");
        assert_eq!(
            all.len(),
            Webhook::ALL.iter().map(|w| w.events().len()).sum::<usize>()
        );
        let hatif = selection(false, &["hatif".into()]).expect("hatif");
        assert_eq!(hatif.len(), 5, "the call and four message statuses");
        let read = selection(false, &["hatif".into(), "message.read".into()]).expect("one");
        assert_eq!(read, [(Webhook::HatifWhatsApp, "message.read")]);
        let voki = selection(
            false,
            &[
                "voki".into(),
                "call.created".into(),
                "customer.created".into(),
            ],
        )
        .expect("two");
        assert_eq!(voki.len(), 2);
        let err = selection(false, &["voki".into(), "call.held".into()]).expect_err("unknown");
        assert!(
            err.to_string()
                .starts_with("voki has no event \"call.held\""),
            "{err}"
        );
        assert!(selection(false, &[]).is_err());
        assert!(selection(false, &["nope".into()]).is_err());
    }

    /// Every record a sample becomes has an id that carries the test mark, so cleanup finds
    /// it by its key.
    #[test]
    fn every_sample_is_marked_as_a_test_record() {
        let keyring =
            Keyring::from_json(r#"{"secrets":{"k1":"a-secret-of-thirty-two-characters!"}}"#)
                .expect("keyring");
        let run = test_run(Utc::now());
        assert!(run.starts_with(TEST_MARK));
        let chosen = selection(true, &[]).expect("all");
        let samples = samples(&chosen, |_| Ok(keyring.clone()), &run).expect("samples");
        assert_eq!(samples.len(), chosen.len());
        for sample in &samples {
            let id = record_id(&sample.target);
            assert!(id.contains(&run), "{id} carries {run}");
            let pk = match &sample.target {
                Record::Call(id) => call_pk(sample.webhook.provider(), id),
                Record::Contact(id) => contact_pk(sample.webhook.provider(), id),
                Record::Message { conversation, .. } => {
                    conversation_pk(sample.webhook.provider(), conversation)
                }
            };
            assert!(pk.contains(TEST_MARK), "{pk}");
        }
    }
}
