//! The record store against the local DynamoDB/S3 emulator.

use callvault_records::{hatif, voiceinfra, voki, CallRecord, CallStatus, Normalized, Provider};
use callvault_store::schema::{call_key, call_pk, record_key, CALL_SK};
use callvault_store::{Contribution, Delivery, FailureKind, PutOutcome, RecordStore, StoreError};
use callvault_testkit::Emulator;
use callvault_verify::{Scope, Unverified, Verified};
use chrono::Utc;

const SEED: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");

fn delivery(verified: &Verified) -> Delivery<'_> {
    Delivery {
        verified,
        provider: Provider::VoiceInfra,
        webhook: "voiceinfra",
        received_at: Utc::now(),
        headers: vec![("content-type".into(), "application/json".into())],
    }
}

fn seed_record() -> Normalized {
    Normalized::Call(voiceinfra::normalize(
        voiceinfra::parse(SEED).expect("seed parses"),
    ))
}

async fn ingest(
    store: &RecordStore,
    verified: &Verified,
    id: &str,
    record: Normalized,
) -> anyhow::Result<PutOutcome> {
    Ok(store
        .ingest(&delivery(verified), contribution(id, record, None))
        .await?)
}

fn contribution<'a>(
    delivery_id: &'a str,
    record: Normalized,
    scope: Option<&'a Scope>,
) -> Contribution<'a> {
    Contribution {
        delivery_id: Some(delivery_id),
        event_type: "call.completed",
        record,
        scope,
        transcript_pointer: Some("/transcript"),
    }
}

#[tokio::test]
async fn ingest_is_idempotent_and_keeps_one_event_per_delivery() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    store.warm_up().await?;
    let verified = Unverified::new(SEED).accept_unsigned();

    assert_eq!(
        ingest(&store, &verified, "call_01HXYZ123456", seed_record()).await?,
        PutOutcome::Stored
    );
    assert_eq!(
        ingest(&store, &verified, "call_01HXYZ123456", seed_record()).await?,
        PutOutcome::Duplicate
    );

    let (pk, sk) = call_key(Provider::VoiceInfra, None, "call_01HXYZ123456");
    let stored = store.get_item(&pk, &sk).await?.expect("record exists");
    assert_eq!(stored.record, seed_record());
    assert_eq!(stored.history.delivery_ids, ["call_01HXYZ123456"]);
    assert_eq!(stored.history.count, 1);
    assert_eq!(
        (stored.version, stored.authentication.as_str()),
        (1, "unsigned")
    );
    let events = store.events(&pk, &sk).await?;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["body"].as_b().ok().map(|b| b.as_ref()),
        Some(SEED),
        "raw body kept byte for byte"
    );
    assert_eq!(
        events[0]["event_type"].as_s().ok().map(String::as_str),
        Some("call.completed")
    );
    assert!(store
        .get_item("CALL#voiceinfra#other", "CALL")
        .await?
        .is_none());
    Ok(())
}

#[tokio::test]
async fn concurrent_duplicates_store_exactly_once() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let verified = Unverified::new(SEED).accept_unsigned();
    let puts = (0..10).map(|_| {
        let (store, verified) = (store.clone(), verified.clone());
        tokio::spawn(async move { ingest(&store, &verified, "d", seed_record()).await })
    });
    let mut stored = 0;
    for put in puts {
        if put.await?? == PutOutcome::Stored {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    let (pk, sk) = record_key(&seed_record(), None);
    assert_eq!(store.events(&pk, &sk).await?.len(), 1);
    Ok(())
}

/// Concurrent deliveries of different stages of one call all land (optimistic retries).
#[tokio::test]
async fn concurrent_stages_all_merge() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let events = [
        "call.created",
        "call.assigned",
        "call.started",
        "call.completed",
    ];
    let tasks = events.iter().enumerate().map(|(i, event)| {
        let body = format!(r#"{{"event":"{event}","timestamp":"2026-02-20T14:0{i}:00Z","data":{{"id":"c1","status":"s{i}"}}}}"#);
        let store = store.clone();
        tokio::spawn(async move {
            let verified = Unverified::new(body.as_bytes()).accept_unsigned();
            let record = voki::normalize(voki::parse(verified.body()).expect("parses"));
            let d = Delivery { verified: &verified, provider: Provider::Voki, webhook: "voki", received_at: Utc::now(), headers: vec![] };
            let id = format!("del-{i}");
            store.ingest(&d, Contribution { delivery_id: Some(&id), event_type: "x", record, scope: None, transcript_pointer: None }).await
        })
    });
    for task in tasks {
        assert_eq!(task.await??, PutOutcome::Stored);
    }
    let (pk, sk) = call_key(Provider::Voki, None, "c1");
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    let Normalized::Call(call) = stored.record else {
        panic!("call")
    };
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.stages.len(), 4);
    assert_eq!(stored.version, 4);
    assert_eq!(stored.history.delivery_ids.len(), 4);
    Ok(())
}

