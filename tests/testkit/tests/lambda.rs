//! The Lambda Runtime API harness, with the real `voiceinfra` binary (built by
//! `cargo build --bins --workspace`) against the emulator, and with a tiny scripted runtime for
//! the paths a healthy function never takes (errors, init errors, exits); and the emulator's
//! fault controls.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use callvault_testkit::lambda::{function_binary, function_url_event, LambdaHarness};
use callvault_testkit::{repo_root, Emulator};
use callvault_verify::{HmacSha256Hex, Secret};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SEED: &[u8] = include_bytes!("../../fixtures/voiceinfra.json");
const DEADLINE: Duration = Duration::from_secs(30);

/// `voiceinfra` against `emulator`, initialized.
async fn voiceinfra(emulator: &Emulator) -> anyhow::Result<LambdaHarness> {
    emulator.store("callvault", "callvault-archive").await?;
    let env = [
        ("TABLE_NAME", "callvault".to_owned()),
        ("BUCKET_NAME", "callvault-archive".to_owned()),
        ("AWS_ENDPOINT_URL", emulator.endpoint().to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        (
            "VOICEINFRA_WEBHOOK_SECRETS",
            r#"{"secrets":{"k":"s"}}"#.to_owned(),
        ),
    ];
    let harness = LambdaHarness::start(&function_binary("voiceinfra"), "voiceinfra", &env).await?;
    harness.ready(Duration::from_secs(60)).await?;
    Ok(harness)
}

#[tokio::test]
async fn voiceinfra_binary_answers_function_url_events() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let harness = voiceinfra(&emulator).await?;
    let init = harness.ready(Duration::from_secs(1)).await?;
    assert!(
        init > Duration::ZERO,
        "ready() again gives the same init time"
    );

    let get = harness
        .invoke(&function_url_event("GET", "/?x=1", &[], b""), DEADLINE)
        .await?;
    assert_eq!(get.reply()?.status, 405, "{:?}", get.outcome);

    let unsigned = function_url_event("POST", "/", &[("content-type", "application/json")], SEED);
    let reply = harness.invoke(&unsigned, DEADLINE).await?.reply()?;
    assert_eq!(reply.status, 401, "{}", reply.text());

    let signature = HmacSha256Hex::BARE.sign(&Secret::new("s"), SEED);
    let signed = function_url_event(
        "POST",
        "/",
        &[
            ("Content-Type", "application/json"),
            // Mixed case: the event carries header names lowercased, as function URLs do.
            ("X-VoiceInfra-Signature", &signature),
        ],
        SEED,
    );
    let stored = harness.invoke(&signed, DEADLINE).await?;
    let reply = stored.reply()?;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()?.get("status").is_some(), "{}", reply.text());
    assert!(stored.elapsed > Duration::ZERO && stored.elapsed < DEADLINE);
    assert_ne!(stored.request_id, get.request_id);

    assert!(harness.peak_rss_kib().is_some_and(|kib| kib > 0));
    let log = harness.log();
    assert!(
        log.contains("delivery"),
        "the function logs each delivery to {}: {log}",
        harness.log_path().display()
    );
    assert!(!harness.log_path().starts_with(repo_root()));
    Ok(())
}

#[tokio::test]
async fn a_missing_binary_fails_with_the_build_command() {
    let missing = function_binary("no-such-function");
    let error = LambdaHarness::start(&missing, "no-such-function", &[])
        .await
        .expect_err("no binary to run");
    assert!(
        error.to_string().contains("cargo build --bins --workspace"),
        "{error}"
    );
}

#[tokio::test]
async fn a_function_that_cannot_start_is_reported_with_its_log() -> anyhow::Result<()> {
    let binary = function_binary("voiceinfra");
    anyhow::ensure!(
        binary.is_file(),
        "{} not found: run `cargo build --bins --workspace` first",
        binary.display()
    );
    // No TABLE_NAME: the function fails its configuration and exits before polling.
    let harness = LambdaHarness::start(&binary, "voiceinfra", &[]).await?;
    let error = harness
        .ready(Duration::from_secs(30))
        .await
        .expect_err("exits at start");
    let message = format!("{error:#}");
    assert!(message.contains("exited"), "{message}");
    assert!(message.contains("TABLE_NAME"), "the log tail: {message}");
    Ok(())
}

/// A Runtime API client in a few lines of Python (the repository's `.venv`), driven by its
/// events: `{"fail": true}` posts an error, `{"exit": n}` exits, `{"sleep": s}` sleeps first;
/// otherwise it answers with what it received (event, headers, environment).
const SCRIPTED_RUNTIME: &str = r#"
import http.client, json, os, sys, time
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, "/2018-06-01/runtime" + path, body=data)
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
if os.environ.get("INIT_ERROR"):
    call("POST", "/init/error", {"errorType": "Runtime.InitError", "errorMessage": os.environ["INIT_ERROR"]})
    sys.exit(1)
