//! VoiceInfra "call completed" webhook.

use callvault_webhook::adapters::VoiceInfra;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::run::<VoiceInfra>().await
}
