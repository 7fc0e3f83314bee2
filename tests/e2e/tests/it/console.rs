//! `callvault console` in a real browser (headless Chromium over WebDriver) against the
//! running local stack: a Hatif call whose recording the stack's copier archived from a
//! local file server, with word timings; a WhatsApp conversation. The test filters the
//! calls, opens the call, plays the recording and watches the highlighted word move, seeks
//! by clicking a word, opens a raw delivery and the conversation, and saves a screenshot of
//! each page under the test's output directory (`console-screenshots/`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use callvault_e2e::browser::Browser;
use callvault_e2e::samples::{self, HATIF_CHANNEL};
use callvault_e2e::Stack;
use callvault_records::Provider;
use callvault_store::files::{FileKind, FileStatus};
use callvault_testkit::console::ConsoleProcess;
use callvault_testkit::lambda::function_binary;
use callvault_testkit::SourceServer;
use fantoccini::Locator;
use serde_json::{json, Value};

/// A 16-bit mono WAV of `seconds` of a quiet tone.
fn wav(seconds: f64) -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
        let samples = (seconds * 8000.0) as u32;
        for i in 0..samples {
            let t = f64::from(i) / 8000.0;
            writer.write_sample(((t * 440.0 * std::f64::consts::TAU).sin() * 3000.0) as i16)?;
        }
        writer.finalize()?;
    }
    Ok(bytes.into_inner())
}

/// What the agent and the caller say, half a second a word.
const WORDS: [(&str, &str); 10] = [
    ("agent", "Thanks"),
    ("agent", "for"),
    ("agent", "calling,"),
    ("agent", "how"),
    ("agent", "can"),
    ("agent", "I"),
    ("agent", "help?"),
    ("caller", "Where's"),
    ("caller", "my"),
    ("caller", "order?"),
];
const WORD_SECONDS: f64 = 0.5;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

