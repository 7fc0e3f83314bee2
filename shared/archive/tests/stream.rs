//! The copier's stream handler against the emulator: records move from pending to copied,
//! repeated triggers do nothing, a crash between upload and record update heals without a
//! second object, and storage failures come back as batch item failures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use callvault_archive::guard::{AddressPolicy, SystemResolver};
use callvault_archive::source::{HttpSource, SourcePolicy};
use callvault_archive::stream::{
    Archiver, BatchResponse, Change, Invocation, ItemFailure, RetrySchedule, StreamEvent,
    StreamRecord,
};
use callvault_archive::upload::UploadConfig;
use callvault_archive::{Copier, RetryPolicy, Sources};
use callvault_store::files::{FileKind, FileStatus};
use callvault_store::RecordStore;
use callvault_testkit::dataset::{ingest_voiceinfra, ingest_voiceinfra_call};
use callvault_testkit::{Emulator, SourceServer};
use serde_json::json;

fn copier(s3: aws_sdk_s3::Client) -> Copier {
    let policy = SourcePolicy {
        addresses: AddressPolicy {
            allow_loopback: true,
        },
        ..SourcePolicy::default()
    };
    let source = HttpSource::new(policy, Arc::new(SystemResolver)).expect("client");
    Copier::new(
        Sources::uniform(source),
        s3,
        "archive",
        UploadConfig::default(),
        RetryPolicy {
            tries: 2,
            base_delay: Duration::from_millis(10),
        },
    )
}

/// An archiver over `store` whose failed attempts wait `delay` for the next one.
fn archiver(copier: Copier, store: &RecordStore, delay: Duration) -> Archiver {
    Archiver::new(copier, store.clone(), RetrySchedule::new(vec![delay; 3]))
}

/// An invocation with a request id of its own and a deadline as far away as a Lambda
/// invocation's.
fn invocation() -> Invocation {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Invocation::new(
        format!("request-{id}"),
        Instant::now() + Duration::from_secs(900),
    )
}

fn event(pk: &str, sk: &str, seq: &str) -> StreamEvent {
    StreamEvent {
        records: vec![StreamRecord {
            dynamodb: Change {
                keys: [
                    ("pk".to_owned(), json!({"S": pk})),
                    ("sk".to_owned(), json!({"S": sk})),
                ]
                .into(),
                sequence_number: Some(seq.into()),
                ..Change::default()
            },
            ..StreamRecord::default()
        }],
    }
}

async fn raw_item(
    emulator: &Emulator,
    pk: &str,
    sk: &str,
) -> anyhow::Result<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let ddb = aws_sdk_dynamodb::Client::new(&emulator.sdk_config().await);
    let out = ddb
        .get_item()
        .table_name("calls")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
        .send()
        .await?;
    Ok(out.item.unwrap_or_default())
}

#[tokio::test]
async fn pending_recording_is_copied_once_and_the_flag_cleared() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.wav", vec![7u8; 4096], "audio/wav");
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-1", &server.url("/files/r.wav")).await?;
    assert!(
        raw_item(&emulator, &pk, &sk)
            .await?
            .contains_key("files_pending"),
        "new files are flagged for the stream filter"
    );

    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await)),
        &store,
        Duration::from_secs(60),
    );
    assert_eq!(
        archiver
            .handle_batch(event(&pk, &sk, "1"), &invocation())
            .await,
        BatchResponse::default()
    );
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    let file = &stored.files[&FileKind::Recording];
    assert_eq!(
        (file.status, file.attempts, file.size),
        (FileStatus::Copied, 1, Some(4096))
    );
    assert!(
        !raw_item(&emulator, &pk, &sk)
            .await?
            .contains_key("files_pending"),
        "nothing pending: the filter stops matching"
    );

    let requests = server.requests();
    archiver
        .handle_batch(event(&pk, &sk, "2"), &invocation())
        .await;
    assert_eq!(
        server.requests(),
        requests,
        "a second trigger for a copied file does nothing"
    );
    assert_eq!(
        store.get_item(&pk, &sk).await?.expect("record").files,
        stored.files
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_between_upload_and_record_update_heals_without_a_second_object(
) -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![3u8; 10_000], "audio/mpeg");
    let url = server.url("/files/r.mp3");
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-2", &url).await?;
    let key = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording]
        .s3_key
        .clone();
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    let copier = copier(s3.clone());

    // The upload happens, then the process dies before the record is updated.
    copier.copy("voiceinfra", &url, &key).await?;
    let requests = server.requests();
    assert_eq!(
        store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].status,
        FileStatus::Pending
    );

    // The stream delivers the record again: the object is recognized, not downloaded again.
    archiver(copier, &store, Duration::from_secs(60))
        .handle_batch(event(&pk, &sk, "1"), &invocation())
        .await;
    assert_eq!(server.requests(), requests);
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!(file.status, FileStatus::Copied);
    let versions = s3.list_object_versions().bucket("archive").send().await?;
    assert_eq!(
        versions.versions.unwrap_or_default().len(),
        1,
        "exactly one object"
    );
    Ok(())
}

