//! Recording archival end to end: a webhook whose recording URL points at a local server
//! ends, through the table's stream and the real copier function, with the recording in the
//! bucket byte for byte and the record marked copied.

use callvault_e2e::{sha256_hex, Stack};
use callvault_records::Provider;
use callvault_store::files::{FileKind, FileStatus};
use callvault_testkit::SourceServer;
use serde_json::json;

#[tokio::test]
async fn recording_is_archived_byte_identical_and_the_record_marked_copied() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let server = SourceServer::start().await?;
    let audio: Vec<u8> = (0..700_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    server.add("call.mp3", audio.clone(), "audio/mpeg");
    let files = stack
        .voiceinfra_call_with_recording("e2e-recording-1", &server.url("/files/call.mp3"))
        .await?;
    let recording = &files[&FileKind::Recording];
    let sha = sha256_hex(&audio);
    assert_eq!(recording.status, FileStatus::Copied, "{recording:?}");
    assert_eq!(
        recording.s3_key,
        "voiceinfra/2026/11/20/e2e-recording-1/recording.mp3"
    );
    assert_eq!(recording.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(recording.size, Some(audio.len() as u64));
    assert_eq!(recording.content_type.as_deref(), Some("audio/mpeg"));
    let stored = stack.store.get_object(&recording.s3_key).await?;
    assert!(stored == audio, "the archived recording is byte-identical");
    Ok(())
}

#[tokio::test]
async fn a_missing_recording_ends_failed_with_the_reason() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let server = SourceServer::start().await?;
    let body = serde_json::to_vec(
        &json!({"callId": "e2e-recording-404", "recordingUri": server.url("/status/404"),
        "transcriptUri": server.url("/files/t.json")}),
    )?;
    server.add(
        "t.json",
        br#"{"turns":[{"speaker":"agent","text":"hello"}]}"#.to_vec(),
        "application/json",
    );
    let token = callvault_e2e::dev_secret("POSTCALL_TOKENS")?;
    let (status, _) = stack
        .post_to("postcall", &format!("?token={token}"), &[], body)
        .await?;
    assert_eq!(status, 200);
    let files = stack
        .files_when_settled(Provider::PostCall, "e2e-recording-404")
        .await?;
    let recording = &files[&FileKind::Recording];
    assert_eq!(
        (recording.status, recording.error.as_deref()),
        (FileStatus::Failed, Some("source answered HTTP 404"))
    );
    assert_eq!(recording.attempts, 1, "a 404 is not retried");
    let transcript = &files[&FileKind::Transcript];
    assert_eq!(transcript.status, FileStatus::Copied);
    assert_eq!(
        stack.store.get_object(&transcript.s3_key).await?,
        br#"{"turns":[{"speaker":"agent","text":"hello"}]}"#
    );
    Ok(())
}

/// The recording copier's real binary under a Lambda Runtime API harness, over an emulator
/// of its own, with a retry schedule of seconds instead of minutes: the test plays the
/// table's stream (a first attempt right after a delivery) and the schedule (sweeps).
mod copier {
    use std::time::{Duration, Instant};

    use callvault_store::files::{FileKind, FileState, FileStatus};
    use callvault_store::RecordStore;
    use callvault_testkit::dataset::ingest_voiceinfra_call;
    use callvault_testkit::lambda::{function_binary, LambdaHarness};
    use callvault_testkit::{Emulator, SourceServer};
    use serde_json::{json, Value};

    const TABLE: &str = "calls";
    const BUCKET: &str = "archive";

    pub struct Rig {
        pub emulator: Emulator,
        pub store: RecordStore,
        pub server: SourceServer,
        pub copier: LambdaHarness,
    }

