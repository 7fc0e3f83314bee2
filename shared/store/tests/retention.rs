//! Retention against the emulator: every record, delivery event and kept delivery the store
//! writes carries the expiry its retention implies (a record's and its events' from the
//! record's first delivery, a kept delivery's from its receipt), later writes keep it, and
//! nothing carries one when everything is kept forever.

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::hatif::whatsapp;
use callvault_records::{voiceinfra, ContactRecord, Normalized, Provider};
use callvault_store::retention::Retention;
use callvault_store::schema::{record_key, EXPIRES_AT, PARTITION_KEY};
use callvault_store::{Delivery, Item, RecordStore};
use callvault_testkit::dataset::ingest;
use callvault_testkit::Emulator;
use callvault_verify::Unverified;
use chrono::{DateTime, Duration, Utc};

const DAY: i64 = 86_400;

fn call(id: &str, summary: &str) -> Normalized {
    let body = serde_json::json!({"call_id": id, "summary": summary,
        "recording_url": "https://recordings.example.com/r.mp3"});
    Normalized::Call(voiceinfra::normalize(
        voiceinfra::parse(body.to_string().as_bytes()).expect("a call"),
    ))
}

fn message(id: &str, status: &str, at: DateTime<Utc>) -> Normalized {
    let body = serde_json::json!({"conversationId": "conv-r", "messageId": id, "status": status});
    let payload = whatsapp::parse(body.to_string().as_bytes()).expect("a message");
    Normalized::Message(whatsapp::normalize(payload, at))
}

fn contact(id: &str) -> Normalized {
    let record: ContactRecord = serde_json::from_value(
        serde_json::json!({"provider": "voki", "provider_contact_id": id, "name": "A"}),
    )
    .expect("a contact");
    Normalized::Contact(record)
}

fn expiry(item: &Item) -> Option<i64> {
    item.get(EXPIRES_AT).map(|v| match v {
        AttributeValue::N(n) => n.parse().expect("epoch seconds"),
        other => panic!("{EXPIRES_AT} is not a number: {other:?}"),
    })
}

/// Every item of the record `record` (itself and its events): each item's sort key and
/// expiry.
async fn partition(store: &RecordStore, record: &Normalized) -> Vec<(String, Option<i64>)> {
    let (pk, _) = record_key(record, None);
    store
        .query_prefix(&pk, "")
        .await
        .expect("partition")
        .iter()
        .map(|item| (item["sk"].as_s().expect("sk").clone(), expiry(item)))
        .collect()
}

/// Keeps a delivery of `body` received at `at` as the webhooks keep one they cannot apply.
async fn keep(store: &RecordStore, body: &[u8], at: DateTime<Utc>) -> anyhow::Result<Item> {
    let verified = Unverified::new(body.to_vec()).accept_unsigned();
    let delivery = Delivery {
        verified: &verified,
        provider: Provider::Voki,
        webhook: "voki",
        received_at: at,
        headers: vec![],
    };
    store
        .keep_rejected(&delivery, "not the documented shape")
        .await?;
    let pk = format!("REJECTED#voki#{}", delivery.day());
    let items = store.query_prefix(&pk, "").await?;
    Ok(items
        .into_iter()
        .find(|i| i["sk"].as_s().ok() == Some(&delivery.body_sha256()))
        .expect("the kept delivery"))
}

#[tokio::test]
async fn every_item_expires_as_its_retention_says() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator
        .store("retained", "retained-archive")
        .await?
        .with_retention(Retention::days(3, 1));
    let first: DateTime<Utc> = "2026-11-01T10:00:00Z".parse()?;
    let later = first + Duration::hours(30);
    let record_expiry = first.timestamp() + 3 * DAY;

    // A call, a message and a contact, each delivered twice (different bodies): the record
    // and both events expire together, three days after the first delivery.
    let records = [
        (call("c-ret", "one"), call("c-ret", "two")),
        (
            message("m-ret", "sent", first),
            message("m-ret", "read", later),
        ),
        (contact("cu-ret"), {
            let Normalized::Contact(mut c) = contact("cu-ret") else {
                unreachable!()
            };
            c.email = Some("a@example.com".into());
            Normalized::Contact(c)
        }),
    ];
    for (earlier, second) in &records {
        ingest(&store, earlier.clone(), first).await?;
        ingest(&store, second.clone(), later).await?;
        let items = partition(&store, earlier).await;
        assert_eq!(items.len(), 3, "the record and two events: {items:?}");
        for (sk, at) in &items {
            assert_eq!(*at, Some(record_expiry), "{sk} of {earlier:?}");
        }
    }

    // The copier's writes (a file's outcome) keep the record's expiry.
    let (pk, sk) = record_key(&records[0].0, None);
    store.update_files(&pk, &sk, |_| {}).await?;
    let stored = store.get_item(&pk, &sk).await?.expect("the call");
    assert_eq!(stored.expires_at, Some(record_expiry));
    // A writer not told the retention (an operator's tool) keeps it too.
    let untold = RecordStore::new(
        store.dynamodb().clone(),
        store.s3().clone(),
        store.table(),
        store.bucket(),
    );
    untold.update_files(&pk, &sk, |_| {}).await?;
    assert_eq!(
        untold.get_item(&pk, &sk).await?.expect("call").expires_at,
        Some(record_expiry)
    );

    // A kept delivery expires a day after its own receipt.
    let kept_at = first + Duration::hours(5);
    let kept = keep(&store, br#"{"event":"unknown.thing"}"#, kept_at).await?;
    assert_eq!(expiry(&kept), Some(kept_at.timestamp() + DAY));
    Ok(())
}