#[tokio::test]
async fn large_transcripts_go_to_s3_with_a_pointer() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let words: Vec<_> = (0..2000)
        .map(|i| serde_json::json!({"text": format!("word{i}"), "start": i, "end": i + 1, "type": "word", "speaker": "agent"}))
        .collect();
    let body = serde_json::to_vec(
        &serde_json::json!({"callId": "long-call", "transcription": {"text": "long ".repeat(4000), "words": words}}),
    )?;
    assert!(body.len() > 100_000);
    let verified = Unverified::new(body.clone()).accept_unsigned();
    let record = Normalized::Call(hatif::call::normalize(hatif::call::parse(&body)?));
    let d = Delivery {
        verified: &verified,
        provider: Provider::Hatif,
        webhook: "hatif-call",
        received_at: Utc::now(),
        headers: vec![],
    };
    let scope = Scope::Default;
    let contribution = Contribution {
        transcript_pointer: Some(hatif::call::TRANSCRIPT_POINTER),
        ..contribution("long-call", record, Some(&scope))
    };
    assert_eq!(store.ingest(&d, contribution).await?, PutOutcome::Stored);

    let (pk, sk) = call_key(Provider::Hatif, Some(&scope), "long-call");
    let Normalized::Call(call) = store.get_item(&pk, &sk).await?.expect("record").record else {
        panic!("call")
    };
    let transcript = call.transcript.expect("transcript");
    assert!(transcript.text.is_none() && transcript.words.is_empty());
    let offloaded = transcript.offloaded.expect("pointer");
    assert_eq!(offloaded.json_pointer, "/transcription");
    let raw = store.get_object(&offloaded.s3_uri).await?;
    assert_eq!(raw, body, "the raw delivery in S3 is byte-identical");
    let doc: serde_json::Value = serde_json::from_slice(&raw)?;
    assert_eq!(
        doc.pointer("/transcription/words")
            .and_then(|w| w.as_array())
            .map(Vec::len),
        Some(2000)
    );
    let events = store.events(&pk, &sk).await?;
    assert_eq!(
        events[0]["body_s3_uri"].as_s().ok(),
        Some(&offloaded.s3_uri),
        "one S3 object serves both"
    );
    Ok(())
}

#[tokio::test]
async fn rejected_delivery_is_kept_raw_with_reason() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let body = b"{\"call_id\": 12, \"bytes\": \"\xff\"}".to_vec();
    let verified = Unverified::new(body.clone()).accept_unsigned();
    let d = delivery(&verified);
    store
        .keep_rejected(&d, "invalid payload: wrong type")
        .await?;
    store
        .keep_rejected(&d, "invalid payload: wrong type")
        .await?;

    let kept = store.rejected(Provider::VoiceInfra, &d.day()).await?;
    assert_eq!(kept.len(), 1, "a retried bad delivery is kept once");
    assert_eq!(
        (kept[0].reason.as_str(), kept[0].webhook.as_str()),
        ("invalid payload: wrong type", "voiceinfra")
    );
    assert_eq!(store.kept_body(&kept[0].body).await?, body);
    assert_eq!(kept[0].verified(body.clone())?.body(), &body[..]);
    let pk = callvault_store::schema::rejected_pk(Provider::VoiceInfra, &d.day());
    let items = store.query_prefix(&pk, "").await?;
    let item = &items[0];
    assert_eq!(
        item["kind"].as_s().ok().map(String::as_str),
        Some("rejected")
    );
    assert_eq!(
        item["webhook"].as_s().ok().map(String::as_str),
        Some("voiceinfra")
    );
    assert_eq!(
        item["body"].as_b().ok().map(|b| b.as_ref()),
        Some(&body[..])
    );
    assert_eq!(
        item["reason"].as_s().ok().map(String::as_str),
        Some("invalid payload: wrong type")
    );
    let headers = item["headers"].as_m().expect("headers map");
    assert_eq!(
        headers
            .get("content-type")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("application/json")
    );
    Ok(())
}

