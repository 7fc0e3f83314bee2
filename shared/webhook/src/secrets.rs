//! A webhook's secrets as a function holds them: read at cold start from Secrets Manager
//! (`<VAR>_ARN`) or from the JSON in `<VAR>`, and read again while the function runs, so
//! that a change made with `callvault secrets` (or `aws secretsmanager put-secret-value`)
//! takes effect without a deployment:
//!
//! - when a delivery's signature or token matches none of the secrets held, the secret is read
//!   again at once (unless it was read less than [`MISMATCH_INTERVAL`] before) and the
//!   delivery checked again: a secret just added works on its first delivery. The delivery
//!   waits for that read at most [`MISMATCH_WAIT`], inside its time budget; a slower read goes
//!   on in the background (bounded by the client's own timeouts, [`OPERATION_TIMEOUT`]) and
//!   serves the deliveries after it;
//! - a delivery arriving [`REFRESH_INTERVAL`] or more after the last read makes it read again
//!   in the background: a secret just removed stops working from that read.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use callvault_verify::Keyring;

/// Least time between two reads caused by signatures that match no secret (a flood of bad
/// signatures costs at most one read per interval).
pub const MISMATCH_INTERVAL: Duration = Duration::from_secs(30);
/// Time after which the secret is read again in the background.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Longest a delivery whose signature or token matches no secret held waits for the secret
/// to be read again (taken from its storage share of the time budget).
pub const MISMATCH_WAIT: Duration = Duration::from_secs(1);
/// Connect timeout of the Secrets Manager client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Whole-request timeout of the Secrets Manager client: a read of the secret (at cold start,
/// or one going on in the background) gives up after this long.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the secrets JSON comes from.
#[derive(Debug)]
enum Source {
    /// A Secrets Manager secret, read again as described on the module.
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        arn: String,
    },
    /// The JSON in an environment variable: fixed for the process's life.
    Env,
}

/// Why the secret is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A delivery's signature or token matched none of the secrets held.
    Mismatch,
    /// [`REFRESH_INTERVAL`] passed.
    Periodic,
}

/// One provider's secrets, current.
#[derive(Debug)]
pub struct Secrets {
    var: String,
    source: Source,
    current: RwLock<(String, Arc<Keyring>)>,
    last_read: Mutex<Instant>,
    intervals: [Duration; 2],
}

/// The Secrets Manager client a webhook reads its secret with ([`CONNECT_TIMEOUT`],
/// [`OPERATION_TIMEOUT`]).
pub fn client(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .build(),
    )
}

impl Source {
    async fn read(&self, var: &str) -> anyhow::Result<String> {
        match self {
            Self::SecretsManager { client, arn } => client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e))
                })
                .with_context(|| format!("reading secret {arn} ({var}_ARN)"))?
                .secret_string
                .with_context(|| {
                    format!("secret {arn} has no value yet: set it with `callvault secrets add` (see README)")
                }),
            Self::Env => std::env::var(var).with_context(|| format!("{var} is not set")),
        }
    }
}

impl Secrets {
    /// Loads a provider's secrets (see [`Keyring`] for the JSON shape): from the Secrets
    /// Manager secret named by `<var>_ARN` when set (deployed functions, and the local stack),
    /// else from the JSON in `<var>` itself. Values are never logged.
    pub async fn load(sdk: &SdkConfig, var: &str) -> anyhow::Result<Self> {
        let arn_var = format!("{var}_ARN");
        match std::env::var(&arn_var).ok().filter(|v| !v.is_empty()) {
            Some(arn) => Self::from_secrets_manager(client(sdk), &arn, var).await,
            None if std::env::var_os(var).is_some() => Self::read(Source::Env, var).await,
            None => bail!(
                "neither {arn_var} nor {var} is set: configure the webhook secret (see README)"
            ),
        }
    }

