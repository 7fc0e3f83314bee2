//! What an operator runs: `callvault status` (is the stack healthy?) and `callvault logs`
//! (the webhooks' delivery lines, failures included), each against an emulator of its own so
//! what it reports depends on this test alone.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use callvault_e2e::voiceinfra_signature;
use callvault_testkit::lambda::{function_binary, function_url_event, LambdaHarness};
use callvault_testkit::Emulator;
use callvault_testkit::SourceServer;
use serde_json::{json, Value};

/// `callvault --stack local` on the emulator `emulator`.
fn callvault(emulator: &Emulator) -> Command {
    let mut command = Command::new(function_binary("callvault"));
    command
        .args(["--stack", "local"])
        .env("MOTO_PORT", emulator.port().to_string())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("CALLVAULT_STACK");
    command
}

/// The table, bucket and secrets `make dev` makes, in `emulator`.
fn provision(emulator: &Emulator) -> anyhow::Result<()> {
    let out = Command::new(function_binary("callvault-devstack"))
        .arg("provision")
        .env("AWS_ENDPOINT_URL", emulator.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "provision: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// `status --output json`: its exit code and report.
fn status(emulator: &Emulator) -> anyhow::Result<(Option<i32>, Value)> {
    let out = callvault(emulator)
        .args(["status", "--output", "json"])
        .output()?;
    let report = serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "status printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((out.status.code(), report))
}

/// A function under the Lambda harness, on `emulator` (`dynamodb`: DynamoDB's endpoint, which
/// may be one that refuses connections).
async fn function(
    name: &str,
    emulator: &Emulator,
    dynamodb: &str,
) -> anyhow::Result<LambdaHarness> {
    let mut env = vec![
        ("TABLE_NAME", "callvault".to_owned()),
        ("BUCKET_NAME", "callvault-archive".to_owned()),
        ("AWS_ENDPOINT_URL", emulator.endpoint().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("COPIER_ALLOW_LOOPBACK", "true".to_owned()),
    ];
    for var in ["VOICEINFRA_WEBHOOK_SECRETS", "COPIER_ALLOWED_HOSTS"] {
        env.push((var, std::env::var(var)?));
    }
    let harness = LambdaHarness::start(&function_binary(name), name, &env).await?;
    harness.ready(Duration::from_secs(30)).await?;
    Ok(harness)
}

/// Sends a signed VoiceInfra call to `harness`: its `status` answer.
async fn send_call(harness: &LambdaHarness, body: &Value) -> anyhow::Result<Value> {
    let body = serde_json::to_vec(body)?;
    let (header, signature) = voiceinfra_signature(&body)?;
    let event = function_url_event("POST", "/", &[(header, signature.as_str())], &body);
    let reply = harness
        .invoke(&event, Duration::from_secs(10))
        .await?
        .reply()?;
    Ok(reply.json()?["status"].clone())
}

#[tokio::test]
async fn status_is_healthy_until_a_secret_is_unset_a_delivery_spooled_and_a_file_failed(
) -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    provision(&emulator)?;
    let (code, report) = status(&emulator)?;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["healthy"], json!(true), "{report:#}");
    assert_eq!(report["stack"], "local");
    assert_eq!(report["secrets"].as_array().map(Vec::len), Some(4));

    // A file the copier gives up on: its link answers 404.
    let source = SourceServer::start().await?;
    let webhook = function("voiceinfra", &emulator, emulator.endpoint()).await?;
    let call = json!({"call_id": "status-failed-file", "start_time": "2026-11-20T09:00:00Z",
        "recording_url": source.url("/missing.mp3"), "call_outcome": "answered"});
    assert_eq!(send_call(&webhook, &call).await?, "stored");
    let copier = function("recording-copier", &emulator, emulator.endpoint()).await?;
    let sweep = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    copier.invoke(&sweep, Duration::from_secs(60)).await?;

    // A delivery spooled: DynamoDB refuses connections.
    let closed = format!("http://127.0.0.1:{}", callvault_testkit::free_port()?);
    let spooling = function("voiceinfra", &emulator, &closed).await?;
    let spooled = json!({"call_id": "status-spooled"});
    assert_eq!(send_call(&spooling, &spooled).await?, "spooled");

    // Voki's secret emptied.
    aws_sdk_secretsmanager::Client::new(&emulator.sdk_config().await)
        .put_secret_value()
        .secret_id("callvault/voki")
        .secret_string("{}")
        .send()
        .await?;

    let (code, report) = status(&emulator)?;
    assert_eq!(code, Some(3), "{report:#}");
    assert_eq!(report["healthy"], json!(false));
    assert_eq!(report["spool"]["depth"], json!(1));
    assert_eq!(report["files"]["failed"], json!(1));
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    for (needle, fix) in [
        ("voki: no secret set", "callvault secrets add voki"),
        ("in the spool", "callvault replay spool"),
        ("gave up on", "callvault recording retry --failed"),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.contains(needle) && p.contains(fix)),
            "{needle} in {problems:#?}"
        );
    }

    // The table view says so too, and exits the same way.
    let out = callvault(&emulator).arg("status").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3));
    assert!(text.contains("UNHEALTHY"), "{text}");
    Ok(())
}

