//! Erasure against the emulator: one person's calls (their records, events, raw bodies in the
//! bucket, archived files with several versions), kept and spooled deliveries naming their
//! number in other formats all go, every version; another person's data stays; an erase
//! interrupted half-way and run again ends where an uninterrupted one does; a receipt counts
//! what went and names no one.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use callvault_records::Provider;
use callvault_store::erase::{EraseRequest, EraseStep, ItemKind, ObjectKind, Selector};
use callvault_store::retention::Retention;
use callvault_store::{Delivery, RecordStore};
use callvault_testkit::dataset::ingest_voiceinfra;
use callvault_testkit::Emulator;
use callvault_verify::Unverified;
use chrono::Utc;

const PERSON: &str = "+14155550100";
const OTHER: &str = "+14155550199";

/// Every item of the table, as text (keys and values), and every object version of the
/// bucket: key, and its bytes as text.
async fn everything(store: &RecordStore) -> anyhow::Result<(Vec<String>, Vec<(String, String)>)> {
    let contents = callvault_testkit::contents::contents(store).await?;
    Ok((contents.items, contents.objects))
}

/// A call from `from`, with a recording, a body large enough to be kept in the bucket, and
/// two versions of its archived recording.
async fn call(store: &RecordStore, id: &str, from: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({"call_id": id, "from_number": from, "to_number": "+18005551234",
        "start_time": "2026-11-20T09:00:00Z", "summary": "s".repeat(5000),
        "recording_url": format!("https://recordings.example.com/{id}.mp3")});
    let (pk, sk) = ingest_voiceinfra(store, &body).await?;
    let files = store.get_item(&pk, &sk).await?.expect("the call").files;
    for file in files.values() {
        for n in 0..2 {
            store
                .s3()
                .put_object()
                .bucket(store.bucket())
                .key(&file.s3_key)
                .body(ByteStream::from(format!("audio {id} {n}").into_bytes()))
                .send()
                .await?;
        }
    }
    Ok(())
}

/// Records kept forever, kept deliveries for a day: an erase reads three days of them.
fn retained(store: RecordStore) -> RecordStore {
    store.with_retention(Retention::days(0, 1))
}

fn delivery(body: &[u8]) -> Unverified {
    Unverified::new(body.to_vec())
}

