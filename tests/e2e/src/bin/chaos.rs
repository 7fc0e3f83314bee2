//! `make chaos`: custody under faults, end to end, as a standing benchmark.
//!
//! The local stack (`scripts/stack.sh up`: every function under `cargo lambda watch`, the
//! pump that feeds the copier and the spool replayer) runs with DynamoDB and S3 each in a moto
//! server of its own, reached through an endpoint process in front of each (per-service
//! endpoints, so one service fails alone). Deliveries of every webhook and event type go
//! through the real function URLs, 32 at a time: resends of the same bytes (Voki's under new
//! delivery ids), a differing body for a stored call, Voki's stages and WhatsApp's statuses
//! in random order, recordings, transcripts and media served by a local server that errors,
//! stalls once, is slow, or refuses for good. Meanwhile a fault driver, at random:
//!
//! - stalls DynamoDB's or S3's emulator (SIGSTOP, then SIGCONT after a few seconds);
//! - takes DynamoDB's or S3's endpoint down (the endpoint process is killed, connections in
//!   flight die with it, and a new one starts a few seconds later; the emulator behind it
//!   keeps its data, as a real service's storage outlives an outage of its front end: moto
//!   keeps its data only in memory, so killing it would lose what a real outage never does);
//! - kills the recording copier's process while it copies, and starts a new one in its place,
//!   as Lambda starts a new execution environment (`cargo lambda watch` does not restart a
//!   function whose process died: the new process takes the dead one's environment, so it
//!   polls the same Runtime API).
//!
//! A delivery answered 503 is sent again after a second, as the retrying providers do. Then
//! the faults stop, the spool and the copier drain, and the same deliveries are sent again under
//! another run id with no fault. The table's items and the bucket's objects of the two runs
//! must be equal, run ids, digests and times aside (and the copier's bookkeeping of attempts,
//! which a killed copy legitimately spends): nothing lost, nothing doubled, every file copied
//! or failed with its reason. Seeded: the same seed gives the same deliveries and the same
//! fault schedule (whose effects still depend on timing).
//!
//!     chaos [DELIVERIES] [SEED]          (default 10000, a seed from the clock, printed)
//!     chaos forward LISTEN_PORT TARGET_PORT   (the endpoint process; started by chaos itself)

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use callvault_catalog::Webhook;
use callvault_e2e::samples::{self, Sample};
use callvault_e2e::snapshot::{self, Snapshot};
use callvault_e2e::{sha256_hex, Stack};
use callvault_records::voki::DELIVERY_HEADER;
use callvault_store::RecordStore;
use callvault_testkit::SourceServer;
use callvault_testkit::{free_port, repo_root, sdk_config_for, wait_listening, Emulator};
use futures_util::{stream, StreamExt};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};

/// What a Voki resend's delivery id adds to the original's.
const RESEND_SUFFIX: &str = "-resend";
/// Deliveries in flight at once.
const CONCURRENCY: usize = 32;
/// The copier's retry delays in this run: the deployed schedule (1 min to 4 h) compressed, so
/// the drain takes minutes.
const RETRY_DELAYS: &str = "2s,4s,8s,16s,30s";
/// How long the drain may go without progress (fewer spooled deliveries or records with
/// files pending than ever before) before the run fails. A progress deadline, not a total
/// one: the local copier copies one file at a time, so a large run drains for many minutes.
const DRAIN_STALL: Duration = Duration::from_secs(300);
/// Times a delivery answered 503 is sent again (a second apart) before the run fails.
const MAX_SENDS: usize = 120;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("forward") {
        let port = |i: usize| -> anyhow::Result<u16> {
            args.get(i)
                .context("forward LISTEN_PORT TARGET_PORT")?
                .parse()
                .context("a port")
        };
        return forward(port(1)?, port(2)?);
    }
    let deliveries: usize = args
        .first()
        .map_or(Ok(10_000), |n| n.parse())
        .context("DELIVERIES is a count")?;
    let seed: u64 = match args.get(1) {
        Some(seed) => seed.parse().context("SEED is a number")?,
        None => chrono::Utc::now().timestamp_millis().unsigned_abs(),
    };
    tokio::runtime::Runtime::new()?.block_on(async {
        // Stopped by Ctrl-C or SIGTERM, the stack is still taken down (the rig's drop).
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = run(deliveries, seed) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
            _ = terminate.recv() => bail!("terminated"),
        }
    })
}

