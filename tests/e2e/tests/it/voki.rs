//! Voki end to end: the seed, all 24 orderings of a call's four stages, customers, resends
//! and unknown events.

use callvault_e2e::{sign, Stack};
use callvault_records::{CallStatus, Normalized, Provider};
use callvault_verify::HmacSha256Hex;
use serde_json::json;

const SECRETS: &str = "VOKI_WEBHOOK_SECRETS";
const SEED: &[u8] = callvault_catalog::samples::fixtures::VOKI_CALL_COMPLETED;

fn headers(body: &[u8], event: &str, delivery: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-voki-signature",
            sign(SECRETS, None, HmacSha256Hex::SHA256_PREFIXED, body).expect("dev secret"),
        ),
        ("x-voki-event", event.to_owned()),
        ("x-voki-delivery", delivery.to_owned()),
    ]
}

#[tokio::test]
async fn seed_and_resend() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let h = headers(SEED, "call.completed", "e2e-voki-seed-delivery");
    assert_eq!(
        stack.post("voki", &h, SEED.to_vec()).await?,
        (200, json!({"status": "stored"}))
    );
    assert_eq!(
        stack.post("voki", &h, SEED.to_vec()).await?,
        (200, json!({"status": "duplicate"})),
        "a resend reuses the delivery id"
    );
    let (call, stored) = stack
        .call(Provider::Voki, "uuid-da-chamada")
        .await?
        .expect("stored");
    assert_eq!(
        (call.status, call.duration_seconds),
        (CallStatus::Completed, Some(342))
    );
    assert!(call.test_delivery);
    assert_eq!(stored.history.delivery_ids, ["e2e-voki-seed-delivery"]);
    let events = stack
        .store
        .events("CALL#voki#uuid-da-chamada", "CALL")
        .await?;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["event_type"].as_s().ok().map(String::as_str),
        Some("call.completed")
    );
    Ok(())
}

/// One lifecycle stage of a call: event type, timestamp and the fields it adds to `data`.
type Stage = (&'static str, &'static str, serde_json::Value);

/// The body of a Voki delivery of `stage`: its fields added to the call's common `data`.
fn stage_body(
    mut data: serde_json::Value,
    (event, at, extra): &Stage,
) -> serde_json::Result<Vec<u8>> {
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    serde_json::to_vec(&json!({"event": event, "timestamp": at, "data": data}))
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for i in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(i, n - 1);
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn every_ordering_of_the_four_stages_ends_in_the_same_record() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let stages: [Stage; 4] = [
        (
            "call.created",
            "2026-11-20T09:00:00Z",
            json!({"status": "waiting"}),
        ),
        (
            "call.assigned",
            "2026-11-20T09:00:40Z",
            json!({"status": "assigned", "attendant_id": "att-7"}),
        ),
        (
            "call.started",
            "2026-11-20T09:01:00Z",
            json!({"status": "in_progress", "attendant_id": "att-7"}),
        ),
        (
            "call.completed",
            "2026-11-20T09:06:42Z",
            json!({"status": "completed", "attendant_id": "att-7", "duration_seconds": 342}),
        ),
    ];
    let orderings = permutations(4);
    assert_eq!(orderings.len(), 24);
    let mut finals = Vec::new();
    for (n, order) in orderings.iter().enumerate() {
        let call_id = format!("e2e-order-{n}");
        for &i in order {
            let event = stages[i].0;
            let data = json!({"id": call_id, "department_id": "dep-1", "customer": {"name": "Ana", "email": "ana@example.com"}});
            let body = stage_body(data, &stages[i])?;
            let reply = stack
                .post(
                    "voki",
                    &headers(&body, event, &format!("{call_id}-{i}")),
                    body,
                )
                .await?;
            assert_eq!(
                reply,
                (200, json!({"status": "stored"})),
                "{order:?} {event}"
            );
        }
        let (mut call, stored) = stack.call(Provider::Voki, &call_id).await?.expect("stored");
        assert_eq!(stored.version, 4);
        call.provider_call_id = String::new();
        finals.push((order.clone(), call));
    }
    let expected = finals[0].1.clone();
    assert_eq!(expected.status, CallStatus::Completed);
    assert_eq!(expected.stages.len(), 4);
    assert_eq!(expected.duration_seconds, Some(342));
    assert_eq!(
        expected.answered_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-20T09:01:00+00:00")
    );
    for (order, call) in &finals {
        assert_eq!(call, &expected, "ordering {order:?}");
    }
    Ok(())
}