/// Stores one person's two calls, a kept and a spooled delivery naming them in national
/// format, and another person's call and kept delivery.
async fn seed(store: &RecordStore) -> anyhow::Result<()> {
    call(store, "er-1", PERSON).await?;
    call(store, "er-2", "+1 (415) 555-0100").await?;
    call(store, "er-other", OTHER).await?;
    for (body, spool) in [
        (r#"{"event":"odd","caller":"(415) 555-0100"}"#, false),
        (r#"{"event":"odd","caller":"(415) 555-0199"}"#, false),
        (r#"{"call_id":"er-3","from_number":"415.555.0100"}"#, true),
    ] {
        let verified = delivery(body.as_bytes()).accept_unsigned();
        let delivery = Delivery {
            verified: &verified,
            provider: Provider::VoiceInfra,
            webhook: "voiceinfra",
            received_at: Utc::now(),
            headers: vec![],
        };
        if spool {
            store.spool(&delivery).await?;
        } else {
            store
                .keep_rejected(&delivery, "not the documented shape")
                .await?;
        }
    }
    Ok(())
}

fn request(store: &RecordStore) -> EraseRequest {
    EraseRequest {
        selector: Selector::Phone {
            e164: PERSON.into(),
            country: Some("US".parse().expect("a country")),
        },
        kept_since: store.kept_lookback(Utc::now().date_naive()),
    }
}

/// Whether any item or object version names the person or holds one of their calls.
fn traces(items: &[String], objects: &[(String, String)]) -> Vec<String> {
    let names = |text: &str| {
        [
            "4155550100",
            "415) 555-0100",
            "415.555.0100",
            "er-1",
            "er-2",
            "er-3",
        ]
        .iter()
        .any(|n| text.contains(n))
    };
    items
        .iter()
        .filter(|i| names(i) && !i.contains("ERASURE"))
        .cloned()
        .chain(
            objects
                .iter()
                .filter(|(k, v)| names(k) || names(v))
                .map(|(k, _)| k.clone()),
        )
        .collect()
}

#[tokio::test]
async fn one_persons_data_goes_everywhere_and_only_theirs() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = retained(emulator.store("erase", "erase-archive").await?);
    seed(&store).await?;
    let before = everything(&store).await?;
    assert!(!traces(&before.0, &before.1).is_empty());

    let plan = store.plan_erase(&request(&store)).await?;
    let after = everything(&store).await?;
    let short =
        |v: &[String]| -> Vec<String> { v.iter().map(|s| s.chars().take(300).collect()).collect() };
    let diff: Vec<String> = after
        .0
        .iter()
        .filter(|i| !before.0.contains(i))
        .cloned()
        .collect();
    let gone: Vec<String> = before
        .0
        .iter()
        .filter(|i| !after.0.contains(i))
        .cloned()
        .collect();
    assert_eq!(
        (short(&diff), short(&gone)),
        (vec![], vec![]),
        "planning writes nothing"
    );
    assert_eq!(after.1, before.1, "planning writes nothing");
    let counts = plan.counts();
    assert_eq!((counts.records, counts.kept, counts.spooled), (2, 1, 1));
    assert_eq!(counts.events, 2);
    let kinds: BTreeSet<ObjectKind> = plan.objects.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([ObjectKind::File, ObjectKind::Body, ObjectKind::Spooled])
    );
    assert!(plan
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::File)
        .all(|o| o.versions == 2));

    let receipt = store
        .apply_erase(&plan, "arn:aws:iam::123456789012:user/ops")
        .await?;
    assert_eq!(receipt.counts, counts);
    let (items, objects) = everything(&store).await?;
    assert_eq!(traces(&items, &objects), Vec::<String>::new());
    // The other person's call, events, body, recording and kept delivery are all there.
    let kept_of = |items: &[String], objects: &[(String, String)]| {
        let mut of: Vec<String> = items
            .iter()
            .filter(|i| i.contains("er-other") || i.contains("555-0199"))
            .cloned()
            .collect();
        of.extend(
            objects
                .iter()
                .filter(|(k, v)| k.contains("er-other") || v.contains("er-other"))
                .map(|(k, v)| format!("{k}={v}")),
        );
        of.sort();
        of
    };
    let others = kept_of(&before.0, &before.1);
    assert!(others.len() >= 4, "{others:?}");
    assert_eq!(kept_of(&items, &objects), others);

    let receipts = store.erasure_receipts().await?;
    assert_eq!(receipts, vec![receipt.clone()]);
    let receipt_item = items
        .iter()
        .find(|i| i.contains("ERASURE"))
        .expect("the receipt item");
    assert!(!receipt_item.contains("4155550100"));
    assert!(receipt_item.contains("phone"));

    // Nothing is left to erase: a second run plans nothing.
    assert!(store.plan_erase(&request(&store)).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn an_interrupted_erase_run_again_ends_as_an_uninterrupted_one() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let whole = retained(emulator.store("erase-whole", "erase-whole-archive").await?);
    let halted = retained(
        emulator
            .store("erase-halted", "erase-halted-archive")
            .await?,
    );
    for store in [&whole, &halted] {
        seed(store).await?;
    }
    let plan = whole.plan_erase(&request(&whole)).await?;
    whole.apply_erase(&plan, "unknown").await?;

    // Stop after every object and the kept delivery went, before any event or record.
    let plan = halted.plan_erase(&request(&halted)).await?;
    let steps = plan.steps();
    let first_event = steps
        .iter()
        .position(|s| matches!(s, EraseStep::Item(i) if i.kind == ItemKind::Event))
        .expect("an event step");
    for step in &steps[..first_event] {
        halted.erase_step(step).await?;
    }
    let again = halted.plan_erase(&request(&halted)).await?;
    assert_eq!(again.counts().records, 2, "the records still find the rest");
    assert_eq!(again.counts().events, 2);
    halted.apply_erase(&again, "unknown").await?;

    let strip = |(items, objects): (Vec<String>, Vec<(String, String)>)| {
        let items: Vec<String> = items
            .into_iter()
            .filter(|i| !i.contains("ERASURE"))
            // Version ids and times differ between the two stores; keys and values do not.
            .map(|i| i.replace("erase-halted", "erase-whole"))
            .collect();
        let objects: Vec<String> = objects
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (items.len(), objects)
    };
    let (whole_end, halted_end) = (everything(&whole).await?, everything(&halted).await?);
    assert_eq!(traces(&halted_end.0, &halted_end.1), Vec::<String>::new());
    assert_eq!(strip(halted_end), strip(whole_end));
    Ok(())
}
