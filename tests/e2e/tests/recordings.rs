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
