//! Recording copier: archives the files of records that have some due, from stream batches
//! and scheduled sweeps.

use std::time::{Duration, Instant};

use callvault_archive::config::{
    copier_from_env, retry_schedule_from_env, table_timeouts, upload_timeouts,
};
use callvault_archive::stream::{Archiver, CopierEvent, Invocation};
use callvault_runtime::{metrics, sdk_config, telemetry, time_left, Config};
use lambda_runtime::{service_fn, LambdaEvent};

/// The template's timeout, for a runtime that passes no real deadline.
const TIMEOUT: Duration = Duration::from_secs(900);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    metrics::init();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
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
            let deadline = Instant::now() + time_left(event.context.deadline).unwrap_or(TIMEOUT);
            let invocation = Invocation::new(event.context.request_id, deadline);
            let answer = archiver.handle(event.payload, &invocation).await;
            metrics::flush(Some(&invocation.request_id));
            Ok::<_, lambda_runtime::Error>(answer)
        },
    ))
    .await
}
