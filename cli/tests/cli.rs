//! The `callvault` binary against the local emulator: every command, every output format,
//! and the exit codes of bad input.

use std::process::Output;

use callvault_records::Provider;
use callvault_store::files::FileStatus;
use callvault_testkit::console::ConsoleProcess;
use callvault_testkit::dataset::{recording_content, Dataset, BUSY_CONVERSATION};
use callvault_testkit::{client_command, Emulator};

struct Cli<'a> {
    endpoint: &'a str,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        client_command(env!("CARGO_BIN_EXE_callvault"), self.endpoint)
            .args(["--table", "calls", "--bucket", "archive"])
            .args(args)
            .output()
            .expect("callvault runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }
}

fn ids_of(items: &[serde_json::Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|c| {
            (
                c["provider"].as_str().unwrap_or_default().to_owned(),
                c["provider_call_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn expected_ids(ids: Vec<(Provider, String)>) -> Vec<(String, String)> {
    ids.into_iter().map(|(p, id)| (p.to_string(), id)).collect()
}

#[tokio::test]
async fn every_command_and_format_against_the_emulator() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let data = Dataset::generate(11, 80);
    data.load(
        &store,
        &aws_sdk_s3::Client::new(&emulator.sdk_config().await),
    )
    .await?;
    let cli = Cli {
        endpoint: emulator.endpoint(),
    };

    // Table: header, one row per call, the cursor on stderr.
    let out = cli.run(&["calls", "list", "--limit", "5"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout)?;
    assert!(table.contains("CALL ID") && table.contains("RECORDING"));
    let newest = data.expected(|_| true);
    for (_, id) in &newest[..5] {
        assert!(table.contains(id.as_str()), "{id} listed");
    }
    assert!(!table.contains(newest[5].1.as_str()));
    let stderr = String::from_utf8(out.stderr)?;
    let cursor = stderr
        .lines()
        .find_map(|l| l.strip_prefix("more: --cursor "))
        .expect("cursor printed");

    // The cursor continues the list (JSON form).
    let doc: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "--json", "calls", "list", "--limit", "5", "--cursor", cursor,
    ]))?;
    let items = doc["items"].as_array().expect("items");
    assert_eq!(ids_of(items), expected_ids(newest[5..10].to_vec()));
    assert!(doc["cursor"].is_string());

    // Every page at once, one provider, JSON.
    let doc: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "--json",
        "calls",
        "list",
        "--provider",
        "voki",
        "--all",
        "--limit",
        "7",
    ]))?;
    assert_eq!(
        ids_of(doc["items"].as_array().expect("items")),
        expected_ids(data.expected(|c| c.record.provider == Provider::Voki))
    );
    assert!(doc["cursor"].is_null());

    // A phone number in another format, JSON lines.
    let number = data.numbers[0].clone();
    let typed = format!("(415) 555-{}", &number[8..]);
    let lines = cli.ok(&[
        "--jsonl",
        "calls",
        "list",
        "--phone",
        &typed,
        "--country",
        "US",
        "--all",
    ]);
    let items: Vec<serde_json::Value> = lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let expected = data
        .expected(|c| callvault_testkit::dataset::numbers_of(&c.record).contains(&number.as_str()));
    assert!(!expected.is_empty());
    assert_eq!(ids_of(&items), expected_ids(expected));

    // One call with its deliveries.
    let copied = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Copied))
        .expect("a copied recording");
    let (provider, id) = copied.id();
    let provider = provider.to_string();
    let detail: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "calls", "get", &provider, &id]))?;
    assert_eq!(detail["record"]["provider_call_id"], id.as_str());
    assert_eq!(detail["events"].as_array().map(Vec::len), Some(1));
    let text = cli.ok(&["calls", "get", &provider, &id]);
    assert!(text.contains(&id) && text.contains("Deliveries"));

    // Messages in order.
    let lines = cli.ok(&[
        "--jsonl",
        "messages",
        "list",
        "--conversation",
        BUSY_CONVERSATION,
        "--all",
        "--limit",
        "50",
    ]);
    let ids: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|m| m["message_id"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Result<_, _>>()?;
    assert_eq!(ids, data.expected_messages(BUSY_CONVERSATION));

    // Recording to a file and to stdout, and a presigned link.
    let dir = std::env::temp_dir().join(format!("callvault-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("recording.mp3");
    let file_arg = file.to_string_lossy().into_owned();
    cli.ok(&["recording", "download", &provider, &id, "-o", &file_arg]);
    assert_eq!(std::fs::read(&file)?, recording_content(&id));
    let out = cli.run(&["recording", "download", &provider, &id, "-o", "-"]);
    assert_eq!(out.stdout, recording_content(&id));
    std::fs::remove_dir_all(&dir)?;
    let link = cli.ok(&["recording", "url", &provider, &id, "--expires", "15m"]);
    assert!(link.starts_with(emulator.endpoint()) && link.contains("X-Amz-Expires=900"));

    // CSV with a header; times in another zone.
    let csv = cli.ok(&["--output", "csv", "calls", "list", "--limit", "3"]);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("TIME,PROVIDER,CALL ID"));
    let tokyo = cli.ok(&["--tz", "Asia/Tokyo", "calls", "list", "--limit", "1"]);
    assert!(tokyo.contains(" JST"), "{tokyo}");

    // A call's deliveries, and one delivery's exact bytes.
    let listed: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "deliveries", "list", &provider, &id]))?;
    let event = &listed["items"][0];
    let sha = event["body_sha256"].as_str().expect("sha").to_owned();
    let sent = serde_json::to_vec(&callvault_records::Normalized::Call(copied.record.clone()))?;
    let raw = cli.run(&["deliveries", "show", &provider, &id, &sha[..12], "--raw"]);
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(raw.stdout, sent, "the exact bytes that arrived");
    // The data set's deliveries carry no provider delivery id (as VoiceInfra's): the body's
    // digest names one.
    assert_eq!(event["delivery_id"], serde_json::json!(""));
    let shown = cli.ok(&["deliveries", "show", &provider, &id, &sha]);
    assert!(
        shown.contains("content-type") && shown.contains(&sha[..16]),
        "{shown}"
    );
    let kept: serde_json::Value = serde_json::from_str(&cli.ok(&["--json", "kept", "list"]))?;
    assert_eq!(kept["items"], serde_json::json!([]));
    // The old word still works, for scripts written with it.
    let kept: serde_json::Value = serde_json::from_str(&cli.ok(&["--json", "rejected", "list"]))?;
    assert_eq!(kept["items"], serde_json::json!([]));
    let help = cli.ok(&["--help"]);
    assert!(
        help.contains("kept") && !help.contains("rejected"),
        "kept, not rejected: {help}"
    );
    assert!(
        help.contains("3 a failed check"),
        "exit codes in --help: {help}"
    );

    // Every command that prints data honours --output: one value as FIELD,VALUE rows.
    let csv = cli.ok(&["--output", "csv", "calls", "get", &provider, &id]);
    assert!(csv.starts_with("FIELD,VALUE\n"), "{csv}");
    assert!(
        csv.contains(&format!("record.provider_call_id,{id}")),
        "{csv}"
    );
    let csv = cli.ok(&["--output", "csv", "recording", "url", &provider, &id]);
    let url = csv
        .lines()
        .find_map(|l| l.strip_prefix("url,"))
        .expect("a url row");
    assert!(url.starts_with(emulator.endpoint()), "{csv}");
    let csv = cli.ok(&["--output", "csv", "stack"]);
    assert!(
        csv.contains("table,calls") && csv.contains("bucket,archive"),
        "{csv}"
    );
    let retried: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "--json",
        "recording",
        "retry",
        "--failed",
        "--provider",
        "hatif",
    ]))?;
    assert!(
        retried["files"].is_u64() && retried["records"].is_u64(),
        "{retried}"
    );

    // The console command serves the web console over the same table and bucket.
    let mut command = client_command(env!("CARGO_BIN_EXE_callvault"), emulator.endpoint());
    command.args(["--table", "calls", "--bucket", "archive"]);
    let console = ConsoleProcess::start(command)?;
    let page = reqwest::get(console.url("/calls")).await?;
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().await?;
    assert!(
        html.contains(&newest[0].1),
        "the newest call listed: {html}"
    );
    drop(console);

    // Not found and not archived: exit 1 with a message.
    let out = cli.run(&["calls", "get", "voki", "no-such-call"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found: call voki/no-such-call"));
    let pending = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Pending))
        .expect("a pending recording");
    let (p, pending_id) = pending.id();
    let out = cli.run(&["recording", "url", &p.to_string(), &pending_id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not archived yet"));

    // Bad input: exit 2 with the reason.
    for (args, reason) in [
        (
            &["calls", "list", "--provider", "twilio"][..],
            "unknown provider",
        ),
        (
            &["calls", "list", "--since", "last tuesday"],
            "cannot read time",
        ),
        (
            &["calls", "list", "--phone", "12"],
            "cannot read phone number",
        ),
        (
            &["calls", "list", "--phone", "4155552671"],
            "cannot read phone number",
        ),
        (
            &["calls", "list", "--phone", "4155552671", "--country", "ZZ"],
            "unknown country code",
        ),
        (
            &[
                "calls",
                "list",
                "--since",
                "2026-11-05",
                "--until",
                "2026-11-01",
            ],
            "--since must be before --until",
        ),
        (&["calls", "list", "--cursor", "bm9wZQ"], "invalid cursor"),
        (
            &["calls", "list", "--recording", "copied"],
            "unknown file state",
        ),
        (
            &["calls", "list", "--limit", "5000"],
            "limit must be between",
        ),
        (
            &["recording", "url", "voki", "x", "--kind", "video"],
            "unknown file kind",
        ),
    ] {
        let out = cli.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    Ok(())
}

#[test]
fn bad_input_is_refused_before_any_aws_request() {
    // A closed port: any request would fail with exit 4, not 2.
    let port = callvault_testkit::free_port().expect("a free port");
    let endpoint = format!("http://127.0.0.1:{port}");
    let cli = Cli {
        endpoint: &endpoint,
    };
    for (args, reason) in [
        (
            &["calls", "list", "--phone", "not a number"][..],
            "cannot read phone number",
        ),
        (&["trigger"], "name a provider or webhook"),
        (&["trigger", "voki", "call.held"], "voki has no event"),
        (&["trigger", "--all", "voki"], "--all sends everything"),
        (&["trigger", "twilio"], "unknown provider"),
        (
            &["--tz", "Nowhere/Else", "calls", "list"],
            "unknown time zone",
        ),
        (&["replay", "delivery", "zz"], "not a SHA-256"),
        (
            &["secrets", "add", "voki", "--value", ""],
            "must not be empty",
        ),
        (
            &[
                "kept",
                "list",
                "--since",
                "2026-11-05",
                "--until",
                "2026-11-01",
            ],
            "--since must be before --until",
        ),
        (
            &[
                "replay",
                "rejected",
                "--since",
                "2026-11-05",
                "--until",
                "2026-11-01",
            ],
            "--since must be before --until",
        ),
        (
            &["deliveries", "show", "voki", " ", "abc"],
            "call id must not be empty",
        ),
    ] {
        let out = cli.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }

    // No stack and no table: say how to name the stack, before any request.
    let unnamed = |args: &[&str]| {
        client_command(env!("CARGO_BIN_EXE_callvault"), &endpoint)
            .args(args)
            .env_remove("CALLVAULT_STACK")
            .env_remove("CALLVAULT_TABLE")
            .env_remove("CALLVAULT_BUCKET")
            .output()
            .expect("callvault runs")
    };
    for args in [
        &["calls", "list"][..],
        &["kept", "list"],
        &["stack"],
        &["trigger", "--cleanup"],
        &["--table", "calls", "calls", "list"],
    ] {
        let out = unnamed(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--stack <name>")
                && stderr.contains("--stack local")
                && stderr.contains("CALLVAULT_STACK"),
            "{args:?}: {stderr}"
        );
    }

    // Valid input, and AWS does not answer: exit 4.
    let out = cli.run(&["calls", "list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DynamoDB"));
}

/// `--stack` reads the table, bucket, URLs and secrets from the stack's CloudFormation
/// outputs (here the emulator's CloudFormation, with a stack carrying the template's outputs).
#[tokio::test]
async fn a_stack_is_found_by_its_outputs() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("cv-table-x1", "cv-archive-x1").await?;
    let data = Dataset::generate(3, 5);
    data.load(
        &store,
        &aws_sdk_s3::Client::new(&emulator.sdk_config().await),
    )
    .await?;
    let mut outputs = serde_json::Map::new();
    let mut output = |name: &str, value: String| {
        outputs.insert(name.to_owned(), serde_json::json!({"Value": value}));
    };
    output("TableName", "cv-table-x1".into());
    output("BucketName", "cv-archive-x1".into());
    output("QueryApiUrl", "https://query.example/".into());
    for webhook in callvault_catalog::Webhook::ALL {
        output(webhook.url_output(), format!("https://{webhook}.example/"));
        output(
            webhook.secret_output(),
            format!(
                "arn:aws:secretsmanager:us-east-1:1:secret:cv/{}",
                webhook.secret_name()
            ),
        );
    }
    let template = serde_json::json!({
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": outputs,
    });
    aws_sdk_cloudformation::Client::new(&emulator.sdk_config().await)
        .create_stack()
        .stack_name("cv")
        .template_body(template.to_string())
        .send()
        .await?;

    let run_on = |stack: &str, args: &[&str]| {
        client_command(env!("CARGO_BIN_EXE_callvault"), emulator.endpoint())
            .args(["--stack", stack])
            .args(args)
            .env_remove("CALLVAULT_TABLE")
            .env_remove("CALLVAULT_BUCKET")
            .output()
            .expect("callvault runs")
    };
    let run = |args: &[&str]| run_on("cv", args);
    let out = run(&["--json", "stack"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stack: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (stack["table"].as_str(), stack["bucket"].as_str()),
        (Some("cv-table-x1"), Some("cv-archive-x1"))
    );
    assert_eq!(stack["webhook_urls"]["voki"], "https://voki.example/");
    assert_eq!(
        stack["secrets"]["hatif"],
        "arn:aws:secretsmanager:us-east-1:1:secret:cv/hatif"
    );
    let listed = run(&["--json", "calls", "list", "--all"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&listed.stdout)?;
    assert_eq!(
        doc["items"].as_array().map(Vec::len),
        Some(data.calls.len()),
        "the stack's table"
    );
    let missing = run_on("no-such-stack", &["stack"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no stack named no-such-stack in region us-east-1")
            && stderr.contains("--region"),
        "the region asked and how to ask another: {stderr}"
    );
    Ok(())
}

/// `make dev`'s stack (`--stack local`) on the emulator, with its secrets but no functions
/// listening: `stack` hides the post-call token unless asked, and `trigger` sends samples
/// marked as test records, none of which lands (exit 3).
#[tokio::test]
async fn the_local_stack_hides_its_token_and_a_failed_trigger_exits_3() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    emulator
        .store(
            callvault_store::schema::DEFAULT_TABLE,
            callvault_store::schema::DEFAULT_BUCKET,
        )
        .await?;
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator.sdk_config().await);
    let token = "local-post-call-token-0123456789abcdef";
    for (name, value) in [
        ("callvault/postcall", token),
        ("callvault/voki", "local-voki-secret-0123456789abcdef"),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(serde_json::json!({"secrets": {"dev": value}}).to_string())
            .send()
            .await?;
    }
    let moto_port = emulator
        .endpoint()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let closed = callvault_testkit::free_port()?.to_string();
    let local = |args: &[&str]| {
        client_command(env!("CARGO_BIN_EXE_callvault"), emulator.endpoint())
            .args(["--stack", "local"])
            .args(args)
            .env("MOTO_PORT", &moto_port)
            .env("LAMBDA_PORT", &closed)
            .env_remove("CALLVAULT_TABLE")
            .env_remove("CALLVAULT_BUCKET")
            .output()
            .expect("callvault runs")
    };

    let out = local(&["stack"]);
    assert_eq!(out.status.code(), Some(0));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("/postcall/?token=<token>") && !stdout.contains(token),
        "{stdout}"
    );
    assert!(stderr.contains("--show-secrets"), "{stderr}");
    for format in ["json", "jsonl", "csv"] {
        let out = local(&["--output", format, "stack"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("token=<token>") && !stdout.contains(token),
            "{format}: {stdout}"
        );
    }
    let shown = local(&["--json", "stack", "--show-secrets"]);
    let stack: serde_json::Value = serde_json::from_slice(&shown.stdout)?;
    assert!(
        stack["webhook_urls"]["postcall"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("?token={token}"))),
        "{stack}"
    );

    let out = local(&["--json", "trigger", "voki", "call.created"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let grid: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let row = &grid["items"][0];
    assert_eq!(row["pass"], false, "{row}");
    assert!(
        row["record"]
            .as_str()
            .is_some_and(|id| id.contains("callvault-test-")),
        "marked as a test record: {row}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 deliveries did not land"));
    Ok(())
}

/// `trigger --cleanup` removes every record whose id carries the test mark, with its
/// deliveries and archived files, lists them, and leaves everything else.
#[tokio::test]
async fn trigger_cleanup_removes_the_test_records_only() -> anyhow::Result<()> {
    use callvault_records::{CallRecord, FileRef, MessageRecord, Normalized};
    use callvault_store::files::FileKind;
    use callvault_store::schema::record_key;

    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    let data = Dataset::generate(5, 12);
    data.load(&store, &s3).await?;
    let received = chrono::Utc::now();
    let test_call = "vk-callvault-test-20261203101500";
    let mut call = CallRecord::new(Provider::Voki, test_call);
    call.recording = Some(FileRef {
        source_url: "https://files.example.test/test.mp3".into(),
    });
    callvault_testkit::dataset::ingest(&store, Normalized::Call(call.clone()), received).await?;
    let (pk, sk) = record_key(&Normalized::Call(call), None);
    let files = store
        .update_files(&pk, &sk, |files| {
            if let Some(f) = files.get_mut(&FileKind::Recording) {
                f.status = FileStatus::Copied;
                f.size = Some(4);
            }
        })
        .await?
        .expect("the test call stored");
    let archived = files[&FileKind::Recording].s3_key.clone();
    s3.put_object()
        .bucket("archive")
        .key(&archived)
        .body(b"test".to_vec().into())
        .send()
        .await?;
    let message: MessageRecord = serde_json::from_value(serde_json::json!({
        "provider": "hatif",
        "conversation_id": "conv-callvault-test-20261203101500",
        "message_id": "msg-callvault-test-20261203101500",
        "status": "read",
    }))?;
    callvault_testkit::dataset::ingest(&store, Normalized::Message(message), received).await?;
    let cli = Cli {
        endpoint: emulator.endpoint(),
    };

    let removed: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "trigger", "--cleanup"]))?;
    let mut records: Vec<&str> = removed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["record"].as_str())
        .collect();
    records.sort_unstable();
    assert_eq!(
        records,
        [
            "CALL#voki#vk-callvault-test-20261203101500",
            "CONV#hatif#conv-callvault-test-20261203101500",
        ]
    );
    let call = &removed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["record"].as_str().is_some_and(|r| r.starts_with("CALL#")))
        .expect("the call")
        .clone();
    assert_eq!(call["items"], 2, "the record and its delivery: {call}");
    assert_eq!(call["files"], serde_json::json!([archived]));

    for pk in records {
        assert!(store.query_prefix(pk, "").await?.is_empty(), "{pk} is gone");
    }
    assert!(
        s3.head_object()
            .bucket("archive")
            .key(&archived)
            .send()
            .await
            .is_err(),
        "its recording is gone"
    );
    let out = cli.run(&["calls", "get", "voki", test_call]);
    assert_eq!(out.status.code(), Some(1));
    let listed: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "calls", "list", "--all"]))?;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(data.calls.len()),
        "every other call stays"
    );
    // Nothing left: an empty list.
    let again: serde_json::Value =
        serde_json::from_str(&cli.ok(&["--json", "trigger", "--cleanup"]))?;
    assert_eq!(again["items"], serde_json::json!([]));
    Ok(())
}
