//! The operator's `callvault` against the running local stack (`--stack local`): sending
//! every sample and reading it back, then removing those test records, following deliveries
//! as they arrive, showing a delivery's exact bytes, and connecting a new secret that the
//! running functions pick up.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use callvault_catalog::samples::{self as catalog, HATIF_CHANNEL};
use callvault_catalog::Webhook;
use callvault_e2e::samples;
use callvault_e2e::Stack;
use callvault_records::voki::Event;
use callvault_records::{MessageStatus, Normalized, Provider};
use callvault_store::schema;
use callvault_testkit::lambda::function_binary;
use callvault_verify::{HmacSha256Hex, Keyring, Secret};
use serde_json::{json, Value};

fn callvault() -> Command {
    let mut command = Command::new(function_binary("callvault"));
    command.args(["--stack", "local"]);
    command
}

fn ok(args: &[&str]) -> anyhow::Result<Output> {
    let out = callvault().args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "callvault {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(out)
}

/// `trigger --all` sends every provider's every event type to the local URLs and finds each
/// record: the grid says pass for all of them. Their records are marked as tests, and
/// `trigger --cleanup` removes them.
#[tokio::test]
async fn trigger_all_lands_every_sample_and_cleanup_removes_them() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let out = ok(&["--output", "json", "trigger", "--all"])?;
    let grid: Value = serde_json::from_slice(&out.stdout)?;
    let rows = grid["items"].as_array().cloned().unwrap_or_default();
    let expected: usize = Webhook::ALL.iter().map(|w| w.events().len()).sum();
    assert_eq!(rows.len(), expected, "{grid}");
    for row in &rows {
        assert_eq!(row["pass"], json!(true), "{row}");
        assert_eq!(row["http"], json!(200), "{row}");
        assert!(
            row["reply"] == "stored" || row["reply"] == "duplicate",
            "{row}"
        );
        assert!(
            row["record"]
                .as_str()
                .is_some_and(|r| r.contains("callvault-test-")),
            "a test record: {row}"
        );
    }
    let table = ok(&["trigger", "hatif", "message.read"])?;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("hatif-whatsapp") && text.contains("pass"),
        "{text}"
    );

    let voki_call = rows
        .iter()
        .find(|r| r["webhook"] == "voki" && r["event"] == "call.created")
        .and_then(|r| r["record"].as_str())
        .expect("a Voki call")
        .to_owned();
    let pk = schema::call_pk(Provider::Voki, &voki_call);
    assert!(!stack.store.query_prefix(&pk, "").await?.is_empty());
    let cleaned: Value =
        serde_json::from_slice(&ok(&["--output", "json", "trigger", "--cleanup"])?.stdout)?;
    let removed: Vec<&str> = cleaned["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|r| r["record"].as_str()).collect())
        .unwrap_or_default();
    assert!(removed.contains(&pk.as_str()), "{pk} in {cleaned}");
    assert!(
        removed.iter().all(|r| r.contains("callvault-test-")),
        "test records only: {cleaned}"
    );
    assert!(
        stack.store.query_prefix(&pk, "").await?.is_empty(),
        "{pk} and its deliveries are gone"
    );
    Ok(())
}

/// `tail` prints a delivery sent after it started (among whatever else the other tests send).
#[tokio::test]
async fn tail_follows_a_delivery_sent_after_it_started() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let mut tail = callvault()
        .args([
            "--output",
            "jsonl",
            "tail",
            "--provider",
            "voki",
            "--outcome",
            "applied",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(tail.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line)?;
    assert!(line.starts_with("following"), "{line}");
    let (lines, printed) = std::sync::mpsc::channel::<String>();
    let stdout = BufReader::new(tail.stdout.take().expect("stdout"));
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The stream is read from the moment tail started: give it a moment to take its position.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivery = format!("tail-{}", chrono::Utc::now().format("%H%M%S%3f"));
    let sample = samples::voki(Event::CallStarted, &format!("vk-{delivery}"), &delivery)?;
    assert_eq!(stack.send(&sample).await?.0, 200);

    let started = Instant::now();
    let seen = loop {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "tail never printed {delivery}"
        );
        match printed.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let line: Value = serde_json::from_str(&line)?;
                assert_eq!(
                    (line["kind"].as_str(), line["provider"].as_str()),
                    (Some("applied"), Some("voki"))
                );
                if line["id"] == delivery.as_str() {
                    break line;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(e) => anyhow::bail!("tail stopped: {e}"),
        }
    };
    assert_eq!(seen["what"], "call.started");
    tail.kill()?;
    tail.wait()?;
    Ok(())
}

