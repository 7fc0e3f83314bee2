//! Placeholder for the voki webhook: answers 501 until its adapter is built.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::telemetry::init();
    callvault_webhook::not_implemented("voki").await
}
