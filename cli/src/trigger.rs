//! `callvault trigger`: sends signed sample deliveries (the providers' documented examples,
//! `callvault_catalog::samples`) to the stack's webhook URLs, authenticated with the stack's
//! own secrets, then reads each record back: a pass/fail grid of whether they landed.

use std::time::{Duration, Instant};

use anyhow::Context;
use callvault_catalog::samples::{of_event, Sample, Target as Record};
use callvault_catalog::Webhook;
use callvault_records::Provider;
use callvault_store::schema::{call_pk, contact_pk, conversation_pk, CALL_SK};
use callvault_store::RecordStore;
use callvault_verify::Keyring;
use serde::Serialize;

use crate::run::Usage;

/// The webhooks and events to send: a webhook or provider name and some of its events (all
/// of them when none is named), or everything.
pub fn selection(all: bool, what: &[String]) -> Result<Vec<(Webhook, &'static str)>, Usage> {
    let pairs = |webhooks: Vec<Webhook>| -> Vec<(Webhook, &'static str)> {
        webhooks
            .into_iter()
            .flat_map(|w| w.events().iter().map(move |e| (w, *e)))
            .collect()
    };
    if all {
        if !what.is_empty() {
            return Err(Usage(
                "--all sends everything: name no webhook or event with it".into(),
            ));
        }
        return Ok(pairs(Webhook::ALL.to_vec()));
    }
    let Some((first, events)) = what.split_first() else {
        return Err(Usage(
            "name a provider or webhook (and optionally events), or pass --all".into(),
        ));
    };
    let webhooks: Vec<Webhook> = match Webhook::from_name(first) {
        Some(w) => vec![w],
        None => {
            let provider =
                callvault_query::input::provider(first).map_err(|e| Usage(e.to_string()))?;
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
                return Err(Usage(format!(
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
}
