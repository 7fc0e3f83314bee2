//! The Post-Call Webhook API (unsigned provider, authenticated by a shared token).

use callvault_webhook::adapters::PostCall;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::run::<PostCall>().await
}
