//! VoiceInfra end to end: signed requests to the real function under cargo lambda watch,
//! results read back from the emulator's table.

use callvault_e2e::{sign, Stack};
use callvault_records::{CallStatus, Provider};
use callvault_verify::HmacSha256Hex;
use serde_json::json;

const FUNCTION: &str = "voiceinfra";
const HEADER: &str = "x-voiceinfra-signature";
const SECRETS: &str = "VOICEINFRA_WEBHOOK_SECRETS";
const SEED: &[u8] = include_bytes!("../../fixtures/voiceinfra.json");

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(HEADER, sign(SECRETS, HmacSha256Hex::BARE, body).expect("dev secret configured"))]
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

    let stored = stack
        .store
        .get_call(Provider::VoiceInfra, "call_01HXYZ123456")
        .await?
        .expect("record stored");
    let record = stored.record;
    assert_eq!(record.status, CallStatus::Completed);
    assert_eq!(record.duration_seconds, Some(147));
    assert_eq!(record.from.and_then(|p| p.e164).as_deref(), Some("+14155550100"));
    assert_eq!(
        record.recording.map(|r| r.source_url).as_deref(),
        Some("https://recordings.voiceinfra.ai/call_01HXYZ123456.mp3")
    );
    assert_eq!(stored.authentication, "signature:dev-1");
    assert_eq!(stored.delivery_ids, ["call_01HXYZ123456"]);

    // The provider retries: 200 again, nothing changes.
    let (status, body) = stack.post(FUNCTION, &signed(SEED), SEED.to_vec()).await?;
    assert_eq!((status, body), (200, json!({"status": "duplicate"})));
    let again = stack.store.get_call(Provider::VoiceInfra, "call_01HXYZ123456").await?.expect("still there");
    assert_eq!(again.received_at, stored.received_at);
    Ok(())
}

#[tokio::test]
async fn concurrent_duplicates_produce_one_record() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = payload("e2e-concurrent");
    let sends = (0..10).map(|_| {
        let (stack, body) = (stack.clone(), body.clone());
        tokio::spawn(async move { stack.post(FUNCTION, &signed(&body), body.clone()).await })
    });
    let mut statuses = Vec::new();
    for send in sends {
        let (status, body) = send.await??;
        statuses.push((status, body["status"].as_str().unwrap_or_default().to_owned()));
    }
    assert!(statuses.iter().all(|(s, _)| *s == 200), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|(_, s)| s == "stored").count(), 1, "{statuses:?}");
    assert!(stack.store.get_call(Provider::VoiceInfra, "e2e-concurrent").await?.is_some());
    Ok(())
}

#[tokio::test]
async fn unauthenticated_requests_get_401_and_store_nothing() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = payload("e2e-unauthenticated");
    let good = sign(SECRETS, HmacSha256Hex::BARE, &body)?;
    let cases: Vec<(&str, Vec<(&str, String)>, &str)> = vec![
        ("missing", vec![], "missing signature header"),
        ("empty", vec![(HEADER, String::new())], "missing signature header"),
        ("truncated", vec![(HEADER, good[..60].to_owned())], "signature must be 64 hex characters, got 60"),
        ("not hex", vec![(HEADER, format!("{}zz", &good[..62]))], "signature is not hexadecimal"),
        ("prefixed", vec![(HEADER, format!("sha256={good}"))], "signature must be 64 hex characters, got 71"),
        (
            "other secret",
            vec![(HEADER, HmacSha256Hex::BARE.sign(&callvault_verify::Secret::new("guess"), &body))],
            "signature does not match",
        ),
        (
            "re-serialized body",
            vec![(HEADER, sign(SECRETS, HmacSha256Hex::BARE, &serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body)?)?)?)],
            "signature does not match",
        ),
    ];
    for (name, headers, message) in cases {
        let (status, response) = stack.post(FUNCTION, &headers, body.clone()).await?;
        assert_eq!((status, response), (401, json!({"error": message})), "case {name}");
    }
    assert!(stack.store.get_call(Provider::VoiceInfra, "e2e-unauthenticated").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn malformed_but_signed_bodies_get_400_and_are_kept_raw() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let cases: [(&[u8], &str); 3] = [
        (b"this is not json", "invalid payload: not valid JSON at line 1 column 2"),
        (br#"{"from_number":"+14155550100"}"#, "invalid payload: missing field `call_id`"),
        (br#"{"call_id":"e2e-bad","duration_seconds":"long"}"#, "invalid payload: wrong type or value at line 1 column 46"),
    ];
    for (body, reason) in cases {
        let (status, response) = stack.post(FUNCTION, &signed(body), body.to_vec()).await?;
        assert_eq!(status, 400, "{reason}");
        assert_eq!(response["error"], json!(format!("{reason} (the delivery was kept for inspection)")));
        let digest = sha256_hex(body);
        let item = stack
            .ddb
            .get_item()
            .table_name(stack.store.table())
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("REJECTED#voiceinfra#{digest}")))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("REJECTED".into()))
            .send()
            .await?
            .item
            .expect("rejected delivery kept");
        assert_eq!(item["body"].as_b().ok().map(|b| b.as_ref()), Some(body));
        assert_eq!(item["reason"].as_s().ok().map(String::as_str), Some(reason));
        assert!(item["headers"].as_m().is_ok_and(|h| h.contains_key(HEADER)));
    }
    Ok(())
}

fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

#[tokio::test]
async fn wrong_method_and_oversized_bodies() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let response = stack.request(method.clone(), FUNCTION).send().await?;
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST");
        assert_eq!(response.json::<serde_json::Value>().await?, json!({"error": "method not allowed: send POST"}));
    }
    let mut big: serde_json::Value = serde_json::from_slice(&payload("e2e-big"))?;
    big["summary"] = json!("x".repeat(300 * 1024));
    let big = serde_json::to_vec(&big)?;
    let (status, response) = stack.post(FUNCTION, &signed(&big), big.clone()).await?;
    assert_eq!((status, response), (413, json!({"error": "body larger than 262144 bytes"})));
    assert!(stack.store.get_call(Provider::VoiceInfra, "e2e-big").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn functions_not_built_yet_answer_501() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    for function in ["hatif-call", "hatif-whatsapp", "voki", "postcall"] {
        let (status, response) = stack.post(function, &[], b"{}".to_vec()).await?;
        assert_eq!(status, 501, "{function}");
        assert_eq!(response, json!({"error": "this provider's webhook is not available yet"}));
    }
    Ok(())
}
