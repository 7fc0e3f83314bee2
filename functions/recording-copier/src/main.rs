//! Recording copier: archives the files of records that have some pending, one stream batch
//! at a time.

use callvault_archive::{config::copier_from_env, stream};
use callvault_webhook::{config, telemetry, Config};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let store = config.store(&sdk).await?;
    let copier = copier_from_env(aws_sdk_s3::Client::new(&sdk))?;
    let (store, copier) = (&store, &copier);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<stream::StreamEvent>| async move {
            Ok::<_, lambda_runtime::Error>(stream::handle(copier, store, event.payload).await)
        },
    ))
    .await
}
