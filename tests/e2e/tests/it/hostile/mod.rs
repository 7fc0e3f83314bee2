//! The hostile-input corpus: over 200 requests across every webhook function, generated here
//! and sent to the functions served by cargo lambda watch. For each one: the status; nothing
//! stored for requests that fail authentication (or never reach it); authenticated but bad
//! deliveries kept raw with a reason; and afterwards, no panic, secret or body in the logs.
//! Header names, secrets and sample bodies come from the crates and `dev.env`.

mod authentication;
mod bodies;
mod corpus;
mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use callvault_catalog::Webhook;
use callvault_e2e::{dev_secrets, sha256_hex, Stack};
use callvault_records::Provider;
use serde_json::{json, Value};

use corpus::{record_exists, Case, Corpus, Expect, BODY_SENTINEL};

/// Builds every case of one webhook.
fn cases_of(w: Webhook, run: &str) -> anyhow::Result<Vec<Case>> {
    let mut c = Corpus::new(w, run);
    authentication::cases(&mut c)?;
    bodies::unusable(&mut c)?;
    bodies::hostile_values(&mut c)?;
    bodies::duplicate_keys(&mut c)?;
    transport::content_types(&mut c)?;
    transport::replays(&mut c)?;
    transport::methods_and_sizes(&mut c)?;
    Ok(c.cases)
}

#[tokio::test]
async fn hostile_requests_get_clear_statuses_and_nothing_gets_in_or_lost() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let log_path = std::env::var("CALLVAULT_FUNCTION_LOG")?;
    let log_start = std::fs::metadata(&log_path)?.len();
    // Distinguishes this run's ids from earlier runs against the same stack.
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let mut cases = Vec::new();
    for w in Webhook::ALL {
        cases.extend(cases_of(w, &run)?);
    }
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());

    let mut failures = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        let mut request = stack
            .request(c.method.clone(), c.webhook.name(), &c.suffix)
            .body(c.body.clone());
        if !c.headers.iter().any(|(h, _)| *h == "content-type") {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in &c.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let reply: Value = if c.method == reqwest::Method::HEAD {
            Value::Null
        } else {
            response.json().await.unwrap_or(Value::Null)
        };
        let (expected, reply_ok) = match c.expect {
            Expect::Refused(s) => (s, reply["error"].as_str().is_some_and(|m| !m.is_empty())),
            Expect::Kept => (
                200,
                reply["status"] == "kept"
                    && reply["reason"].as_str().is_some_and(|m| !m.is_empty()),
            ),
            Expect::Stored => (200, reply == json!({"status": "stored"})),
            Expect::Duplicate => (200, reply == json!({"status": "duplicate"})),
        };
        // A HEAD response has no body to check.
        let reply_ok = reply_ok || c.method == reqwest::Method::HEAD;
        if status != expected || !reply_ok {
            failures.push(format!(
                "{}: expected {expected} ({:?}), got {status} {reply}",
                c.name, c.expect
            ));
        }
        let outcome = match reply["status"].as_str() {
            Some(label) => format!("{status} {label}"),
            None => status.to_string(),
        };
        *counts
            .entry(format!("{} {outcome}", c.webhook.name()))
            .or_default() += 1;
    }

    // What is stored: records only for accepted cases; kept raw bodies only for `Kept`.
    // Kept deliveries by the SHA-256 of their body, with their reasons.
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    for provider in Provider::ALL {
        for item in stack.rejected_today(provider).await? {
            let text = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            reasons.insert(text("body_sha256"), text("reason"));
        }
    }
    for c in &cases {
        let parsed: Value = serde_json::from_slice(&c.body).unwrap_or(Value::Null);
        let record = record_exists(&stack, c.webhook, &c.id, &parsed).await?;
        let sha = sha256_hex(&c.body);
        match c.expect {
            Expect::Refused(_) => {
                if record {
                    failures.push(format!("{}: refused but a record exists", c.name));
                }
                if reasons.contains_key(&sha) {
                    failures.push(format!("{}: refused but its body was kept", c.name));
                }
            }
            Expect::Kept => match reasons.get(&sha) {
                Some(reason) if !reason.is_empty() => {}
                _ => failures.push(format!("{}: not kept raw with a reason", c.name)),
            },
            Expect::Stored | Expect::Duplicate => {
                if !record {
                    failures.push(format!("{}: accepted but no record", c.name));
                }
            }
        }
    }

    // The logs: no panic, no secret, no body content.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read(&log_path)?;
    let log = String::from_utf8_lossy(&log[usize::try_from(log_start)?.min(log.len())..])
        .to_ascii_lowercase();
    assert!(!log.contains("panicked"), "a function panicked:\n{log}");
    let vars: BTreeSet<&str> = Webhook::ALL.iter().map(|w| w.secret_var()).collect();
    for var in vars {
        let secrets = dev_secrets(var)?;
        assert!(!secrets.is_empty(), "{var} holds no secret");
        for secret in secrets {
            assert!(
                !log.contains(&secret.to_ascii_lowercase()),
                "a secret of {var} reached the log"
            );
        }
    }
    assert!(
        !log.contains(&BODY_SENTINEL.to_ascii_lowercase()),
        "body content reached the log"
    );
    eprintln!(
        "hostile corpus: {} cases; by function and status: {counts:?}",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}
