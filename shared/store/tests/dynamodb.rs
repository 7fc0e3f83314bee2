//! The record store against the local DynamoDB/S3 emulator.

use callvault_records::{hatif, voiceinfra, voki, CallStatus, Normalized, Provider};
use callvault_store::schema::{call_key, record_key};
use callvault_store::{Delivery, PutOutcome, RecordStore};
use callvault_testkit::Emulator;
use callvault_verify::{Unverified, Verified};
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
        .ingest(
            &delivery(verified),
            id,
            "call.completed",
            record,
            Some("/transcript"),
        )
        .await?)
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

    let (pk, sk) = call_key(Provider::VoiceInfra, "call_01HXYZ123456");
    let stored = store.get_item(&pk, &sk).await?.expect("record exists");
    assert_eq!(stored.record, seed_record());
    assert_eq!(stored.delivery_ids, ["call_01HXYZ123456"]);
    assert_eq!(
        (stored.version, stored.authentication.as_str()),
        (1, "unsigned")
    );
    let events = store.events(&pk).await?;
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
    let (pk, _) = record_key(&seed_record());
    assert_eq!(store.events(&pk).await?.len(), 1);
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
            store.ingest(&d, &format!("del-{i}"), "x", record, None).await
        })
    });
    for task in tasks {
        assert_eq!(task.await??, PutOutcome::Stored);
    }
    let (pk, sk) = call_key(Provider::Voki, "c1");
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    let Normalized::Call(call) = stored.record else {
        panic!("call")
    };
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.stages.len(), 4);
    assert_eq!(stored.version, 4);
    assert_eq!(stored.delivery_ids.len(), 4);
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
    assert_eq!(
        store
            .ingest(
                &d,
                "long-call",
                "call.completed",
                record,
                Some(hatif::call::TRANSCRIPT_POINTER)
            )
            .await?,
        PutOutcome::Stored
    );

    let (pk, sk) = call_key(Provider::Hatif, "long-call");
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
    let events = store.events(&pk).await?;
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

    let pk = callvault_store::schema::rejected_pk(Provider::VoiceInfra, &d.day());
    let items = store.query_prefix(&pk, "").await?;
    assert_eq!(items.len(), 1, "a retried bad delivery is kept once");
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
    let spooled = store.read_spooled(&key).await?;
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let sdk = callvault_testkit::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let store = RecordStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_s3::Client::new(&sdk),
        "calls",
        "archive",
    );
    let verified = Unverified::new(SEED).accept_unsigned();
    assert!(ingest(&store, &verified, "d", seed_record()).await.is_err());
    assert!(store.warm_up().await.is_err());
    assert!(store.spool(&delivery(&verified)).await.is_err());
    Ok(())
}
