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

    use aws_sdk_dynamodb::types::AttributeValue;
    use callvault_records::{postcall, Normalized, Provider};
    use callvault_store::files::{FileKind, FileState, FileStatus, Files};
    use callvault_store::schema::{self, call_key};
    use callvault_store::RecordStore;
    use callvault_testkit::dataset::{ingest, ingest_voiceinfra_call};
    use callvault_testkit::lambda::{function_binary, LambdaHarness};
    use callvault_testkit::{Emulator, SourceServer};
    use chrono::Utc;
    use serde_json::{json, Value};

    const TABLE: &str = "calls";
    const BUCKET: &str = "archive";

    /// Starts the copier's binary with `env` and waits until it polls for invocations.
    async fn start_copier(env: &[(&'static str, String)]) -> anyhow::Result<LambdaHarness> {
        let copier = LambdaHarness::start(
            &function_binary("recording-copier"),
            "recording-copier",
            env,
        )
        .await?;
        copier.ready(Duration::from_secs(30)).await?;
        Ok(copier)
    }

    /// Invokes `copier` with `event`, which must be answered within `deadline`.
    async fn invoke(
        copier: &LambdaHarness,
        event: &Value,
        deadline: Duration,
    ) -> anyhow::Result<Value> {
        let invocation = copier.invoke(event, deadline).await?;
        anyhow::ensure!(
            invocation.elapsed < deadline,
            "the copier answered after its deadline ({:?})",
            invocation.elapsed
        );
        invocation
            .outcome
            .map_err(|e| anyhow::anyhow!("copier error: {e}"))
    }

    pub struct Rig {
        pub emulator: Emulator,
        pub store: RecordStore,
        pub server: SourceServer,
        pub copier: LambdaHarness,
        env: Vec<(&'static str, String)>,
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
            ]
            .to_vec();
            let copier = start_copier(&env).await?;
            Ok(Self {
                emulator,
                store,
                server,
                copier,
                env,
            })
        }

        /// Another instance of the copier (an execution environment of its own) with the same
        /// settings: what Lambda runs when a stream batch and a sweep overlap.
        pub async fn another_copier(&self) -> anyhow::Result<LambdaHarness> {
            start_copier(&self.env).await
        }

        /// Runs `callvault` against the rig's table and bucket; its standard error.
        pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
            let cli = std::process::Command::new(function_binary("callvault"))
                .args(["--endpoint-url", self.emulator.endpoint()])
                .args(["--table", TABLE, "--bucket", BUCKET])
                .args(args)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_REGION", "us-east-1")
                .output()?;
            let stderr = String::from_utf8_lossy(&cli.stderr).into_owned();
            anyhow::ensure!(cli.status.success(), "callvault {args:?}: {stderr}");
            Ok(stderr)
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
            self.sweep_on(&self.copier).await
        }

        /// Invokes `copier` (this rig's or [`Self::another_copier`]) as the schedule would.
        pub async fn sweep_on(&self, copier: &LambdaHarness) -> anyhow::Result<Value> {
            let event = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
            invoke(copier, &event, Duration::from_secs(60)).await
        }

        async fn invoke(&self, event: &Value, deadline: Duration) -> anyhow::Result<Value> {
            invoke(&self.copier, event, deadline).await
        }

        pub async fn recording(&self, key: &(String, String)) -> anyhow::Result<FileState> {
            Ok(self.files(key).await?[&FileKind::Recording].clone())
        }

        pub async fn files(&self, key: &(String, String)) -> anyhow::Result<Files> {
            let stored = self.store.get_item(&key.0, &key.1).await?.expect("record");
            Ok(stored.files)
        }

        /// Stores a post-call delivery with these recording and transcript links, as the
        /// webhook would, and returns its key.
        pub async fn postcall(
            &self,
            call_id: &str,
            recording: &str,
            transcript: &str,
        ) -> anyhow::Result<(String, String)> {
            let body =
                json!({"callId": call_id, "recordingUri": recording, "transcriptUri": transcript});
            let call = postcall::normalize(postcall::parse(body.to_string().as_bytes())?);
            ingest(&self.store, Normalized::Call(call), Utc::now()).await?;
            Ok(call_key(Provider::PostCall, None, call_id))
        }

        /// Whether the record at `key` is listed with file state `state` (what `callvault
        /// calls list --recording <state>` and the console read).
        pub async fn listed_as(&self, key: &(String, String), state: &str) -> anyhow::Result<bool> {
            Ok(self
                .store
                .with_file_state(state, usize::MAX)
                .await?
                .iter()
                .any(|e| (&e.pk, &e.sk) == (&key.0, &key.1)))
        }
    }

    /// A post-call delivery whose transcript link can never be fetched (`ftp://`, refused at
    /// once) and whose recording's host is down: the transcript fails at once, and the
    /// recording is still retried on its schedule, with its record listed as pending, until it
    /// is copied (a host back up) or fails with its reason after the last attempt (a host that
    /// stays down).
    #[tokio::test]
    async fn a_failed_file_never_hides_a_waiting_sibling() -> anyhow::Result<()> {
        let rig = Rig::start("2s,2s,2s").await?;
        let audio = vec![5u8; 20_000];
        rig.server.add("r.mp3", audio.clone(), "audio/mpeg");
        let transcript = "ftp://127.0.0.1/t.json";
        let recovers = rig
            .postcall(
                "pc-recovers",
                &rig.server.url("/outage/5/r.mp3"),
                transcript,
            )
            .await?;
        let closed = callvault_testkit::free_port()?;
        let down_url = format!("http://127.0.0.1:{closed}/r.mp3");
        let down = rig.postcall("pc-down", &down_url, transcript).await?;
        let started = Instant::now();
        for key in [&recovers, &down] {
            rig.stream(key, Duration::from_secs(60)).await?;
            let files = rig.files(key).await?;
            let failed = &files[&FileKind::Transcript];
            assert_eq!(
                (failed.status, failed.attempts),
                (FileStatus::Failed, 1),
                "{failed:?}"
            );
            assert!(
                failed
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("refused")),
                "{failed:?}"
            );
            let waiting = &files[&FileKind::Recording];
            assert_eq!(
                (waiting.status, waiting.attempts),
                (FileStatus::Pending, 1),
                "{waiting:?}"
            );
            assert!(
                rig.listed_as(key, "pending").await?,
                "a waiting file lists its record as pending"
            );
        }
        let mut settled = [None, None];
        while settled.iter().any(Option::is_none) {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "still waiting after 2 minutes: {:?} / {:?}",
                rig.recording(&recovers).await?,
                rig.recording(&down).await?
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            rig.sweep().await?;
            for (slot, key) in settled.iter_mut().zip([&recovers, &down]) {
                let file = rig.recording(key).await?;
                if file.status == FileStatus::Pending {
                    assert!(rig.listed_as(key, "pending").await?, "{file:?}");
                } else if slot.is_none() {
                    *slot = Some(file);
                }
            }
        }
        let [Some(copied), Some(failed)] = settled else {
            unreachable!("both settled")
        };
        assert_eq!(copied.status, FileStatus::Copied, "{copied:?}");
        assert!(copied.attempts >= 2, "{copied:?}");
        assert_eq!(rig.store.get_object(&copied.s3_key).await?, audio);
        assert!(
            rig.listed_as(&recovers, "failed").await?,
            "the transcript failed"
        );
        assert_eq!(
            (failed.status, failed.attempts),
            (FileStatus::Failed, 4),
            "every attempt of the schedule: {failed:?}"
        );
        assert!(
            failed
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("network error")),
            "{failed:?}"
        );
        assert!(rig.listed_as(&down, "failed").await?);
        Ok(())
    }

    /// Two instances of the copier, one invoked by the stream and one by the schedule at the
    /// same moment, on one due file whose download takes a while: the source sees one
    /// download and the attempt counts once.
    #[tokio::test]
    async fn a_stream_batch_and_a_sweep_at_once_fetch_a_file_once() -> anyhow::Result<()> {
        let rig = Rig::start("1h").await?;
        let other = rig.another_copier().await?;
        let audio = vec![3u8; 30_000];
        rig.server.add("r.mp3", audio.clone(), "audio/mpeg");
        let path = "/slow/1500/r.mp3";
        let key = rig.call("twice-1", path).await?;
        let (stream, sweep) = tokio::join!(
            rig.stream(&key, Duration::from_secs(60)),
            rig.sweep_on(&other)
        );
        let (_, sweep) = (stream?, sweep?);
        assert_eq!(rig.server.hits(path), 1, "one download (sweep: {sweep})");
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts, file.claim.as_ref()),
            (FileStatus::Copied, 1, None),
            "{file:?}"
        );
        assert_eq!(rig.store.get_object(&file.s3_key).await?, audio);
        Ok(())
    }

    /// A record stored before the due index existed (without its attributes) is not swept;
    /// `callvault recording reindex`, run once after the upgrade, gives it them, and the next
    /// sweep copies its file.
    #[tokio::test]
    async fn records_from_before_the_due_index_are_swept_after_a_reindex() -> anyhow::Result<()> {
        let rig = Rig::start("1h").await?;
        rig.server.add("old.mp3", vec![6u8; 4000], "audio/mpeg");
        let key = rig.call("before-1", "/files/old.mp3").await?;
        rig.store
            .dynamodb()
            .update_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(key.0.clone()))
            .key("sk", AttributeValue::S(key.1.clone()))
            .update_expression("REMOVE #due, #shard")
            .expression_attribute_names("#due", schema::FILES_DUE_AT)
            .expression_attribute_names("#shard", schema::FILES_DUE_PK)
            .send()
            .await?;
        rig.sweep().await?;
        assert_eq!(rig.server.hits("/files/old.mp3"), 0, "not in the due index");
        let said = rig.cli(&["recording", "reindex"])?;
        assert!(said.starts_with("1 of 1 record(s)"), "{said}");
        rig.sweep().await?;
        let file = rig.recording(&key).await?;
        assert_eq!(
            (file.status, file.attempts),
            (FileStatus::Copied, 1),
            "{file:?}"
        );
        let said = rig.cli(&["recording", "reindex"])?;
        assert!(said.starts_with("0 of 0 record(s)"), "{said}");
        Ok(())
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