#[tokio::test]
async fn spool_round_trips_a_delivery() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let verified = Unverified::new(&b"\x00binary\xff"[..]).verify_token(
        Some("t"),
        &callvault_verify::SecretSet::single("tok-1", "t"),
    )?;
    let d = delivery(&verified);
    let key = store.spool(&d).await?;
    assert_eq!(store.spooled_keys().await?, std::slice::from_ref(&key));
    let spooled = store.read_spooled(&key).await?.expect("spooled");
    assert_eq!(spooled.webhook, "voiceinfra");
    let back = spooled.verified()?;
    assert_eq!(back.body(), verified.body());
    assert_eq!(back.authentication(), verified.authentication());
    store.remove_spooled(&key).await?;
    assert!(store.spooled_keys().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn unreachable_storage_is_an_error_not_a_panic() -> anyhow::Result<()> {
    let port = callvault_testkit::free_port()?;
    let sdk = callvault_testkit::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let store = RecordStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_s3::Client::new(&sdk),
        "calls",
        "archive",
    );
    let verified = Unverified::new(SEED).accept_unsigned();
    let err = ingest(&store, &verified, "d", seed_record())
        .await
        .expect_err("nothing listens");
    let err = err.downcast::<StoreError>()?;
    assert!(!err.is_permanent(), "an outage is transient: {err}");
    assert_eq!(
        err.kind(),
        Some(FailureKind::Unavailable),
        "{}",
        err.detail()
    );
    assert!(store.warm_up().await.is_err());
    assert!(store.spool(&delivery(&verified)).await.is_err());
    Ok(())
}

/// One signed body resent under many delivery ids (Voki's `X-Voki-Delivery` is not signed)
/// is applied once: one event, a record that does not grow.
#[tokio::test]
async fn one_body_under_many_delivery_ids_is_applied_once() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let verified = Unverified::new(SEED).accept_unsigned();
    assert_eq!(
        ingest(&store, &verified, "first", seed_record()).await?,
        PutOutcome::Stored
    );
    for i in 0..20 {
        let id = format!("resend-{i}");
        assert_eq!(
            ingest(&store, &verified, &id, seed_record()).await?,
            PutOutcome::Duplicate,
            "{id}"
        );
    }
    // Bodies beyond the latest ones the record lists are found by their event.
    let bodies: Vec<Vec<u8>> = (0..12)
        .map(|i| format!(r#"{{"call_id":"call_01HXYZ123456","x{i}":{i}}}"#).into_bytes())
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        let verified = Unverified::new(body.clone()).accept_unsigned();
        let record = Normalized::Call(voiceinfra::normalize(voiceinfra::parse(body)?));
        assert_eq!(
            ingest(&store, &verified, &format!("other-{i}"), record).await?,
            PutOutcome::Stored
        );
    }
    let verified = Unverified::new(SEED).accept_unsigned();
    assert_eq!(
        ingest(&store, &verified, "much-later", seed_record()).await?,
        PutOutcome::Duplicate
    );
    let (pk, sk) = call_key(Provider::VoiceInfra, None, "call_01HXYZ123456");
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    assert_eq!(stored.history.count, 13);
    assert_eq!(
        stored.history.delivery_ids.len(),
        callvault_store::size::RECENT_DELIVERIES
    );
    assert_eq!(store.events(&pk, &sk).await?.len(), 13);
    Ok(())
}

/// A different body for a stored call is never a duplicate, whatever ids it shares: it is
/// applied by the merge rules, kept as its own event naming what it could not change, and
/// only its exact bytes again are a duplicate.
#[tokio::test]
async fn a_different_body_for_the_same_call_is_applied_not_dropped() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let body = |summary: &str, extra: &str| {
        format!(
            r#"{{"call_id":"call_01HXYZ123456","summary":"{summary}","end_time":"2026-11-23T10:0{extra}:00Z","recording_url":"https://h/r{extra}.mp3"}}"#
        )
    };
    // The later body's summary and link lose to the stored ones by the fixed rule (the
    // greater value), which any order would give; its end time is the later one and is kept.
    let (first, second) = (
        body("stored summary", "5"),
        body("a differing summary", "7"),
    );
    let apply = |body: String| {
        let store = store.clone();
        async move {
            let verified = Unverified::new(body.into_bytes()).accept_unsigned();
            let record =
                Normalized::Call(voiceinfra::normalize(voiceinfra::parse(verified.body())?));
            Ok::<_, anyhow::Error>(
                store
                    .ingest(
                        &delivery(&verified),
                        Contribution {
                            delivery_id: None,
                            event_type: "call.completed",
                            record,
                            scope: None,
                            transcript_pointer: None,
                        },
                    )
                    .await?,
            )
        }
    };
    assert_eq!(apply(first.clone()).await?, PutOutcome::Stored);
    assert_eq!(apply(second.clone()).await?, PutOutcome::Stored);
    assert_eq!(apply(second).await?, PutOutcome::Duplicate);
    assert_eq!(apply(first).await?, PutOutcome::Duplicate);

    let (pk, sk) = call_key(Provider::VoiceInfra, None, "call_01HXYZ123456");
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    let Normalized::Call(call) = &stored.record else {
        panic!("a call")
    };
    assert_eq!(call.summary.as_deref(), Some("stored summary"));
    assert_eq!(
        call.ended_at.map(|t| t.to_rfc3339()),
        Some("2026-11-23T10:07:00+00:00".into())
    );
    assert_eq!(stored.history.count, 2);
    assert!(stored.history.delivery_ids.is_empty());
    let events = store.events(&pk, &sk).await?;
    assert_eq!(events.len(), 2);
    let conflicts: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            e.get(callvault_store::schema::CONFLICTS)
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert!(
        conflicts.contains(&vec!["summary".to_owned()]),
        "{conflicts:?}"
    );
    assert!(conflicts.contains(&Vec::new()), "{conflicts:?}");
    Ok(())
}

