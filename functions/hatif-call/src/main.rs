//! Hatif "Call Webhook" (call completed).

use callvault_webhook::adapters::HatifCall;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::run::<HatifCall>().await
}
