//! `make bench-lambda`: each webhook function's release binary as Lambda runs it, under the
//! Runtime API harness (`callvault_testkit::lambda`), against the emulator.
//!
//! For each webhook, with phone numbers in the payload and without them, a fresh process (a
//! cold start, after one unmeasured start that puts the binary in the page cache; the medians
//! of five): the time from spawning it to its first `GET /next` (init), the first delivery,
//! then warm deliveries (each a new call, so each is a new write) for p50/p99, and the peak
//! RSS after all of them. Prints a Markdown table (the README's).
//!
//! Then what one delivery costs in AWS, per million: the function's requests and billed
//! duration (the template's memory and architecture, at the warm p50 measured here), the
//! DynamoDB write and read units its items take (computed from the items the run wrote, with
//! the size DynamoDB counts, each secondary index entry included), and its log lines
//! (CloudWatch Logs ingestion). A second Markdown table.
//!
//!     bench-lambda [WARM_DELIVERIES]        (default 1000)
//!
//! Needs the release binaries (`cargo build --release -p <webhook>...`), moto (`make venv`)
//! and the development secrets (`dev.env`) in the environment; `make bench-lambda` sees to all
//! three.

use std::time::Duration;

use anyhow::Context;
use callvault_catalog::samples::{self, Sample};
use callvault_catalog::Webhook;
use callvault_e2e::samples::keyring;
use callvault_store::schema::{self, INDEXES};
use callvault_store::size::item_size;
use callvault_store::Item;
use callvault_testkit::lambda::{function_binary_in, function_url_event, LambdaHarness};
use callvault_testkit::Emulator;
use callvault_verify::Keyring;
use serde_json::{json, Value};

/// Prices used for the cost table: AWS list prices, us-east-1, as of 2026-11-27.
mod price {
    /// Lambda requests, per million.
    pub const LAMBDA_REQUESTS: f64 = 0.20;
    /// Lambda duration on arm64 (the template's default), per GB-second.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// DynamoDB on-demand write request units, per million.
    pub const WRITE_UNITS: f64 = 0.625;
    /// DynamoDB on-demand read request units, per million.
    pub const READ_UNITS: f64 = 0.125;
    /// CloudWatch Logs ingestion, per GB.
    pub const LOG_GB: f64 = 0.50;
}
/// The webhook functions' memory in the template (`MemorySize`), in MB.
const MEMORY_MB: f64 = 256.0;
/// About what Lambda adds to each invocation's log (its `platform.start` and
/// `platform.report` JSON lines, the template's `LogFormat: JSON`), in bytes.
const LAMBDA_LOG_LINES: f64 = 500.0;

const DEADLINE: Duration = Duration::from_secs(30);
/// Cold starts measured per function and payload (their medians are reported).
const COLD_STARTS: usize = 5;

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
const TABLE: &str = "callvault";
const BUCKET: &str = "callvault-archive";

/// Where each webhook's payload carries phone numbers, as JSON pointers (none for WhatsApp
/// messages, which name their contact by id), and a number to put there.
fn phone_fields(webhook: Webhook) -> &'static [&'static str] {
    match webhook {
        Webhook::VoiceInfra => &["/from_number", "/to_number"],
        Webhook::HatifCall => &["/callerNumber", "/calleeNumber", "/contactNumber"],
        Webhook::HatifWhatsApp => &[],
        Webhook::Voki => &["/data/customer/phone"],
        Webhook::PostCall => &["/callerDetails/phoneNumber"],
    }
}

const NUMBERS: [&str; 3] = ["+1 (415) 555-0142", "+966 50 123 4567", "+44 20 7946 0958"];

/// The webhook's sample for delivery `n` of a run, with or without phone numbers.
fn sample(
    keyring: &Keyring,
    webhook: Webhook,
    run: &str,
    n: usize,
    phones: bool,
) -> anyhow::Result<Sample> {
    let event = webhook.events()[0];
    let base = samples::of_event(keyring, webhook, event, &format!("{run}-{n}"), false)?;
    let mut body = base.json();
    for (i, pointer) in phone_fields(webhook).iter().enumerate() {
        let (parent, field) = pointer.rsplit_once('/').context("a pointer")?;
        let parent = if parent.is_empty() {
            Some(&mut body)
        } else {
            body.pointer_mut(parent)
        };
        if let Some(Value::Object(parent)) = parent {
            if phones {
                parent.insert(field.to_owned(), json!(NUMBERS[i % NUMBERS.len()]));
            } else {
                parent.remove(field);
            }
        }
    }
    Ok(base.with_body(&body, keyring)?)
}

