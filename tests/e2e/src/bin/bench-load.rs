//! `make bench-load`: 2,000 deliveries across the five webhooks, 50 at a time, through
//! `cargo lambda watch` on the test stack; then the same deliveries again one at a time.
//!
//! Every webhook and event type (`samples::every_kind`), with resends of the same body mixed in
//! and each call's Voki stages and each message's WhatsApp statuses in shuffled order. Every
//! delivery must be answered 200 `stored` or `duplicate`; the concurrent run's items must equal
//! the sequential run's (ids and digests aside): nothing lost, nothing doubled. Prints
//! deliveries per second and latency percentiles of both runs (of this machine, the emulator
//! and debug builds under `cargo lambda watch`: a statement about correctness under load, not
//! about Lambda's speed).
//!
//!     bench-load [DELIVERIES] [CONCURRENCY]      (default 2000 50)

use std::time::{Duration, Instant};

use anyhow::Context;
use callvault_e2e::samples::{self, Sample};
use callvault_e2e::snapshot::{self, Snapshot};
use callvault_e2e::Stack;
use futures_util::{stream, StreamExt};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// One resend of the same body for this many deliveries.
const RESEND_EVERY: usize = 10;

/// `total` deliveries for run `run`: units of every kind, plus resends, in a seeded random order.
fn deliveries(run: &str, total: usize) -> anyhow::Result<Vec<Sample>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut all = Vec::with_capacity(total);
    let mut unit = 0;
    while all.len() < total {
        let mut kinds = samples::every_kind(&format!("{run}-{unit}"))?;
        kinds.shuffle(&mut rng);
        for sample in kinds {
            if all.len() % RESEND_EVERY == RESEND_EVERY - 1 && all.len() < total {
                all.push(sample.clone());
            }
            if all.len() < total {
                all.push(sample);
            }
        }
        unit += 1;
    }
    all.shuffle(&mut rng);
    Ok(all)
}

/// What a run measured.
struct Measured {
    elapsed: Duration,
    latencies: Vec<Duration>,
    stored: usize,
    duplicates: usize,
}

async fn send_all(
    stack: &Stack,
    deliveries: &[Sample],
    concurrency: usize,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let replies: Vec<anyhow::Result<(Duration, String)>> = stream::iter(deliveries)
        .map(|sample| async move {
            let at = Instant::now();
            let (status, reply) = stack.send(sample).await?;
            let outcome = reply["status"].as_str().unwrap_or_default().to_owned();
            anyhow::ensure!(
                status == 200 && matches!(outcome.as_str(), "stored" | "duplicate"),
                "{} {}: {status} {reply}",
                sample.webhook.name(),
                sample.event
            );
            Ok((at.elapsed(), outcome))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::with_capacity(replies.len());
    let (mut stored, mut duplicates) = (0, 0);
    for reply in replies {
        let (latency, outcome) = reply?;
        latencies.push(latency);
        if outcome == "stored" {
            stored += 1;
        } else {
            duplicates += 1;
        }
    }
    latencies.sort();
    Ok(Measured {
        elapsed,
        latencies,
        stored,
        duplicates,
    })
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn row(name: &str, m: &Measured) -> String {
    format!(
        "| {name} | {} | {} / {} | {:.1} s | {:.0} | {:.0} ms | {:.0} ms |",
        m.latencies.len(),
        m.stored,
        m.duplicates,
        m.elapsed.as_secs_f64(),
        m.latencies.len() as f64 / m.elapsed.as_secs_f64(),
        percentile(&m.latencies, 0.5),
        percentile(&m.latencies, 0.99),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map_or(Ok(2000), |n| n.parse())
        .context("DELIVERIES is a count")?;
    let concurrency: usize = args
        .next()
        .map_or(Ok(50), |n| n.parse())
        .context("CONCURRENCY is a count")?;
    let stack = Stack::from_env().await?;
    let stamp = chrono::Utc::now().format("%H%M%S");
    let (load_run, sequential_run) = (format!("load{stamp}c"), format!("load{stamp}s"));

    let load = send_all(&stack, &deliveries(&load_run, total)?, concurrency).await?;
    let sequential = send_all(&stack, &deliveries(&sequential_run, total)?, 1).await?;

    let table = std::env::var("TABLE_NAME").context("TABLE_NAME is not set")?;
    let scan = async |run: &str| -> anyhow::Result<Snapshot> {
        let items = snapshot::scan(stack.store.dynamodb(), &table, Some(run)).await?;
        Ok(snapshot::without_run(&items, run))
    };
    let (concurrent_items, sequential_items) =
        (scan(&load_run).await?, scan(&sequential_run).await?);
    let differences = snapshot::differences(
        ("concurrent run", &concurrent_items),
        ("sequential run", &sequential_items),
    );

    println!("| run | deliveries | stored / duplicate | wall time | deliveries/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    println!("{}", row(&format!("{concurrency} at a time"), &load));
    println!("{}", row("one at a time", &sequential));
    println!();
    println!(
        "{} items each; {} differences between the runs",
        sequential_items.len(),
        differences.len()
    );
    anyhow::ensure!(
        differences.is_empty() && load.stored == sequential.stored,
        "the concurrent run differs from the sequential one (stored {} vs {}):\n{}",
        load.stored,
        sequential.stored,
        differences.join("\n")
    );
    Ok(())
}
