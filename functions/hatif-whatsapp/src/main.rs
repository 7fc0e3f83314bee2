//! Hatif "WhatsApp Message Webhook".

use callvault_webhook::adapters::HatifWhatsApp;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::run::<HatifWhatsApp>().await
}
