//! Voki webhooks: the five call events and `customer.created`.

use callvault_webhook::adapters::Voki;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callvault_webhook::run::<Voki>().await
}