fn event(sample: &Sample) -> Value {
    let path = format!("/{}", sample.suffix());
    function_url_event("POST", &path, &sample.header_pairs(), &sample.body)
}

/// One cold start and `warm` deliveries of one webhook.
struct Run {
    init: Duration,
    first: Duration,
    p50: Duration,
    p99: Duration,
    peak_rss_kib: u64,
    /// DynamoDB write and read units per delivery.
    write_units: f64,
    read_units: f64,
    /// The function's log bytes per delivery.
    log_bytes: f64,
}

/// Write units of one item written once: its own (1 KB each) and one entry per secondary
/// index whose keys it has (the entry: table keys, index keys and projected attributes).
fn write_units(item: &Item) -> u64 {
    let units = |bytes: usize| bytes.div_ceil(1024).max(1) as u64;
    let size_of = |names: &[&str]| {
        let mut entry = Item::new();
        for name in names {
            if let Some(value) = item.get(*name) {
                entry.insert((*name).to_owned(), value.clone());
            }
        }
        item_size(&entry)
    };
    let indexes: u64 = INDEXES
        .iter()
        .filter(|index| item.contains_key(index.hash) && item.contains_key(index.range))
        .map(|index| {
            let mut names = vec![
                schema::PARTITION_KEY,
                schema::SORT_KEY,
                index.hash,
                index.range,
            ];
            names.extend(index.projected);
            units(size_of(&names))
        })
        .sum();
    units(item_size(item)) + indexes
}

/// DynamoDB units per delivery of a run whose ids all contain `run`: every item of the run is
/// written once per delivery here (a new call or message each), and each delivery first reads
/// its record with a consistent read (4 KB per unit, at least one, also when it is absent).
async fn capacity(emulator: &Emulator, run: &str, deliveries: usize) -> anyhow::Result<(f64, f64)> {
    let ddb = aws_sdk_dynamodb::Client::new(&emulator.sdk_config().await);
    let (mut writes, mut reads) = (0u64, 0u64);
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(TABLE)
            .filter_expression("contains(pk, :run)")
            .expression_attribute_values(
                ":run",
                aws_sdk_dynamodb::types::AttributeValue::S(run.to_owned()),
            )
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in page.items() {
            writes += write_units(item);
            let is_event = item
                .get(schema::SORT_KEY)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.contains(schema::EVENT_PREFIX));
            if !is_event {
                reads += item_size(item).div_ceil(4096).max(1) as u64;
            }
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    anyhow::ensure!(writes > 0, "no items of run {run} found");
    Ok((
        writes as f64 / deliveries as f64,
        reads as f64 / deliveries as f64,
    ))
}

