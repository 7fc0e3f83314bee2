//! VoiceInfra "call completed" webhook.

use callvault_webhook::voiceinfra::{VoiceInfra, SECRETS_VAR};
use callvault_webhook::{config, serve, telemetry, Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let adapter = VoiceInfra::new(config::keyring(&sdk, SECRETS_VAR).await?);
    let store = config.store(&sdk).await?;
    serve(Webhook::new(adapter, store, config.max_body_bytes)).await
}