#[tokio::test]
async fn a_person_finds_plays_and_reads_calls_in_a_real_browser() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let run = chrono::Utc::now().timestamp_millis();

    // A Hatif call with a recording and word timings, archived by the stack's copier.
    let server = SourceServer::start().await?;
    server.add(
        "call.wav",
        wav(WORDS.len() as f64 * WORD_SECONDS + 1.0)?,
        "audio/wav",
    );
    let call_id = format!("e2e-console-{run}");
    let sample = samples::hatif_call(&call_id, HATIF_CHANNEL, false)?;
    let mut body: Value = serde_json::from_slice(&sample.body)?;
    body["recordingUrl"] = json!(server.url("/files/call.wav"));
    body["callerNumber"] = json!("+14155550142");
    body["calleeNumber"] = json!("+14155550199");
    body["userName"] = json!("Dana Reyes");
    // A person answered: no AI agent, so the agent is Dana.
    body["aiAgentId"] = Value::Null;
    body["callLength"] = json!("00:00:06");
    // It happened just now, so the overview's last 30 days count it.
    let now = chrono::Utc::now();
    body["creationTime"] = json!((now - chrono::Duration::seconds(8)).to_rfc3339());
    body["pickupTime"] = json!((now - chrono::Duration::seconds(7)).to_rfc3339());
    body["hangupTime"] = json!(now.to_rfc3339());
    body["summary"] =
        json!("The caller asked where their order is; the agent confirmed it ships on Friday.");
    body["transcription"] = json!({
        "text": WORDS.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" "),
        "words": WORDS.iter().enumerate().map(|(i, (speaker, text))| json!({
            "text": text, "type": "word", "speaker": speaker,
            "start": i as f64 * WORD_SECONDS, "end": (i + 1) as f64 * WORD_SECONDS - 0.05,
        })).collect::<Vec<_>>(),
    });
    let sample = samples::with_body(&sample, &body)?;
    let (status, reply) = stack.send(&sample).await?;
    assert_eq!(status, 200, "{reply}");
    let files = stack.files_when_settled(Provider::Hatif, &call_id).await?;
    assert_eq!(files[&FileKind::Recording].status, FileStatus::Copied);

    // A WhatsApp conversation: three messages, read, delivered and sent.
    let conversation = format!("e2e-console-conversation-{run}");
    for (message, event) in [
        ("m1", "message.read"),
        ("m2", "message.delivered"),
        ("m3", "message.sent"),
    ] {
        let sample = samples::hatif_whatsapp(
            &conversation,
            &format!("{conversation}-{message}"),
            event,
            HATIF_CHANNEL,
        )?;
        let (status, reply) = stack.send(&sample).await?;
        assert_eq!(status, 200, "{reply}");
    }

    let mut command = Command::new(function_binary("callvault"));
    // The local stack's table and bucket, on the emulator the environment names.
    command.args(["--stack", "local", "--tz", "UTC"]);
    let console = ConsoleProcess::start(command)?;
    let browser = Browser::start(&shots()).await?;
    let b = &browser.client;

    // The calls list, filtered by provider and by the caller's number as a person types it.
    b.goto(&console.url("/calls")).await?;
    b.find(Locator::Css("table.list")).await?;
    browser.screenshot("calls").await?;
    b.find(Locator::Css("select[name=provider]"))
        .await?
        .select_by_value("hatif")
        .await?;
    b.find(Locator::Css("input[name=phone]"))
        .await?
        .send_keys("(415) 555-0142")
        .await?;
    b.find(Locator::Css("input[name=country]"))
        .await?
        .send_keys("US")
        .await?;
    b.find(Locator::Css("form.filters button[type=submit]"))
        .await?
        .click()
        .await?;
    let url = browser
        .until(
            "return location.search.includes('provider=hatif') ? location.href : null;",
            Duration::from_secs(10),
        )
        .await?;
    let url = url.as_str().unwrap_or_default();
    assert!(url.contains("phone="), "the filters are in the URL: {url}");
    let rows = b.find_all(Locator::Css("table.list tbody tr")).await?;
    assert!(!rows.is_empty());
    for row in &rows {
        let text = row.text().await?;
        assert!(
            text.contains("hatif") && text.contains("+14155550142"),
            "{text}"
        );
    }

    // The call: its record, the recording playing with the transcript following it.
    b.find(Locator::LinkText(&call_id)).await?.click().await?;
    b.find(Locator::Css("audio[data-transcript]")).await?;
    let details = b.find(Locator::Css("dl.fields")).await?.text().await?;
    assert!(
        details.contains("Dana Reyes") && details.contains("+14155550199"),
        "{details}"
    );
    let words = b.find_all(Locator::Css(".transcript .word")).await?;
    assert_eq!(words.len(), WORDS.len());
    browser
        .until(
            "const a = document.querySelector('audio'); return a.readyState >= 1 ? a.duration : null;",
            Duration::from_secs(20),
        )
        .await?;
    browser
        .eval("document.querySelector('audio').play(); return true;")
        .await?;
    let first = browser
        .until(
            "const w = document.querySelector('.word.current'); return w ? Number(w.dataset.start) : null;",
            Duration::from_secs(10),
        )
        .await?;
    let later = browser
        .until(
            &format!("const w = document.querySelector('.word.current'); return w && Number(w.dataset.start) > {first} ? Number(w.dataset.start) : null;"),
            Duration::from_secs(10),
        )
        .await?;
    assert!(
        later.as_f64() > first.as_f64(),
        "the highlight moved: {first} → {later}"
    );
    assert_eq!(
        b.find_all(Locator::Css(".word.current")).await?.len(),
        1,
        "one word at a time"
    );

    // A click on a word plays from there.
    let target = 7;
    let start = target as f64 * WORD_SECONDS;
    words[target].click().await?;
    let position = browser
        .until(
            &format!("const a = document.querySelector('audio'); const w = document.querySelector('.word.current'); return (w && Number(w.dataset.start) === {start} && !a.paused) ? a.currentTime : null;"),
            Duration::from_secs(10),
        )
        .await?;
    let position = position.as_f64().unwrap_or_default();
    assert!(
        (start..start + 1.0).contains(&position),
        "seeked to {start} s, playing at {position} s"
    );
    assert_eq!(words[target].text().await?, WORDS[target].1);
    browser
        .eval("document.querySelector('audio').pause(); return true;")
        .await?;
    let files_table = b
        .find(Locator::Css("section[aria-labelledby=files] table"))
        .await?
        .text()
        .await?;
    assert!(
        files_table.contains("copied")
            && files_table.contains(&callvault_e2e::sha256_hex(&wav(WORDS.len() as f64
                * WORD_SECONDS
                + 1.0)?))
    );
    browser.screenshot("call").await?;

    // The raw delivery, exactly as it arrived.
    b.find(Locator::LinkText("Raw body")).await?.click().await?;
    let raw = browser.eval("return document.body.innerText;").await?;
    let raw: Value = serde_json::from_str(raw.as_str().unwrap_or_default())?;
    assert_eq!(raw, serde_json::from_slice::<Value>(&sample.body)?);
    browser.screenshot("delivery").await?;

    // The conversation, found by its id: bubbles in order with their ticks.
    b.goto(&console.url("/conversations")).await?;
    b.find(Locator::Css("input[name=id]"))
        .await?
        .send_keys(&conversation)
        .await?;
    b.find(Locator::Css("form.filters button[type=submit]"))
        .await?
        .click()
        .await?;
    // The conversation page, once it has loaded.
    let count = browser
        .until(
            "const n = document.querySelectorAll('ol.chat > li.bubble').length; return n > 0 ? n : null;",
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(count.as_u64(), Some(3));
    let ticks = b.find_all(Locator::Css(".bubble .ticks")).await?;
    let mut shown = Vec::new();
    for tick in &ticks {
        shown.push(tick.attr("title").await?.unwrap_or_default());
    }
    assert_eq!(shown, ["read", "delivered", "sent"]);
    browser.screenshot("conversation").await?;

    // The overview: its charts are drawn in the page.
    b.goto(&console.url("/overview")).await?;
    let charts = b.find_all(Locator::Css("figure .chart svg")).await?;
    assert_eq!(charts.len(), 4);
    let hatif_calls = browser
        .eval("const t = [...document.querySelectorAll('.totals div')].find(d => d.textContent.trim().endsWith('hatif')); return t ? Number(t.querySelector('b').textContent) : null;")
        .await?;
    assert!(
        hatif_calls.as_u64().is_some_and(|n| n >= 1),
        "the call made just now is counted: {hatif_calls}"
    );
    browser.screenshot("overview").await?;

    browser.close().await?;
    Ok(())
}
