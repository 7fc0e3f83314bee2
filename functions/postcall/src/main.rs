//! The Post-Call Webhook API (unsigned provider, authenticated by a shared token).

use callvault_webhook::adapters::PostCall;
use callvault_webhook::{config, serve, telemetry, Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let adapter = PostCall(config::keyring(&sdk, "POSTCALL_TOKENS").await?);
    serve(Webhook::new(
        adapter,
        config.store(&sdk).await?,
        config.max_body_bytes,
    ))
    .await
}