/// The endpoint process: accepts on `listen` and relays each connection to `target`.
fn forward(listen: u16, target: u16) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", listen)).await?;
        loop {
            let (mut inbound, _) = listener.accept().await?;
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// An endpoint process in front of an emulator, which the fault driver kills and restarts.
struct Endpoint {
    name: &'static str,
    port: u16,
    target: u16,
    child: Option<Child>,
}

impl Endpoint {
    fn start(name: &'static str, target: u16) -> anyhow::Result<Self> {
        let mut endpoint = Self {
            name,
            port: free_port()?,
            target,
            child: None,
        };
        endpoint.up()?;
        Ok(endpoint)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn up(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        // This very program, even if its file was rebuilt since it started.
        let child = Command::new("/proc/self/exe")
            .args(["forward", &self.port.to_string(), &self.target.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting the {} endpoint", self.name))?;
        self.child = Some(child);
        wait_listening(self.port, Duration::from_secs(10), self.name)
    }

    fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.down();
    }
}

/// The stack under test: emulators, their endpoints, and `scripts/stack.sh`'s services.
struct Rig {
    dynamodb: Emulator,
    s3: Emulator,
    endpoints: [Mutex<Endpoint>; 2],
    moto_port: u16,
    /// Copier processes started in place of killed ones.
    copiers: Mutex<Vec<Child>>,
    store: RecordStore,
    functions_url: String,
}

impl Rig {
    async fn start() -> anyhow::Result<Self> {
        let dynamodb = Emulator::start()?;
        let s3 = Emulator::start()?;
        let ddb_endpoint = Endpoint::start("DynamoDB endpoint", dynamodb.port())?;
        let s3_endpoint = Endpoint::start("S3 endpoint", s3.port())?;
        let (moto_port, lambda_port) = (free_port()?, free_port()?);
        let status = Command::new(repo_root().join("scripts/stack.sh"))
            .arg("up")
            .env("MOTO_PORT", moto_port.to_string())
            .env("LAMBDA_PORT", lambda_port.to_string())
            .env("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint.url())
            .env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", ddb_endpoint.url())
            .env("AWS_ENDPOINT_URL_S3", s3_endpoint.url())
            .env("COPIER_RETRY_DELAYS", RETRY_DELAYS)
            .env("STACK_RELOAD", "0")
            // The invocation a killed copier was running is never answered locally (on AWS
            // it fails at once): the pump counts it failed after 45 s and sends it again.
            .env("PUMP_INVOKE_TIMEOUT_SECONDS", "45")
            // A killed copier's claim lasts as long as its attempt may: a minute here.
            .env("COPIER_TIMEOUT_SECONDS", "40")
            .status()
            .context("running scripts/stack.sh up")?;
        // The observer reads the emulators directly: faults are for the functions only.
        let store = RecordStore::new(
            aws_sdk_dynamodb::Client::new(&sdk_config_for(dynamodb.endpoint()).await),
            aws_sdk_s3::Client::new(&sdk_config_for(s3.endpoint()).await),
            std::env::var("TABLE_NAME").context("TABLE_NAME is not set (dev.env)")?,
            std::env::var("BUCKET_NAME").context("BUCKET_NAME is not set (dev.env)")?,
        );
        let rig = Self {
            dynamodb,
            s3,
            endpoints: [Mutex::new(ddb_endpoint), Mutex::new(s3_endpoint)],
            moto_port,
            copiers: Mutex::new(Vec::new()),
            store,
            functions_url: format!("http://127.0.0.1:{lambda_port}/lambda-url"),
        };
        if !status.success() {
            bail!("scripts/stack.sh up failed ({status})");
        }
        Ok(rig)
    }

    /// Every fault undone: emulators running, endpoints up.
    fn heal(&self) -> anyhow::Result<()> {
        self.dynamodb.resume()?;
        self.s3.resume()?;
        for endpoint in &self.endpoints {
            lock(endpoint)?.up()?;
        }
        Ok(())
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.heal();
        if let Ok(copiers) = self.copiers.get_mut() {
            for copier in copiers.iter_mut() {
                let _ = copier.kill();
                let _ = copier.wait();
            }
        }
        let _ = Command::new(repo_root().join("scripts/stack.sh"))
            .arg("down")
            .env("MOTO_PORT", self.moto_port.to_string())
            .status();
    }
}

fn lock<T>(m: &Mutex<T>) -> anyhow::Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| anyhow::anyhow!("a lock was poisoned"))
}

/// Faults injected, by kind.
#[derive(Default)]
struct Faults {
    stalls: [AtomicUsize; 2],
    outages: [AtomicUsize; 2],
    copier_kills: AtomicUsize,
}

impl Rig {
    /// Kills every running copier process and starts a new one with its program and
    /// environment; returns how many were killed.
    fn kill_copiers(&self) -> anyhow::Result<usize> {
        let pids = copier_pids();
        for &pid in &pids {
            let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
            let program = std::fs::read_link(proc.join("exe"))?;
            let environ = std::fs::read(proc.join("environ"))?;
            let env: Vec<(String, String)> = environ
                .split(|&b| b == 0)
                .filter_map(|pair| {
                    let pair = std::str::from_utf8(pair).ok()?;
                    let (k, v) = pair.split_once('=')?;
                    Some((k.to_owned(), v.to_owned()))
                })
                .collect();
            Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()?;
            let log = std::fs::OpenOptions::new().create(true).append(true).open(
                std::env::temp_dir().join(format!(
                    "callvault-stack-{}/copier-restarted.log",
                    self.moto_port
                )),
            )?;
            let child = Command::new(program)
                .env_clear()
                .envs(env)
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            lock(&self.copiers)?.push(child);
        }
        Ok(pids.len())
    }
}

/// Pids of the recording copier's processes (the function binary run by cargo lambda watch).
fn copier_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let entry = e.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let program = cmdline.split(|&b| b == 0).next()?;
            program.ends_with(b"/debug/recording-copier").then_some(pid)
        })
        .collect()
}

