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

fn bench(c: &mut Criterion) {
    let secrets = SecretSet::single("k", "a-webhook-secret-of-realistic-length-32b");
    let secret = Secret::new("a-webhook-secret-of-realistic-length-32b");
    let mut group = c.benchmark_group("verify_parse_normalize");
    let mut floor = Vec::new();

    let mut signed = |name: &str, scheme: HmacSha256Hex, body: &[u8], run: &dyn Fn(&[u8])| {
        let signature = scheme.sign(&secret, body);
        floor.push((
            name.to_owned(),
            body.to_vec(),
            Some((scheme, signature.clone())),
        ));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || Unverified::new(body),
                |unverified| {
                    let verified = unverified
                        .verify_signature(scheme, Some(&signature), &secrets)
                        .expect("valid");
                    run(black_box(verified.body()));
                },
                BatchSize::SmallInput,
            )
        });
    };
    signed("hatif-call", HmacSha256Hex::BARE, HATIF_CALL, &|b| {
        black_box(hatif::call::normalize(
            hatif::call::parse(b).expect("parses"),
        ));
    });
    let long = long_hatif_call();
    signed("hatif-call-30min-words", HmacSha256Hex::BARE, &long, &|b| {
        black_box(hatif::call::normalize(
            hatif::call::parse(b).expect("parses"),
        ));
    });
    signed(
        "hatif-whatsapp",
        HmacSha256Hex::BARE,
        HATIF_WHATSAPP,
        &|b| {
            black_box(hatif::whatsapp::normalize(
                hatif::whatsapp::parse(b).expect("parses"),
                chrono::Utc::now(),
            ));
        },
    );
    signed("voiceinfra", HmacSha256Hex::BARE, VOICEINFRA, &|b| {
        black_box(voiceinfra::normalize(voiceinfra::parse(b).expect("parses")));
    });
    signed("voki", HmacSha256Hex::SHA256_PREFIXED, VOKI, &|b| {
        black_box(voki::normalize(voki::parse(b).expect("parses")));
    });
    let token = SharedToken::from_query("token=a-webhook-secret-of-realistic-length-32b");
    group.throughput(Throughput::Bytes(POSTCALL.len() as u64));
    group.bench_function("postcall", |b| {
        b.iter_batched(
            || Unverified::new(POSTCALL),
            |unverified| {
                let verified = unverified
                    .verify_token(token.as_deref(), &secrets)
                    .expect("valid");
                black_box(postcall::normalize(
                    postcall::parse(verified.body()).expect("parses"),
                ));
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("floor");
    floor.retain(|(name, ..)| !name.ends_with("-words"));
    floor.push(("postcall".to_owned(), POSTCALL.to_vec(), None));
    for (name, body, signature) in &floor {
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter_batched(
                || Unverified::new(body.as_slice()),
                |unverified| {
                    black_box(match signature {
                        Some((scheme, signature)) => {
                            unverified.verify_signature(*scheme, Some(signature), &secrets)
                        }
                        None => unverified.verify_token(token.as_deref(), &secrets),
                    })
                    .expect("valid");
                },
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
