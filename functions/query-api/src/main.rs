//! The query API function: the stored records as JSON over an IAM-authenticated Function URL.

use std::sync::Arc;

use callvault_query::Reader;
use callvault_query_api::QueryApi;
use callvault_runtime::{sdk_config, telemetry, Config};
use lambda_http::{service_fn, Request};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    let reader = Reader::from_config(&sdk, &config.table_name, &config.bucket_name);
    reader.warm_up().await?;
    let api = Arc::new(QueryApi::new(reader));
    lambda_http::run(service_fn(move |request: Request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, std::convert::Infallible>(api.handle(request).await) }
    }))
    .await
}
