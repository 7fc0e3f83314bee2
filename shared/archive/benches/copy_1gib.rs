//! Copies a generated file (1 GiB by default) from a local HTTP server to the emulator's S3
//! and reports throughput and the copier process's peak RSS, for the streaming copier and for
//! a download-then-upload baseline. Each mode runs in its own child process, so each peak is
//! that mode's alone.
//!
//! `cargo bench -p callvault-archive --bench copy_1gib` (or `make bench-copy`); set
//! `CALLVAULT_BENCH_BYTES` for another size.

// criterion is not used here: this binary has its own main.
#![allow(missing_docs)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use callvault_archive::guard::{AddressPolicy, SystemResolver};
use callvault_archive::source::{HttpSource, SourcePolicy};
use callvault_archive::upload::UploadConfig;
use callvault_archive::{Copier, RetryPolicy, Sources};
use callvault_testkit::{Emulator, SourceServer};

const MODE_VAR: &str = "CALLVAULT_BENCH_MODE";

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

async fn run_mode(mode: &str) -> anyhow::Result<()> {
    let bytes = size();
    let emulator = Emulator::start()?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    callvault_store::schema::create_bucket(&s3, "bench").await?;
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
            copier.copy("bench", &url, "streamed.bin").await?.size
        }
        "buffered" => {
            let body = reqwest::get(&url).await?.bytes().await?;
            let len = body.len() as u64;
            s3.put_object()
                .bucket("bench")
                .key("buffered.bin")
                .body(body.into())
                .send()
                .await?;
            len
        }
        other => anyhow::bail!("unknown mode {other}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == bytes, "copied {copied} of {bytes} bytes");
    println!(
        "{mode}\t{bytes}\t{seconds:.2}\t{:.1}\t{:.1}\t{:.1}",
        bytes as f64 / seconds / 1048576.0,
        peak_rss_mib(),
        rss_before
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Ok(mode) = std::env::var(MODE_VAR) {
        return tokio::runtime::Runtime::new()?.block_on(run_mode(&mode));
    }
    let exe = std::env::current_exe()?;
    println!("| mode | bytes | seconds | MiB/s | peak RSS (MiB) | RSS before copy (MiB) |");
    println!("|---|---|---|---|---|---|");
    for mode in ["streaming", "buffered"] {
        let out = Command::new(&exe).env(MODE_VAR, mode).output()?;
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
