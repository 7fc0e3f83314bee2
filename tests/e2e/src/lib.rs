//! Shared helpers for the end-to-end tests: the running local stack (started by
//! `scripts/stack.sh e2e`), signing with the dev secrets, and reading the table back.

use anyhow::Context;
use callvault_store::CallStore;
use callvault_verify::{HmacSha256Hex, Keyring};

/// The local stack the tests talk to, described by the environment `scripts/stack.sh` sets.
#[derive(Debug, Clone)]
pub struct Stack {
    functions_url: String,
    http: reqwest::Client,
    /// The store over the emulator's table.
    pub store: CallStore,
    /// A raw DynamoDB client on the emulator.
    pub ddb: aws_sdk_dynamodb::Client,
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("{name} is not set: run the end-to-end tests with `make test-e2e`")
    })
}

impl Stack {
    /// Connects to the stack named by `CALLVAULT_FUNCTIONS_URL`, `AWS_ENDPOINT_URL`, `TABLE_NAME`.
    pub async fn from_env() -> anyhow::Result<Self> {
        let functions_url = env("CALLVAULT_FUNCTIONS_URL")?;
        let sdk = callvault_testkit::sdk_config_for(&env("AWS_ENDPOINT_URL")?).await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Self {
            functions_url,
            http: reqwest::Client::new(),
            store: CallStore::new(ddb.clone(), env("TABLE_NAME")?),
            ddb,
        })
    }

    /// The function URL of binary `function`.
    pub fn url(&self, function: &str) -> String {
        format!("{}/{function}/", self.functions_url)
    }

    /// A request builder for `method` on `function`'s URL.
    pub fn request(&self, method: reqwest::Method, function: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(function))
    }

    /// POSTs `body` with the given headers and returns status and parsed JSON body.
    pub async fn post(
        &self,
        function: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut request = self
            .request(reqwest::Method::POST, function)
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
}

/// Signs `body` with the first default secret in the JSON of environment variable `var`,
/// the way the provider does with `scheme`.
pub fn sign(var: &str, scheme: HmacSha256Hex, body: &[u8]) -> anyhow::Result<String> {
    let keyring = Keyring::from_json(&env(var)?)?;
    let (_, secret) = keyring
        .default_set()
        .and_then(|set| set.iter().next())
        .with_context(|| format!("{var} has no default secret"))?;
    Ok(scheme.sign(secret, body))
}
