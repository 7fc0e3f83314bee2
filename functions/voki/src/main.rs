//! Voki webhooks: the five call events and `customer.created`.

use callvault_runtime::{sdk_config, telemetry, Config};
use callvault_webhook::adapters::Voki;
use callvault_webhook::{config, serve, Webhook};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let max_body_bytes = config::max_body_bytes()?;
    let sdk = sdk_config().await;
    // The secret, the table warm-up and the parsers' metadata are independent: all at once.
    let (secrets, store, ()) = tokio::join!(
        config::secrets(&sdk, "VOKI_WEBHOOK_SECRETS"),
        config.store(&sdk, config::webhook_timeouts()),
        config::preload()
    );
    serve(Webhook::new(Voki(secrets?), store, max_body_bytes)).await
}
