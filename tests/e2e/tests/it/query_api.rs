//! The query API function served by cargo lambda watch: every route against a seeded data
//! set, every response (success and error) checked against `docs/openapi.yaml`.

use callvault_e2e::Stack;
use callvault_records::Provider;
use callvault_store::files::FileKind;
use callvault_testkit::dataset::{numbers_of, Dataset, SeededCall, BUSY_CONVERSATION};
use callvault_testkit::SourceServer;
use chrono::{TimeZone, Utc};
use serde_json::Value;

/// The OpenAPI document and the routes' response schemas.
struct OpenApi(Value);

impl OpenApi {
    fn load() -> anyhow::Result<Self> {
        let path = callvault_testkit::repo_root().join("docs/openapi.yaml");
        Ok(Self(serde_yaml_ng::from_str(&std::fs::read_to_string(
            path,
        )?)?))
    }

    /// Follows a local `$ref` (`#/components/...`).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .0
                .pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
            None => value,
        }
    }

    /// Asserts that `body` is what the document promises for `route` answering `status`.
    fn check(&self, route: &str, status: u16, body: &Value) {
        let operation = &self.0["paths"][route]["get"];
        assert!(operation.is_object(), "{route} is documented");
        let response = self.resolve(&operation["responses"][status.to_string()]);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{route} documents status {status}");
        // The whole document is the schema resource, so its `$ref`s resolve.
        let mut root = self.0.clone();
        root["$ref"] = schema["$ref"].clone();
        let validator = jsonschema::validator_for(&root).expect("the OpenAPI schemas compile");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{route} {status}: {errors:?}\n{body}");
    }
}

struct Api<'a> {
    stack: &'a Stack,
    openapi: OpenApi,
}

impl Api<'_> {
    /// GETs `path` (with query) and checks the reply against the route's documentation.
    async fn get(&self, route: &str, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .stack
            .request(
                reqwest::Method::GET,
                "query-api",
                path.trim_start_matches('/'),
            )
            .send()
            .await?;
        let status = response.status().as_u16();
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body: Value = response.json().await?;
        self.openapi.check(route, status, &body);
        Ok((status, body))
    }

    /// Every page of a list, as the items' values at `id_fields`.
    async fn all(
        &self,
        route: &str,
        path: &str,
        id_fields: &[&str],
    ) -> anyhow::Result<Vec<Vec<String>>> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_owned(),
            };
            let (status, page) = self.get(route, &url).await?;
            assert_eq!(status, 200, "{url}: {page}");
            for item in page["items"].as_array().into_iter().flatten() {
                ids.push(
                    id_fields
                        .iter()
                        .map(|f| item[*f].as_str().unwrap_or_default().to_owned())
                        .collect(),
                );
            }
            match page["cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(ids),
            }
        }
    }

    /// Every page of `/calls?<query>`, as `[provider, provider_call_id]` rows.
    async fn calls(&self, query: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let path = format!("/calls?{query}");
        self.all("/calls", &path, &["provider", "provider_call_id"])
            .await
    }
}

fn as_rows(ids: Vec<(Provider, String)>) -> Vec<Vec<String>> {
    ids.into_iter()
        .map(|(p, id)| vec![p.to_string(), id])
        .collect()
}

