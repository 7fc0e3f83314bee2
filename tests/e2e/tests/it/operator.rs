//! The operator's `callvault` against the running local stack (`--stack local`): sending
//! every sample and reading it back, following deliveries as they arrive, showing a
//! delivery's exact bytes, and connecting a new secret that the running functions pick up.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use callvault_catalog::samples::{self as catalog, HATIF_CHANNEL};
use callvault_catalog::Webhook;
use callvault_e2e::samples;
use callvault_e2e::Stack;
use callvault_records::voki::Event;
use callvault_testkit::lambda::function_binary;
use callvault_verify::Keyring;
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
/// record: the grid says pass for all of them.
#[tokio::test]
async fn trigger_all_lands_every_sample() -> anyhow::Result<()> {
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
    }
    let table = ok(&["trigger", "hatif", "message.read"])?;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("hatif-whatsapp") && text.contains("pass"),
        "{text}"
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
    let delivery = listed["items"][0]["delivery_id"]
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
