//! The console against the emulator: every page and filter over the seeded data set,
//! hostile provider text rendered inert, raw bodies byte for byte, links that play, the
//! re-drive form, the guard that keeps other sites out, and the page policy the README states.

use callvault_query::Reader;
use callvault_records::{
    Agent, AgentKind, CallRecord, CallStatus, Contact, FileRef, Normalized, Provider, Transcript,
    Word,
};
use callvault_store::files::{FileKind, FileStatus};
use callvault_store::schema::record_key;
use callvault_store::RecordStore;
use callvault_testkit::dataset::{ingest, recording_content, Dataset, BUSY_CONVERSATION};
use callvault_testkit::{repo_root, Emulator};
use chrono::{TimeZone, Utc};
use reqwest::header;
use reqwest::StatusCode;

/// The console over `store` (the emulator's `calls` table and `archive` bucket), served on
/// a free port by a task of the test's runtime, and a client that does not follow redirects.
struct Console {
    /// Its URL, without a trailing slash (`http://127.0.0.1:<port>`).
    base: String,
    http: reqwest::Client,
}

impl Console {
    async fn start(store: &RecordStore) -> anyhow::Result<Self> {
        let console = callvault_console::Console {
            reader: Reader::new(
                store.dynamodb().clone(),
                store.s3().clone(),
                store.table(),
                store.bucket(),
            ),
            store: store.clone(),
            tz: chrono_tz::UTC,
            label: format!("table {}, bucket {}", store.table(), store.bucket()),
        };
        let bound = callvault_console::bind(console, 0).await?;
        let base = bound.url().trim_end_matches('/').to_owned();
        tokio::spawn(bound.run());
        Ok(Self {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// The URL of `path` (`/calls?...`).
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, String)> {
        let response = self.http.get(self.url(path)).send().await?;
        Ok((response.status(), response.text().await?))
    }

    /// A page that must answer 200.
    async fn page(&self, path: &str) -> anyhow::Result<String> {
        let (status, html) = self.get(path).await?;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        Ok(html)
    }
}

/// Text as the pages escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// HTML attribute text back to what it stands for.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// The calls a list page shows, in order, as `(provider, call id)`.
fn listed(html: &str) -> Vec<(String, String)> {
    html.split("<a href=\"/calls/")
        .skip(1)
        .filter_map(|rest| {
            let (href, _) = rest.split_once('"')?;
            let (provider, id) = href.split_once('/')?;
            Some((provider.to_owned(), id.to_owned()))
        })
        .collect()
}

/// Every value of `attribute="..."` in `html`, unescaped, in order.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    html.split(&format!("{attribute}=\""))
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(v, _)| unescape(v)))
        .collect()
}