#[tokio::test]
async fn a_webhook_write_during_the_copy_loses_neither() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![1u8; 1000], "audio/mpeg");
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-3", &server.url("/files/r.mp3")).await?;
    // Another delivery for the same call arrives (a retry with a different id), then the copier runs.
    ingest_voiceinfra_call(&store, "c-3", &server.url("/files/r.mp3")).await?;
    let copier = copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await));
    archiver(copier, &store, Duration::from_secs(60))
        .handle_batch(event(&pk, &sk, "1"), &invocation())
        .await;
    let stored = store.get_item(&pk, &sk).await?.expect("record");
    assert_eq!(
        stored.files[&FileKind::Recording].status,
        FileStatus::Copied
    );
    // A later delivery keeps the copy state.
    ingest_voiceinfra(&store, &json!({"call_id": "c-3", "summary": "later"})).await?;
    let after = store.get_item(&pk, &sk).await?.expect("record");
    assert_eq!(
        after.files, stored.files,
        "webhook merges never reset copy results"
    );
    Ok(())
}

#[tokio::test]
async fn storage_failures_are_reported_as_batch_item_failures() -> anyhow::Result<()> {
    let port = callvault_testkit::free_port()?;
    let sdk = callvault_testkit::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let store = RecordStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_s3::Client::new(&sdk),
        "calls",
        "archive",
    );
    let copier = copier(aws_sdk_s3::Client::new(&sdk));
    let response = archiver(copier, &store, Duration::from_secs(60))
        .handle_batch(event("CALL#voki#x", "CALL", "42"), &invocation())
        .await;
    assert_eq!(
        response,
        BatchResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: "42".into()
            }]
        }
    );
    Ok(())
}

/// A transient failure leaves the file pending until its next attempt is due: a trigger
/// before then does nothing, the sweep after it copies. A permanent one fails at once.
#[tokio::test]
async fn failed_attempts_wait_for_their_time_and_the_sweep_retries_them() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![5u8; 2000], "audio/mpeg");
    // 500 for the first two requests: the first attempt's two tries both fail.
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-4", &server.url("/flaky/2/r.mp3")).await?;
    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await)),
        &store,
        Duration::from_secs(2),
    );
    archiver
        .handle_batch(event(&pk, &sk, "1"), &invocation())
        .await;
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!((file.status, file.attempts), (FileStatus::Pending, 1));
    assert!(
        file.next_attempt_at.is_some() && file.error.as_deref() == Some("source answered HTTP 500")
    );
    assert!(
        !raw_item(&emulator, &pk, &sk)
            .await?
            .contains_key("files_pending"),
        "a file waiting for its time does not trigger the stream"
    );

    let requests = server.requests();
    let early = archiver.sweep(&invocation()).await;
    assert_eq!(
        (early.copied, server.requests()),
        (0, requests),
        "not due yet"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let report = archiver.sweep(&invocation()).await;
    assert_eq!(report.copied, 1, "{report:?}");
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!(
        (file.status, file.attempts, file.next_attempt_at),
        (FileStatus::Copied, 2, None)
    );

    let (pk, sk) = ingest_voiceinfra_call(&store, "c-5", &server.url("/status/404")).await?;
    archiver
        .handle_batch(event(&pk, &sk, "2"), &invocation())
        .await;
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!((file.status, file.attempts), (FileStatus::Failed, 1));
    Ok(())
}

