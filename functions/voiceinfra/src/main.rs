//! VoiceInfra "call completed" webhook.

use callvault_webhook::{config, serve, telemetry, voiceinfra::VoiceInfra, Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let adapter = VoiceInfra::new(config::keyring_from_env(callvault_webhook::voiceinfra::SECRETS_VAR)?);
    let store = config.store().await?;
    serve(Webhook::new(adapter, store, config.max_body_bytes)).await
}
