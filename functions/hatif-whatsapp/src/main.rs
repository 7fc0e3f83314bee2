//! Hatif "WhatsApp Message Webhook".

use callvault_webhook::adapters::HatifWhatsApp;
use callvault_webhook::{config, serve, telemetry, Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let adapter = HatifWhatsApp(config::signing(&sdk, "HATIF_WEBHOOK_SECRETS").await?);
    serve(Webhook::new(
        adapter,
        config.store(&sdk).await?,
        config.max_body_bytes,
    ))
    .await
}
