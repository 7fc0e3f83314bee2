//! Custody under storage faults, through the real function binaries. Each webhook runs under
//! a Lambda Runtime API harness with an environment of its own: DynamoDB and S3 each from
//! their own emulator, so DynamoDB can fail alone. For a stalled DynamoDB (process stopped
//! with SIGSTOP: connections accepted, never answered) and a DynamoDB outage (process killed),
//! every webhook answers within its budget, nothing acknowledged is lost, and once DynamoDB
//! is back the spool replayer drains the spool and the table equals a no-fault run of the
//! same deliveries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use callvault_catalog::Webhook;
use callvault_e2e::samples::{self, Sample};
use callvault_e2e::snapshot::{self, Snapshot};
use callvault_runtime::metrics;
use callvault_store::{schema, RecordStore};
use callvault_testkit::lambda::{function_binary, function_url_event, HttpReply, LambdaHarness};
use callvault_testkit::{sdk_config_for, Emulator};
use futures_util::future::try_join_all;
use serde_json::{json, Value};

const TABLE: &str = "callvault";
/// The namespace of the functions' metrics here.
pub(crate) const METRICS_NAMESPACE: &str = "callvault/e2e";
const BUCKET: &str = "callvault-archive";
/// The Lambda timeout the template gives every webhook.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);
/// What the README promises: every webhook answers within its store and spool budgets.
const ANSWER_WITHIN: Duration = Duration::from_millis(7500);

/// DynamoDB and S3 in emulators of their own, and functions configured for them.
pub(crate) struct Rig {
    pub(crate) dynamodb: Emulator,
    pub(crate) s3: Emulator,
    pub(crate) functions: BTreeMap<&'static str, LambdaHarness>,
}

impl Rig {
    pub(crate) async fn start() -> anyhow::Result<Self> {
        let rig = Self {
            dynamodb: Emulator::start()?,
            s3: Emulator::start()?,
            functions: BTreeMap::new(),
        };
        rig.provision().await?;
        Ok(rig)
    }

    async fn provision(&self) -> anyhow::Result<()> {
        self.provision_table().await?;
        schema::create_bucket(self.store().await.s3(), BUCKET).await?;
        Ok(())
    }

    async fn provision_table(&self) -> anyhow::Result<()> {
        schema::create_table(self.store().await.dynamodb(), TABLE).await?;
        Ok(())
    }

    pub(crate) async fn store(&self) -> RecordStore {
        RecordStore::new(
            aws_sdk_dynamodb::Client::new(&sdk_config_for(self.dynamodb.endpoint()).await),
            aws_sdk_s3::Client::new(&sdk_config_for(self.s3.endpoint()).await),
            TABLE,
            BUCKET,
        )
    }

    fn env(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut env = vec![
            ("TABLE_NAME", TABLE.to_owned()),
            ("BUCKET_NAME", BUCKET.to_owned()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                self.dynamodb.endpoint().to_owned(),
            ),
            ("AWS_ENDPOINT_URL_S3", self.s3.endpoint().to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("RUST_LOG", "info".to_owned()),
            (metrics::NAMESPACE_ENV, METRICS_NAMESPACE.to_owned()),
        ];
        // The secrets the functions read, from `dev.env` (set by `scripts/stack.sh`).
        for webhook in Webhook::ALL {
            let var = webhook.secret_var();
            if !env.iter().any(|(v, _)| *v == var) {
                env.push((var, std::env::var(var)?));
            }
        }
        Ok(env)
    }

    /// Starts `function` (a webhook or the spool replayer) and waits until it is ready.
    pub(crate) async fn run(&mut self, function: &'static str) -> anyhow::Result<()> {
        let harness =
            LambdaHarness::start(&function_binary(function), function, &self.env()?).await?;
        harness.ready(Duration::from_secs(30)).await?;
        self.functions.insert(function, harness);
        Ok(())
    }

    async fn run_webhooks(&mut self) -> anyhow::Result<()> {
        for webhook in Webhook::ALL {
            self.run(webhook.name()).await?;
        }
        Ok(())
    }

    /// Sends a sample to its function with the Lambda timeout as deadline: the reply and how
    /// long it took.
    async fn send(&self, sample: &Sample) -> anyhow::Result<(HttpReply, Duration)> {
        let harness = &self.functions[sample.webhook.name()];
        let event = function_url_event(
            "POST",
            &format!("/{}", sample.suffix()),
            &sample.header_pairs(),
            &sample.body,
        );
        let started = Instant::now();
        let invocation = harness.invoke(&event, LAMBDA_TIMEOUT).await?;
        let elapsed = started.elapsed();
        Ok((invocation.reply()?, elapsed))
    }

    /// Sends every sample, the functions side by side (each function's own in order).
    async fn send_all(
        &self,
        samples: &[Sample],
    ) -> anyhow::Result<Vec<(String, HttpReply, Duration)>> {
        let per_function = Webhook::ALL.map(|webhook| async move {
            let mut replies = Vec::new();
            for sample in samples.iter().filter(|s| s.webhook == webhook) {
                let (reply, elapsed) = self.send(sample).await?;
                replies.push((
                    format!("{} {}", sample.webhook, sample.event),
                    reply,
                    elapsed,
                ));
            }
            anyhow::Ok(replies)
        });
        Ok(try_join_all(per_function)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// What S3 would notify for every spooled delivery, as the spool queue delivers it.
    pub(crate) async fn spool_notifications(&self) -> anyhow::Result<Value> {
        let keys = self.store().await.spooled_keys().await?;
        let records: Vec<Value> = keys
            .iter()
            .map(|key| {
                let notification = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]});
                json!({"messageId": key, "eventSource": "aws:sqs", "body": notification.to_string()})
            })
            .collect();
        Ok(json!({ "Records": records }))
    }