/// `deliveries show --raw` gives back the exact bytes a provider sent.
#[tokio::test]
async fn a_delivery_shows_its_exact_bytes() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let id = format!("raw-{}", chrono::Utc::now().format("%H%M%S%3f"));
    let sample = samples::hatif_call(&id, HATIF_CHANNEL, false)?;
    assert_eq!(stack.send(&sample).await?.0, 200);
    let listed: Value =
        serde_json::from_slice(&ok(&["--json", "deliveries", "list", "hatif", &id])?.stdout)?;
    let delivery = listed["items"][0]["body_sha256"]
        .as_str()
        .expect("a delivery")
        .to_owned();
    let raw = ok(&["deliveries", "show", "hatif", &id, &delivery, "--raw"])?;
    assert_eq!(raw.stdout, sample.body);
    Ok(())
}

/// A secret added with `secrets add` is accepted by the running function (which reads its
/// secret again on a signature it does not know), and stops being accepted once removed.
#[tokio::test]
async fn a_secret_added_with_the_cli_is_picked_up_by_the_running_function() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let id = format!("e2e-{}", chrono::Utc::now().format("%H%M%S%3f"));
    let added: Value =
        serde_json::from_slice(&ok(&["--json", "secrets", "add", "voki", "--id", &id])?.stdout)?;
    let value = added["value"].as_str().expect("the new secret").to_owned();
    assert_eq!(added["paste"][0]["webhook"], "voki");
    let listed = ok(&["secrets", "list", "voki"])?;
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains(&id) && !text.contains(&value),
        "ids only: {text}"
    );

    let keyring = Keyring::from_json(&json!({"secrets": {&id: &value}}).to_string())?;
    let sample = catalog::voki(&keyring, Event::CallCreated, &format!("vk-{id}"), &id)?;
    // At once, unless the function read its secret in the last 30 s (it reads at most that often
    // on unknown signatures).
    let started = Instant::now();
    let reply = loop {
        let reply = stack.send(&sample).await?;
        if reply.0 == 200 || started.elapsed() > Duration::from_secs(40) {
            break reply;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert_eq!(reply, (200, json!({"status": "stored"})));

    ok(&["secrets", "remove", "voki", &id])?;
    let listed = ok(&["secrets", "list", "voki"])?;
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&id));
    Ok(())
}

/// Sends `body` to the Hatif `function` signed with `secret`.
async fn hatif_signed(
    stack: &Stack,
    function: &str,
    secret: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let body = serde_json::to_vec(body)?;
    let signature = HmacSha256Hex::BARE.sign(&Secret::new(secret), &body);
    stack
        .post(function, &[("x-voxa-signature", signature)], body)
        .await
}