    /// Loads the secrets JSON of the Secrets Manager secret `arn` (an ARN or name), for
    /// the variable `var` (named in errors and logs).
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        arn: &str,
        var: &str,
    ) -> anyhow::Result<Self> {
        let source = Source::SecretsManager {
            client,
            arn: arn.to_owned(),
        };
        Self::read(source, var).await
    }

    async fn read(source: Source, var: &str) -> anyhow::Result<Self> {
        let json = source.read(var).await?;
        let keyring = Keyring::from_json(&json)
            .with_context(|| format!("{var}: not a valid secret configuration"))?;
        Ok(Self {
            var: var.to_owned(),
            source,
            current: RwLock::new((json, Arc::new(keyring))),
            last_read: Mutex::new(Instant::now()),
            intervals: [MISMATCH_INTERVAL, REFRESH_INTERVAL],
        })
    }

    /// Fixed secrets, never read again.
    pub fn fixed(keyring: Keyring) -> Self {
        Self {
            var: String::new(),
            source: Source::Env,
            current: RwLock::new((String::new(), Arc::new(keyring))),
            last_read: Mutex::new(Instant::now()),
            intervals: [MISMATCH_INTERVAL, REFRESH_INTERVAL],
        }
    }

    /// The same secrets read again at other intervals (instead of [`MISMATCH_INTERVAL`] and
    /// [`REFRESH_INTERVAL`]).
    pub fn with_intervals(self, mismatch: Duration, periodic: Duration) -> Self {
        Self {
            intervals: [mismatch, periodic],
            ..self
        }
    }

    fn interval(&self, reason: Reason) -> Duration {
        match reason {
            Reason::Mismatch => self.intervals[0],
            Reason::Periodic => self.intervals[1],
        }
    }

    /// The secrets held now.
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current.1),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().1),
        }
    }

    /// Whether a read for `reason` is due.
    pub fn due(&self, reason: Reason) -> bool {
        !matches!(self.source, Source::Env)
            && self
                .last_read
                .lock()
                .is_ok_and(|last| last.elapsed() >= self.interval(reason))
    }

    /// Whether a read for `reason` is due, claiming it if so (one reader at a time).
    fn claim(&self, reason: Reason) -> bool {
        if matches!(self.source, Source::Env) {
            return false;
        }
        let Ok(mut last) = self.last_read.lock() else {
            return false;
        };
        if last.elapsed() < self.interval(reason) {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// Reads the secret again if a read for `reason` is due; `true` when the secrets changed.
    /// A secret that cannot be read or parsed leaves the current secrets in place (logged).
    pub async fn refresh(&self, reason: Reason) -> bool {
        if !self.claim(reason) {
            return false;
        }
        self.read_again(reason).await
    }

    /// Starts reading the secret again, on its own task, if a read for `reason` is due: the
    /// read completes (or fails, logged) whether or not anyone waits for it, and resolves to
    /// `true` when the secrets changed. `None` when no read is due.
    pub fn start_refresh(
        self: &Arc<Self>,
        reason: Reason,
    ) -> Option<impl Future<Output = bool> + Send + 'static> {
        if !self.claim(reason) {
            return None;
        }
        let secrets = Arc::clone(self);
        let read = tokio::spawn(async move { secrets.read_again(reason).await });
        Some(async move { read.await.unwrap_or(false) })
    }

    async fn read_again(&self, reason: Reason) -> bool {
        let json = match self.source.read(&self.var).await {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(variable = %self.var, ?reason, error = %format!("{e:#}"), "could not read the secret again; keeping the current one");
                return false;
            }
        };
        if self.current.read().is_ok_and(|c| c.0 == json) {
            return false;
        }
        match Keyring::from_json(&json) {
            Ok(keyring) => {
                if let Ok(mut current) = self.current.write() {
                    *current = (json, Arc::new(keyring));
                }
                tracing::info!(variable = %self.var, ?reason, "secrets reloaded");
                true
            }
            Err(e) => {
                tracing::error!(variable = %self.var, error = %e, "the secret's new value is not a valid secret configuration; keeping the current one");
                false
            }
        }
    }
}