/// A crash after the event was written but before the record was: the retry applies it.
#[tokio::test]
async fn an_event_without_its_record_update_is_applied_on_retry() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let verified = Unverified::new(SEED).accept_unsigned();
    assert_eq!(
        ingest(&store, &verified, "d1", seed_record()).await?,
        PutOutcome::Stored
    );
    let (pk, sk) = call_key(Provider::VoiceInfra, None, "call_01HXYZ123456");
    store.delete_item(&pk, &sk).await?;
    assert_eq!(store.events(&pk, &sk).await?.len(), 1);
    assert_eq!(
        ingest(&store, &verified, "d1", seed_record()).await?,
        PutOutcome::Stored
    );
    assert!(store.get_item(&pk, &sk).await?.is_some());
    Ok(())
}

/// Records of different scopes (the Hatif channel whose secrets authenticated them) never
/// merge: the same call id under two scopes is two records of one partition.
#[tokio::test]
async fn scopes_keep_records_apart() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let genuine = Scope::Channel("c1".into());
    let impostor = Scope::Default;
    for (scope, agent) in [(&impostor, "intruder"), (&genuine, "agent-7")] {
        let body = format!(r#"{{"callId":"shared-id","userId":"{agent}"}}"#);
        let verified = Unverified::new(body.clone().into_bytes()).accept_unsigned();
        let record = Normalized::Call(hatif::call::normalize(hatif::call::parse(body.as_bytes())?));
        let d = Delivery {
            provider: Provider::Hatif,
            webhook: "hatif-call",
            ..delivery(&verified)
        };
        assert_eq!(
            store
                .ingest(&d, contribution("shared-id", record, Some(scope)))
                .await?,
            PutOutcome::Stored
        );
    }
    let records = store
        .records(&call_pk(Provider::Hatif, "shared-id"), CALL_SK)
        .await?;
    let agents: Vec<_> = records
        .iter()
        .map(|(sk, s)| match &s.record {
            Normalized::Call(c) => (
                sk.clone(),
                c.agent.as_ref().map(|a| a.id.clone()),
                s.scope.clone(),
            ),
            _ => panic!("call"),
        })
        .collect();
    assert_eq!(
        agents,
        [
            (
                "CALL#channel:c1".to_owned(),
                Some("agent-7".to_owned()),
                Some(genuine)
            ),
            (
                "CALL#default".to_owned(),
                Some("intruder".to_owned()),
                Some(impostor)
            ),
        ]
    );
    Ok(())
}

/// What DynamoDB refuses for good is reported as permanent, before anything is written when
/// the store can tell (the item's size), from DynamoDB's answer otherwise.
#[tokio::test]
async fn permanent_refusals_are_told_apart_from_outages() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let call = |id: &str| CallRecord::new(Provider::VoiceInfra, id);

    let mut big = call("big");
    big.summary = Some("x".repeat(400 * 1024));
    let verified = Unverified::new(&b"{}"[..]).accept_unsigned();
    let err = ingest(&store, &verified, "big", Normalized::Call(big))
        .await
        .expect_err("too large");
    let err = err.downcast::<StoreError>()?;
    assert!(
        matches!(err, StoreError::Unstorable(_)) && err.is_permanent(),
        "{err}"
    );
    let (pk, sk) = call_key(Provider::VoiceInfra, None, "big");
    assert!(store.events(&pk, &sk).await?.is_empty(), "nothing written");

    let long = "k".repeat(3000);
    let err = ingest(&store, &verified, "long", Normalized::Call(call(&long)))
        .await
        .expect_err("key");
    let err = err.downcast::<StoreError>()?;
    assert_eq!(
        err.kind(),
        Some(FailureKind::KeyTooLarge),
        "{}",
        err.detail()
    );

    let mut odd = call("odd");
    odd.extras.insert("x".into(), serde_json::json!(1e200));
    let err = ingest(&store, &verified, "odd", Normalized::Call(odd))
        .await
        .expect_err("number");
    let err = err.downcast::<StoreError>()?;
    assert_eq!(err.kind(), Some(FailureKind::Invalid), "{}", err.detail());
    assert!(err.is_permanent());
    Ok(())
}