#[tokio::test]
async fn customer_created_makes_a_contact_and_unknown_events_are_kept() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = serde_json::to_vec(
        &json!({"event": "customer.created", "timestamp": "2026-11-20T08:00:00Z",
        "data": {"id": "e2e-customer", "name": "Ana", "email": "ana@example.com", "phone": "+55 11 91234-5678"}}),
    )?;
    assert_eq!(
        stack
            .post(
                "voki",
                &headers(&body, "customer.created", "e2e-cust-1"),
                body
            )
            .await?
            .0,
        200
    );
    let stored = stack
        .store
        .get_item("CONTACT#voki#e2e-customer", "CONTACT")
        .await?
        .expect("contact");
    let Normalized::Contact(contact) = stored.record else {
        panic!("contact")
    };
    assert_eq!(
        contact.phone.and_then(|p| p.e164).as_deref(),
        Some("+5511912345678")
    );

    let body = serde_json::to_vec(
        &json!({"event": "call.transferred", "timestamp": "2026-11-20T08:00:00Z", "data": {"id": "e2e-transferred"}}),
    )?;
    let (status, reply) = stack
        .post(
            "voki",
            &headers(&body, "call.transferred", "e2e-unknown-1"),
            body.clone(),
        )
        .await?;
    assert_eq!(
        (status, reply),
        (
            200,
            json!({"status": "kept", "reason": "unsupported: event type `call.transferred`"})
        )
    );
    let kept = stack.kept(Provider::Voki, &body).await?.expect("kept");
    assert_eq!(kept.reason, "unsupported: event type `call.transferred`");
    assert_eq!(kept.body, body);
    Ok(())
}

/// 100 deliveries of one call (its four stages, each under two delivery ids, each resent many
/// times) sent 20 at a time in a random order end in one record equal to applying each stage
/// once, each body applied exactly once whatever delivery id it came with. Repeated with
/// several seeds.
#[tokio::test]
async fn a_hundred_concurrent_deliveries_of_one_call_end_in_one_correct_record(
) -> anyhow::Result<()> {
    use futures_util::{stream, StreamExt};
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    let stack = Stack::from_env().await?;
    let stages: [Stage; 4] = [
        (
            "call.created",
            "2026-11-21T09:00:00Z",
            json!({"status": "waiting"}),
        ),
        (
            "call.assigned",
            "2026-11-21T09:00:30Z",
            json!({"status": "assigned", "attendant_id": "att-9"}),
        ),
        (
            "call.started",
            "2026-11-21T09:01:00Z",
            json!({"status": "in_progress", "attendant_id": "att-9"}),
        ),
        (
            "call.completed",
            "2026-11-21T09:04:00Z",
            json!({"status": "completed", "attendant_id": "att-9", "duration_seconds": 180}),
        ),
    ];
    for seed in [1_u64, 2, 3, 4] {
        let call_id = format!("e2e-concurrent-{seed}");
        let bodies: Vec<Vec<u8>> = stages
            .iter()
            .map(|stage| stage_body(json!({"id": call_id, "department_id": "dep-2"}), stage))
            .collect::<Result<_, _>>()?;
        let mut deliveries: Vec<(usize, String)> = (0..100)
            .map(|i| (i % 4, format!("{call_id}-{}-{}", i % 4, (i / 4) % 2)))
            .collect();
        deliveries.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));

        let replies: Vec<anyhow::Result<(u16, serde_json::Value)>> = stream::iter(deliveries)
            .map(|(stage, delivery)| {
                let (stack, body, event) = (&stack, bodies[stage].clone(), stages[stage].0);
                async move {
                    stack
                        .post("voki", &headers(&body, event, &delivery), body)
                        .await
                }
            })
            .buffer_unordered(20)
            .collect()
            .await;
        let mut stored = 0;
        for reply in replies {
            match reply? {
                (200, r) if r == json!({"status": "stored"}) => stored += 1,
                (200, r) if r == json!({"status": "duplicate"}) => {}
                other => anyhow::bail!("seed {seed}: unexpected reply {other:?}"),
            }
        }
        assert_eq!(
            stored, 4,
            "seed {seed}: each of the 4 bodies applied once, whatever delivery id it came with"
        );

        let expected = bodies
            .iter()
            .map(|b| callvault_records::voki::parse(b).map(callvault_records::voki::normalize))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .reduce(Normalized::merge)
            .expect("four stages");
        let Normalized::Call(expected) = expected else {
            anyhow::bail!("voki call events normalize to calls")
        };
        let (call, record) = stack.call(Provider::Voki, &call_id).await?.expect("stored");
        assert_eq!(call, expected, "seed {seed}");
        assert_eq!(call.status, CallStatus::Completed);
        let mut ids = record.history.delivery_ids.clone();
        ids.sort();
        ids.dedup();
        assert_eq!(
            (
                record.history.delivery_ids.len(),
                ids.len(),
                record.history.count
            ),
            (4, 4, 4),
            "seed {seed}"
        );
        assert_eq!(record.version, 4);
        assert_eq!(
            stack
                .store
                .events(&format!("CALL#voki#{call_id}"), "CALL")
                .await?
                .len(),
            4
        );
    }
    Ok(())
}