print("scripted runtime up", flush=True)
while True:
    status, headers, body = call("GET", "/invocation/next")
    event = json.loads(body)
    rid = headers["lambda-runtime-aws-request-id"]
    if "exit" in event:
        sys.exit(event["exit"])
    time.sleep(event.get("sleep", 0))
    if event.get("fail"):
        call("POST", "/invocation/%s/error" % rid, {"errorType": "Boom", "errorMessage": "asked to fail"})
    else:
        call("POST", "/invocation/%s/response" % rid, {"event": event, "headers": headers, "env": dict(os.environ)})
"#;

/// The scripted runtime as an executable file in the temporary directory, named after its
/// content so every run shares one copy (written to a fresh name and renamed into place, so a
/// copy another test process is running is never rewritten).
fn scripted_runtime() -> anyhow::Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::PermissionsExt;
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = PATH.get() {
        return Ok(path.clone());
    }
    let python = repo_root().join(".venv/bin/python3");
    anyhow::ensure!(
        python.exists(),
        "{} not found: run `make venv`",
        python.display()
    );
    let script = format!("#!{}\n{SCRIPTED_RUNTIME}", python.display());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    script.hash(&mut hasher);
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "callvault-scripted-runtime-{:016x}.py",
        hasher.finish()
    ));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script.as_str()) {
        let fresh = dir.join(format!(
            "callvault-scripted-runtime-{}.py.tmp",
            std::process::id()
        ));
        std::fs::write(&fresh, &script)?;
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&fresh, &path)?;
    }
    Ok(PATH.get_or_init(|| path).clone())
}

async fn scripted(env: &[(&str, String)]) -> anyhow::Result<LambdaHarness> {
    let script = scripted_runtime()?;
    let mut attempt = 0;
    loop {
        match LambdaHarness::start(&script, "scripted", env).await {
            // Another test thread may have forked while the script was open for writing.
            Err(e) if format!("{e:#}").contains("os error 26") && attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[tokio::test]
async fn invocations_carry_deadline_and_context_and_a_cleared_environment() -> anyhow::Result<()> {
    let harness = scripted(&[("EXTRA", "1".to_owned())]).await?;
    harness.ready(Duration::from_secs(30)).await?;

    let before = epoch_ms();
    let invocation = harness
        .invoke(&json!({"n": 1}), Duration::from_secs(7))
        .await?;
    let answer = invocation.outcome.expect("answered");
    assert_eq!(answer["event"], json!({"n": 1}));
    let headers = &answer["headers"];
    assert_eq!(
        headers["lambda-runtime-aws-request-id"],
        json!(invocation.request_id)
    );
    let deadline: u64 = headers["lambda-runtime-deadline-ms"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert!(
        (before + 6_000..=epoch_ms() + 7_000).contains(&deadline),
        "deadline {deadline} is about 7 s after {before}"
    );
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        json!("arn:aws:lambda:us-east-1:000000000000:function:scripted")
    );
    assert!(headers["lambda-runtime-trace-id"]
        .as_str()
        .is_some_and(|t| t.starts_with("Root=1-")));

    let env = answer["env"].as_object().expect("environment");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], json!("scripted"));
    assert_eq!(env["EXTRA"], json!("1"));
    for name in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "PATH",
    ] {
        assert!(env.contains_key(name), "{name} is set: {env:?}");
    }
    assert!(
        env.keys().all(|k| !k.starts_with("CARGO") && k != "HOME"),
        "nothing of the test's own environment: {env:?}"
    );
    assert!(harness.log().contains("scripted runtime up"));
    Ok(())
}

#[tokio::test]
async fn errors_are_returned_and_concurrent_invokes_are_answered_in_turn() -> anyhow::Result<()> {
    let harness = scripted(&[]).await?;
    harness.ready(Duration::from_secs(30)).await?;

    let failed = harness.invoke(&json!({"fail": true}), DEADLINE).await?;
    assert_eq!(
        failed.outcome,
        Err(json!({"errorType": "Boom", "errorMessage": "asked to fail"}))
    );
    assert!(failed.reply().is_err());

    let events = [
        json!({"n": 1, "sleep": 0.2}),
        json!({"n": 2}),
        json!({"n": 3}),
    ];
    let (a, b, c) = tokio::join!(
        harness.invoke(&events[0], DEADLINE),
        harness.invoke(&events[1], DEADLINE),
        harness.invoke(&events[2], DEADLINE),
    );
    for (n, invocation) in [(1, a?), (2, b?), (3, c?)] {
        let answer = invocation.outcome.expect("answered");
        assert_eq!(answer["event"]["n"], json!(n));
    }
    let slow = harness.invoke(&json!({"sleep": 0.3}), DEADLINE).await?;
    assert!(
        slow.elapsed >= Duration::from_millis(300),
        "{:?}",
        slow.elapsed
    );
    Ok(())
}