/// Sends what `body_of(attempt)` gives, signed with `secret`, until `function` answers
/// `expected` (it reads its secret again on a signature it does not know, at most every
/// 30 s), within 75 s. Returns the last answer.
async fn until_answered(
    stack: &Stack,
    function: &str,
    secret: &str,
    expected: u16,
    body_of: impl Fn(u32) -> Value,
) -> anyhow::Result<(u16, Value)> {
    let started = Instant::now();
    for attempt in 0.. {
        let reply = hatif_signed(stack, function, secret, &body_of(attempt)).await?;
        if reply.0 == expected || started.elapsed() > Duration::from_secs(75) {
            return Ok(reply);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    unreachable!("the loop returns")
}

/// A Hatif channel checked with the default secret until now is not locked out when it gets
/// a secret of its own (`secrets add hatif --channel`), though Hatif keeps signing with the
/// default secret until asked to switch: its deliveries signed with the default secret
/// before and after (once both functions read the new secrets) are accepted, and those about
/// one call or message stay one record, the channel's, also across Hatif's switch to the new
/// secret. A body naming the channel signed with any other secret is refused, before and
/// after; once the carried-over default secret is removed, the default secret no longer
/// opens the channel.
#[tokio::test]
async fn a_channels_own_secret_does_not_lock_it_out() -> anyhow::Result<()> {
    const SECRETS: &str = "HATIF_WEBHOOK_SECRETS";
    let stack = Stack::from_env().await?;
    let run = chrono::Utc::now().format("%H%M%S%3f").to_string();
    let channel = format!("e2e-own-{run}");
    let call_id = format!("own-call-{run}");
    let conversation = format!("own-conv-{run}");
    let call = |id: &str, summary: &str| json!({"callId": id, "channelId": channel, "callLength": "00:01:05", "summary": summary});
    let message = |status: &str| {
        json!({"channelId": channel, "conversationId": conversation, "messageId": "m1",
            "direction": "Outbound", "messageType": "Text", "body": "Your appointment is confirmed",
            "status": status, "creationTime": "2026-11-23T10:00:00Z"})
    };
    let default_secret = callvault_e2e::dev_secret(SECRETS)?;
    let other_secret = "not-this-channels-secret";
    let stored = (200, json!({"status": "stored"}));
    let refused = (401, json!({"error": "signature does not match"}));
    let hatif_call = Webhook::HatifCall.name();
    let hatif_whatsapp = Webhook::HatifWhatsApp.name();

    // Before: the default secret opens the channel; no other does.
    let before = call(&call_id, "before");
    assert_eq!(
        hatif_signed(&stack, hatif_call, &default_secret, &before).await?,
        stored
    );
    let sent = message("Sent");
    assert_eq!(
        hatif_signed(&stack, hatif_whatsapp, &default_secret, &sent).await?,
        stored
    );
    let forged = call(&call_id, "forged");
    for (function, body) in [(hatif_call, &forged), (hatif_whatsapp, &message("Failed"))] {
        assert_eq!(
            hatif_signed(&stack, function, other_secret, body).await?,
            refused,
            "{function} before"
        );
    }

    let id = format!("own-{run}");
    let added: Value = serde_json::from_slice(
        &ok(&[
            "--json",
            "secrets",
            "add",
            "hatif",
            "--channel",
            &channel,
            "--id",
            &id,
        ])?
        .stdout,
    )?;
    let own_secret = added["value"].as_str().expect("the new secret").to_owned();

    // Both functions read the new secrets: Hatif switching the channel to its own secret
    // mid-conversation, and a call of the channel signed with it.
    let delivered = until_answered(&stack, hatif_whatsapp, &own_secret, 200, |_| {
        message("Delivered")
    })
    .await?;
    assert_eq!(delivered, stored, "the new secret works");
    let own_call = format!("own-call-new-{run}");
    let reply = until_answered(&stack, hatif_call, &own_secret, 200, |_| {
        call(&own_call, "signed with the channel's own secret")
    })
    .await?;
    assert_eq!(reply, stored, "the new secret works");

    // After: the default secret still opens the channel, into the same records.
    let after = call(&call_id, "after");
    let (status, reply) = hatif_signed(&stack, hatif_call, &default_secret, &after).await?;
    assert_eq!(status, 200, "the channel is not locked out: {reply}");
    let read = message("Read");
    assert_eq!(
        hatif_signed(&stack, hatif_whatsapp, &default_secret, &read).await?,
        stored,
        "the channel is not locked out"
    );
    for (function, body) in [(hatif_call, &forged), (hatif_whatsapp, &message("Failed"))] {
        assert_eq!(
            hatif_signed(&stack, function, other_secret, body).await?,
            refused,
            "{function} after"
        );
    }
    assert_eq!(
        added["carried_over"],
        json!(["default:dev-default"]),
        "the default secret is carried over, named for removal: {added}"
    );

    let calls = stack.calls(Provider::Hatif, &call_id).await?;
    let scopes: Vec<_> = calls
        .iter()
        .map(|(_, stored)| stored.scope.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(scopes, [Some(format!("channel:{channel}"))], "one record");
    let messages = stack
        .store
        .records(
            &schema::conversation_pk(Provider::Hatif, &conversation),
            "MSG#",
        )
        .await?;
    let [(sk, stored_message)] = messages.as_slice() else {
        panic!("one message record: {messages:?}")
    };
    assert_eq!(sk, &format!("MSG#channel:{channel}#m1"));
    let Normalized::Message(m) = &stored_message.record else {
        panic!("a message")
    };
    assert_eq!(
        (m.status, m.status_times.len()),
        (MessageStatus::Read, 3),
        "sent and read with the default secret, delivered with the channel's own"
    );

    // Removing the carried-over secret closes the channel to the default secret, from the
    // function's next read of its secrets (made at once on a signature it does not know, at
    // most every 30 s: the probe signed with another secret).
    ok(&[
        "secrets",
        "remove",
        "hatif",
        "default:dev-default",
        "--channel",
        &channel,
    ])?;
    let probe = call(&format!("own-call-probe-{run}"), "probe");
    let started = Instant::now();
    let closed = loop {
        let probed = hatif_signed(&stack, hatif_call, other_secret, &probe).await;
        let attempt = call(&format!("own-call-closed-{run}"), "default");
        let reply = hatif_signed(&stack, hatif_call, &default_secret, &attempt).await;
        match (probed, reply) {
            (Ok(_), Ok(reply)) if reply.0 != 401 && started.elapsed() < Duration::from_secs(75) => {
                tokio::time::sleep(Duration::from_secs(2)).await
            }
            (probed, reply) => break probed.and(reply),
        }
    };
    ok(&["secrets", "remove", "hatif", &id, "--channel", &channel])?;
    assert_eq!(closed?, refused, "removed, the default secret is refused");
    Ok(())
}
