//! Moving Hatif records that the default secrets verified for a channel before records were
//! scoped by their channel (`callvault replay hatif-scopes`), against the emulator.

use callvault_records::{MessageStatus, Normalized, Provider};
use callvault_store::files::{FileKind, FileStatus};
use callvault_store::schema;
use callvault_testkit::Emulator;
use callvault_verify::{Authentication, HmacSha256Hex, Keyring, Scope, Secret, SecretId, Verified};
use callvault_webhook::adapters::{HatifCall, HatifWhatsApp, Signing};
use callvault_webhook::rescope::{legacy_records, rescope, Rescoped};
use callvault_webhook::secrets::Secrets;
use callvault_webhook::{accept, OnFailure, Outcome, Webhook};
use chrono::{DateTime, Utc};
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request};
use serde_json::json;
use std::sync::Arc;

fn at(time: &str) -> DateTime<Utc> {
    time.parse().expect("a time")
}

/// Applies `body` as the earlier version did for a channel without secrets of its own: in
/// the default scope.
async fn legacy<A: callvault_webhook::Adapter>(
    store: &callvault_store::RecordStore,
    body: &serde_json::Value,
    received_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let verified = Verified::reinstate_unchecked(
        serde_json::to_vec(body)?,
        Authentication::Signature(SecretId::new("d")),
        Some(Scope::Default),
    );
    let (outcome, _) = accept::<A>(
        store,
        &HeaderMap::new(),
        &verified,
        received_at,
        OnFailure::Report,
    )
    .await;
    anyhow::ensure!(matches!(outcome, Outcome::Accepted(_)), "{outcome:?}");
    Ok(())
}

fn signed(body: &serde_json::Value) -> anyhow::Result<Request> {
    let body = serde_json::to_vec(body)?;
    let signature = HmacSha256Hex::BARE.sign(&Secret::new("s"), &body);
    Ok(lambda_http::http::Request::builder()
        .method("POST")
        .uri("/")
        .header("x-voxa-signature", signature)
        .body(Body::Binary(body))?)
}

/// A message whose first status was stored in the default scope and whose later one arrived
/// in its channel's scope becomes one record; a call with an archived recording moves with
/// its file kept; nothing is left in the default scope, and a second run finds nothing.
#[tokio::test]
async fn legacy_default_records_move_into_their_channels_scope() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let message = |status: &str| {
        json!({"channelId": "c1", "conversationId": "conv", "messageId": "m1",
            "direction": "Outbound", "messageType": "Text", "body": "hello", "status": status,
            "creationTime": "2026-11-23T10:00:00Z"})
    };
    let call = json!({"callId": "call-1", "channelId": "c1", "callLength": "00:01:05",
        "recordingUrl": "https://recordings.example/call-1.mp3"});
    legacy::<HatifWhatsApp>(&store, &message("Sent"), at("2026-11-23T10:00:01Z")).await?;
    legacy::<HatifCall>(&store, &call, at("2026-11-23T10:05:00Z")).await?;
    let call_pk = schema::call_pk(Provider::Hatif, "call-1");
    let default_call_sk = format!("{}#default", schema::CALL_SK);
    store
        .update_files(&call_pk, &default_call_sk, |files| {
            for file in files.values_mut() {
                file.status = FileStatus::Copied;
                file.size = Some(3);
            }
        })
        .await?
        .expect("the legacy call");
    // After the upgrade: the message's next status, in its channel's scope.
    let webhook = Webhook::new(
        HatifWhatsApp(Signing::Required(Arc::new(Secrets::fixed(
            Keyring::from_json(r#"{"secrets":{"d":"s"}}"#)?,
        )))),
        store.clone(),
        1 << 20,
    );
    let reply = webhook.handle(signed(&message("Read"))?).await;
    assert_eq!(reply.status(), 200);
    let conversation = schema::conversation_pk(Provider::Hatif, "conv");
    assert_eq!(
        store.records(&conversation, "MSG#").await?.len(),
        2,
        "split"
    );

    let legacy_found = legacy_records(&store).await?;
    let mut moved: Vec<_> = legacy_found
        .iter()
        .map(|l| (l.sk.as_str(), l.to_sk.as_str(), l.channel.as_str()))
        .collect();
    moved.sort_unstable();
    assert_eq!(
        moved,
        [
            ("CALL#default", "CALL#channel:c1", "c1"),
            ("MSG#default#m1", "MSG#channel:c1#m1", "c1")
        ]
    );
    for legacy in &legacy_found {
        let outcome = rescope(&store, legacy).await?;
        assert!(
            matches!(outcome, Rescoped::Moved { deliveries: 1 }),
            "{outcome:?}"
        );
    }

    let messages = store.records(&conversation, "MSG#").await?;
    let [(sk, stored)] = messages.as_slice() else {
        panic!("one message: {messages:?}")
    };
    assert_eq!(sk, "MSG#channel:c1#m1");
    assert_eq!(stored.scope, Some(Scope::Channel("c1".into())));
    let Normalized::Message(m) = &stored.record else {
        panic!("a message")
    };
    assert_eq!((m.status, m.status_times.len()), (MessageStatus::Read, 2));
    assert_eq!(
        m.status_times.get("sent"),
        Some(&at("2026-11-23T10:00:01Z")),
        "applied with its own receive time"
    );
    assert_eq!(store.events(&conversation, sk).await?.len(), 2);

    let calls = store.records(&call_pk, schema::CALL_SK).await?;
    let [(sk, stored)] = calls.as_slice() else {
        panic!("one call: {calls:?}")
    };
    assert_eq!(sk, "CALL#channel:c1");
    let recording = &stored.files[&FileKind::Recording];
    assert_eq!(
        (recording.status, recording.s3_key.contains("/default/")),
        (FileStatus::Copied, true),
        "the archived recording is kept where it is"
    );
    assert!(store.events(&call_pk, &default_call_sk).await?.is_empty());
    assert!(legacy_records(&store).await?.is_empty(), "nothing left");
    assert!(matches!(
        rescope(&store, &legacy_found[0]).await?,
        Rescoped::Gone
    ));
    Ok(())
}
