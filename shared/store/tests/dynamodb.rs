//! The call store against the local DynamoDB emulator.

use callvault_records::{voiceinfra, CallStatus, Provider};
use callvault_store::{CallStore, Delivery, PutOutcome};
use callvault_testkit::Emulator;
use callvault_verify::{Unverified, Verified};
use chrono::Utc;

const SEED: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");

fn delivery<'a>(verified: &'a Verified, id: &str) -> Delivery<'a> {
    Delivery {
        verified,
        provider: Provider::VoiceInfra,
        delivery_id: id.to_owned(),
        received_at: Utc::now(),
        headers: vec![("content-type".into(), "application/json".into())],
    }
}

#[tokio::test]
async fn put_call_is_idempotent_and_reads_back() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = CallStore::new(emulator.table("calls").await?, "calls");
    store.warm_up().await?;
    let verified = Unverified::new(SEED).accept_unsigned();
    let record = voiceinfra::normalize(voiceinfra::parse(SEED)?);

    assert_eq!(store.put_call(&delivery(&verified, "call_01HXYZ123456"), &record).await?, PutOutcome::Stored);
    let mut changed = record.clone();
    changed.status = CallStatus::Failed;
    assert_eq!(
        store.put_call(&delivery(&verified, "call_01HXYZ123456"), &changed).await?,
        PutOutcome::Duplicate
    );

    let stored = store
        .get_call(Provider::VoiceInfra, "call_01HXYZ123456")
        .await?
        .expect("record exists");
    assert_eq!(stored.record, record, "the duplicate changed nothing");
    assert_eq!(stored.delivery_ids, ["call_01HXYZ123456"]);
    assert_eq!(stored.authentication, "unsigned");
    assert!(store.get_call(Provider::VoiceInfra, "other").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn concurrent_duplicates_store_exactly_once() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = CallStore::new(emulator.table("calls").await?, "calls");
    let verified = Unverified::new(SEED).accept_unsigned();
    let record = voiceinfra::normalize(voiceinfra::parse(SEED)?);
    let puts = (0..10).map(|_| {
        let (store, verified, record) = (store.clone(), verified.clone(), record.clone());
        tokio::spawn(async move { store.put_call(&delivery(&verified, "d"), &record).await })
    });
    let mut stored = 0;
    for put in puts {
        if put.await?? == PutOutcome::Stored {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    Ok(())
}

#[tokio::test]
async fn rejected_delivery_is_kept_raw_with_reason() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let client = emulator.table("calls").await?;
    let store = CallStore::new(client.clone(), "calls");
    let body = b"{\"call_id\": 12, \"bytes\": \"\xff\"}".to_vec();
    let verified = Unverified::new(body.clone()).accept_unsigned();
    store.keep_rejected(&delivery(&verified, ""), "invalid payload: wrong type").await?;
    store.keep_rejected(&delivery(&verified, ""), "invalid payload: wrong type").await?;

    let items = client.scan().table_name("calls").send().await?.items.unwrap_or_default();
    assert_eq!(items.len(), 1, "a retried bad delivery is kept once");
    let item = &items[0];
    assert_eq!(item["kind"].as_s().ok().map(String::as_str), Some("rejected"));
    assert_eq!(item["body"].as_b().ok().map(|b| b.as_ref()), Some(&body[..]));
    assert_eq!(item["reason"].as_s().ok().map(String::as_str), Some("invalid payload: wrong type"));
    assert_eq!(
        item["headers"].as_m().ok().and_then(|m| m.get("content-type")).and_then(|v| v.as_s().ok()).map(String::as_str),
        Some("application/json")
    );
    Ok(())
}

#[tokio::test]
async fn unreachable_storage_is_an_error_not_a_panic() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let sdk = callvault_testkit::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let store = CallStore::new(aws_sdk_dynamodb::Client::new(&sdk), "calls");
    let verified = Unverified::new(SEED).accept_unsigned();
    let record = voiceinfra::normalize(voiceinfra::parse(SEED)?);
    assert!(store.put_call(&delivery(&verified, "d"), &record).await.is_err());
    assert!(store.warm_up().await.is_err());
    Ok(())
}
