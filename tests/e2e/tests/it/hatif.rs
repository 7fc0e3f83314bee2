//! Hatif call and WhatsApp webhooks end to end: per-channel secrets, the seeds, message
//! status ordering.

use callvault_e2e::{sign, Stack};
use callvault_records::{CallStatus, MessageStatus, Normalized, Provider};
use callvault_store::schema;
use callvault_verify::HmacSha256Hex;
use serde_json::json;

const SECRETS: &str = "HATIF_WEBHOOK_SECRETS";
const HEADER: &str = "x-voxa-signature";
const SEED_CHANNEL: &str = "5f6d08bc-455a-4532-98b8-19e2cee51160";
const CALL_SEED: &[u8] = callvault_catalog::samples::fixtures::HATIF_CALL;
const MESSAGE_SEED: &[u8] = callvault_catalog::samples::fixtures::HATIF_WHATSAPP;

fn signed(channel: Option<&str>, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(
        HEADER,
        sign(SECRETS, channel, HmacSha256Hex::BARE, body).expect("dev secret"),
    )]
}

#[tokio::test]
async fn call_seed_signed_with_its_channel_secret_is_stored() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    // The seed's channel has its own secret: the default secret does not open it.
    let with_default = signed(None, CALL_SEED);
    assert_eq!(
        stack
            .post("hatif-call", &with_default, CALL_SEED.to_vec())
            .await?,
        (401, json!({"error": "signature does not match"}))
    );

    let reply = stack
        .post(
            "hatif-call",
            &signed(Some(SEED_CHANNEL), CALL_SEED),
            CALL_SEED.to_vec(),
        )
        .await?;
    assert_eq!(reply, (200, json!({"status": "stored"})));
    let (call, stored) = stack
        .call(Provider::Hatif, "4722cd84-0ec7-4ef5-8c34-1b0150f45f53")
        .await?
        .expect("stored");
    assert_eq!(stored.authentication, "signature:dev-channel");
    assert_eq!(
        stored.scope.map(|s| s.to_string()).as_deref(),
        Some(format!("channel:{SEED_CHANNEL}").as_str()),
        "the record remembers whose secret built it"
    );
    assert_eq!(call.channel_id.as_deref(), Some(SEED_CHANNEL));
    assert_eq!(call.duration_seconds, Some(332));
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.provider_status.as_deref(), Some("0"));
    assert_eq!(call.transcript.map(|t| t.words.len()), Some(1));
    assert_eq!(call.evaluation.len(), 1);
    Ok(())
}

#[tokio::test]
async fn unlisted_channels_use_the_default_secret() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = serde_json::to_vec(
        &json!({"callId": "e2e-hatif-default", "channelId": "another-channel", "callLength": "00:01:05"}),
    )?;
    let reply = stack
        .post("hatif-call", &signed(None, &body), body.clone())
        .await?;
    assert_eq!(reply, (200, json!({"status": "stored"})));
    let (call, stored) = stack
        .call(Provider::Hatif, "e2e-hatif-default")
        .await?
        .expect("stored");
    assert_eq!(
        (call.duration_seconds, stored.authentication.as_str()),
        (Some(65), "signature:dev-default")
    );
    // The channel secret of another channel does not sign for this one.
    let forged =
        serde_json::to_vec(&json!({"callId": "e2e-hatif-forged", "channelId": "another-channel"}))?;
    let reply = stack
        .post("hatif-call", &signed(Some(SEED_CHANNEL), &forged), forged)
        .await?;
    assert_eq!(reply.0, 401);
    assert!(stack
        .call(Provider::Hatif, "e2e-hatif-forged")
        .await?
        .is_none());
    Ok(())
}

#[tokio::test]
async fn whatsapp_seed_and_status_updates_never_move_backwards() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let reply = stack
        .post(
            "hatif-whatsapp",
            &signed(Some(SEED_CHANNEL), MESSAGE_SEED),
            MESSAGE_SEED.to_vec(),
        )
        .await?;
    assert_eq!(reply, (200, json!({"status": "stored"})));

    let message = |status: &str| {
        serde_json::to_vec(&json!({
            "channelId": "wa-channel", "conversationId": "e2e-conv", "messageId": "e2e-msg-1",
            "direction": "Outbound", "messageType": "Text", "body": "Your appointment is confirmed",
            "status": status, "creationTime": "2026-11-23T10:00:00Z", "isBillable": true
        }))
        .expect("json")
    };
    for status in ["Read", "Sent", "Delivered", "Read"] {
        let body = message(status);
        let (code, _) = stack
            .post("hatif-whatsapp", &signed(None, &body), body)
            .await?;
        assert_eq!(code, 200, "{status}");
    }
    let stored = stack
        .store
        .get_item(
            &schema::conversation_pk(Provider::Hatif, "e2e-conv"),
            "MSG#channel:wa-channel#e2e-msg-1",
        )
        .await?
        .expect("message stored");
    let Normalized::Message(m) = stored.record else {
        panic!("message")
    };
    assert_eq!(
        m.status,
        MessageStatus::Read,
        "a late Sent/Delivered does not move it back"
    );
    assert_eq!(m.status_times.len(), 3);
    assert_eq!(
        (stored.history.count, stored.history.body_sha256s.len()),
        (3, 3),
        "the repeated Read was a duplicate"
    );
    let messages = stack
        .store
        .query_prefix(
            &schema::conversation_pk(Provider::Hatif, "e2e-conv"),
            "MSG#",
        )
        .await?;
    assert_eq!(messages.len(), 1);
    Ok(())
}