/// Follows a list's "Older calls" links from `path`, collecting every call.
async fn every_page(console: &Console, path: &str) -> anyhow::Result<Vec<(String, String)>> {
    let (mut all, mut next) = (Vec::new(), Some(path.to_owned()));
    while let Some(path) = next {
        let html = console.page(&path).await?;
        all.extend(listed(&html));
        next = html
            .split("<a rel=\"next\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split_once('"'))
            .map(|(href, _)| unescape(href));
    }
    Ok(all)
}

fn ids(expected: Vec<(Provider, String)>) -> Vec<(String, String)> {
    expected
        .into_iter()
        .map(|(p, id)| (p.to_string(), id))
        .collect()
}

const HOSTILE_ID: &str = "hostile-<1>";
const SCRIPT: &str = "<script>alert(1)</script>";

/// A call whose every provider field tries to break out of the page.
fn hostile_call() -> CallRecord {
    let mut call = CallRecord::new(Provider::Voki, HOSTILE_ID);
    call.status = CallStatus::Completed;
    call.started_at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single();
    call.agent = Some(Agent {
        id: "agent-x".into(),
        name: Some(SCRIPT.into()),
        kind: AgentKind::Human,
    });
    call.contact = Some(Contact {
        id: Some("contact-x".into()),
        name: Some("\"'><svg onload=alert(2)>".into()),
        ..Contact::default()
    });
    call.summary = Some("first line\n<img src=x onerror=alert(3)>\u{1b}[31mred\u{202e}txt".into());
    call.outcome = Some("</dd></dl><script>alert(4)</script>".into());
    call.transcript = Some(Transcript {
        text: None,
        words: ["<b>Hello</b>", "there", "friend"]
            .iter()
            .enumerate()
            .map(|(i, w)| Word {
                text: (*w).into(),
                start: Some(i as f64 * 0.5),
                end: Some(i as f64 * 0.5 + 0.4),
                kind: Some("word".into()),
                speaker: Some("agent\u{7}".into()),
            })
            .collect(),
        file: Some(FileRef {
            source_url: "https://files.example.test/t.json?token=secret".into(),
        }),
        offloaded: None,
    });
    call.extras.insert(
        "note".into(),
        serde_json::json!("</pre><script>alert(5)</script>"),
    );
    call
}

const TRANSCRIPT_FILE: &str = r#"{"turns":[{"speaker":"agent","text":"<script>alert(6)</script> welcome"},{"speaker":"caller","text":"thanks"}]}"#;

#[tokio::test]
async fn every_page_and_filter_over_the_seeded_data() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    let data = Dataset::generate(21, 140);
    data.load(&store, &s3).await?;
    let hostile = hostile_call();
    let received = Utc
        .with_ymd_and_hms(2026, 11, 20, 9, 5, 0)
        .single()
        .unwrap_or_default();
    ingest(&store, Normalized::Call(hostile.clone()), received).await?;
    let (pk, sk) = record_key(&Normalized::Call(hostile.clone()), None);
    let files = store
        .update_files(&pk, &sk, |files| {
            if let Some(f) = files.get_mut(&FileKind::Transcript) {
                f.status = FileStatus::Copied;
                f.size = Some(TRANSCRIPT_FILE.len() as u64);
            }
        })
        .await?
        .expect("hostile call stored");
    s3.put_object()
        .bucket("archive")
        .key(&files[&FileKind::Transcript].s3_key)
        .body(TRANSCRIPT_FILE.as_bytes().to_vec().into())
        .send()
        .await?;
    let console = Console::start(&store).await?;

    // The root leads to the calls; every answer carries the page policy.
    let response = console
        .http
        .get(format!("{}/", console.base))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/calls");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str()?;
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");

    // The list: newest first (the hostile call is the newest), 50 a page, every page.
    let mut everything = vec![("voki".to_owned(), "hostile-%3C1%3E".to_owned())];
    everything.extend(ids(data.expected(|_| true)));
    let first = console.page("/calls").await?;
    assert_eq!(listed(&first), everything[..50]);
    assert_eq!(every_page(&console, "/calls").await?, everything);

    // Each filter, as the URL carries it, gives what the data set says.
    let phone = &data.numbers[0];
    let national = format!("({}) {}-{}", &phone[2..5], &phone[5..8], &phone[8..]);
    let cases: Vec<(String, Vec<(Provider, String)>)> = vec![
        (
            "provider=voki".into(),
            data.expected(|c| c.record.provider == Provider::Voki),
        ),
        (
            format!(
                "phone={}&country=US",
                percent_encoding::utf8_percent_encode(
                    &national,
                    percent_encoding::NON_ALPHANUMERIC
                )
            ),
            data.expected(|c| {
                callvault_testkit::dataset::numbers_of(&c.record).contains(&phone.as_str())
            }),
        ),
        (
            "agent=agent-03".into(),
            data.expected(|c| c.record.agent.as_ref().is_some_and(|a| a.id == "agent-03")),
        ),
        (
            "contact=contact-005&provider=hatif".into(),
            data.expected(|c| {
                c.record.provider == Provider::Hatif
                    && c.record.contact.as_ref().and_then(|c| c.id.as_deref())
                        == Some("contact-005")
            }),
        ),
        (
            "status=missed".into(),
            data.expected(|c| c.record.status == CallStatus::Missed),
        ),
        (
            "recording=failed".into(),
            data.expected(|c| c.recording == Some(FileStatus::Failed)),
        ),
        (
            "since=2026-11-03&until=2026-11-05T12:00:00Z".into(),
            data.expected(|c| {
                let t = c.record.listed_at(c.received_at);
                t >= Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap()
                    && t < Utc.with_ymd_and_hms(2026, 11, 5, 12, 0, 0).unwrap()
            }),
        ),
    ];
    for (query, expected) in cases {
        assert!(!expected.is_empty(), "{query} matches some calls");
        let mut expected = ids(expected);
        if query == "provider=voki" {
            expected.insert(0, everything[0].clone());
        }
        let shown = every_page(&console, &format!("/calls?{query}")).await?;
        assert_eq!(shown, expected, "{query}");
        // The form shows the filter it applied.
        let html = console.page(&format!("/calls?{query}")).await?;
        let first_value = query.split('&').next().and_then(|kv| kv.split_once('='));
        if let Some((name, _)) =
            first_value.filter(|(n, _)| ["provider", "status", "recording"].contains(n))
        {
            assert!(html.contains(" selected>"), "{name} stays selected");
        }
    }

    // Filters that cannot be used: 400, the message, and the form kept.
    for (query, message) in [
        ("status=exploded", "unknown call status"),
        ("phone=12", "cannot read phone number"),
        ("since=yesterday-ish", "cannot read time"),
        ("since=2026-11-05&until=2026-11-01", "before"),
        ("cursor=not-a-cursor", "invalid cursor"),
    ] {
        let (status, html) = console.get(&format!("/calls?{query}")).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            html.contains(message) && html.contains("<form"),
            "{query}: {html}"
        );
    }

    // Hostile provider text is shown, inert, in the list and on the call's page.
    let hostile_path = "/calls/voki/hostile-%3C1%3E";
    for html in [&first, &console.page(hostile_path).await?] {
        assert!(!html.contains("<script>alert"), "no provider script tag");
        assert!(!html.contains("<svg onload") && !html.contains("<img src=x"));
        assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}') && !html.contains('\u{7}'));
        assert!(html.contains(&escaped(SCRIPT)));
    }
    let call = console.page(hostile_path).await?;
    for shown in [
        "hostile-<1>",
        "\\u{1b}[31mred\\u{202e}txt",
        "</dd></dl><script>alert(4)</script>",
        "\"</pre><script>alert(5)</script>\"",
        "<script>alert(6)</script> welcome",
        "agent\\u{7}",
    ] {
        assert!(call.contains(&escaped(shown)), "{shown} shown escaped");
    }
    assert!(
        !call.contains("token=secret"),
        "no provider link query on the page"
    );
    // The words carry their timings; the script that follows them is loaded.
    assert_eq!(attributes(&call, "data-start"), ["0", "0.5", "1"]);
    assert_eq!(attributes(&call, "data-end"), ["0.4", "0.9", "1.4"]);
    assert!(call.contains(&format!(
        ">{}</span> <span class=\"word\"",
        escaped("<b>Hello</b>")
    )));
    assert!(call.contains("<script src=\"/assets/console.js\"></script>"));

    // A call with an archived recording: a player whose link plays the archived bytes, the
    // file's size and hash, and the delivery whose raw body is one click away, exact.
    let copied = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Copied))
        .expect("a copied recording");
    let (provider, id) = copied.id();
    let html = console.page(&format!("/calls/{provider}/{id}")).await?;
    let audio = attributes(&html, "src")
        .into_iter()
        .find(|s| s.contains("X-Amz-Signature"))
        .expect("a presigned recording link");
    assert!(
        audio.contains("X-Amz-Expires=900"),
        "links live 15 minutes: {audio}"
    );
    let played = reqwest::get(&audio).await?;
    assert_eq!(played.status(), StatusCode::OK);
    assert_eq!(
        played.bytes().await?.as_ref(),
        recording_content(&id).as_slice()
    );
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(recording_content(
        &id,
    )));
    assert!(html.contains(&sha), "the archived copy's SHA-256");
    assert!(
        !html.contains("data-transcript"),
        "no word timings, no player sync"
    );
    let raw = attributes(&html, "href")
        .into_iter()
        .find(|h| h.contains("/deliveries/"))
        .expect("a raw body link");
    let response = console
        .http
        .get(format!("{}{raw}", console.base))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.bytes().await?.as_ref(),
        serde_json::to_vec(&Normalized::Call(copied.record.clone()))?.as_slice()
    );
    let (status, _) = console
        .get(&format!(
            "/calls/{provider}/{id}/deliveries/{}",
            "0".repeat(64)
        ))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A call whose copy failed: the reason, and a retry button that only the console's own
    // pages may press.
    let failed = data
        .calls
        .iter()
        .find(|c| c.recording == Some(FileStatus::Failed))
        .expect("a failed recording");
    let (provider, id) = failed.id();
    let path = format!("/calls/{provider}/{id}");
    let html = console.page(&path).await?;
    assert!(html.contains("source answered 404") && html.contains("Retry failed copies"));
    let retry = format!("{}{path}/retry", console.base);
    let refused = console
        .http
        .post(&retry)
        .form(&[("scope", "")])
        .send()
        .await?;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "no Origin, no change"
    );
    let foreign = console
        .http
        .post(&retry)
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("scope", "")])
        .send()
        .await?;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let (pk, sk) = record_key(&Normalized::Call(failed.record.clone()), None);
    let status_now = |files: &callvault_store::files::Files| files[&FileKind::Recording].status;
    assert_eq!(
        status_now(&store.update_files(&pk, &sk, |_| {}).await?.expect("stored")),
        FileStatus::Failed
    );
    let accepted = console
        .http
        .post(&retry)
        .header(header::ORIGIN, &console.base)
        .form(&[("scope", "")])
        .send()
        .await?;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let back = accepted.headers()[header::LOCATION].to_str()?.to_owned();
    assert_eq!(back, format!("{path}?retried=1"));
    assert_eq!(
        status_now(&store.update_files(&pk, &sk, |_| {}).await?.expect("stored")),
        FileStatus::Pending
    );
    assert!(console
        .page(&back)
        .await?
        .contains("1 failed copy is pending again"));

    // Conversations: the finder leads to one; bubbles in creation order with their ticks.
    let (status, _) = console
        .get(&format!(
            "/conversations?provider=hatif&id={BUSY_CONVERSATION}"
        ))
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let html = console
        .page(&format!("/conversations/hatif/{BUSY_CONVERSATION}"))
        .await?;
    let shown: Vec<String> = html
        .split("title=\"Message id\">")
        .skip(1)
        .filter_map(|rest| rest.split_once('<').map(|(id, _)| id.to_owned()))
        .collect();
    assert_eq!(shown, data.expected_messages(BUSY_CONVERSATION));
    assert_eq!(html.matches("class=\"bubble ").count(), shown.len());
    assert!(html.contains("✓✓") && html.contains("message 7"));

    // The overview counts what the data set holds, and draws its charts.
    let html = console
        .page("/overview?since=2026-11-01&until=2026-11-21")
        .await?;
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(html.contains(&format!("<b>{}</b> calls", data.calls.len() + 1)));
    for provider in Provider::ALL {
        let count = data
            .calls
            .iter()
            .filter(|c| c.record.provider == provider)
            .count()
            + usize::from(provider == Provider::Voki);
        assert!(
            html.contains(&format!("<b>{count}</b> {provider}")),
            "{count} {provider} calls"
        );
    }
    let failed_now = data
        .calls
        .iter()
        .filter(|c| c.recording == Some(FileStatus::Failed))
        .count()
        - 1;
    let failed_shown: usize = html
        .split("recording=failed\">")
        .skip(1)
        .filter_map(|rest| rest.split_once('<')?.0.parse::<usize>().ok())
        .sum();
    assert_eq!(failed_shown, failed_now, "the backlog's failed copies");
    let (status, html) = console.get("/overview?since=2025-01-01").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");

    // What is not there, and requests from elsewhere.
    for (path, status) in [
        ("/calls/voki/no-such-call", StatusCode::NOT_FOUND),
        ("/calls/twilio/x", StatusCode::BAD_REQUEST),
        (
            "/conversations/hatif/no-such-conversation",
            StatusCode::NOT_FOUND,
        ),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let (got, html) = console.get(path).await?;
        assert_eq!(got, status, "{path}: {html}");
        assert!(html.contains("<h1>"), "{path} answers with a page");
    }
    let rebound = console
        .http
        .get(format!("{}/calls", console.base))
        .header(header::HOST, "attacker.example:8787")
        .send()
        .await?;
    assert_eq!(
        rebound.status(),
        StatusCode::FORBIDDEN,
        "another name for 127.0.0.1"
    );
    for (asset, kind) in [
        ("console.css", "text/css"),
        ("console.js", "text/javascript"),
    ] {
        let response = console
            .http
            .get(format!("{}/assets/{asset}", console.base))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()?
            .starts_with(kind));
    }
    Ok(())
}

