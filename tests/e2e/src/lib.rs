//! Shared helpers for the end-to-end tests: the running local stack (started by
//! `scripts/stack.sh e2e`), signing with the dev secrets, and reading records back.

pub mod browser;
pub mod emf;
pub mod samples;
pub mod snapshot;

use anyhow::Context;
use callvault_catalog::{Auth, Webhook};
use callvault_records::{CallRecord, Normalized, Provider};
use callvault_store::files::{FileStatus, Files};
use callvault_store::{schema, RecordStore, Stored};
use callvault_verify::{HmacSha256Hex, Keyring};

/// A DynamoDB item as read back.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The local stack the tests talk to, described by the environment `scripts/stack.sh` sets.
#[derive(Debug, Clone)]
pub struct Stack {
    functions_url: String,
    http: reqwest::Client,
    /// The store over the emulator's table and bucket.
    pub store: RecordStore,
}

/// A response: status and JSON body.
pub type Reply = (u16, serde_json::Value);

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("{name} is not set: run the end-to-end tests with `make test-e2e`")
    })
}

impl Stack {
    /// Connects to the stack named by `CALLVAULT_FUNCTIONS_URL`, `AWS_ENDPOINT_URL`,
    /// `TABLE_NAME` and `BUCKET_NAME`.
    pub async fn from_env() -> anyhow::Result<Self> {
        let sdk = callvault_testkit::sdk_config_for(&env("AWS_ENDPOINT_URL")?).await;
        Ok(Self {
            functions_url: env("CALLVAULT_FUNCTIONS_URL")?,
            http: reqwest::Client::new(),
            store: RecordStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                aws_sdk_s3::Client::new(&sdk),
                env("TABLE_NAME")?,
                env("BUCKET_NAME")?,
            ),
        })
    }

    /// A stack whose functions are served under `functions_url` (cargo lambda watch's
    /// `.../lambda-url`), read back through `store`.
    pub fn new(functions_url: impl Into<String>, store: RecordStore) -> Self {
        Self {
            functions_url: functions_url.into(),
            http: reqwest::Client::new(),
            store,
        }
    }

    /// A request builder for `method` on `function`'s URL plus `suffix` (e.g. `?token=x`).
    pub fn request(
        &self,
        method: reqwest::Method,
        function: &str,
        suffix: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(
            method,
            format!("{}/{function}/{suffix}", self.functions_url),
        )
    }

    /// POSTs `body` with the given headers to `function` (URL suffix `suffix`).
    pub async fn post_to(
        &self,
        function: &str,
        suffix: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .request(reqwest::Method::POST, function, suffix)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let json = response.json().await.context("response body is not JSON")?;
        Ok((status, json))
    }

    /// Sends a sample delivery to its function, exactly as built.
    pub async fn send(&self, sample: &samples::Sample) -> anyhow::Result<Reply> {
        let mut request = self
            .request(
                reqwest::Method::POST,
                sample.webhook.name(),
                &sample.suffix(),
            )
            .body(sample.body.clone());
        for (name, value) in &sample.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let json = response.json().await.context("response body is not JSON")?;
        Ok((status, json))
    }

    /// POSTs `body` with the given headers to `function`.
    pub async fn post(
        &self,
        function: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        self.post_to(function, "", headers, body).await
    }

    /// The stored call `provider_call_id` of `provider`, if any (an error if that id names
    /// records of several secret scopes: see [`Stack::calls`]).
    pub async fn call(
        &self,
        provider: Provider,
        provider_call_id: &str,
    ) -> anyhow::Result<Option<(CallRecord, Stored)>> {
        let mut calls = self.calls(provider, provider_call_id).await?;
        anyhow::ensure!(
            calls.len() <= 1,
            "{provider}/{provider_call_id} has {} records",
            calls.len()
        );
        Ok(calls.pop())
    }

    /// Every stored record of call `provider_call_id` of `provider`: one per secret scope
    /// (Hatif channel) it was delivered under, in sort-key order.
    pub async fn calls(
        &self,
        provider: Provider,
        provider_call_id: &str,
    ) -> anyhow::Result<Vec<(CallRecord, Stored)>> {
        let pk = schema::call_pk(provider, provider_call_id);
        self.store
            .records(&pk, schema::CALL_SK)
            .await?
            .into_iter()
            .map(|(_, stored)| match &stored.record {
                Normalized::Call(call) => Ok((call.clone(), stored)),
                other => anyhow::bail!("{pk} holds a {} record", other.kind()),
            })
            .collect()
    }

    /// Sends a signed VoiceInfra delivery of call `call_id` (started 2026-11-20 09:00 UTC)
    /// whose recording is at `recording_url`, and returns the call's files once the copier has
    /// settled them.
    pub async fn voiceinfra_call_with_recording(
        &self,
        call_id: &str,
        recording_url: &str,
    ) -> anyhow::Result<Files> {
        let body = serde_json::to_vec(&serde_json::json!({
            "call_id": call_id, "start_time": "2026-11-20T09:00:00Z",
            "recording_url": recording_url, "call_outcome": "answered"
        }))?;
        let (status, reply) = self
            .post("voiceinfra", &[voiceinfra_signature(&body)?], body)
            .await?;
        anyhow::ensure!(status == 200, "voiceinfra answered {status}: {reply}");
        self.files_when_settled(Provider::VoiceInfra, call_id).await
    }

    /// The files of a call once none is pending any more (the copier has run), waiting up to
    /// 60 s.
    pub async fn files_when_settled(
        &self,
        provider: Provider,
        call_id: &str,
    ) -> anyhow::Result<Files> {
        for _ in 0..300 {
            if let Some((_, stored)) = self.call(provider, call_id).await? {
                if !stored.files.is_empty()
                    && stored
                        .files
                        .values()
                        .all(|f| f.status != FileStatus::Pending)
                {
                    return Ok(stored.files);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        anyhow::bail!("files of {call_id} still pending after 60 s")
    }

    /// Rejected deliveries kept today for `provider`.
    pub async fn rejected_today(&self, provider: Provider) -> anyhow::Result<Vec<Item>> {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        Ok(self
            .store
            .query_prefix(&schema::rejected_pk(provider, &day), "")
            .await?)
    }

    /// The delivery of exactly `body` kept today for `provider`, if it was kept: its reason
    /// and its raw bytes, read back from the item or from S3 (kept deliveries are keyed by the
    /// SHA-256 of their body).
    pub async fn kept(&self, provider: Provider, body: &[u8]) -> anyhow::Result<Option<Kept>> {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let items = self
            .store
            .query_prefix(&schema::rejected_pk(provider, &day), &sha256_hex(body))
            .await?;
        let Some(item) = items.into_iter().next() else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let body = match (item.get("body"), text("body_s3_uri")) {
            (Some(inline), _) => inline
                .as_b()
                .map_err(|_| anyhow::anyhow!("`body` is not binary"))?
                .clone()
                .into_inner(),
            (None, Some(uri)) => self.store.get_object(&uri).await?,
            (None, None) => anyhow::bail!("a kept delivery without its body"),
        };
        Ok(Some(Kept {
            reason: text("reason").unwrap_or_default(),
            body,
        }))
    }
}

/// A delivery kept raw because it could not become a record.
#[derive(Debug)]
pub struct Kept {
    /// Why it was kept.
    pub reason: String,
    /// The body as received.
    pub body: Vec<u8>,
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// Signs `body` the way the provider does with `scheme`, using the secret for `key` (a Hatif
/// channel) or the default secret in the JSON of environment variable `var`.
pub fn sign(
    var: &str,
    key: Option<&str>,
    scheme: HmacSha256Hex,
    body: &[u8],
) -> anyhow::Result<String> {
    let keyring = Keyring::from_json(&env(var)?)?;
    let (_, secret) = keyring
        .for_key(key)
        .and_then(|set| set.iter().next())
        .with_context(|| format!("{var} has no secret for {key:?}"))?;
    Ok(scheme.sign(secret, body))
}

/// VoiceInfra's signature header for `body`, signed with the dev secret.
pub fn voiceinfra_signature(body: &[u8]) -> anyhow::Result<(&'static str, String)> {
    let (_, headers) = authenticate(Webhook::VoiceInfra, None, body)?;
    headers
        .into_iter()
        .next()
        .context("VoiceInfra deliveries are signed")
}

/// The URL suffix and headers that authenticate `body` for `webhook` with the dev secrets: its
/// signature made with the secret for `key` (a Hatif channel) or the default secret, or the
/// post-call token in the query.
pub fn authenticate(
    webhook: Webhook,
    key: Option<&str>,
    body: &[u8],
) -> anyhow::Result<(String, Vec<(&'static str, String)>)> {
    let var = webhook.secret_var();
    Ok(match webhook.auth() {
        Auth::Signature { header, scheme, .. } => {
            (String::new(), vec![(header, sign(var, key, scheme, body)?)])
        }
        Auth::Token => (format!("?token={}", dev_secret(var)?), vec![]),
    })
}

/// Every secret and token in the JSON of environment variable `var`, default and per channel.
pub fn dev_secrets(var: &str) -> anyhow::Result<Vec<String>> {
    let doc: serde_json::Value = serde_json::from_str(&env(var)?)?;
    let sets = std::iter::once(&doc["secrets"]).chain(
        doc["channels"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values()),
    );
    Ok(sets
        .filter_map(serde_json::Value::as_object)
        .flat_map(|set| set.values().filter_map(|v| v.as_str().map(str::to_owned)))
        .collect())
}

/// The first default value in the JSON of environment variable `var` (a token or secret).
pub fn dev_secret(var: &str) -> anyhow::Result<String> {
    let doc: serde_json::Value = serde_json::from_str(&env(var)?)?;
    doc["secrets"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{var} has no default secret"))
}
