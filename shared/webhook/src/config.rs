//! Configuration read from the environment at cold start.

use anyhow::{bail, Context};
use callvault_store::CallStore;
use aws_config::SdkConfig;
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

    /// Builds the store and makes one request so the first delivery finds a warm connection.
    pub async fn store(&self, sdk: &SdkConfig) -> anyhow::Result<CallStore> {
        let store = CallStore::new(callvault_store::DynamoDbClient::new(sdk), &self.table_name);
        store
            .warm_up()
            .await
            .with_context(|| format!("table {} is not reachable", self.table_name))?;
        Ok(store)
    }
}

/// The standard AWS SDK configuration (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Loads a provider's keyring (see [`Keyring`] for the JSON shape), read once at cold start:
/// from the Secrets Manager secret named by `<var>_ARN` when set (deployed functions), else
/// from the JSON in `<var>` itself (local development). Values are never logged.
pub async fn keyring(sdk: &SdkConfig, var: &str) -> anyhow::Result<Keyring> {
    let arn_var = format!("{var}_ARN");
    let json = if let Some(arn) = std::env::var(&arn_var).ok().filter(|v| !v.is_empty()) {
        aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
            .with_context(|| format!("reading secret {arn} ({arn_var})"))?
            .secret_string
            .with_context(|| format!("secret {arn} has no value yet: set it as described in the README"))?
    } else if let Ok(json) = std::env::var(var) {
        json
    } else {
        bail!("neither {arn_var} nor {var} is set: configure the webhook secret (see README)");
    };
    Keyring::from_json(&json).with_context(|| format!("{var}: not a valid secret configuration"))
}
