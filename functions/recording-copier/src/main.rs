//! Recording copier: archives the files of records that have some due, from stream batches
//! and scheduled sweeps.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use callvault_archive::config::{
    copier_from_env, retry_schedule_from_env, table_timeouts, upload_timeouts,
};
use callvault_archive::stream::{Archiver, CopierEvent};
use callvault_webhook::{config, telemetry, Config};
use lambda_runtime::{service_fn, LambdaEvent};

/// The invocation's deadline as an instant (Lambda passes it as epoch milliseconds).
fn deadline(epoch_ms: u64) -> Instant {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Instant::now() + Duration::from_millis(epoch_ms).saturating_sub(now)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = config::sdk_config().await;
    let store = config.store(&sdk, table_timeouts()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .timeout_config(upload_timeouts())
            .build(),
    );
    let archiver = Archiver::new(copier_from_env(s3)?, store, retry_schedule_from_env()?);
    let archiver = &archiver;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<CopierEvent>| async move {
            let deadline = deadline(event.context.deadline);
            Ok::<_, lambda_runtime::Error>(archiver.handle(event.payload, deadline).await)
        },
    ))
    .await
}
