//! A delivery is the same delivery only when its bytes are the same: for every webhook, a
//! second, different, correctly signed body about a call or message already stored is
//! applied (`stored`, its own event, the record changed by the merge rules), never answered
//! `duplicate` because it shares the call id (or, for Voki, the `X-Voki-Delivery` id); only
//! the same bytes again are a duplicate. Ids are the providers' own kinds of ids.

use callvault_e2e::samples::{self, Sample, HATIF_CHANNEL};
use callvault_e2e::Stack;
use callvault_records::voki::Event;
use callvault_records::Provider;
use callvault_store::schema::{self, CONFLICTS};
use callvault_store::Stored;
use serde_json::{json, Value};

/// The record a sample made: found by the record's own key, whatever secret scope it has.
async fn stored(stack: &Stack, provider: Provider, sample: &Sample) -> anyhow::Result<Stored> {
    let body = sample.json();
    let found = match sample.webhook {
        callvault_catalog::Webhook::HatifWhatsApp => {
            let conversation = body["conversationId"].as_str().unwrap_or_default();
            let items = stack
                .store
                .query_prefix(&schema::conversation_pk(provider, conversation), "MSG#")
                .await?;
            anyhow::ensure!(items.len() == 1, "{} message records", items.len());
            Some(Stored::from_item(&items[0])?)
        }
        _ => {
            let id = match &sample.target {
                callvault_catalog::samples::Target::Call(id) => id.clone(),
                other => anyhow::bail!("not a call: {other:?}"),
            };
            stack.call(provider, &id).await?.map(|(_, stored)| stored)
        }
    };
    found.ok_or_else(|| anyhow::anyhow!("no record for {:?}", sample.target))
}

/// The events of the record a sample made, with the fields each one conflicts in.
async fn conflicts(stack: &Stack, stored: &Stored) -> anyhow::Result<Vec<Vec<String>>> {
    let (pk, sk) = schema::record_key(&stored.record, stored.scope.as_ref());
    Ok(stack
        .store
        .events(&pk, &sk)
        .await?
        .iter()
        .map(|e| {
            e.get(CONFLICTS)
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default()
        })
        .collect())
}

/// One case: the first sample, and what the second body changes and which field the stored
/// record keeps from the first.
struct Case {
    provider: Provider,
    first: Sample,
    /// What the second body changes: one field of the first, and `later_note`, a field the
    /// first had not (kept with the record's unknown fields), which reaches the record.
    change: fn(&mut Value),
    /// The field the second body gives another value, chosen to lose by the merge's fixed rule
    /// (the greater value stands, whatever the order): the record keeps the first value, and
    /// the second body's event names the field.
    conflict: &'static str,
}

fn cases(run: &str) -> anyhow::Result<Vec<Case>> {
    Ok(vec![
        Case {
            provider: Provider::VoiceInfra,
            first: samples::voiceinfra(&format!("call_01J{run}VI"), false)?,
            change: |b| {
                b["summary"] = json!("A second summary");
                b["later_note"] = json!("added later");
            },
            conflict: "summary",
        },
        Case {
            provider: Provider::Hatif,
            first: samples::hatif_call(&format!("7c1e{run}-hatif"), HATIF_CHANNEL, false)?,
            change: |b| {
                b["summary"] = json!("A second summary");
                b["later_note"] = json!("added later");
            },
            conflict: "summary",
        },
        Case {
            provider: Provider::Hatif,
            first: samples::hatif_whatsapp(
                &format!("conv-{run}"),
                &format!("wamid.{run}"),
                "message.sent",
                HATIF_CHANNEL,
            )?,
            change: |b| {
                b["body"] = json!("A corrected text");
                b["later_note"] = json!("added later");
            },
            conflict: "body",
        },
        Case {
            provider: Provider::Voki,
            // The second body comes under the same X-Voki-Delivery id: still a new delivery.
            first: samples::voki(
                Event::CallCompleted,
                &format!("uuid-{run}-voki"),
                &format!("dlv-{run}"),
            )?,
            change: |b| {
                b["data"]["duration_seconds"] = json!(100);
                b["data"]["later_note"] = json!("added later");
            },
            conflict: "duration_seconds",
        },
        Case {
            provider: Provider::PostCall,
            first: samples::postcall(&format!("693b{run}"), false)?,
            change: |b| {
                b["callAnalysis"]["summary"] = json!("A second summary");
                b["later_note"] = json!("added later");
            },
            conflict: "summary",
        },
    ])
}

#[tokio::test]
async fn a_different_body_for_a_stored_record_is_applied_for_every_webhook() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let run = format!("{:x}", chrono::Utc::now().timestamp_millis());
    for case in cases(&run)? {
        let name = case.first.webhook.name();
        let keyring = samples::keyring(case.first.webhook)?;
        let mut body = case.first.json();
        (case.change)(&mut body);
        let second = case.first.with_body(&body, &keyring)?;

        assert_eq!(
            stack.send(&case.first).await?,
            (200, json!({"status": "stored"})),
            "{name}"
        );
        assert_eq!(
            stack.send(&second).await?,
            (200, json!({"status": "stored"})),
            "{name}: a different body is not a duplicate"
        );
        for again in [&second, &case.first] {
            assert_eq!(
                stack.send(again).await?,
                (200, json!({"status": "duplicate"})),
                "{name}: the same bytes again"
            );
        }

        let stored = stored(&stack, case.provider, &second).await?;
        assert_eq!(stored.history.count, 2, "{name}");
        let record = serde_json::to_value(&stored.record)?;
        assert_eq!(
            record["extras"]["later_note"],
            json!("added later"),
            "{name}: what the second body adds reaches the record: {record}"
        );
        let events = conflicts(&stack, &stored).await?;
        assert_eq!(events.len(), 2, "{name}: one event per body");
        assert!(
            events.iter().any(|c| c.iter().any(|f| f == case.conflict)),
            "{name}: the second body's event names `{}`: {events:?}",
            case.conflict
        );
    }
    Ok(())
}
