//! Configuration read from the environment at cold start.

use anyhow::{bail, Context};
use callvault_store::CallStore;
use callvault_verify::Keyring;

/// Default request body limit: 256 KiB keeps any kept raw delivery inside one DynamoDB item.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Settings shared by every webhook function.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`, required).
    pub table_name: String,
    /// Largest accepted body in bytes (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
}

impl Config {
    /// Reads `TABLE_NAME` and `MAX_BODY_BYTES`.
    pub fn from_env() -> anyhow::Result<Self> {
        let table_name = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .context("TABLE_NAME is not set")?;
        let max_body_bytes = match std::env::var("MAX_BODY_BYTES") {
            Ok(v) => v.parse().with_context(|| format!("MAX_BODY_BYTES={v:?} is not a byte count"))?,
            Err(_) => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Self {
            table_name,
            max_body_bytes,
        })
    }

    /// Builds the store from the standard AWS SDK configuration (region, credentials,
    /// `AWS_ENDPOINT_URL`) and makes one request so the first delivery finds a warm connection.
    pub async fn store(&self) -> anyhow::Result<CallStore> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = CallStore::new(aws_sdk_dynamodb_client(&sdk), &self.table_name);
        store
            .warm_up()
            .await
            .with_context(|| format!("table {} is not reachable", self.table_name))?;
        Ok(store)
    }
}

fn aws_sdk_dynamodb_client(sdk: &aws_config::SdkConfig) -> callvault_store::DynamoDbClient {
    callvault_store::DynamoDbClient::new(sdk)
}

/// Loads a provider's keyring from the JSON in environment variable `var`
/// (see [`Keyring`] for the shape). The variable's value is never logged.
pub fn keyring_from_env(var: &str) -> anyhow::Result<Keyring> {
    let Ok(json) = std::env::var(var) else {
        bail!("{var} is not set: configure the webhook secret (see README)");
    };
    Keyring::from_json(&json).with_context(|| format!("{var} is not a valid secret configuration"))
}
