//! The copier's view of the table against the emulator: the due index lists only records
//! with a file due by now, oldest first, across its shards; claims are exclusive until they
//! expire; records written before the due attributes existed are indexed by a one-off pass.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::{postcall, Normalized, Provider};
use callvault_store::files::{FileKind, FileStatus};
use callvault_store::schema::{call_key, due_shard, FILES_DUE_AT, FILES_DUE_PK, FILE_STATE};
use callvault_store::{claim, ClaimOutcome, FileClaim, RecordStore};
use callvault_testkit::dataset::{ingest, ingest_voiceinfra_call};
use callvault_testkit::Emulator;
use chrono::{Duration, Utc};

/// Stores a post-call delivery with a recording and a transcript link; returns its key.
async fn postcall_call(store: &RecordStore, id: &str) -> anyhow::Result<(String, String)> {
    let body = serde_json::json!({
        "callId": id, "recordingUri": "https://h.example/r.mp3", "transcriptUri": "https://h.example/t.json"
    });
    let call = postcall::normalize(postcall::parse(body.to_string().as_bytes())?);
    ingest(store, Normalized::Call(call), Utc::now()).await?;
    Ok(call_key(Provider::PostCall, None, id))
}

#[tokio::test]
async fn the_due_index_lists_only_due_records_oldest_first() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let mut due = Vec::new();
    for i in 0..12 {
        due.push(
            ingest_voiceinfra_call(&store, &format!("due-{i}"), "https://h.example/r.mp3").await?,
        );
    }
    // Waiting for a later attempt: not due yet.
    let later = ingest_voiceinfra_call(&store, "later", "https://h.example/r.mp3").await?;
    store
        .update_files(&later.0, &later.1, |files| {
            for file in files.values_mut() {
                file.attempts = 1;
                file.next_attempt_at = Some("2999-01-01T00:00:00.000Z".into());
            }
        })
        .await?;
    // Every file failed: out of the index.
    let done = ingest_voiceinfra_call(&store, "done", "https://h.example/r.mp3").await?;
    store
        .update_files(&done.0, &done.1, |files| {
            for file in files.values_mut() {
                file.status = FileStatus::Failed;
            }
        })
        .await?;

    let listed = store.due_records(Utc::now(), 100).await?;
    let keys: BTreeSet<_> = listed
        .iter()
        .map(|e| (e.pk.clone(), e.sk.clone()))
        .collect();
    assert_eq!(keys, due.iter().cloned().collect::<BTreeSet<_>>());
    assert!(
        listed.windows(2).all(|w| w[0].due_at <= w[1].due_at),
        "oldest due first: {listed:?}"
    );
    let shards: BTreeSet<_> = due.iter().map(|(pk, _)| due_shard(pk)).collect();
    assert!(
        shards.len() > 1,
        "the records spread over shards: {shards:?}"
    );
    let first = store.due_records(Utc::now(), 5).await?;
    assert_eq!(first, listed[..5], "bounded, still oldest first");
    let in_a_while = store
        .due_records(Utc::now() + Duration::days(365 * 1000), 100)
        .await?;
    assert!(in_a_while
        .iter()
        .any(|e| (&e.pk, &e.sk) == (&later.0, &later.1)));
    assert!(!in_a_while.iter().any(|e| e.pk == done.0));
    Ok(())
}