    impl Rig {
        pub async fn start(retry_delays: &str) -> anyhow::Result<Self> {
            let emulator = Emulator::start()?;
            let store = emulator.store(TABLE, BUCKET).await?;
            let server = SourceServer::start().await?;
            let env = [
                ("TABLE_NAME", TABLE.to_owned()),
                ("BUCKET_NAME", BUCKET.to_owned()),
                ("AWS_ENDPOINT_URL", emulator.endpoint().to_owned()),
                ("AWS_REGION", "us-east-1".to_owned()),
                ("AWS_ACCESS_KEY_ID", "test".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
                ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
                ("COPIER_ALLOW_LOOPBACK", "true".to_owned()),
                ("COPIER_ALLOWED_HOSTS", r#"{"*":["127.0.0.1"]}"#.to_owned()),
                ("COPIER_RETRY_DELAYS", retry_delays.to_owned()),
            ];
            let copier = LambdaHarness::start(
                &function_binary("recording-copier"),
                "recording-copier",
                &env,
            )
            .await?;
            copier.ready(Duration::from_secs(30)).await?;
            Ok(Self {
                emulator,
                store,
                server,
                copier,
            })
        }

        /// Stores a VoiceInfra call whose recording is at `path` of the source server, as the
        /// webhook would, and returns its key.
        pub async fn call(&self, call_id: &str, path: &str) -> anyhow::Result<(String, String)> {
            ingest_voiceinfra_call(&self.store, call_id, &self.server.url(path)).await
        }

        /// Invokes the copier as the stream's event source mapping would for this record.
        pub async fn stream(
            &self,
            key: &(String, String),
            deadline: Duration,
        ) -> anyhow::Result<Value> {
            let event = json!({"Records": [{"eventID": "1", "eventName": "MODIFY", "dynamodb": {
                "Keys": {"pk": {"S": key.0}, "sk": {"S": key.1}}, "SequenceNumber": "1",
                "NewImage": {"files_pending": {"BOOL": true}}}}]});
            self.invoke(&event, deadline).await
        }

        /// Invokes the copier as its schedule would.
        pub async fn sweep(&self) -> anyhow::Result<Value> {
            let event = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
            self.invoke(&event, Duration::from_secs(60)).await
        }

        async fn invoke(&self, event: &Value, deadline: Duration) -> anyhow::Result<Value> {
            let invocation = self.copier.invoke(event, deadline).await?;
            anyhow::ensure!(
                invocation.elapsed < deadline,
                "the copier answered after its deadline ({:?})",
                invocation.elapsed
            );
            invocation
                .outcome
                .map_err(|e| anyhow::anyhow!("copier error: {e}"))
        }

        pub async fn recording(&self, key: &(String, String)) -> anyhow::Result<FileState> {
            let stored = self.store.get_item(&key.0, &key.1).await?.expect("record");
            Ok(stored.files[&FileKind::Recording].clone())
        }
    }

    /// A source that stalls longer than the invocation has: the attempt is recorded (with the
    /// reason and its next time) before the invocation ends; the file stays pending.
    #[tokio::test]
    async fn a_stall_past_the_budget_is_recorded_before_the_invocation_ends() -> anyhow::Result<()>
    {
        let rig = Rig::start("1h").await?;
        rig.server.add("long.mp3", vec![9u8; 200_000], "audio/mpeg");
        let key = rig.call("stall-1", "/stall/long.mp3").await?;
        let started = Instant::now();
        rig.stream(&key, Duration::from_secs(35)).await?;
        assert!(started.elapsed() < Duration::from_secs(35));
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts),
            (FileStatus::Pending, 1),
            "{file:?}"
        );
        assert!(
            file.error
                .as_deref()
                .is_some_and(|e| e.starts_with("the copy did not finish within")),
            "{file:?}"
        );
        assert!(file.next_attempt_at.is_some());
        Ok(())
    }

    /// The provider's file hosting fails for a minute, then recovers: attempts are spaced by
    /// the schedule (20 s, then 50 s), so the third attempt, after the outage, copies it.
    #[tokio::test]
    async fn a_minute_long_outage_at_the_source_is_survived() -> anyhow::Result<()> {
        let rig = Rig::start("20s,50s,60s").await?;
        let audio = vec![4u8; 50_000];
        rig.server.add("r.mp3", audio.clone(), "audio/mpeg");
        let key = rig.call("outage-1", "/outage/60/r.mp3").await?;
        let started = Instant::now();
        rig.stream(&key, Duration::from_secs(60)).await?;
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts),
            (FileStatus::Pending, 1),
            "{file:?}"
        );
        assert_eq!(file.error.as_deref(), Some("source answered HTTP 503"));
        let file = loop {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(150),
                "not copied in time"
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
            rig.sweep().await?;
            let file = rig.recording(&key).await?;
            if file.status != FileStatus::Pending {
                break file;
            }
        };
        assert_eq!(
            (file.status, file.attempts),
            (FileStatus::Copied, 3),
            "{file:?}"
        );
        assert!(started.elapsed() > Duration::from_secs(60));
        assert_eq!(rig.store.get_object(&file.s3_key).await?, audio);
        Ok(())
    }

    /// A file that failed for good (404) is copied after the cause is fixed: re-driven with
    /// `callvault recording retry`, or by a later delivery bringing a new link.
    #[tokio::test]
    async fn failed_files_are_re_driven_after_a_fix() -> anyhow::Result<()> {
        let rig = Rig::start("1h").await?;
        let key = rig.call("redrive-1", "/files/late.mp3").await?;
        rig.stream(&key, Duration::from_secs(60)).await?;
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts, file.error.as_deref()),
            (FileStatus::Failed, 1, Some("source answered HTTP 404"))
        );

        // The fix: the provider now serves the file. The operator re-drives the call.
        rig.server.add("late.mp3", vec![1u8; 3000], "audio/mpeg");
        let cli = std::process::Command::new(function_binary("callvault"))
            .args([
                "--endpoint-url",
                rig.emulator.endpoint(),
                "--table",
                TABLE,
                "--bucket",
                BUCKET,
            ])
            .args(["recording", "retry", "voiceinfra", "redrive-1"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()?;
        assert!(
            cli.status.success(),
            "{}",
            String::from_utf8_lossy(&cli.stderr)
        );
        assert!(String::from_utf8_lossy(&cli.stderr).starts_with("1 failed file(s) of 1 record(s)"));
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts, file.error),
            (FileStatus::Pending, 0, None)
        );
        rig.stream(&key, Duration::from_secs(60)).await?;
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts),
            (FileStatus::Copied, 1),
            "{file:?}"
        );

        // A failed file whose provider later sends a new link: the link replaces the old one.
        let key = rig.call("redrive-2", "/status/403").await?;
        rig.stream(&key, Duration::from_secs(60)).await?;
        assert_eq!(rig.recording(&key).await?.status, FileStatus::Failed);
        rig.server.add("fresh.mp3", vec![2u8; 3000], "audio/mpeg");
        let key = rig.call("redrive-2", "/files/fresh.mp3").await?;
        let file = rig.recording(&key).await?;
        assert_eq!((file.status, file.attempts), (FileStatus::Pending, 0));
        assert!(file.source_url.ends_with("/files/fresh.mp3"));
        rig.stream(&key, Duration::from_secs(60)).await?;
        assert_eq!(rig.recording(&key).await?.status, FileStatus::Copied);
        Ok(())
    }
}