/// One delivery line as a webhook logs it.
fn line(provider: &str, outcome: &str, status: u16, request_id: &str) -> String {
    json!({"timestamp": "2026-12-03T10:00:00Z", "level": "WARN", "provider": provider,
        "delivery_id": "", "body_sha256": "", "outcome": outcome, "status": status,
        "latency_ms": 2.5, "reason": "signature mismatch", "message": "delivery",
        "span": {"requestId": request_id, "name": "Lambda runtime invoke"}})
    .to_string()
}

/// Writes `lines` to the log group of `function` as the local stack names it.
async fn seed(
    logs: &aws_sdk_cloudwatchlogs::Client,
    function: &str,
    lines: &[String],
) -> anyhow::Result<()> {
    let group = format!("/aws/lambda/callvault/{function}");
    if logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .is_ok()
    {
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name("s")
            .send()
            .await?;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let events = lines.iter().map(|l| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(now)
            .message(l)
            .build()
    });
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("s")
        .set_log_events(Some(events.collect::<Result<_, _>>()?))
        .send()
        .await?;
    Ok(())
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn logs_lists_delivery_lines_by_provider_and_outcome_and_follows_new_ones(
) -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emulator.sdk_config().await);
    seed(
        &logs,
        "voki",
        &[
            line("voki", "unauthorized", 401, "r-voki-401"),
            line("voki", "stored", 200, "r-voki-200"),
            json!({"message": "spool sweep", "span": {"requestId": "r-other"}}).to_string(),
        ],
    )
    .await?;
    seed(
        &logs,
        "hatif-call",
        &[line("hatif", "unauthorized", 401, "r-hatif-401")],
    )
    .await?;

    let out = callvault(&emulator)
        .args(["logs", "--provider", "voki", "--outcome", "unauthorized"])
        .args(["--since", "1h", "--output", "jsonl"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = rows(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["request_id"], "r-voki-401");
    assert_eq!(found[0]["status"], 401);
    assert_eq!(found[0]["webhook"], "voki");

    let out = callvault(&emulator)
        .args(["logs", "--outcome", "unauthorized", "--output", "jsonl"])
        .output()?;
    let ids: Vec<Value> = rows(&out).iter().map(|r| r["request_id"].clone()).collect();
    assert_eq!(ids.len(), 2, "{ids:#?}");
    assert!(ids.contains(&json!("r-hatif-401")) && ids.contains(&json!("r-voki-401")));

    // --follow prints a line logged after it started.
    let mut follow = callvault(&emulator)
        .args([
            "logs",
            "--provider",
            "voki",
            "--follow",
            "--output",
            "jsonl",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = follow.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    seed(
        &logs,
        "voki",
        &[line("voki", "too_large", 413, "r-voki-413")],
    )
    .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if l.contains("r-voki-413") {
                seen.push(l);
                break;
            }
            seen.push(l);
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        seen.iter().any(|l| l.contains("r-voki-413")),
        "--follow did not print the new line: {seen:#?}"
    );
    Ok(())
}
