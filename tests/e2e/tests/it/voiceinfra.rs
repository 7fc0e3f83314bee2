//! VoiceInfra end to end: signed requests to the real function under cargo lambda watch,
//! results read back from the emulator's table.

use callvault_e2e::{sign, voiceinfra_signature, Stack};
use callvault_records::{CallStatus, Provider};
use callvault_verify::HmacSha256Hex;
use serde_json::json;

const FUNCTION: &str = "voiceinfra";
const HEADER: &str = "x-voiceinfra-signature";
const SECRETS: &str = "VOICEINFRA_WEBHOOK_SECRETS";
const SEED: &[u8] = callvault_catalog::samples::fixtures::VOICEINFRA;

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![voiceinfra_signature(body).expect("dev secret configured")]
}

/// A copy of the seed payload with its own call id, so tests do not share records.
fn payload(call_id: &str) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(SEED).expect("seed is JSON");
    value["call_id"] = json!(call_id);
    serde_json::to_vec(&value).expect("serializes")
}

#[tokio::test]
async fn seed_payload_is_stored_once_and_reads_back() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let (status, body) = stack.post(FUNCTION, &signed(SEED), SEED.to_vec()).await?;
    assert_eq!((status, body), (200, json!({"status": "stored"})));

    let (record, stored) = stack
        .call(Provider::VoiceInfra, "call_01HXYZ123456")
        .await?
        .expect("record stored");
    assert_eq!(record.status, CallStatus::Completed);
    assert_eq!(record.duration_seconds, Some(147));
    assert_eq!(
        record.from.and_then(|p| p.e164).as_deref(),
        Some("+14155550100")
    );
    assert_eq!(
        record.to.and_then(|p| p.e164).as_deref(),
        Some("+18005551234")
    );
    assert_eq!(
        record.recording.map(|r| r.source_url).as_deref(),
        Some("https://recordings.voiceinfra.ai/call_01HXYZ123456.mp3")
    );
    assert!(
        record.test_delivery,
        "the documented sample is flagged as a test delivery"
    );
    assert_eq!(stored.authentication, "signature:dev-1");
    // VoiceInfra sends no delivery id: the body's digest is the delivery.
    assert!(stored.history.delivery_ids.is_empty());
    assert_eq!(stored.history.body_sha256s.len(), 1);

    // The provider retries: 200 again, nothing changes.
    let (status, body) = stack.post(FUNCTION, &signed(SEED), SEED.to_vec()).await?;
    assert_eq!((status, body), (200, json!({"status": "duplicate"})));
    let (_, again) = stack
        .call(Provider::VoiceInfra, "call_01HXYZ123456")
        .await?
        .expect("still there");
    assert_eq!(again, stored);
    Ok(())
}

#[tokio::test]
async fn concurrent_duplicates_produce_one_record_and_one_event() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = payload("e2e-concurrent");
    let sends = (0..10).map(|_| {
        let (stack, body) = (stack.clone(), body.clone());
        tokio::spawn(async move { stack.post(FUNCTION, &signed(&body), body.clone()).await })
    });
    let mut statuses = Vec::new();
    for send in sends {
        let (status, body) = send.await??;
        statuses.push((
            status,
            body["status"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    assert!(statuses.iter().all(|(s, _)| *s == 200), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|(_, s)| s == "stored").count(),
        1,
        "{statuses:?}"
    );
    let (_, stored) = stack
        .call(Provider::VoiceInfra, "e2e-concurrent")
        .await?
        .expect("stored");
    assert_eq!(
        (stored.history.count, stored.history.body_sha256s.len()),
        (1, 1)
    );
    assert_eq!(
        stack
            .store
            .events("CALL#voiceinfra#e2e-concurrent", "CALL")
            .await?
            .len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn signature_failures_name_the_check_and_store_nothing() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = payload("e2e-unauthenticated");
    let good = sign(SECRETS, None, HmacSha256Hex::BARE, &body)?;
    let reserialized =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body)?)?;
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        ("missing", vec![], "missing signature header"),
        (
            "empty",
            vec![(HEADER, String::new())],
            "missing signature header",
        ),
        (
            "truncated",
            vec![(HEADER, good[..60].to_owned())],
            "signature must be 64 hex characters, got 60",
        ),
        (
            "not hex",
            vec![(HEADER, format!("{}zz", &good[..62]))],
            "signature is not hexadecimal",
        ),
        (
            "prefixed",
            vec![(HEADER, format!("sha256={good}"))],
            "signature must be 64 hex characters, got 71",
        ),
        (
            "other provider's secret",
            vec![(
                HEADER,
                sign("VOKI_WEBHOOK_SECRETS", None, HmacSha256Hex::BARE, &body)?,
            )],
            "signature does not match",
        ),
        (
            "re-serialized body",
            vec![(
                HEADER,
                sign(SECRETS, None, HmacSha256Hex::BARE, &reserialized)?,
            )],
            "signature does not match",
        ),
    ];
    for (name, headers, message) in cases {
        let (status, response) = stack.post(FUNCTION, &headers, body.clone()).await?;
        assert_eq!(
            (status, response),
            (401, json!({"error": message})),
            "case {name}"
        );
    }
    let upper = vec![(HEADER, good.to_uppercase())];
    assert_eq!(
        stack.post(FUNCTION, &upper, body.clone()).await?.0,
        200,
        "upper-case hex is accepted"
    );
    Ok(())
}