/// The console's `Content-Security-Policy` as the README states it, with `links` for its
/// `<links>` (what every presigned link to the archive bucket begins with).
fn documented_policy(links: &str) -> anyhow::Result<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md"))?;
    let stated: Vec<&str> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("Content-Security-Policy: "))
        .collect();
    let [policy] = stated[..] else {
        anyhow::bail!("the README states the console's policy once, as a header line: {stated:?}");
    };
    Ok(policy.replace("<links>", links))
}

#[tokio::test]
async fn the_page_policy_is_the_readmes_and_allows_media_only_from_the_bucket() -> anyhow::Result<()>
{
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    let mut call = CallRecord::new(Provider::Voki, "policy-1");
    call.status = CallStatus::Completed;
    call.started_at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single();
    call.recording = Some(FileRef {
        source_url: "https://files.example.test/policy-1.mp3".into(),
    });
    let received = call.started_at.unwrap_or_default();
    ingest(&store, Normalized::Call(call.clone()), received).await?;
    let (pk, sk) = record_key(&Normalized::Call(call), None);
    let recording = b"not really an mp3";
    let files = store
        .update_files(&pk, &sk, |files| {
            if let Some(f) = files.get_mut(&FileKind::Recording) {
                f.status = FileStatus::Copied;
                f.size = Some(recording.len() as u64);
            }
        })
        .await?
        .expect("the call stored");
    s3.put_object()
        .bucket("archive")
        .key(&files[&FileKind::Recording].s3_key)
        .body(recording.to_vec().into())
        .send()
        .await?;
    let console = Console::start(&store).await?;

    let response = console
        .http
        .get(console.url("/calls/voki/policy-1"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()?
        .to_owned();
    let html = response.text().await?;

    // Against the emulator the client addresses the bucket path-style under its endpoint:
    // that is what the policy names, exactly as the README says.
    let links = format!("{}/archive/", emulator.endpoint());
    assert_eq!(policy, documented_policy(&links)?);
    for directive in ["img-src", "media-src"] {
        assert!(
            policy.contains(&format!("{directive} {links};")),
            "{directive} names the bucket: {policy}"
        );
    }
    // No source wider than one origin: no bare scheme, no wildcard.
    for source in policy
        .split(';')
        .flat_map(|directive| directive.split_whitespace().skip(1))
    {
        assert!(
            !source.contains('*') && !source.ends_with(':'),
            "{source} in {policy}"
        );
    }
    // The recording the page plays is under what the policy allows.
    let audio = attributes(&html, "src")
        .into_iter()
        .find(|s| s.contains("X-Amz-Signature"))
        .expect("a presigned recording link");
    assert!(audio.starts_with(&links), "{audio} under {links}");
    let played = reqwest::get(&audio).await?;
    assert_eq!(played.status(), StatusCode::OK);
    assert_eq!(played.bytes().await?.as_ref(), recording);
    Ok(())
}