/// Injects faults at random until `stop` is set; the rig is healed when it returns.
async fn inject(rig: Arc<Rig>, seed: u64, stop: Arc<AtomicBool>, faults: Arc<Faults>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..3000))).await;
        let hold = Duration::from_millis(rng.random_range(1000..6000));
        let service = rng.random_range(0..2usize);
        let emulator = if service == 0 { &rig.dynamodb } else { &rig.s3 };
        let result = match rng.random_range(0..5u8) {
            0 | 1 => {
                faults.stalls[service].fetch_add(1, Ordering::SeqCst);
                let paused = emulator.pause();
                tokio::time::sleep(hold).await;
                paused.and_then(|()| emulator.resume())
            }
            2 | 3 => {
                faults.outages[service].fetch_add(1, Ordering::SeqCst);
                let down = lock(&rig.endpoints[service]).and_then(|mut e| e.down());
                tokio::time::sleep(hold).await;
                down.and_then(|()| lock(&rig.endpoints[service])?.up())
            }
            _ => rig.kill_copiers().map(|killed| {
                faults.copier_kills.fetch_add(killed, Ordering::SeqCst);
            }),
        };
        if let Err(e) = result {
            eprintln!("fault driver: {e:#}");
        }
    }
    if let Err(e) = rig.heal() {
        eprintln!("healing the rig: {e:#}");
    }
}

/// The source server's routes a unit's files are served on, one unit after the other: as
/// they are, errors twice then the file, down for 3 s, slow, refused for good.
const ROUTES: [&str; 5] = ["files", "flaky/2", "outage/3", "slow/800", "status/404"];
/// One unit in this many has files to copy.
const FILES_EVERY: usize = 3;
/// One unit (with files) in this many has its VoiceInfra recording stall once (the copier waits its
/// 30 s read timeout, then tries again).
const STALL_EVERY: usize = 12;

