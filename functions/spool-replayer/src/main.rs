//! Spool replayer: applies deliveries that the webhooks spooled to S3 while DynamoDB failed,
//! as soon as S3 notifies their arrival (through the spool queue, which retries them) and on
//! a schedule, so the spool drains by itself once DynamoDB is back.

use callvault_runtime::{metrics, sdk_config, telemetry, Config};
use callvault_webhook::config;
use callvault_webhook::replay::{handle_replayer, ReplayerEvent};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    metrics::init();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    let store = config.store(&sdk, config::webhook_timeouts()).await;
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ReplayerEvent>| async move {
            let answer = handle_replayer(store, event.payload).await;
            metrics::flush(Some(&event.context.request_id));
            Ok::<_, lambda_runtime::Error>(answer)
        },
    ))
    .await
}
