//! Expiry end to end, through the real recording copier under the Lambda Runtime API
//! harness: the emulator deletes nothing at expiry, so the test deletes the expired items as
//! DynamoDB would and hands the copier the stream records DynamoDB sends for its deletions
//! (`REMOVE`, `userIdentity` of the service, the old image). Every version of the expired
//! record's archived files and raw bodies goes; a raw body a kept delivery still has stays,
//! and so does everything of another record, also when a caller deletes that record.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use callvault_records::Provider;
use callvault_store::expiry::image_to_json;
use callvault_store::files::FileStatus;
use callvault_store::retention::Retention;
use callvault_store::schema::raw_key;
use callvault_store::{Delivery, Item, RecordStore};
use callvault_testkit::dataset::ingest_voiceinfra;
use callvault_verify::Unverified;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::faults::Rig;

/// A VoiceInfra body over the inline limit (so its raw body goes to the bucket), with a
/// recording.
fn large_body(call_id: &str, summary: &str) -> Value {
    json!({"call_id": call_id, "start_time": "2026-11-20T09:00:00Z",
        "recording_url": format!("https://recordings.example.com/{call_id}.mp3"),
        "summary": summary.repeat(6000 / summary.len().max(1) + 1)})
}

fn sha256(body: &Value) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(body).expect("serializes"),
    ))
}

/// Stores `bodies` of one call as its webhook would, then archives its recording in
/// `versions` versions and marks it copied, as the copier would. Returns the record's key and
/// its recording's archive key.
async fn archived_call(
    store: &RecordStore,
    bodies: &[Value],
    versions: usize,
) -> anyhow::Result<((String, String), String)> {
    let mut key = None;
    for body in bodies {
        key = Some(ingest_voiceinfra(store, body).await?);
    }
    let (pk, sk) = key.expect("a body");
    let stored = store.get_item(&pk, &sk).await?.expect("the record");
    let recording = stored
        .files
        .values()
        .next()
        .expect("a recording")
        .s3_key
        .clone();
    for version in 0..versions {
        store
            .s3()
            .put_object()
            .bucket(store.bucket())
            .key(&recording)
            .body(ByteStream::from(format!("audio v{version}").into_bytes()))
            .send()
            .await?;
    }
    store
        .update_files(&pk, &sk, |files| {
            for file in files.values_mut() {
                file.status = FileStatus::Copied;
            }
        })
        .await?;
    Ok(((pk, sk), recording))
}

/// How many versions (and delete markers) of `key` the bucket holds.
async fn versions(store: &RecordStore, key: &str) -> anyhow::Result<usize> {
    let out = store
        .s3()
        .list_object_versions()
        .bucket(store.bucket())
        .prefix(key)
        .send()
        .await?;
    Ok(out
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count()
        + out
            .delete_markers()
            .iter()
            .filter(|m| m.key() == Some(key))
            .count())
}

/// The stream record of `item`'s deletion: by DynamoDB at expiry, or by a caller.
fn removal(item: &Item, sequence: usize, at_expiry: bool) -> Value {
    let image = image_to_json(item);
    let mut record = json!({"eventID": sequence.to_string(), "eventName": "REMOVE",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "OldImage": image,
            "SequenceNumber": sequence.to_string(), "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES"}});
    if at_expiry {
        record["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    record
}

#[tokio::test]
async fn an_expired_record_takes_every_version_of_its_files_and_raw_bodies() -> anyhow::Result<()> {
    let mut rig = Rig::start().await?;
    rig.run("recording-copier").await?;
    let store = rig.store().await.with_retention(Retention::days(1, 1));

    // The record that expires: two large bodies, a recording in three versions.
    let expiring = [
        large_body("ret-expired", "first "),
        large_body("ret-expired", "second "),
    ];
    let (key, recording) = archived_call(&store, &expiring, 3).await?;
    let raw: Vec<String> = expiring
        .iter()
        .map(|b| raw_key(Provider::VoiceInfra, &sha256(b)))
        .collect();
    // A kept delivery of the first body (received after it) still has that raw body.
    let first_body = serde_json::to_vec(&expiring[0])?;
    let verified = Unverified::new(first_body).accept_unsigned();
    store
        .keep_rejected(
            &Delivery {
                verified: &verified,
                provider: Provider::VoiceInfra,
                webhook: "voiceinfra",
                received_at: chrono::Utc::now(),
                headers: vec![],
            },
            "a value DynamoDB refused",
        )
        .await?;
    // Another record, which stays.
    let staying = [large_body("ret-staying", "other ")];
    let (other_key, other_recording) = archived_call(&store, &staying, 2).await?;
    let other_raw = raw_key(Provider::VoiceInfra, &sha256(&staying[0]));
    for key in raw.iter().chain([&other_raw, &recording, &other_recording]) {
        assert!(versions(&store, key).await? > 0, "{key} is in the bucket");
    }

    // DynamoDB deletes the expired record and its events, and tells the stream.
    let items = store.query_prefix(&key.0, "").await?;
    assert_eq!(items.len(), 3, "the record and its two events");
    let mut records = Vec::new();
    for (n, item) in items.iter().enumerate() {
        assert!(item.contains_key("expires_at"), "{item:?}");
        let sk = item["sk"].as_s().expect("sk");
        store.delete_item(&key.0, sk).await?;
        records.push(removal(item, n + 1, true));
    }
    // A caller deletes the other record (a cleanup of its own): not the copier's to follow.
    let other = store.query_prefix(&other_key.0, &other_key.1).await?;
    records.push(removal(&other[0], 10, false));

    let answer = rig.functions["recording-copier"]
        .invoke(&json!({ "Records": records }), Duration::from_secs(60))
        .await?
        .outcome
        .map_err(|e| anyhow::anyhow!("the copier failed: {e}"))?;
    assert_eq!(answer, json!({"batchItemFailures": []}));

    assert_eq!(
        versions(&store, &recording).await?,
        0,
        "every version of the recording"
    );
    assert_eq!(
        versions(&store, &raw[1]).await?,
        0,
        "every version of the raw body only the expired record had"
    );
    assert!(
        versions(&store, &raw[0]).await? > 0,
        "the raw body a kept delivery still has stays"
    );
    assert_eq!(
        versions(&store, &other_recording).await?,
        2,
        "the other record's files"
    );
    assert!(versions(&store, &other_raw).await? > 0);
    let log = rig.functions["recording-copier"].log();
    assert!(log.contains("expired_files_removed"), "{log}");

    // The same deletions again (the stream delivers at least once): nothing fails.
    let again = rig.functions["recording-copier"]
        .invoke(
            &json!({ "Records": records[..items.len()].to_vec() }),
            Duration::from_secs(60),
        )
        .await?
        .outcome
        .map_err(|e| anyhow::anyhow!("the copier failed: {e}"))?;
    assert_eq!(again, json!({"batchItemFailures": []}));
    Ok(())
}