/// The deliveries of run `run`: whole units of every webhook and event type, each with a
/// differing second body for its VoiceInfra call, a Voki resend under a new delivery id, files
/// on the source server's routes, and one resend of the same bytes in ten; in a seeded order.
fn deliveries(
    run: &str,
    total: usize,
    seed: u64,
    server: &SourceServer,
) -> anyhow::Result<Vec<Sample>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keyrings: BTreeMap<Webhook, _> = Webhook::ALL
        .into_iter()
        .map(|w| Ok((w, samples::keyring(w)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut all = Vec::with_capacity(total + total / 8);
    let mut unit = 0usize;
    while all.len() < total {
        let id = format!("{run}-{unit}");
        let route = ROUTES[(unit / FILES_EVERY) % ROUTES.len()];
        // Each unit's files have names of their own: the server's faults count per path.
        add_files(server, &id);
        let url = |name: &str| {
            let path = match route {
                "status/404" => "status/404".to_owned(),
                other => format!("{other}/{id}-{name}"),
            };
            server.url(&format!("/{path}"))
        };
        let stalls = (unit / FILES_EVERY) % STALL_EVERY == STALL_EVERY - 1;
        for mut sample in samples::every_kind(&id)? {
            let mut body = sample.json();
            // One unit in FILES_EVERY has files: the local copier, one process, copies one
            // file at a time.
            let files: &[(&str, &str)] = match sample.webhook {
                _ if !unit.is_multiple_of(FILES_EVERY) => &[],
                Webhook::VoiceInfra => &[("recording_url", "recording.mp3")],
                Webhook::HatifCall if unit.is_multiple_of(2) => {
                    &[("recordingUrl", "recording.mp3")]
                }
                Webhook::HatifWhatsApp if body["status"] == json!("Sent") => {
                    &[("mediaUrl", "media.jpg")]
                }
                Webhook::PostCall => &[
                    ("recordingUri", "recording.mp3"),
                    ("transcriptUri", "transcript.json"),
                ],
                _ => &[],
            };
            if !files.is_empty() {
                for (field, name) in files {
                    body[*field] = json!(url(name));
                }
                if stalls && sample.webhook == Webhook::VoiceInfra {
                    body["recording_url"] =
                        json!(server.url(&format!("/stall-once/{id}-recording.mp3")));
                }
                sample = sample.with_body(&body, &keyrings[&sample.webhook])?;
            }
            match sample.webhook {
                Webhook::VoiceInfra => {
                    let mut later = body.clone();
                    later["summary"] = json!("A later summary");
                    later["later_note"] = json!(unit);
                    all.push(sample.with_body(&later, &keyrings[&sample.webhook])?);
                }
                Webhook::Voki => {
                    let mut resend = sample.clone();
                    for (name, value) in &mut resend.headers {
                        if *name == DELIVERY_HEADER {
                            *value = format!("{value}{RESEND_SUFFIX}");
                        }
                    }
                    all.push(resend);
                }
                _ => {}
            }
            if rng.random_range(0..10) == 0 {
                all.push(sample.clone());
            }
            all.push(sample);
        }
        unit += 1;
    }
    all.shuffle(&mut rng);
    all.truncate(total);
    Ok(all)
}

/// The files of unit `id` on the source server (the same content for every unit and run).
fn add_files(server: &SourceServer, id: &str) {
    let audio: Vec<u8> = (0..64_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    server.add(&format!("{id}-recording.mp3"), audio, "audio/mpeg");
    server.add(
        &format!("{id}-transcript.json"),
        br#"{"turns":[{"speaker":"agent","text":"Hello, how can I help?"}]}"#.to_vec(),
        "application/json",
    );
    server.add(
        &format!("{id}-media.jpg"),
        vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4],
        "image/jpeg",
    );
}

/// What one run's senders saw.
#[derive(Default, Debug)]
struct Answers {
    by_status: BTreeMap<String, usize>,
    sends: usize,
    elapsed: Duration,
}

/// Sends every delivery, `CONCURRENCY` at a time; a 503 is sent again a second later.
async fn send_all(stack: &Stack, deliveries: &[Sample]) -> anyhow::Result<Answers> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<Vec<String>>> = stream::iter(deliveries)
        .map(|sample| async move {
            let mut seen = Vec::new();
            for _ in 0..MAX_SENDS {
                let answer = match stack.send(sample).await {
                    Ok((status, reply)) => {
                        let label = match reply["status"].as_str() {
                            Some(outcome) => format!("{status} {outcome}"),
                            None => status.to_string(),
                        };
                        (status, label)
                    }
                    // The function URL itself failed (the function crashed or was rebuilt):
                    // the provider sees an error and retries.
                    Err(e) => (0, format!("no answer ({e})").chars().take(60).collect()),
                };
                seen.push(answer.1.clone());
                match answer.0 {
                    200 => return Ok(seen),
                    503 | 0 | 502 => tokio::time::sleep(Duration::from_secs(1)).await,
                    _ => bail!(
                        "{} {}: answered {}",
                        sample.webhook.name(),
                        sample.event,
                        answer.1
                    ),
                }
            }
            bail!(
                "{} {}: never acknowledged",
                sample.webhook.name(),
                sample.event
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut answers = Answers {
        elapsed: started.elapsed(),
        ..Answers::default()
    };
    for result in results {
        for label in result? {
            answers.sends += 1;
            *answers.by_status.entry(label).or_default() += 1;
        }
    }
    Ok(answers)
}

/// The run's items (every item that names the run anywhere: records, events, kept deliveries),
/// masked as `snapshot::without_run` does, and without what differs between two runs of the
/// same deliveries by their timing alone: the copier's bookkeeping (attempts, the record's
/// version, claims), which of a body's two Voki delivery ids arrived first, and which of two
/// conflicting bodies names the conflict.
async fn table(store: &RecordStore, run: &str) -> anyhow::Result<Snapshot> {
    let mut items = snapshot::scan(store.dynamodb(), store.table(), None).await?;
    items.retain(|_, item| item.to_string().contains(run));
    let mut items = snapshot::without_run(&items, run);
    for item in items.values_mut() {
        mask_bookkeeping(item);
    }
    Ok(items)
}

fn mask_bookkeeping(value: &mut Value) {
    if let Value::Object(map) = value {
        // A file copied in the end may have failed attempts before, for a fault's reason.
        if map.get("status") == Some(&json!("copied")) {
            map.remove("error");
        }
        // Which of two conflicting bodies names the conflict depends on which came second;
        // the record they make does not.
        map.remove("conflicts");
        for (key, v) in map.iter_mut() {
            match key.as_str() {
                "attempts" | "version" | "next_attempt_at" | "copied_at" | "claim"
                | "files_due_at" | "files_due_pk" => *v = json!("*"),
                "delivery_id" | "delivery_ids" => *v = without_resend(v),
                header if header.eq_ignore_ascii_case(DELIVERY_HEADER) => *v = without_resend(v),
                _ => mask_bookkeeping(v),
            }
        }
    }
}

/// Every object key of the bucket.
async fn keys(store: &RecordStore) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let out = store
            .s3()
            .list_objects_v2()
            .bucket(store.bucket())
            .set_continuation_token(token)
            .send()
            .await?;
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match out.next_continuation_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(keys),
        }
    }
}

/// Delivery ids with the resend's suffix removed: the same bytes arrive under both ids, in
/// either order.
fn without_resend(value: &Value) -> Value {
    match value {
        Value::String(id) => json!(id.trim_end_matches(RESEND_SUFFIX)),
        Value::Array(ids) => {
            let mut ids: Vec<Value> = ids.iter().map(without_resend).collect();
            ids.sort_by_key(ToString::to_string);
            ids.dedup();
            Value::Array(ids)
        }
        other => other.clone(),
    }
}

/// The run's objects: key (masked) to content digest (of the content with the run's id
/// replaced, for text), every object whose key or content names the run.
async fn bucket(store: &RecordStore, run: &str) -> anyhow::Result<Snapshot> {
    let mut out = Snapshot::new();
    for key in keys(store).await? {
        let content = store.get_object(&key).await?;
        let text = std::str::from_utf8(&content).ok();
        if !key.contains(run) && !text.is_some_and(|t| t.contains(run)) {
            continue;
        }
        let digest = match text {
            Some(t) => sha256_hex(t.replace(run, "RUN").as_bytes()),
            None => sha256_hex(&content),
        };
        let masked: Snapshot = [(key, json!(digest))].into();
        out.extend(snapshot::without_run(&masked, run));
    }
    Ok(out)
}

/// Waits until nothing of `run` is spooled or waits for the copier; returns how long it took.
async fn drain(store: &RecordStore, run: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    let (mut least, mut progressed) = (usize::MAX, Instant::now());
    loop {
        let spooled = store.spooled_keys().await?.len();
        let items = snapshot::scan(store.dynamodb(), store.table(), Some(run)).await?;
        let pending = items
            .values()
            .filter(|item| {
                item["files"]
                    .as_object()
                    .is_some_and(|files| files.values().any(|f| f["status"] == json!("pending")))
            })
            .count();
        if spooled == 0 && pending == 0 {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(5) {
                return Ok(started.elapsed());
            }
        } else {
            quiet_since = None;
        }
        if spooled + pending < least {
            (least, progressed) = (spooled + pending, Instant::now());
        }
        if progressed.elapsed() > DRAIN_STALL {
            bail!(
                "not drained: no progress for {DRAIN_STALL:?} after {:?}: {spooled} spooled, {pending} records with files pending",
                started.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

async fn run(total: usize, seed: u64) -> anyhow::Result<()> {
    println!("chaos: {total} deliveries, seed {seed}");
    let rig = Arc::new(Rig::start().await?);
    let stack = Stack::new(rig.functions_url.clone(), rig.store.clone());
    let server = SourceServer::start().await?;
    let stamp = chrono::Utc::now().format("%H%M%S");
    let (fault_run, calm_run) = (format!("chaos{stamp}f"), format!("chaos{stamp}c"));

    let faults = Arc::new(Faults::default());
    let stop = Arc::new(AtomicBool::new(false));
    let driver = tokio::spawn(inject(
        Arc::clone(&rig),
        seed,
        Arc::clone(&stop),
        Arc::clone(&faults),
    ));
    let faulty = send_all(&stack, &deliveries(&fault_run, total, seed, &server)?).await;
    stop.store(true, Ordering::SeqCst);
    driver.await?;
    let faulty = faulty?;
    let faulty_drain = drain(&rig.store, &fault_run).await?;

    let calm = send_all(&stack, &deliveries(&calm_run, total, seed, &server)?).await?;
    let calm_drain = drain(&rig.store, &calm_run).await?;

    let with_faults = (
        table(&rig.store, &fault_run).await?,
        bucket(&rig.store, &fault_run).await?,
    );
    let without = (
        table(&rig.store, &calm_run).await?,
        bucket(&rig.store, &calm_run).await?,
    );
    let mut diff =
        snapshot::differences(("fault run", &with_faults.0), ("no-fault run", &without.0));
    diff.extend(snapshot::differences(
        ("fault run's bucket", &with_faults.1),
        ("no-fault run's bucket", &without.1),
    ));

    let count = |a: &[AtomicUsize; 2]| {
        a.iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect::<Vec<_>>()
    };
    let (stalls, outages) = (count(&faults.stalls), count(&faults.outages));
    let spooled = faulty.by_status.get("200 spooled").copied().unwrap_or(0);
    println!();
    println!("| | fault run | no-fault run |");
    println!("|---|---|---|");
    println!("| deliveries | {total} | {total} |");
    println!(
        "| requests sent (503s sent again) | {} | {} |",
        faulty.sends, calm.sends
    );
    for status in faulty
        .by_status
        .keys()
        .chain(calm.by_status.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        println!(
            "| answered {status} | {} | {} |",
            faulty.by_status.get(status).copied().unwrap_or(0),
            calm.by_status.get(status).copied().unwrap_or(0)
        );
    }
    println!(
        "| faults: DynamoDB stalls / outages | {} / {} | 0 / 0 |",
        stalls[0], outages[0]
    );
    println!(
        "| faults: S3 stalls / outages | {} / {} | 0 / 0 |",
        stalls[1], outages[1]
    );
    println!(
        "| faults: copier processes killed | {} | 0 |",
        faults.copier_kills.load(Ordering::SeqCst)
    );
    println!("| spooled, all replayed | {spooled} | 0 |");
    println!(
        "| sending time | {:.0} s | {:.0} s |",
        faulty.elapsed.as_secs_f64(),
        calm.elapsed.as_secs_f64()
    );
    println!(
        "| time to drain (spool and copier) | {:.0} s | {:.0} s |",
        faulty_drain.as_secs_f64(),
        calm_drain.as_secs_f64()
    );
    println!(
        "| items / objects compared | {} / {} | {} / {} |",
        with_faults.0.len(),
        with_faults.1.len(),
        without.0.len(),
        without.1.len()
    );
    println!("| differences | {} | |", diff.len());
    println!();
    if !diff.is_empty() {
        for d in diff.iter().take(50) {
            println!("{d}");
        }
        bail!(
            "the fault run differs from the no-fault run in {} places (seed {seed})",
            diff.len()
        );
    }
    println!("chaos: no difference (seed {seed})");
    Ok(())
}