#[tokio::test]
async fn init_errors_and_exits_are_reported() -> anyhow::Result<()> {
    let harness = scripted(&[("INIT_ERROR", "no configuration".to_owned())]).await?;
    let error = harness
        .ready(Duration::from_secs(30))
        .await
        .expect_err("init error");
    assert!(
        format!("{error:#}").contains("no configuration"),
        "{error:#}"
    );

    let harness = scripted(&[]).await?;
    harness.ready(Duration::from_secs(30)).await?;
    let error = harness
        .invoke(&json!({"exit": 3}), DEADLINE)
        .await
        .expect_err("the function exited");
    assert!(format!("{error:#}").contains("exit status: 3"), "{error:#}");
    Ok(())
}

#[tokio::test]
async fn an_answer_late_past_the_grace_is_an_error() -> anyhow::Result<()> {
    let harness = scripted(&[]).await?.with_grace(Duration::from_millis(300));
    harness.ready(Duration::from_secs(30)).await?;
    let started = std::time::Instant::now();
    let error = harness
        .invoke(&json!({"sleep": 5}), Duration::from_millis(200))
        .await
        .expect_err("too late");
    assert!(format!("{error:#}").contains("gave no answer"), "{error:#}");
    assert!(started.elapsed() < Duration::from_secs(3));
    Ok(())
}

/// Sends a GET to the emulator on `stream` and reads the status line, within `within`.
async fn status_line(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buffer = vec![0u8; 64];
    let read = tokio::time::timeout(within, stream.read(&mut buffer))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test]
async fn a_paused_emulator_accepts_connections_but_never_answers() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let port = emulator.port();
    assert_eq!(emulator.endpoint(), format!("http://127.0.0.1:{port}"));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    assert!(status_line(&mut stream, Duration::from_secs(10))
        .await
        .is_some_and(|l| l.starts_with("HTTP/1.")));

    emulator.pause()?;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    assert_eq!(status_line(&mut stream, Duration::from_secs(1)).await, None);

    emulator.resume()?;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let line = status_line(&mut stream, Duration::from_secs(10)).await;
    assert!(line.is_some_and(|l| l.starts_with("HTTP/1.")));
    Ok(())
}

#[tokio::test]
async fn a_stopped_emulator_refuses_connections_and_a_paused_one_is_cleaned_up(
) -> anyhow::Result<()> {
    let mut emulator = Emulator::start()?;
    let endpoint = emulator.endpoint().to_owned();
    emulator.stop()?;
    assert_eq!(emulator.endpoint(), endpoint);
    assert!(TcpStream::connect(("127.0.0.1", emulator.port()))
        .await
        .is_err());
    assert!(emulator.pause().is_err(), "nothing left to pause");

    let emulator = Emulator::start()?;
    let port = emulator.port();
    emulator.pause()?;
    drop(emulator);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "dropping a paused emulator ends it"
    );
    Ok(())
}

#[test]
fn a_harness_can_be_shared_across_tasks() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<LambdaHarness>();
    send_and_sync::<Emulator>();
}

#[test]
fn function_url_events_and_replies() {
    let body = [0u8, 159, 146, 150, b'{'];
    let event = function_url_event(
        "post",
        "/hook/a?x=1&y=%20",
        &[("X-Thing", "a"), ("x-thing", "b"), ("Cookie", "c=1; d=2")],
        &body,
    );
    assert_eq!(event["rawPath"], json!("/hook/a"));
    assert_eq!(event["rawQueryString"], json!("x=1&y=%20"));
    assert_eq!(event["requestContext"]["http"]["method"], json!("POST"));
    assert_eq!(event["requestContext"]["http"]["path"], json!("/hook/a"));
    assert_eq!(event["headers"]["x-thing"], json!("a,b"));
    assert_eq!(event["cookies"], json!(["c=1", "d=2"]));
    assert_eq!(event["isBase64Encoded"], json!(true));
    let empty = function_url_event("GET", "/", &[], b"");
    assert_eq!(empty.get("body"), None::<&Value>);

    let reply = callvault_testkit::lambda::HttpReply::from_payload(&json!({
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "body": "eyJhIjoxfQ==",
        "isBase64Encoded": true,
        "cookies": ["s=1"],
    }))
    .expect("decodes");
    assert_eq!(reply.status, 201);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.json().expect("JSON"), json!({"a": 1}));
    assert_eq!(reply.cookies, ["s=1"]);
}
