//! Custody of authenticated deliveries that storage cannot take as they are, of resends, and
//! of Hatif channels, end to end against the functions served by `cargo lambda watch`.

use callvault_e2e::samples::{self, Sample, HATIF_CHANNEL};
use callvault_e2e::{sign, Stack};
use callvault_records::voki::Event;
use callvault_records::Provider;
use callvault_store::schema::{call_pk, CALL_SK};
use callvault_verify::HmacSha256Hex;
use serde_json::{json, Value};

/// One sample per provider and where its id, a long free-text field and the unknown fields
/// live in its body.
struct Case {
    provider: Provider,
    sample: Sample,
    id: &'static str,
    text: &'static str,
}

fn cases(run: &str) -> anyhow::Result<Vec<Case>> {
    Ok(vec![
        Case {
            provider: Provider::VoiceInfra,
            sample: samples::voiceinfra(&format!("vi-{run}"), false)?,
            id: "/call_id",
            text: "/summary",
        },
        Case {
            provider: Provider::Hatif,
            sample: samples::hatif_call(&format!("hc-{run}"), HATIF_CHANNEL, false)?,
            id: "/callId",
            text: "/summary",
        },
        Case {
            provider: Provider::Hatif,
            sample: samples::hatif_whatsapp(
                &format!("conv-{run}"),
                &format!("msg-{run}"),
                "message.sent",
                HATIF_CHANNEL,
            )?,
            id: "/messageId",
            text: "/body",
        },
        Case {
            provider: Provider::Voki,
            sample: samples::voki(
                Event::CallCompleted,
                &format!("vk-{run}"),
                &format!("d-{run}"),
            )?,
            id: "/data/id",
            text: "/data/customer/name",
        },
        Case {
            provider: Provider::PostCall,
            sample: samples::postcall(&format!("pc-{run}"), false)?,
            id: "/callId",
            text: "/callAnalysis/summary",
        },
    ])
}

fn changed(sample: &Sample, pointer: &str, value: Value) -> anyhow::Result<Sample> {
    let mut body = sample.json();
    *body
        .pointer_mut(pointer)
        .ok_or_else(|| anyhow::anyhow!("{pointer} not in the sample"))? = value;
    samples::with_body(sample, &body)
}

/// What DynamoDB refuses for good (an id too long for a key, a record too large for an item)
/// is kept with its reason and acknowledged, for every provider: never 503, which would make
/// the provider retry something that can never succeed. A number outside DynamoDB's range in
/// an unknown field is kept as text, and the delivery stored.
#[tokio::test]
async fn what_storage_refuses_for_good_is_kept_and_acknowledged() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let run = chrono::Utc::now().format("%H%M%S%3f").to_string();
    for case in cases(&run)? {
        let what = case.sample.webhook.name();
        for (class, sample, reason) in [
            (
                "an id of 1,100 characters",
                changed(&case.sample, case.id, json!("i".repeat(1100)))?,
                "longer than 256 bytes",
            ),
            (
                "a 390 KB text",
                changed(&case.sample, case.text, json!("t".repeat(390 * 1024)))?,
                "over the",
            ),
        ] {
            let (status, reply) = stack.send(&sample).await?;
            assert_eq!(
                (status, &reply["status"]),
                (200, &json!("kept")),
                "{what}, {class}: {reply}"
            );
            let said = reply["reason"].as_str().unwrap_or_default();
            assert!(said.contains(reason), "{what}, {class}: {said}");
            let kept = stack.kept(case.provider, &sample.body).await?;
            assert!(
                kept.is_some_and(|k| k.body == sample.body && k.reason == said),
                "{what}, {class}: kept raw with its reason"
            );
        }
        // A 210 KB text fits once the list summary is bounded: stored.
        let long = changed(&case.sample, case.text, json!("n".repeat(210 * 1024)))?;
        let long = changed(&long, case.id, json!(format!("long-{what}-{run}")))?;
        assert_eq!(
            stack.send(&long).await?,
            (200, json!({"status": "stored"})),
            "{what}"
        );
    }

    // Out-of-range numbers in unknown fields: stored, the number kept as its text.
    let sample = samples::voiceinfra(&format!("vi-number-{run}"), false)?;
    let mut body = sample.json();
    body["meta"] = json!({"huge": 1e200, "tiny": 1e-200});
    let sample = samples::with_body(&sample, &body)?;
    assert_eq!(
        stack.send(&sample).await?,
        (200, json!({"status": "stored"}))
    );
    let (call, _) = stack
        .call(Provider::VoiceInfra, &format!("vi-number-{run}"))
        .await?
        .expect("stored");
    assert_eq!(
        call.extras["meta"],
        json!({"huge": "1e+200", "tiny": "1e-200"})
    );
    Ok(())
}