#[tokio::test]
async fn nothing_expires_when_kept_forever() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let base = emulator.store("forever", "forever-archive").await?;
    let at: DateTime<Utc> = "2026-11-01T10:00:00Z".parse()?;
    for store in [base.clone().with_retention(Retention::days(0, 0)), base] {
        let id = format!("c-forever-{}", store.retention().is_some());
        ingest(&store, call(&id, "one"), at).await?;
        ingest(&store, call(&id, "two"), at + Duration::hours(1)).await?;
        ingest(&store, contact(&id), at).await?;
        for record in [call(&id, "one"), contact(&id)] {
            for (sk, expiry) in partition(&store, &record).await {
                assert_eq!(expiry, None, "{sk} of {id}");
            }
        }
        let kept = keep(&store, id.as_bytes(), at).await?;
        assert_eq!(expiry(&kept), None);
        assert!(kept.contains_key(PARTITION_KEY));
    }
    Ok(())
}

/// An expired event's raw body goes, every version, only once no other item has it: here
/// the same Hatif body applied under two scopes (two records of one partition).
#[tokio::test]
async fn a_raw_body_goes_with_the_last_event_that_has_it() -> anyhow::Result<()> {
    use callvault_records::hatif;
    use callvault_store::schema::call_key;
    use callvault_store::Contribution;
    use callvault_verify::Scope;

    let emulator = Emulator::start()?;
    let store = emulator
        .store("shared", "shared-archive")
        .await?
        .with_retention(Retention::days(1, 1));
    let body = serde_json::to_vec(&serde_json::json!({"callId": "h-shared",
        "summary": "s".repeat(5000)}))?;
    let channel = Scope::Channel("c1".into());
    for scope in [&Scope::Default, &channel] {
        let verified = Unverified::new(body.clone()).accept_unsigned();
        let delivery = Delivery {
            verified: &verified,
            provider: Provider::Hatif,
            webhook: "hatif-call",
            received_at: Utc::now(),
            headers: vec![],
        };
        let call = hatif::call::normalize(hatif::call::parse(&body)?);
        let contribution = Contribution {
            delivery_id: None,
            event_type: "call",
            record: Normalized::Call(call),
            scope: Some(scope),
            transcript_pointer: None,
        };
        store.ingest(&delivery, contribution).await?;
    }
    let events: Vec<Item> = {
        let (pk, _) = call_key(Provider::Hatif, None, "h-shared");
        store
            .query_prefix(&pk, callvault_store::schema::EVENT_PREFIX)
            .await?
    };
    assert_eq!(events.len(), 2, "one event per scope");
    let raw = events[0]["body_s3_uri"]
        .as_s()
        .expect("in the bucket")
        .trim_start_matches("s3://shared-archive/")
        .to_owned();

    // The first event expires: the other scope's event still has the body.
    let pk = events[0]["pk"].as_s().expect("pk");
    store
        .delete_item(pk, events[0]["sk"].as_s().expect("sk"))
        .await?;
    let removal = store.remove_expired(&events[0]).await?;
    assert_eq!(removal.kept_shared, std::slice::from_ref(&raw));
    assert!(removal.deleted.is_empty());
    assert_eq!(store.get_object(&raw).await?, body);

    // The last one expires: every version goes.
    store
        .delete_item(pk, events[1]["sk"].as_s().expect("sk"))
        .await?;
    let removal = store.remove_expired(&events[1]).await?;
    assert_eq!((removal.deleted, removal.versions), (vec![raw.clone()], 1));
    assert!(
        store.get_object(&raw).await.is_err(),
        "nothing of it is left"
    );
    assert_eq!(
        store.remove_expired(&events[1]).await?.versions,
        0,
        "a second removal finds nothing"
    );
    Ok(())
}
