//! Copies a generated file (1 GiB by default) from a local HTTP server to S3 and reports
//! throughput and the copier process's peak RSS, for the streaming copier and for a
//! download-then-upload baseline (which also computes the SHA-256 the copier records), against
//! two S3s: the emulator (moto, which is slower than either copy) and, when `CALLVAULT_FAST_S3`
//! names its binary, `tools/fast-s3` (s3s-fs on local files). Each mode runs in its own child
//! process, so each peak is that mode's alone.
//!
//! `make bench-copy` (builds the fast S3 and runs `cargo bench -p callvault-archive --bench
//! copy_1gib`); set `CALLVAULT_BENCH_BYTES` for another size.

// criterion is not used here: this binary has its own main.
#![allow(missing_docs)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use sha2::Digest as _;

use callvault_archive::guard::{AddressPolicy, SystemResolver};
use callvault_archive::source::{HttpSource, SourcePolicy};
use callvault_archive::upload::UploadConfig;
use callvault_archive::{Copier, RetryPolicy, Sources};
use callvault_testkit::{free_port, sdk_config_for, wait_listening, Emulator, SourceServer};

const MODE_VAR: &str = "CALLVAULT_BENCH_MODE";
const SERVER_VAR: &str = "CALLVAULT_BENCH_S3";
/// Where each mode writes its copy.
const KEY: &str = "copy.bin";
/// The fast S3 server's binary (`tools/fast-s3`).
const FAST_S3_VAR: &str = "CALLVAULT_FAST_S3";

/// The S3 a run copies into; stopped when dropped.
enum S3Server {
    Moto(Emulator),
    Fast {
        child: std::process::Child,
        endpoint: String,
        root: std::path::PathBuf,
    },
}

impl S3Server {
    async fn start(name: &str) -> anyhow::Result<Self> {
        if name == "moto" {
            return Ok(Self::Moto(Emulator::start()?));
        }
        let program = std::env::var(FAST_S3_VAR)?;
        let port = free_port()?;
        let root = std::env::temp_dir().join(format!("callvault-fast-s3-{}", std::process::id()));
        let child = Command::new(program)
            .args([port.to_string(), root.display().to_string()])
            .stdout(std::process::Stdio::null())
            .spawn()?;
        // Built now, so that a server that never listens is still stopped (on drop).
        let server = Self::Fast {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            root,
        };
        wait_listening(port, std::time::Duration::from_secs(5), "the fast S3")?;
        Ok(server)
    }

    /// A client and the bucket `bench` in it.
    async fn bucket(&self) -> anyhow::Result<aws_sdk_s3::Client> {
        Ok(match self {
            Self::Moto(emulator) => {
                let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
                callvault_store::schema::create_bucket(&s3, "bench").await?;
                s3
            }
            Self::Fast { endpoint, .. } => {
                let s3 = aws_sdk_s3::Client::new(&sdk_config_for(endpoint).await);
                s3.create_bucket().bucket("bench").send().await?;
                s3
            }
        })
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Self::Fast { child, root, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn size() -> u64 {
    std::env::var("CALLVAULT_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30)
}

async fn run_mode(s3_name: &str, mode: &str) -> anyhow::Result<()> {
    let bytes = size();
    let s3_server = S3Server::start(s3_name).await?;
    let s3 = s3_server.bucket().await?;
    let server = SourceServer::start().await?;
    let url = server.url(&format!("/generated/{bytes}"));
    let rss_before = peak_rss_mib();
    let started = Instant::now();
    let copied = match mode {
        "streaming" => {
            let policy = SourcePolicy {
                addresses: AddressPolicy {
                    allow_loopback: true,
                },
                max_bytes: u64::MAX,
                ..SourcePolicy::default()
            };
            let source = HttpSource::new(policy, Arc::new(SystemResolver))?;
            let copier = Copier::new(
                Sources::uniform(source),
                s3.clone(),
                "bench",
                UploadConfig::default(),
                RetryPolicy::default(),
            );
            copier.copy("bench", &url, KEY).await?.size
        }
        "buffered" => {
            // Equal work: the copier records each file's SHA-256, so the baseline digests too.
            let body = reqwest::get(&url).await?.bytes().await?;
            let len = body.len() as u64;
            std::hint::black_box(sha2::Sha256::digest(&body));
            s3.put_object()
                .bucket("bench")
                .key(KEY)
                .body(body.into())
                .send()
                .await?;
            len
        }
        other => anyhow::bail!("unknown mode {other}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == bytes, "copied {copied} of {bytes} bytes");
    let stored = s3.head_object().bucket("bench").key(KEY).send().await?;
    anyhow::ensure!(
        stored.content_length == i64::try_from(bytes).ok(),
        "the server holds {:?} of {bytes} bytes",
        stored.content_length
    );
    println!(
        "{s3_name}\t{mode}\t{bytes}\t{seconds:.2}\t{:.1}\t{:.1}\t{:.1}",
        bytes as f64 / seconds / 1048576.0,
        peak_rss_mib(),
        rss_before
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let (Ok(server), Ok(mode)) = (std::env::var(SERVER_VAR), std::env::var(MODE_VAR)) {
        return tokio::runtime::Runtime::new()?.block_on(run_mode(&server, &mode));
    }
    let exe = std::env::current_exe()?;
    let mut servers = vec!["moto"];
    if std::env::var_os(FAST_S3_VAR).is_some() {
        servers.push("fast-s3");
    } else {
        eprintln!(
            "{FAST_S3_VAR} is not set: measuring against moto only (`make bench-copy` sets it)"
        );
    }
    println!("| S3 | mode | bytes | seconds | MiB/s | peak RSS (MiB) | RSS before copy (MiB) |");
    println!("|---|---|---|---|---|---|---|");
    for (server, mode) in servers
        .iter()
        .flat_map(|server| ["streaming", "buffered"].map(|mode| (*server, mode)))
    {
        let out = Command::new(&exe)
            .env(SERVER_VAR, server)
            .env(MODE_VAR, mode)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{mode} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("| {} |", line.replace('\t', " | "));
        }
    }
    Ok(())
}