async fn run(
    emulator: &Emulator,
    webhook: Webhook,
    phones: bool,
    warm: usize,
) -> anyhow::Result<Run> {
    let mut env: Vec<(&str, String)> = vec![
        ("TABLE_NAME", TABLE.into()),
        ("BUCKET_NAME", BUCKET.into()),
        ("AWS_ENDPOINT_URL", emulator.endpoint().to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    let var = webhook.secret_var();
    env.push((
        var,
        std::env::var(var).with_context(|| format!("{var} is not set: run `make bench-lambda`"))?,
    ));
    let binary = function_binary_in(webhook.name(), "release");
    // Read once: every delivery of the run is signed with it.
    let keyring = keyring(webhook)?;
    let run = format!(
        "bench-{}-{}",
        chrono::Utc::now().timestamp_millis(),
        u8::from(phones)
    );
    let start = async || -> anyhow::Result<(LambdaHarness, Duration)> {
        let harness = LambdaHarness::start(&binary, webhook.name(), &env).await?;
        let init = harness.ready(Duration::from_secs(30)).await?;
        Ok((harness, init))
    };
    let deliver = async |harness: &LambdaHarness, n: usize| -> anyhow::Result<Duration> {
        let invocation = harness
            .invoke(
                &event(&sample(&keyring, webhook, &run, n, phones)?),
                DEADLINE,
            )
            .await?;
        let reply = invocation.reply()?;
        anyhow::ensure!(
            reply.status == 200,
            "{} answered {}: {}",
            webhook.name(),
            reply.status,
            reply.text()
        );
        Ok(invocation.elapsed)
    };
    // A first start reads the binary into the page cache, which Lambda's own code cache
    // would hold: it is not measured. Then COLD_STARTS cold starts, each with its first
    // delivery; the last process goes on with the warm deliveries.
    start().await?;
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    let mut last = None;
    for n in 0..COLD_STARTS {
        let (harness, init) = start().await?;
        inits.push(init);
        firsts.push(deliver(&harness, n).await?);
        last = Some(harness);
    }
    let harness = last.context("no cold start")?;
    let (init, first) = (median(&mut inits), median(&mut firsts));
    let deliver = async |n: usize| deliver(&harness, n).await;
    let mut times = Vec::with_capacity(warm);
    for n in COLD_STARTS..COLD_STARTS + warm {
        times.push(deliver(n).await?);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    let deliveries = warm + COLD_STARTS;
    let (write_units, read_units) = capacity(emulator, &run, deliveries).await?;
    Ok(Run {
        write_units,
        read_units,
        log_bytes: harness.log().len() as f64 / deliveries as f64,
        init,
        first,
        p50: at(0.50),
        p99: at(0.99),
        peak_rss_kib: harness.peak_rss_kib().context("peak RSS")?,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let warm: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("WARM_DELIVERIES is a count")?,
        None => 1000,
    };
    let emulator = Emulator::start()?;
    emulator.store(TABLE, BUCKET).await?;
    // The emulator's first writes load its code: a round that is not measured.
    run(&emulator, Webhook::ALL[0], true, 1).await?;
    println!("| function | phone numbers | init (to first `/next`) | first delivery | warm p50 | warm p99 | first / warm p50 | peak RSS after {warm} |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut costs = Vec::new();
    for webhook in Webhook::ALL {
        let variants: &[bool] = if phone_fields(webhook).is_empty() {
            &[false]
        } else {
            &[true, false]
        };
        for &phones in variants {
            let r = run(&emulator, webhook, phones, warm).await?;
            if phones || phone_fields(webhook).is_empty() {
                costs.push((webhook, cost(&r)));
            }
            println!(
                "| {} | {} | {} ms | {} ms | {} ms | {} ms | {:.1}× | {:.1} MiB |",
                webhook.name(),
                if phones {
                    phone_fields(webhook).len().to_string()
                } else {
                    "none".into()
                },
                ms(r.init),
                ms(r.first),
                ms(r.p50),
                ms(r.p99),
                r.first.as_secs_f64() / r.p50.as_secs_f64(),
                r.peak_rss_kib as f64 / 1024.0,
            );
        }
    }
    println!();
    println!("| function | warm p50 billed | write units | read units | log bytes | Lambda $/M | DynamoDB $/M | logs $/M | total $/M |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (webhook, c) in costs {
        println!(
            "| {} | {} ms | {:.1} | {:.1} | {:.0} | {:.3} | {:.3} | {:.3} | **{:.2}** |",
            webhook.name(),
            c.billed_ms,
            c.write_units,
            c.read_units,
            c.log_bytes,
            c.lambda,
            c.dynamodb,
            c.logs,
            c.lambda + c.dynamodb + c.logs,
        );
    }
    Ok(())
}

/// Dollars per million deliveries.
struct Cost {
    billed_ms: u64,
    write_units: f64,
    read_units: f64,
    log_bytes: f64,
    lambda: f64,
    dynamodb: f64,
    logs: f64,
}

fn cost(r: &Run) -> Cost {
    // Lambda bills each invocation's duration rounded up to the millisecond.
    let billed_ms = (r.p50.as_secs_f64() * 1000.0).ceil() as u64;
    let gb_seconds = MEMORY_MB / 1024.0 * billed_ms as f64 / 1000.0;
    let log_bytes = r.log_bytes + LAMBDA_LOG_LINES;
    Cost {
        billed_ms,
        write_units: r.write_units,
        read_units: r.read_units,
        log_bytes,
        lambda: price::LAMBDA_REQUESTS + gb_seconds * price::LAMBDA_GB_SECOND * 1e6,
        dynamodb: (r.write_units * price::WRITE_UNITS + r.read_units * price::READ_UNITS),
        logs: log_bytes * 1e6 / 1e9 * price::LOG_GB,
    }
}
