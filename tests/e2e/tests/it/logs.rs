//! The functions' logs: one structured event per delivery, never a secret or body content.

use std::time::Duration;

use callvault_e2e::{sha256_hex, voiceinfra_signature, Stack};
use serde_json::json;

const SENTINEL: &str = "BODY-SENTINEL-7f3a9c";

#[tokio::test]
async fn logs_carry_one_event_per_delivery_and_no_secrets_or_bodies() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let log_path = std::env::var("CALLVAULT_FUNCTION_LOG")?;
    let call_id = "e2e-logs-call";
    let body = serde_json::to_vec(&json!({"call_id": call_id, "summary": SENTINEL}))?;
    // The delivery's event names it by its body's digest (VoiceInfra sends no delivery id).
    let digest = sha256_hex(&body);
    let (header, signature) = voiceinfra_signature(&body)?;

    let (stored, _) = stack
        .post("voiceinfra", &[(header, signature.clone())], body.clone())
        .await?;
    let (unauthorized, _) = stack
        .post("voiceinfra", &[(header, "0".repeat(64))], body.clone())
        .await?;
    let bad = format!("{{\"call_id\": \"{SENTINEL}\", \"duration_seconds\": \"{SENTINEL}\"}}")
        .into_bytes();
    let (kept, reply) = stack
        .post("voiceinfra", &[voiceinfra_signature(&bad)?], bad)
        .await?;
    assert_eq!((stored, unauthorized, kept), (200, 401, 200));
    assert_eq!(reply["status"], json!("kept"));

    // Wait for the stored delivery's event to reach the log.
    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(&log_path)?;
        if log.contains(&format!("\"body_sha256\":\"{digest}\"")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|e| e["body_sha256"] == json!(digest))
        .expect("a JSON event for the stored delivery");
    assert_eq!(event["provider"], json!("voiceinfra"));
    assert_eq!(event["outcome"], json!("stored"));
    assert_eq!(event["status"], json!(200));
    assert!(event["latency_ms"].is_f64());

    let secrets = std::env::var("VOICEINFRA_WEBHOOK_SECRETS")?;
    let secret = serde_json::from_str::<serde_json::Value>(&secrets)?["secrets"]["dev-1"]
        .as_str()
        .map(str::to_owned)
        .expect("dev secret");
    assert!(!log.contains(&secret), "a secret reached the log");
    assert!(!log.contains(SENTINEL), "body content reached the log");
    assert!(!log.contains(&signature), "a signature reached the log");
    Ok(())
}