#[tokio::test]
async fn every_route_answers_as_documented() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let api = Api {
        stack: &stack,
        openapi: OpenApi::load()?,
    };
    // The data set lies in 2026-11-01..11; other tests' calls are elsewhere in time.
    let data = Dataset::generate(23, 300).without_files();
    let sdk = callvault_testkit::sdk_config_for(&std::env::var("AWS_ENDPOINT_URL")?).await;
    data.load(&stack.store, &aws_sdk_s3::Client::new(&sdk))
        .await?;
    let window = "since=2026-11-01T00:00:00Z&until=2026-11-11T00:00:00Z";
    let in_window = |c: &SeededCall| {
        let t = c.record.listed_at(c.received_at);
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single() <= Some(t)
            && Some(t) < Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).single()
    };

    let (status, index) = api.get("/", "/").await?;
    assert_eq!(status, 200);
    assert!(index["routes"].as_array().is_some_and(|r| r.len() == 4));

    // Calls by time across providers, paged.
    let listed = api.calls(&format!("{window}&limit=40")).await?;
    assert_eq!(listed, as_rows(data.expected(in_window)));

    // By number (typed with spaces, URL-encoded), by agent and provider, by status.
    let number = &data.numbers[0];
    let typed = format!("%2B1%20415%20555%20{}", &number[8..]);
    let listed = api
        .calls(&format!("phone={typed}&{window}&limit=7"))
        .await?;
    let expected =
        data.expected(|c| in_window(c) && numbers_of(&c.record).contains(&number.as_str()));
    assert!(!expected.is_empty());
    assert_eq!(listed, as_rows(expected));
    let listed = api
        .calls(&format!("agent=agent-05&provider=voki&{window}&limit=3"))
        .await?;
    let expected = data.expected(|c| {
        in_window(c)
            && c.record.provider == Provider::Voki
            && c.record.agent.as_ref().is_some_and(|a| a.id == "agent-05")
    });
    assert_eq!(listed, as_rows(expected));
    let listed = api
        .calls(&format!("status=missed&{window}&limit=20"))
        .await?;
    let expected =
        data.expected(|c| in_window(c) && c.record.status == callvault_records::CallStatus::Missed);
    assert_eq!(listed, as_rows(expected));

    // One call with its history; an unknown one.
    let (provider, id) = data.calls[3].id();
    let (status, detail) = api
        .get(
            "/calls/{provider}/{call_id}",
            &format!("/calls/{provider}/{id}"),
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(detail["record"]["provider_call_id"], id.as_str());
    assert_eq!(detail["events"][0]["event_type"], "seed");
    let (status, body) = api
        .get(
            "/calls/{provider}/{call_id}",
            "/calls/voki/no%20such%20call",
        )
        .await?;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    // A conversation in order, paged.
    let listed = api
        .all(
            "/conversations/{provider}/{conversation_id}/messages",
            &format!("/conversations/hatif/{BUSY_CONVERSATION}/messages?limit=30"),
            &["message_id"],
        )
        .await?;
    let expected: Vec<Vec<String>> = data
        .expected_messages(BUSY_CONVERSATION)
        .into_iter()
        .map(|id| vec![id])
        .collect();
    assert_eq!(listed, expected);

    // A recording archived by the real copier, then a presigned link to it.
    let server = SourceServer::start().await?;
    let audio: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    server.add("query.mp3", audio.clone(), "audio/mpeg");
    let files = stack
        .voiceinfra_call_with_recording("e2e-query-recording", &server.url("/files/query.mp3"))
        .await?;
    assert_eq!(
        files[&FileKind::Recording].status,
        callvault_store::files::FileStatus::Copied
    );
    let route = "/calls/{provider}/{call_id}/files/{kind}";
    let (status, link) = api
        .get(
            route,
            "/calls/voiceinfra/e2e-query-recording/files/recording?expires=300",
        )
        .await?;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "links point at the emulator: {url}"
    );
    let fetched = reqwest::get(url).await?.error_for_status()?.bytes().await?;
    assert_eq!(fetched.as_ref(), audio.as_slice());
    let (status, body) = api
        .get(
            route,
            "/calls/voiceinfra/e2e-query-recording/files/transcript",
        )
        .await?;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    // Bad requests: 400 with the reason, as documented.
    for (route, path, reason) in [
        ("/calls", "/calls?provider=twilio", "unknown provider"),
        ("/calls", "/calls?since=soon", "cannot read time"),
        ("/calls", "/calls?phone=12345", "cannot read phone number"),
        ("/calls", "/calls?limit=0", "limit must be between"),
        ("/calls", "/calls?cursor=bm9wZQ", "invalid cursor"),
        ("/calls", "/calls?recording=copied", "unknown file state"),
        (
            "/calls/{provider}/{call_id}",
            "/calls/twilio/x",
            "unknown provider",
        ),
        (route, "/calls/voki/x/files/video", "unknown file kind"),
        (
            route,
            "/calls/voki/x/files/recording?expires=0",
            "expires must be",
        ),
    ] {
        let (status, body) = api.get(route, path).await?;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(reason)),
            "{path}: {body}"
        );
    }

    // Not a route, not a GET.
    let response = stack
        .request(reqwest::Method::GET, "query-api", "nothing/here")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 404);
    let response = stack
        .request(reqwest::Method::POST, "query-api", "calls")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await?;
    assert_eq!(body["error"], "method_not_allowed");
    Ok(())
}