/// With too little time left in the invocation, a due file is not started: it stays pending,
/// no attempt counted, for the next sweep.
#[tokio::test]
async fn no_copy_starts_without_the_time_to_finish_it() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![5u8; 2000], "audio/mpeg");
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-6", &server.url("/files/r.mp3")).await?;
    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await)),
        &store,
        Duration::from_secs(60),
    );
    let report = archiver
        .archive_record(
            &pk,
            &sk,
            &Invocation::new("short", Instant::now() + Duration::from_secs(25)),
        )
        .await?;
    assert_eq!((report.deferred, report.copied), (1, 0));
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!((file.status, file.attempts), (FileStatus::Pending, 0));
    assert_eq!(server.requests(), 0);
    Ok(())
}

/// Two copiers started at once on the same due file (a stream invocation and a sweep): one
/// downloads it, the other leaves it alone, and the attempt counts once, whether the download
/// succeeds or fails.
#[tokio::test]
async fn two_copiers_at_once_fetch_a_file_once_and_count_one_attempt() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    let stream_copier = archiver(copier(s3.clone()), &store, Duration::from_secs(60));
    let sweeper = archiver(copier(s3), &store, Duration::from_secs(60));
    let (stream_invocation, sweep_invocation) = (invocation(), invocation());

    // A download that takes a second: both copiers find the file due before either is done.
    server.add("r.mp3", vec![6u8; 5000], "audio/mpeg");
    let path = "/slow/1000/r.mp3";
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-7", &server.url(path)).await?;
    let (batch, sweep) = tokio::join!(
        stream_copier.handle_batch(event(&pk, &sk, "1"), &stream_invocation),
        sweeper.sweep(&sweep_invocation)
    );
    assert_eq!(batch, BatchResponse::default());
    assert_eq!(server.hits(path), 1, "one download (sweep: {sweep:?})");
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!((file.status, file.attempts), (FileStatus::Copied, 1));

    // A source that fails after a second: one attempt (its two tries), counted once.
    let path = "/slow/1000/absent.mp3";
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-8", &server.url(path)).await?;
    let (_, sweep) = tokio::join!(
        stream_copier.handle_batch(event(&pk, &sk, "2"), &stream_invocation),
        sweeper.sweep(&sweep_invocation)
    );
    assert_eq!(
        server.hits(path),
        2,
        "one attempt of two tries (sweep: {sweep:?})"
    );
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!(
        (file.status, file.attempts, file.error.as_deref()),
        (FileStatus::Pending, 1, Some("source answered HTTP 503"))
    );
    Ok(())
}

/// Every DynamoDB request a client sends: its operation and its body.
#[derive(Debug, Clone, Default)]
struct Requests(Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl Requests {
    /// The bodies of the requests of `operation` sent so far.
    fn bodies(&self, operation: &str) -> Vec<String> {
        self.0
            .lock()
            .expect("requests")
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    fn clear(&self) {
        self.0.lock().expect("requests").clear();
    }
}

impl aws_sdk_dynamodb::config::Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        self.0.lock().expect("requests").push((operation, body));
        Ok(())
    }
}

/// A sweep reads the records with a file due and no other: records whose files wait for a
/// later attempt are neither listed nor fetched.
#[tokio::test]
async fn a_sweep_reads_only_due_work() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let sdk = emulator.sdk_config().await;
    let requests = Requests::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(requests.clone())
            .build(),
    );
    let store = RecordStore::new(
        ddb.clone(),
        aws_sdk_s3::Client::new(&sdk),
        "calls",
        "archive",
    );
    callvault_store::schema::create_table(&ddb, "calls").await?;
    callvault_store::schema::create_bucket(&aws_sdk_s3::Client::new(&sdk), "archive").await?;
    let server = SourceServer::start().await?;
    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&sdk)),
        &store,
        Duration::from_secs(3600),
    );
    // Twenty records whose first attempt failed: each waits an hour for its next one.
    let mut waiting = Vec::new();
    for i in 0..20 {
        let (pk, sk) =
            ingest_voiceinfra_call(&store, &format!("waits-{i}"), &server.url("/status/503"))
                .await?;
        archiver
            .handle_batch(event(&pk, &sk, &i.to_string()), &invocation())
            .await;
        waiting.push(pk);
    }
    // One record with a file due now.
    server.add("r.mp3", vec![8u8; 1000], "audio/mpeg");
    let (due, _) = ingest_voiceinfra_call(&store, "due-1", &server.url("/files/r.mp3")).await?;

    requests.clear();
    let before = server.requests();
    let report = archiver.sweep(&invocation()).await;
    assert_eq!(report.copied, 1, "{report:?}");
    assert_eq!(
        server.requests(),
        before + 1,
        "only the due file is fetched"
    );
    let read = requests.bodies("GetItem");
    assert!(
        read.iter().all(|body| body.contains(&due)),
        "the sweep read only the due record, not the waiting ones: {read:?}"
    );
    for query in requests.bodies("Query") {
        assert!(
            waiting.iter().all(|pk| !query.contains(pk.as_str())),
            "{query}"
        );
    }
    Ok(())
}

