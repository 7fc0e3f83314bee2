//! Copies a generated file (1 GiB by default) from a local HTTP server to an S3 server on
//! 127.0.0.1 and reports throughput and the copier process's peak RSS, for the streaming
//! copier and for a download-then-upload baseline, against two servers: moto (the emulator the
//! tests use, a single Python process) and `s3s-fs` (an S3 server in Rust over the file
//! system, fast enough that the copier rather than the server is measured). Each mode runs in
//! its own child process, so each peak is that mode's alone.
//!
//! `cargo bench -p callvault-archive --bench copy_1gib` (or `make bench-copy`, which installs
//! `s3s-fs` under `.tools/`); set `CALLVAULT_BENCH_BYTES` for another size and
//! `CALLVAULT_S3S_FS` for another `s3s-fs` binary. Without `s3s-fs`, only moto is measured.

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
const SERVER_VAR: &str = "CALLVAULT_BENCH_S3";

/// An S3 server on 127.0.0.1 for one run, stopped when dropped.
enum Server {
    Moto(Emulator),
    S3sFs {
        child: std::process::Child,
        endpoint: String,
        root: std::path::PathBuf,
    },
}

fn s3s_fs_binary() -> std::path::PathBuf {
    std::env::var_os("CALLVAULT_S3S_FS")
        .map(Into::into)
        .unwrap_or_else(|| callvault_testkit::repo_root().join(".tools/bin/s3s-fs"))
}

impl Server {
    fn start(name: &str) -> anyhow::Result<Self> {
        match name {
            "moto" => Ok(Self::Moto(Emulator::start()?)),
            "s3s-fs" => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port();
                let root = std::env::temp_dir().join(format!("callvault-s3s-fs-{port}"));
                std::fs::create_dir_all(&root)?;
                let child = Command::new(s3s_fs_binary())
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", "test", "--secret-key", "test"])
                    .arg(&root)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()?;
                let endpoint = format!("http://127.0.0.1:{port}");
                let deadline = Instant::now() + std::time::Duration::from_secs(10);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    anyhow::ensure!(Instant::now() < deadline, "s3s-fs did not listen on {port}");
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Ok(Self::S3sFs {
                    child,
                    endpoint,
                    root,
                })
            }
            other => anyhow::bail!("unknown S3 server {other}"),
        }
    }

    fn endpoint(&self) -> &str {
        match self {
            Self::Moto(emulator) => emulator.endpoint(),
            Self::S3sFs { endpoint, .. } => endpoint,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Self::S3sFs { child, root, .. } = self {
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

async fn run_mode(server: &str, mode: &str) -> anyhow::Result<()> {
    let bytes = size();
    let server = Server::start(server)?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(
            &callvault_testkit::sdk_config_for(server.endpoint()).await,
        )
        .force_path_style(true)
        .build(),
    );
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
        "{mode}\t{bytes}\t{seconds:.2}\t{:.1}\t{:.0}\t{:.0}",
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
    if s3s_fs_binary().is_file() {
        servers.push("s3s-fs");
    } else {
        eprintln!(
            "{} not found: measuring moto only (`make bench-copy` installs it)",
            s3s_fs_binary().display()
        );
    }
    println!(
        "| S3 server | mode | bytes | seconds | MiB/s | peak RSS (MiB) | RSS before copy (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for server in servers {
        for mode in ["streaming", "buffered"] {
            let out = Command::new(&exe)
                .env(SERVER_VAR, server)
                .env(MODE_VAR, mode)
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "{server} {mode} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                println!("| {server} | {} |", line.replace('\t', " | "));
            }
        }
    }
    Ok(())
}
