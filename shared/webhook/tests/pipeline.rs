//! The request pipeline in process against the emulator: storage failures, the post-call
//! spool and replay, and replay of rejected deliveries.

use callvault_records::{CallStatus, Normalized, Provider};
use callvault_store::schema::{self, call_key};
use callvault_store::RecordStore;
use callvault_testkit::Emulator;
use callvault_verify::{HmacSha256Hex, Keyring, Secret};
use callvault_webhook::adapters::{PostCall, Signing, VoiceInfra};
use callvault_webhook::replay::{replay_rejected, replay_spool, ReplayReport};
use callvault_webhook::secrets::Secrets;
use callvault_webhook::Webhook;
use lambda_http::{Body, Request};
use std::sync::Arc;

const POSTCALL_SEED: &[u8] = include_bytes!("../../../tests/fixtures/postcall.json");
const VOICEINFRA_SEED: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");

fn post(uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::Binary(body.to_vec())).expect("request")
}

async fn respond<A: callvault_webhook::Adapter>(
    webhook: &Webhook<A>,
    request: Request,
) -> (u16, serde_json::Value) {
    let response = webhook.handle(request).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

/// Secrets that are never read again.
fn fixed(json: &str) -> anyhow::Result<Arc<Secrets>> {
    Ok(Arc::new(Secrets::fixed(Keyring::from_json(json)?)))
}

fn postcall(store: RecordStore) -> anyhow::Result<Webhook<PostCall>> {
    Ok(Webhook::new(
        PostCall(fixed(r#"{"secrets":{"t1":"tok"}}"#)?),
        store,
        1 << 20,
    ))
}

async fn ddb(emulator: &Emulator) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&emulator.sdk_config().await)
}

#[tokio::test]
async fn postcall_delivery_survives_a_table_outage_and_replays_exactly() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let webhook = postcall(store.clone())?;

    // Reference: the same delivery ingested normally into another table.
    let reference_store = {
        let sdk = emulator.sdk_config().await;
        let (ddb, s3) = (
            aws_sdk_dynamodb::Client::new(&sdk),
            aws_sdk_s3::Client::new(&sdk),
        );
        schema::create_table(&ddb, "reference").await?;
        RecordStore::new(ddb, s3, "reference", "archive")
    };
    let (status, _) = respond(
        &postcall(reference_store.clone())?,
        post("/?token=tok", &[], POSTCALL_SEED),
    )
    .await;
    assert_eq!(status, 200);

    ddb(&emulator)
        .await
        .delete_table()
        .table_name("calls")
        .send()
        .await?;
    let (status, body) = respond(
        &webhook,
        post(
            "/?token=tok",
            &[("content-type", "application/json")],
            POSTCALL_SEED,
        ),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"status": "spooled"}))
    );
    assert_eq!(store.spooled_keys().await?.len(), 1);

    // Storage back: replay applies it once and empties the spool; a second run does nothing.
    schema::create_table(&ddb(&emulator).await, "calls").await?;
    assert_eq!(
        replay_spool(&store).await?,
        ReplayReport {
            stored: 1,
            ..ReplayReport::default()
        }
    );
    assert!(store.spooled_keys().await?.is_empty());
    assert_eq!(replay_spool(&store).await?, ReplayReport::default());

    let (pk, sk) = call_key(Provider::PostCall, None, "693bff62619c51fac21acf50");
    let replayed = store.get_item(&pk, &sk).await?.expect("replayed record");
    let reference = reference_store
        .get_item(&pk, &sk)
        .await?
        .expect("reference record");
    assert_eq!(
        replayed.record, reference.record,
        "as if nothing had failed"
    );
    assert_eq!(replayed.history, reference.history);
    assert_eq!(replayed.authentication, "token:t1");
    Ok(())
}

