//! verify + parse + normalize per provider, on the seeds' example payloads (what a function
//! does on its hot path before storage), plus a long Hatif call with word timings.
//!
//! The `floor` group times the two parts no handler reading JSON with serde_json can skip: the
//! signature (or token) check alone, and serde_json going over the body without keeping
//! anything (`IgnoredAny`). Their sum bounds how fast the whole path can get.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use callvault_records::{hatif, postcall, voiceinfra, voki};
use callvault_verify::{HmacSha256Hex, Secret, SecretSet, SharedToken, Unverified};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

const HATIF_CALL: &[u8] = include_bytes!("../../../tests/fixtures/hatif-call.json");
const HATIF_WHATSAPP: &[u8] = include_bytes!("../../../tests/fixtures/hatif-whatsapp.json");
const VOICEINFRA: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");
const VOKI: &[u8] = include_bytes!("../../../tests/fixtures/voki-call-completed.json");
const POSTCALL: &[u8] = include_bytes!("../../../tests/fixtures/postcall.json");

/// A Hatif call of about 30 minutes: 4,000 words with timings (~380 KB).
fn long_hatif_call() -> Vec<u8> {
    let words: Vec<_> = (0..4000)
        .map(|i| serde_json::json!({"text": format!("word{i}"), "start": i as f64 * 0.4, "end": i as f64 * 0.4 + 0.3, "type": "word", "speaker": if i % 2 == 0 { "agent" } else { "customer" }}))
        .collect();
    let text: String = (0..4000).map(|i| format!("word{i} ")).collect();
    serde_json::to_vec(&serde_json::json!({
        "callId": "4722cd84-0ec7-4ef5-8c34-1b0150f45f53", "channelId": "c", "status": 0, "type": 1,
        "callerNumber": "+966501234567", "calleeNumber": "+966112345678", "callLength": "00:29:51",
        "pickupTime": "2026-11-23T10:00:00Z", "hangupTime": "2026-11-23T10:29:51Z",
        "transcription": {"text": text, "words": words}
    }))
    .expect("json")
}

/// The secret (and post-call token) every seed is authenticated with.
const SECRET: &str = "a-webhook-secret-of-realistic-length-32b";

/// A seed payload: its bench id, body, signature scheme (`None`: the shared token, as
/// post-call sends it), and the parse + normalize its webhook runs.
type Seed<'a> = (&'a str, &'a [u8], Option<HmacSha256Hex>, fn(&[u8]));

fn hatif_call(b: &[u8]) {
    black_box(hatif::call::normalize(
        hatif::call::parse(b).expect("parses"),
    ));
}

const SEEDS: [Seed<'static>; 5] = [
    (
        "hatif-call",
        HATIF_CALL,
        Some(HmacSha256Hex::BARE),
        hatif_call,
    ),
    (
        "hatif-whatsapp",
        HATIF_WHATSAPP,
        Some(HmacSha256Hex::BARE),
        |b| {
            black_box(hatif::whatsapp::normalize(
                hatif::whatsapp::parse(b).expect("parses"),
                chrono::Utc::now(),
            ));
        },
    ),
    ("voiceinfra", VOICEINFRA, Some(HmacSha256Hex::BARE), |b| {
        black_box(voiceinfra::normalize(voiceinfra::parse(b).expect("parses")));
    }),
    ("voki", VOKI, Some(HmacSha256Hex::SHA256_PREFIXED), |b| {
        black_box(voki::normalize(voki::parse(b).expect("parses")));
    }),
    ("postcall", POSTCALL, None, |b| {
        black_box(postcall::normalize(postcall::parse(b).expect("parses")));
    }),
];

fn bench(c: &mut Criterion) {
    let secrets = SecretSet::single("k", SECRET);
    let secret = Secret::new(SECRET);
    let token = SharedToken::from_query(&SharedToken::query(&secret));
    // What the provider presents (signature header or token) for `body`, and the check of it.
    let presented = |scheme: Option<HmacSha256Hex>, body: &[u8]| match scheme {
        Some(scheme) => Some(scheme.sign(&secret, body)),
        None => token.clone(),
    };
    let check = |unverified: Unverified, scheme: Option<HmacSha256Hex>, presented: Option<&str>| {
        match scheme {
            Some(scheme) => unverified.verify_signature(scheme, presented, &secrets),
            None => unverified.verify_token(presented, &secrets),
        }
        .expect("valid")
    };

    let long = long_hatif_call();
    let mut group = c.benchmark_group("verify_parse_normalize");
    let long_seed: Seed = (
        "hatif-call-30min-words",
        &long,
        Some(HmacSha256Hex::BARE),
        hatif_call,
    );
    for (name, body, scheme, run) in SEEDS.into_iter().chain([long_seed]) {
        let presented = presented(scheme, body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || Unverified::new(body),
                |unverified| {
                    let verified = check(unverified, scheme, presented.as_deref());
                    run(black_box(verified.body()));
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("floor");
    for (name, body, scheme, _) in SEEDS {
        let presented = presented(scheme, body);
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter_batched(
                || Unverified::new(body),
                |unverified| black_box(check(unverified, scheme, presented.as_deref())),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{name}/scan"), |b| {
            b.iter(|| {
                serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body)).expect("json")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
