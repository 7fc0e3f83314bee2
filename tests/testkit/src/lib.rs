//! Test support shared by integration and end-to-end tests.
//!
//! [`Emulator::start`] runs moto's server from the repository's `.venv` (created by
//! `make venv`) on a free loopback port and stops it when dropped, so every storage test runs
//! against a real DynamoDB/S3 API with nothing left behind; [`Emulator::pause`],
//! [`Emulator::resume`] and [`Emulator::stop`] inject stalls and outages. [`SourceServer`]
//! stands in for a provider's file hosting on 127.0.0.1. [`lambda::LambdaHarness`] runs a
//! function binary against a Runtime API of its own; [`console::ConsoleProcess`] runs
//! `callvault console`; [`docs`] reads what the README and `docs/` say about the repository;
//! [`template`] reads `infra/template.yaml` and what a deployment of it creates.

pub mod console;
pub mod contents;
pub mod dataset;
pub mod docs;
pub mod lambda;
mod source_server;
pub mod template;

pub use source_server::{generated_byte, SourceServer};

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_sdk_dynamodb::config::{Credentials, Region};
use callvault_store::{schema, RecordStore};

/// The repository root (this crate lives at `tests/testkit`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once this returns).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on 127.0.0.1:`port` (a server process just
/// started), for at most `within`; `what` names it in the error.
pub fn wait_listening(port: u16, within: Duration, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not start listening on port {port} within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A moto server on 127.0.0.1, stopped on drop (even while paused).
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    port: u16,
    endpoint: String,
    paused: AtomicBool,
    stopped: bool,
}

impl Emulator {
    /// Starts moto's server on a free port and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_on(free_port()?)
    }

    /// After [`Self::stop`], starts a fresh (empty) emulator on the same port: the end of an
    /// outage, for clients configured with the old endpoint.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        *self = Self::start_on(self.port)?;
        Ok(())
    }

    fn start_on(port: u16) -> anyhow::Result<Self> {
        let moto = std::env::var_os("CALLVAULT_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/moto_server"));
        if !moto.exists() {
            bail!(
                "{} not found: run `make venv` (or `make test`) first",
                moto.display()
            );
        }
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", moto.display()))?;
        let emulator = Self {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            paused: AtomicBool::new(false),
            stopped: false,
        };
        wait_listening(port, Duration::from_secs(60), "moto")?;
        Ok(emulator)
    }

    /// The emulator's endpoint URL (still the same after [`Self::stop`]).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The emulator's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Freezes the emulator (SIGSTOP) to simulate a stall: the kernel still accepts
    /// connections on its port, but no request is answered until [`Self::resume`].
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("STOP")?;
        self.paused.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Lets a paused emulator run again (SIGCONT); requests sent meanwhile are then answered.
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("CONT")?;
        self.paused.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Kills the emulator to simulate an outage: connections to [`Self::endpoint`] are refused
    /// from now on. Its data is gone; [`Self::restart`] starts an empty one on the same port.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.child.kill().context("killing the emulator")?;
        self.child
            .wait()
            .context("waiting for the emulator to exit")?;
        self.stopped = true;
        self.paused.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Sends `SIG<name>` to the emulator with the `kill` command (no unsafe code here).
    fn signal(&self, name: &str) -> anyhow::Result<()> {
        if self.stopped {
            bail!("the emulator has been stopped");
        }
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running `kill -{name}`"))?;
        if !status.success() {
            bail!("`kill -{name} {}` failed: {status}", self.child.id());
        }
        Ok(())
    }

    /// SDK configuration for the emulator: its endpoint, a fixed region and dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.endpoint).await
    }

    /// Creates a table (production schema) and bucket and returns a store over them.
    pub async fn store(&self, table: &str, bucket: &str) -> anyhow::Result<RecordStore> {
        let sdk = self.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let s3 = aws_sdk_s3::Client::new(&sdk);
        schema::create_table(&ddb, table).await?;
        schema::create_bucket(&s3, bucket).await?;
        Ok(RecordStore::new(ddb, s3, table, bucket))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        // SIGKILL ends a stopped process too; SIGCONT first is only belt and braces.
        if self.paused.load(Ordering::SeqCst) {
            let _ = self.signal("CONT");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command running `program` (a callvault binary taking `--endpoint-url`) as a client of
/// the emulator at `endpoint`: a fixed region and dummy credentials, nothing from an AWS
/// profile or instance metadata.
pub fn client_command(program: &str, endpoint: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
    command
}

/// SDK configuration for an emulator at `endpoint` (never real AWS: dummy credentials).
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "callvault-testkit",
        ))
        .load()
        .await
}