    /// The table's items, with what depends on when a delivery was received masked.
    async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        snapshot::scan(self.store().await.dynamodb(), TABLE, None).await
    }
}

fn run_id() -> String {
    format!("fault-{}", chrono::Utc::now().format("%H%M%S%3f"))
}

/// The reference: the same deliveries to functions whose storage works.
async fn no_fault_snapshot(samples: &[Sample]) -> anyhow::Result<Snapshot> {
    let mut rig = Rig::start().await?;
    rig.run_webhooks().await?;
    for (what, reply, _) in rig.send_all(samples).await? {
        let status = reply.json()?["status"].clone();
        anyhow::ensure!(status == "stored", "{what}: {status}");
    }
    rig.snapshot().await
}

/// Checks that every sample was spooled within the budget, then drains the spool through the
/// spool replayer (what the spool queue does in AWS) and compares with the no-fault run.
async fn spooled_then_drained(
    rig: &mut Rig,
    replies: Vec<(String, HttpReply, Duration)>,
    samples: &[Sample],
) -> anyhow::Result<()> {
    for (what, reply, elapsed) in &replies {
        assert_eq!(
            (reply.status, reply.json()?),
            (200, json!({"status": "spooled"})),
            "{what}"
        );
        assert!(
            elapsed < &ANSWER_WITHIN,
            "{what} answered after {elapsed:?}"
        );
    }
    let store = rig.store().await;
    assert_eq!(
        store.spooled_keys().await?.len(),
        samples.len(),
        "every acknowledged delivery is in the spool"
    );

    rig.run("spool-replayer").await?;
    let notifications = rig.spool_notifications().await?;
    let invocation = rig.functions["spool-replayer"]
        .invoke(&notifications, Duration::from_secs(60))
        .await?;
    assert_eq!(
        invocation.outcome.map_err(|e| anyhow::anyhow!("{e}"))?,
        json!({"batchItemFailures": []})
    );
    assert!(store.spooled_keys().await?.is_empty(), "the spool drained");
    assert_same(&rig.snapshot().await?, &no_fault_snapshot(samples).await?);
    Ok(())
}

/// Compares two snapshots item by item, naming what differs.
fn assert_same(replayed: &Snapshot, reference: &Snapshot) {
    let differences = snapshot::differences(("replayed", replayed), ("no fault", reference));
    assert!(
        differences.is_empty(),
        "the replayed table differs from a no-fault run:\n{}",
        differences.join("\n")
    );
}

/// DynamoDB stalls (accepts connections, never answers): every webhook spools within its
/// budget; a replay attempt while it still stalls leaves the delivery in the spool (the queue
/// offers it again); once DynamoDB answers, the spool drains into the same table a no-fault
/// run gives.
#[tokio::test]
async fn a_stalled_table_loses_nothing() -> anyhow::Result<()> {
    let samples = samples::every_kind(&run_id())?;
    let mut rig = Rig::start().await?;
    rig.run_webhooks().await?;
    rig.dynamodb.pause()?;
    let replies = rig.send_all(&samples).await?;

    // The replayer cannot apply anything yet: the message comes back as a failure.
    rig.run("spool-replayer").await?;
    let first = rig.store().await.spooled_keys().await?;
    let one = json!({"Records": [rig.spool_notifications().await?["Records"][0].clone()]});
    let attempt = rig.functions["spool-replayer"]
        .invoke(&one, Duration::from_secs(60))
        .await?;
    assert_eq!(
        attempt.outcome.map_err(|e| anyhow::anyhow!("{e}"))?["batchItemFailures"][0]
            ["itemIdentifier"],
        json!(first[0])
    );
    assert_eq!(
        rig.store().await.spooled_keys().await?,
        first,
        "nothing left the spool"
    );

    rig.dynamodb.resume()?;
    rig.functions.remove("spool-replayer");
    spooled_then_drained(&mut rig, replies, &samples).await
}

/// DynamoDB is down (connections refused): every webhook spools; once a DynamoDB answers
/// again (here an empty one on the same endpoint, its table re-created), the spool drains
/// into the same table a no-fault run gives.
#[tokio::test]
async fn a_table_outage_loses_nothing() -> anyhow::Result<()> {
    let samples = samples::every_kind(&run_id())?;
    let mut rig = Rig::start().await?;
    rig.run_webhooks().await?;
    rig.dynamodb.stop()?;
    let replies = rig.send_all(&samples).await?;
    rig.dynamodb.restart()?;
    rig.provision_table().await?;
    spooled_then_drained(&mut rig, replies, &samples).await
}

/// With DynamoDB stalled and S3 stalled too, nothing can be kept: every webhook answers 503
/// (retry later) within its budget, and nothing is acknowledged. (A spool write sent before
/// its timeout may still land once S3 answers again: it is then replayed like any other, and
/// the provider's retry of the same delivery is a duplicate.)
#[tokio::test]
async fn with_the_spool_down_too_nothing_is_acknowledged() -> anyhow::Result<()> {
    let samples = samples::every_kind(&run_id())?;
    let mut rig = Rig::start().await?;
    rig.run_webhooks().await?;
    rig.dynamodb.pause()?;
    rig.s3.pause()?;
    for (what, reply, elapsed) in rig.send_all(&samples).await? {
        assert_eq!(
            (reply.status, reply.json()?),
            (503, json!({"error": "storage unavailable, retry later"})),
            "{what}"
        );
        assert!(elapsed < ANSWER_WITHIN, "{what} answered after {elapsed:?}");
    }
    rig.dynamodb.resume()?;
    rig.s3.resume()?;
    assert!(rig.snapshot().await?.is_empty(), "nothing stored");
    Ok(())
}