#[tokio::test]
async fn a_claim_is_exclusive_until_it_expires() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let (pk, sk) = postcall_call(&store, "claimed-1").await?;
    let url = "https://h.example/r.mp3";
    let now = Utc::now();
    let first = claim("request-a", now + Duration::minutes(15));
    let ClaimOutcome::Claimed(file) = store
        .claim_file(
            &pk,
            &sk,
            &FileClaim {
                kind: FileKind::Recording,
                source_url: url,
                claim: &first,
            },
            now,
            None,
        )
        .await?
    else {
        panic!("the first copier claims it")
    };
    assert_eq!(file.claim.as_ref(), Some(&first));
    assert_eq!(
        file.attempts, 0,
        "an attempt counts when its outcome is recorded"
    );
    let second = claim("request-b", now + Duration::minutes(15));
    assert_eq!(
        store
            .claim_file(
                &pk,
                &sk,
                &FileClaim {
                    kind: FileKind::Recording,
                    source_url: url,
                    claim: &second
                },
                now,
                None
            )
            .await?,
        ClaimOutcome::Busy
    );
    assert_eq!(
        store
            .claim_file(
                &pk,
                &sk,
                &FileClaim {
                    kind: FileKind::Recording,
                    source_url: "https://other/r.mp3",
                    claim: &second
                },
                now,
                None
            )
            .await?,
        ClaimOutcome::NotDue,
        "a link the record no longer has"
    );
    // The record stays due for its transcript, and for the recording once the claim expires.
    let listed = store.due_records(now, 10).await?;
    assert_eq!(listed.len(), 1);
    let transcript = claim("request-a", now + Duration::minutes(15));
    assert!(matches!(
        store
            .claim_file(
                &pk,
                &sk,
                &FileClaim {
                    kind: FileKind::Transcript,
                    source_url: "https://h.example/t.json",
                    claim: &transcript
                },
                now,
                None
            )
            .await?,
        ClaimOutcome::Claimed(_)
    ));
    assert!(
        store.due_records(now, 10).await?.is_empty(),
        "both files held"
    );
    let expired = now + Duration::minutes(16);
    assert_eq!(store.due_records(expired, 10).await?.len(), 1);
    let ClaimOutcome::Claimed(file) = store
        .claim_file(
            &pk,
            &sk,
            &FileClaim {
                kind: FileKind::Recording,
                source_url: url,
                claim: &second,
            },
            expired,
            None,
        )
        .await?
    else {
        panic!("an expired claim is taken over")
    };
    assert_eq!(file.claim.map(|c| c.owner).as_deref(), Some("request-b"));
    Ok(())
}

/// A record written before the due attributes existed (here: stripped of them, with the file
/// state the old rule gave a failed transcript beside a waiting recording) is not in the due
/// index until the one-off pass indexes it; a second pass changes nothing.
#[tokio::test]
async fn records_written_before_the_due_index_are_indexed_once() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    let (pk, sk) = postcall_call(&store, "old-1").await?;
    store
        .update_files(&pk, &sk, |files| {
            if let Some(transcript) = files.get_mut(&FileKind::Transcript) {
                transcript.status = FileStatus::Failed;
            }
            if let Some(recording) = files.get_mut(&FileKind::Recording) {
                recording.attempts = 1;
                recording.next_attempt_at = Some("2026-01-01T00:00:00.000Z".into());
            }
        })
        .await?;
    let copied = ingest_voiceinfra_call(&store, "copied-1", "https://h.example/c.mp3").await?;
    store
        .update_files(&copied.0, &copied.1, |files| {
            for file in files.values_mut() {
                file.status = FileStatus::Copied;
            }
        })
        .await?;
    store
        .dynamodb()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::S(sk.clone()))
        .update_expression("REMOVE #due, #shard SET #state = :failed")
        .expression_attribute_names("#due", FILES_DUE_AT)
        .expression_attribute_names("#shard", FILES_DUE_PK)
        .expression_attribute_names("#state", FILE_STATE)
        .expression_attribute_values(":failed", AttributeValue::S("failed".into()))
        .send()
        .await?;
    assert!(store.due_records(Utc::now(), 10).await?.is_empty());
    let before = store.get_item(&pk, &sk).await?.expect("record");

    let done = store.index_waiting_files(Utc::now()).await?;
    assert_eq!((done.records, done.updated), (1, 1));
    let listed = store.due_records(Utc::now(), 10).await?;
    assert_eq!(
        listed
            .iter()
            .map(|e| (&e.pk, &e.sk, e.due_at.as_str()))
            .collect::<Vec<_>>(),
        [(&pk, &sk, "2026-01-01T00:00:00.000Z")]
    );
    assert!(store
        .with_file_state("pending", 10)
        .await?
        .iter()
        .any(|e| e.pk == pk));
    let after = store.get_item(&pk, &sk).await?.expect("record");
    assert_eq!(
        (&after.record, &after.files, &after.updated_at),
        (&before.record, &before.files, &before.updated_at),
        "only the index attributes change"
    );
    let again = store.index_waiting_files(Utc::now()).await?;
    assert_eq!((again.records, again.updated), (1, 0));
    Ok(())
}