/// Every webhook, not only the post-call one, spools what DynamoDB cannot take.
#[tokio::test]
async fn retrying_providers_are_spooled_too_when_the_table_fails() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let webhook = Webhook::new(
        VoiceInfra(Signing::Required(fixed(r#"{"secrets":{"k":"s"}}"#)?)),
        store.clone(),
        1 << 20,
    );
    ddb(&emulator)
        .await
        .delete_table()
        .table_name("calls")
        .send()
        .await?;
    let signature = HmacSha256Hex::BARE.sign(&Secret::new("s"), VOICEINFRA_SEED);
    let (status, body) = respond(
        &webhook,
        post(
            "/",
            &[("x-voiceinfra-signature", &signature)],
            VOICEINFRA_SEED,
        ),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"status": "spooled"}))
    );
    assert_eq!(store.spooled_keys().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn rejected_deliveries_replay_once_they_parse() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let webhook = postcall(store.clone())?;
    let bad = br#"{"callId":"c-1","callAnalysis":{"score":"high"}}"#;
    let (status, reply) =
        respond(&webhook, post("/", &[("authorization", "Bearer tok")], bad)).await;
    assert_eq!(
        (status, &reply["status"]),
        (200, &serde_json::json!("kept")),
        "{reply}"
    );
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    // Still unparseable: stays kept.
    assert_eq!(
        replay_rejected(&store, Provider::PostCall, &day).await?,
        ReplayReport {
            kept: 1,
            ..ReplayReport::default()
        }
    );
    let pk = schema::rejected_pk(Provider::PostCall, &day);
    let kept = store.query_prefix(&pk, "").await?;
    assert_eq!(kept.len(), 1);
    assert!(
        !kept[0]["headers"]
            .as_m()
            .expect("headers")
            .contains_key("authorization"),
        "credentials are never kept"
    );

    // A delivery kept while its parser could not handle it (here: written directly), replayed.
    let good = POSTCALL_SEED;
    let verified = callvault_verify::Unverified::new(good).verify_token(
        Some("tok"),
        &callvault_verify::SecretSet::single("t1", "tok"),
    )?;
    let delivery = callvault_store::Delivery {
        verified: &verified,
        provider: Provider::PostCall,
        webhook: "postcall",
        received_at: chrono::Utc::now(),
        headers: vec![],
    };
    store
        .keep_rejected(&delivery, "parser could not handle it then")
        .await?;
    let report = replay_rejected(&store, Provider::PostCall, &day).await?;
    assert_eq!(
        report,
        ReplayReport {
            stored: 1,
            kept: 1,
            ..ReplayReport::default()
        }
    );
    assert_eq!(
        store.query_prefix(&pk, "").await?.len(),
        1,
        "the applied one is removed"
    );
    let (pk, sk) = call_key(Provider::PostCall, None, "693bff62619c51fac21acf50");
    let Normalized::Call(call) = store.get_item(&pk, &sk).await?.expect("record").record else {
        panic!("call")
    };
    assert_eq!(call.status, CallStatus::Completed);
    Ok(())
}