/// One signed Voki body resent under 20 delivery ids (the id header is not signed) is applied
/// once: one event, a record whose history does not grow.
#[tokio::test]
async fn one_signed_body_under_many_delivery_ids_is_one_event() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let id = format!("vk-resend-{}", chrono::Utc::now().format("%H%M%S%3f"));
    let sample = samples::voki(Event::CallCompleted, &id, "first")?;
    assert_eq!(
        stack.send(&sample).await?,
        (200, json!({"status": "stored"}))
    );
    for i in 0..20 {
        let mut resend = sample.clone();
        for (name, value) in &mut resend.headers {
            if *name == "x-voki-delivery" {
                *value = format!("replayed-{i}");
            }
        }
        assert_eq!(
            stack.send(&resend).await?,
            (200, json!({"status": "duplicate"})),
            "{i}"
        );
    }
    let (_, stored) = stack.call(Provider::Voki, &id).await?.expect("stored");
    assert_eq!(
        (
            stored.history.count,
            stored.history.delivery_ids.as_slice(),
            stored.version
        ),
        (1, ["first".to_owned()].as_slice(), 1)
    );
    assert_eq!(
        stack
            .store
            .events(&call_pk(Provider::Voki, &id), CALL_SK)
            .await?
            .len(),
        1
    );
    Ok(())
}

/// A holder of the default secret (or of another channel's) cannot write into a channel's
/// records: the same call id delivered under two channels' secrets is two records, in either
/// order, and the genuine delivery is never swallowed as a duplicate.
#[tokio::test]
async fn hatif_channels_never_share_a_record() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let run = chrono::Utc::now().format("%H%M%S%3f").to_string();
    for impostor_first in [true, false] {
        let id = format!("hc-channels-{run}-{impostor_first}");
        let genuine = samples::hatif_call(&id, HATIF_CHANNEL, false)?;
        // Another channel's delivery of the same call id: no secret of its own, so signed
        // with the default secret, and a record of that channel.
        let impostor = changed(&genuine, "/channelId", json!("someone-elses-channel"))?;
        let impostor = changed(&impostor, "/summary", json!("forged"))?;
        let order = if impostor_first {
            [&impostor, &genuine]
        } else {
            [&genuine, &impostor]
        };
        for sample in order {
            assert_eq!(
                stack.send(sample).await?,
                (200, json!({"status": "stored"})),
                "{id}"
            );
        }
        assert_eq!(
            stack.send(&genuine).await?,
            (200, json!({"status": "duplicate"}))
        );
        let mut records = stack.calls(Provider::Hatif, &id).await?;
        records.sort_by_key(|(_, s)| s.scope.as_ref().map(ToString::to_string));
        let seen: Vec<_> = records
            .iter()
            .map(|(call, stored)| {
                (
                    stored.scope.as_ref().map(ToString::to_string),
                    call.summary.clone(),
                    stored.history.count,
                )
            })
            .collect();
        let genuine_summary = genuine.json()["summary"].as_str().map(str::to_owned);
        assert_eq!(
            seen,
            [
                (Some(format!("channel:{HATIF_CHANNEL}")), genuine_summary, 1),
                (
                    Some("channel:someone-elses-channel".to_owned()),
                    Some("forged".to_owned()),
                    1
                ),
            ],
            "{id}"
        );
    }
    // A body naming the channel but signed with the default secret is refused.
    let genuine = samples::hatif_call(&format!("hc-forged-{run}"), HATIF_CHANNEL, false)?;
    let mut forged = genuine.clone();
    for (name, value) in &mut forged.headers {
        if *name == "x-voxa-signature" {
            *value = sign(
                "HATIF_WEBHOOK_SECRETS",
                None,
                HmacSha256Hex::BARE,
                &genuine.body,
            )?;
        }
    }
    assert_eq!(
        stack.send(&forged).await?,
        (401, json!({"error": "signature does not match"}))
    );

    // WhatsApp messages the same way.
    let conversation = format!("conv-channels-{run}");
    let genuine = samples::hatif_whatsapp(&conversation, "m1", "message.sent", HATIF_CHANNEL)?;
    let impostor = changed(&genuine, "/channelId", json!("someone-elses-channel"))?;
    for sample in [&impostor, &genuine] {
        assert_eq!(
            stack.send(sample).await?,
            (200, json!({"status": "stored"}))
        );
    }
    let messages = stack
        .store
        .records(
            &callvault_store::schema::conversation_pk(Provider::Hatif, &conversation),
            "MSG#",
        )
        .await?;
    let keys: Vec<_> = messages.iter().map(|(sk, _)| sk.as_str()).collect();
    assert_eq!(
        keys,
        [
            format!("MSG#channel:{HATIF_CHANNEL}#m1").as_str(),
            "MSG#channel:someone-elses-channel#m1"
        ]
    );
    Ok(())
}