/// A copier that stopped while holding a file (its claim never released) delays the file only
/// until the claim expires: the sweep then takes it over and copies it.
#[tokio::test]
async fn a_stopped_copiers_claim_expires_and_the_file_is_taken_over() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![2u8; 3000], "audio/mpeg");
    let url = server.url("/files/r.mp3");
    let (pk, sk) = ingest_voiceinfra_call(&store, "c-9", &url).await?;
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let stopped = callvault_store::claim("stopped-request", until);
    let request = callvault_store::FileClaim {
        kind: FileKind::Recording,
        source_url: &url,
        claim: &stopped,
    };
    let claimed = store
        .claim_file(&pk, &sk, &request, chrono::Utc::now(), None)
        .await?;
    assert!(matches!(claimed, callvault_store::ClaimOutcome::Claimed(_)));
    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await)),
        &store,
        Duration::from_secs(60),
    );
    let held = archiver.sweep(&invocation()).await;
    assert_eq!((held.records, held.copied), (0, 0), "{held:?}");
    let stream = archiver.archive_record(&pk, &sk, &invocation()).await?;
    assert_eq!((stream.records, stream.copied), (1, 0), "{stream:?}");
    assert_eq!(server.requests(), 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let report = archiver.sweep(&invocation()).await;
    assert_eq!((report.records, report.copied), (1, 1), "{report:?}");
    let file = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording].clone();
    assert_eq!(
        (file.status, file.attempts, file.claim),
        (FileStatus::Copied, 1, None)
    );
    Ok(())
}

/// A record deleted at its expiry while its recording is fetched leaves no copy behind: the
/// copier finds it gone when it records the outcome, and removes what it uploaded.
#[tokio::test]
async fn a_copy_whose_record_expired_meanwhile_is_removed() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let server = SourceServer::start().await?;
    server.add("r.mp3", vec![5u8; 2048], "audio/mpeg");
    let (pk, sk) =
        ingest_voiceinfra_call(&store, "c-expired", &server.url("/slow/1500/r.mp3")).await?;
    let key = store.get_item(&pk, &sk).await?.expect("record").files[&FileKind::Recording]
        .s3_key
        .clone();
    let archiver = archiver(
        copier(aws_sdk_s3::Client::new(&emulator.sdk_config().await)),
        &store,
        Duration::from_secs(60),
    );
    let copying = {
        let archiver = archiver.clone();
        let (pk, sk) = (pk.clone(), sk.clone());
        tokio::spawn(async move {
            archiver
                .handle_batch(event(&pk, &sk, "1"), &invocation())
                .await
        })
    };
    // The record expires while the source is still answering.
    tokio::time::sleep(Duration::from_millis(700)).await;
    store.delete_item(&pk, &sk).await?;
    assert_eq!(copying.await?, BatchResponse::default());
    assert_eq!(server.hits("/slow/1500/r.mp3"), 1, "the copy was made");
    let versions = aws_sdk_s3::Client::new(&emulator.sdk_config().await)
        .list_object_versions()
        .bucket("archive")
        .prefix(&key)
        .send()
        .await?;
    assert!(
        versions.versions().is_empty() && versions.delete_markers().is_empty(),
        "nothing of {key} is left: {versions:?}"
    );
    Ok(())
}