/// The emulator stopped mid-run (DynamoDB and S3 both gone): every function answers 503,
/// including the post-call webhook, whose spool is unreachable too, so nothing is
/// acknowledged that is not durable.
#[tokio::test]
async fn every_function_answers_503_once_the_emulator_is_stopped() -> anyhow::Result<()> {
    use callvault_webhook::adapters::{HatifCall, HatifWhatsApp, Voki};

    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let keyring = || fixed(r#"{"secrets":{"k":"s"}}"#);
    let voiceinfra = Webhook::new(
        VoiceInfra(Signing::Required(keyring()?)),
        store.clone(),
        1 << 20,
    );
    let hatif_call = Webhook::new(
        HatifCall(Signing::Required(keyring()?)),
        store.clone(),
        1 << 20,
    );
    let hatif_whatsapp = Webhook::new(
        HatifWhatsApp(Signing::Required(keyring()?)),
        store.clone(),
        1 << 20,
    );
    let voki = Webhook::new(Voki(keyring()?), store.clone(), 1 << 20);
    let postcall = postcall(store.clone())?;

    let hatif_call_body = include_bytes!("../../../tests/fixtures/hatif-call.json");
    let whatsapp_body = include_bytes!("../../../tests/fixtures/hatif-whatsapp.json");
    let voki_body = include_bytes!("../../../tests/fixtures/voki-call-completed.json");
    let sig = |scheme: HmacSha256Hex, body: &[u8]| scheme.sign(&Secret::new("s"), body);

    // Working before the stop.
    let first = sig(HmacSha256Hex::BARE, VOICEINFRA_SEED);
    let (status, _) = respond(
        &voiceinfra,
        post("/", &[("x-voiceinfra-signature", &first)], VOICEINFRA_SEED),
    )
    .await;
    assert_eq!(status, 200);

    drop(emulator);
    let unavailable = (
        503,
        serde_json::json!({"error": "storage unavailable, retry later"}),
    );
    let hatif_sig = sig(HmacSha256Hex::BARE, hatif_call_body);
    assert_eq!(
        respond(
            &hatif_call,
            post("/", &[("x-voxa-signature", &hatif_sig)], hatif_call_body)
        )
        .await,
        unavailable,
        "hatif-call"
    );
    let whatsapp_sig = sig(HmacSha256Hex::BARE, whatsapp_body);
    assert_eq!(
        respond(
            &hatif_whatsapp,
            post("/", &[("x-voxa-signature", &whatsapp_sig)], whatsapp_body)
        )
        .await,
        unavailable,
        "hatif-whatsapp"
    );
    let voki_sig = sig(HmacSha256Hex::SHA256_PREFIXED, voki_body);
    assert_eq!(
        respond(
            &voki,
            post(
                "/",
                &[("x-voki-signature", &voki_sig), ("x-voki-delivery", "d-1")],
                voki_body
            )
        )
        .await,
        unavailable,
        "voki"
    );
    let resend = respond(
        &voiceinfra,
        post("/", &[("x-voiceinfra-signature", &first)], VOICEINFRA_SEED),
    )
    .await;
    assert_eq!(
        resend, unavailable,
        "voiceinfra: even a duplicate cannot be confirmed"
    );
    assert_eq!(
        respond(&postcall, post("/?token=tok", &[], POSTCALL_SEED)).await,
        unavailable,
        "postcall: the spool is down too"
    );
    Ok(())
}

/// A secret added (or removed) while a function runs takes effect without a restart: a
/// delivery signed with a secret the function does not hold yet makes it read the secret
/// again (at most every mismatch interval), and the periodic read drops a removed secret.
#[tokio::test]
async fn secrets_changed_while_running_take_effect() -> anyhow::Result<()> {
    use callvault_webhook::secrets::Reason;
    use std::time::Duration;

    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let manager = aws_sdk_secretsmanager::Client::new(&emulator.sdk_config().await);
    manager
        .create_secret()
        .name("stack/voiceinfra")
        .secret_string(r#"{"secrets":{"old":"old-secret"}}"#)
        .send()
        .await?;
    let secrets = Arc::new(
        Secrets::from_secrets_manager(
            manager.clone(),
            "stack/voiceinfra",
            "VOICEINFRA_WEBHOOK_SECRETS",
        )
        .await?
        .with_intervals(Duration::from_millis(300), Duration::from_millis(300)),
    );
    let webhook = Webhook::new(
        VoiceInfra(Signing::Required(secrets.clone())),
        store,
        1 << 20,
    );
    let send = |secret: &str| {
        let signature = HmacSha256Hex::BARE.sign(&Secret::new(secret), VOICEINFRA_SEED);
        post(
            "/",
            &[("x-voiceinfra-signature", &signature)],
            VOICEINFRA_SEED,
        )
    };
    assert_eq!(respond(&webhook, send("old-secret")).await.0, 200);

    manager
        .put_secret_value()
        .secret_id("stack/voiceinfra")
        .secret_string(r#"{"secrets":{"new":"new-secret"}}"#)
        .send()
        .await?;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        respond(&webhook, send("new-secret")).await.0,
        200,
        "a new secret works on its first delivery"
    );
    assert!(
        !secrets.refresh(Reason::Mismatch).await,
        "nothing changed since"
    );
    let (status, body) = respond(&webhook, send("old-secret")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("signature does not match")),
        "the removed one does not"
    );
    Ok(())
}

/// A spooled object is applied only as the webhook whose spool prefix holds it (in AWS the
/// only role that may write there): one under another webhook's prefix (the voki function
/// spooling a hatif-call delivery), or naming a webhook of another provider, is kept as a
/// rejected delivery with the reason, filed under the prefix's webhook, and no record is
/// written; a well-filed one beside them is applied.
#[tokio::test]
async fn a_spooled_object_whose_prefix_and_webhook_disagree_is_kept_not_applied(
) -> anyhow::Result<()> {
    use callvault_store::{spool_prefix, SpooledDelivery};
    use callvault_webhook::adapters::HatifCall;

    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let webhook = Webhook::new(
        HatifCall(Signing::Required(fixed(r#"{"secrets":{"k":"s"}}"#)?)),
        store.clone(),
        1 << 20,
    );
    // Three deliveries spooled by hatif-call while the table is gone.
    ddb(&emulator)
        .await
        .delete_table()
        .table_name("calls")
        .send()
        .await?;
    for id in ["well-filed", "under-voki", "names-voki"] {
        let body = serde_json::to_vec(&serde_json::json!({"callId": id, "channelId": "c1"}))?;
        let signature = HmacSha256Hex::BARE.sign(&Secret::new("s"), &body);
        let reply = respond(
            &webhook,
            post("/", &[("x-voxa-signature", &signature)], &body),
        )
        .await;
        assert_eq!(
            reply,
            (200, serde_json::json!({"status": "spooled"})),
            "{id}"
        );
    }
    schema::create_table(&ddb(&emulator).await, "calls").await?;

    let write = |key: String, spooled: &SpooledDelivery| {
        let (s3, bucket) = (store.s3().clone(), store.bucket().to_owned());
        let json = serde_json::to_vec(spooled);
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(json?.into())
                .send()
                .await?;
            anyhow::Ok(())
        }
    };
    for key in store.spooled_keys().await? {
        assert!(key.starts_with(&spool_prefix("hatif-call")), "{key}");
        let mut spooled = store.read_spooled(&key).await?.expect("spooled");
        let body: serde_json::Value = serde_json::from_slice(spooled.verified()?.body())?;
        match body["callId"].as_str() {
            // Written by another webhook's function, under its own prefix.
            Some("under-voki") => {
                let rest = key
                    .strip_prefix(&spool_prefix("hatif-call"))
                    .expect("prefix");
                write(format!("{}{rest}", spool_prefix("voki")), &spooled).await?;
                store.remove_spooled(&key).await?;
            }
            // Under hatif-call's prefix, naming another provider.
            Some("names-voki") => {
                spooled.provider = Provider::Voki;
                write(key, &spooled).await?;
            }
            _ => {}
        }
    }

    assert_eq!(
        replay_spool(&store).await?,
        ReplayReport {
            stored: 1,
            kept: 2,
            ..ReplayReport::default()
        }
    );
    assert!(
        store.spooled_keys().await?.is_empty(),
        "each is held elsewhere"
    );
    for (id, applied) in [
        ("well-filed", true),
        ("under-voki", false),
        ("names-voki", false),
    ] {
        let records = store
            .records(&schema::call_pk(Provider::Hatif, id), schema::CALL_SK)
            .await?;
        assert_eq!(records.len(), usize::from(applied), "{id}");
    }
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let kept = |provider| {
        let store = store.clone();
        let day = day.clone();
        async move {
            let kept = store.rejected(provider, &day).await?;
            anyhow::Ok(
                kept.into_iter()
                    .map(|k| (k.webhook, k.reason))
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(
        kept(Provider::Voki).await?,
        [(
            "voki".to_owned(),
            "not applied: spooled under the prefix of webhook `voki` but names webhook `hatif-call` of provider hatif".to_owned()
        )]
    );
    assert_eq!(
        kept(Provider::Hatif).await?,
        [(
            "hatif-call".to_owned(),
            "not applied: spooled under the prefix of webhook `hatif-call` but names webhook `hatif-call` of provider voki".to_owned()
        )]
    );
    Ok(())
}

/// Reading the secret again for a delivery that matches no secret held happens inside the
/// delivery's time budget: with Secrets Manager stalled (its process stopped: connections
/// accepted, never answered), the delivery is answered within `MISMATCH_WAIT` (401: the
/// secret it was signed with is not held yet), not after the client's own timeout. The read
/// goes on, and once Secrets Manager answers, the new secret is accepted.
#[tokio::test]
async fn a_stalled_secrets_read_is_bounded_by_the_budget() -> anyhow::Result<()> {
    use callvault_webhook::secrets::{self, MISMATCH_WAIT};
    use std::time::{Duration, Instant};

    let emulator = Emulator::start()?;
    let secrets_manager = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let manager = secrets::client(&secrets_manager.sdk_config().await);
    manager
        .create_secret()
        .name("stack/voiceinfra")
        .secret_string(r#"{"secrets":{"old":"old-secret"}}"#)
        .send()
        .await?;
    let mismatch_interval = Duration::from_millis(300);
    let webhook = Webhook::new(
        VoiceInfra(Signing::Required(Arc::new(
            Secrets::from_secrets_manager(
                manager.clone(),
                "stack/voiceinfra",
                "VOICEINFRA_WEBHOOK_SECRETS",
            )
            .await?
            .with_intervals(mismatch_interval, Duration::from_secs(3600)),
        ))),
        store,
        1 << 20,
    );
    let send = |secret: &str| {
        let signature = HmacSha256Hex::BARE.sign(&Secret::new(secret), VOICEINFRA_SEED);
        post(
            "/",
            &[("x-voiceinfra-signature", &signature)],
            VOICEINFRA_SEED,
        )
    };
    manager
        .put_secret_value()
        .secret_id("stack/voiceinfra")
        .secret_string(r#"{"secrets":{"old":"old-secret","new":"new-secret"}}"#)
        .send()
        .await?;
    tokio::time::sleep(mismatch_interval).await;

    secrets_manager.pause()?;
    let started = Instant::now();
    let (status, body) = respond(&webhook, send("new-secret")).await;
    let elapsed = started.elapsed();
    secrets_manager.resume()?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("signature does not match"))
    );
    assert!(
        elapsed >= MISMATCH_WAIT && elapsed < MISMATCH_WAIT + Duration::from_millis(500),
        "answered after {elapsed:?}"
    );

    // The read under way completes once Secrets Manager answers.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = respond(&webhook, send("new-secret")).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new secret is never accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
