//! Hatif "WhatsApp Message Webhook".

use callvault_webhook::adapters::HatifWhatsApp;
use callvault_webhook::{config, serve, telemetry, Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    // The secret and the table warm-up are independent: fetch both at once.
    let (secrets, store) = tokio::join!(
        config::signing(&sdk, "HATIF_WEBHOOK_SECRETS"),
        config.store(&sdk, config::webhook_timeouts())
    );
    serve(Webhook::new(
        HatifWhatsApp(secrets?),
        store,
        config.max_body_bytes,
    ))
    .await
}
