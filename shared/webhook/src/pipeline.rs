use std::sync::Arc;
use std::time::{Duration, Instant};

use callvault_runtime::{metrics, sdk_config, telemetry, time_left, Config};
use callvault_store::size::bounded_headers;
use callvault_store::{Contribution, Delivery, PutOutcome, RecordStore, StoreError};
use callvault_verify::{Unverified, Verified, VerifyError};
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};

use crate::config;
use crate::outcome::KeptReason;
use crate::secrets::{Reason, MISMATCH_WAIT};
use crate::{Adapter, Outcome, RequestView};

/// Headers never stored with a kept delivery.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// How long an authenticated delivery may wait for storage before it is spooled, and for the
/// spool before the answer is 503. Every webhook answers within `store + spool` (6.5 s by
/// default), well inside its 10 s Lambda timeout and the post-call provider's 10 s: reading
/// the secret again for a delivery that matches none held (at most
/// [`MISMATCH_WAIT`](crate::secrets::MISMATCH_WAIT)) comes out of the storage share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// For DynamoDB: applying the delivery to its record, or keeping it as rejected.
    pub store: Duration,
    /// For the S3 spool, when DynamoDB failed or ran out of time.
    pub spool: Duration,
}

impl Budget {
    /// The budget of a webhook function with the template's 10 s timeout.
    pub const DEFAULT: Self = Self {
        store: Duration::from_millis(3500),
        spool: Duration::from_millis(3000),
    };
    /// Time kept back from the invocation's deadline for answering.
    const MARGIN: Duration = Duration::from_millis(500);

    /// What is left of this budget once `elapsed` went on the delivery before storage (reading
    /// the secret again): storage gets the rest of its share, the spool all of its own.
    pub fn spent(self, elapsed: Duration) -> Self {
        Self {
            store: self.store.saturating_sub(elapsed),
            ..self
        }
    }

    /// This budget fitted into `remaining` (the time before the invocation's deadline): the
    /// spool keeps its share as long as it can, storage gets what is left.
    pub fn within(self, remaining: Duration) -> Self {
        let usable = remaining.saturating_sub(Self::MARGIN);
        let spool = self.spool.min(usable);
        Self {
            store: self.store.min(usable.saturating_sub(spool)),
            spool,
        }
    }
}

/// What a storage failure leads to: the spool (live deliveries), or nothing (replay of a
/// delivery that is already kept somewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Spool the delivery within this budget.
    Spool(Budget),
    /// Report the failure; the caller keeps the delivery where it is.
    Report,
}

/// One provider's webhook endpoint: limits, authentication, normalization and storage.
#[derive(Debug)]
pub struct Webhook<A> {
    adapter: A,
    store: RecordStore,
    max_body_bytes: usize,
    budget: Budget,
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The request headers kept with a delivery: all but credentials, at most
/// `size::MAX_KEPT_HEADER_BYTES` of them.
pub fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    bounded_headers(
        headers
            .iter()
            .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
    )
}

fn remaining(request: &Request) -> Option<Duration> {
    time_left(request.lambda_context_ref()?.deadline)
}

impl<A: Adapter> Webhook<A> {
    /// A webhook over `store` accepting bodies up to `max_body_bytes`, answering within
    /// [`Budget::DEFAULT`].
    pub fn new(adapter: A, store: RecordStore, max_body_bytes: usize) -> Self {
        Self {
            adapter,
            store,
            max_body_bytes,
            budget: Budget::DEFAULT,
        }
    }

    /// The same webhook with another time budget.
    pub fn with_budget(self, budget: Budget) -> Self {
        Self { budget, ..self }
    }

    /// Handles one request, logs one structured event for it (never the body) and writes its
    /// metrics.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let budget = remaining(&request).map_or(self.budget, |r| self.budget.within(r));
        let (outcome, identity) = self.process(&request, budget, started).await;
        let provider = A::WEBHOOK.provider().as_str();
        log(provider, &outcome, identity.as_ref(), started);
        metrics::delivery(provider, outcome.label(), started.elapsed());
        metrics::flush(request.lambda_context_ref().map(|c| c.request_id.as_str()));
        outcome.into_response()
    }

    async fn process(
        &self,
        request: &Request,
        budget: Budget,
        started: Instant,
    ) -> (Outcome, Option<Identity>) {
        if request.method() != Method::POST {
            return (Outcome::MethodNotAllowed, None);
        }
        let body = body_bytes(request.body());
        if body.len() > self.max_body_bytes {
            return (
                Outcome::TooLarge {
                    limit: self.max_body_bytes,
                },
                None,
            );
        }
        let view = RequestView {
            headers: request.headers(),
            query: request.uri().query(),
        };
        let secrets = self.adapter.secrets();
        // A read due by time goes on in the background; this delivery waits for it only if
        // it matches no secret held.
        let mut periodic = secrets.and_then(|s| s.start_refresh(Reason::Periodic));
        let mut authenticated = self.adapter.authenticate(view, Unverified::new(body));
        if let (Err(e), Some(secrets)) = (&authenticated, secrets) {
            // Perhaps a secret added since the secrets were read: read them again (or wait for
            // the read under way), within the budget, and check again.
            let unknown_secret = matches!(
                e,
                VerifyError::Mismatch | VerifyError::TokenMismatch | VerifyError::NoSecret
            );
            let read = unknown_secret
                .then(|| {
                    periodic
                        .take()
                        .or_else(|| secrets.start_refresh(Reason::Mismatch))
                })
                .flatten();
            if let Some(read) = read {
                let wait = MISMATCH_WAIT.min(budget.store);
                match tokio::time::timeout(wait, read).await {
                    Ok(true) => {
                        authenticated = self.adapter.authenticate(view, Unverified::new(body));
                    }
                    Ok(false) => {}
                    Err(_) => tracing::warn!(
                        provider = A::WEBHOOK.provider().as_str(),
                        waited_ms = wait.as_millis() as u64,
                        "the secret was not read again in time: the delivery is checked against the secrets held, and the read goes on"
                    ),
                }
            }
        }
        let budget = budget.spent(started.elapsed());
        match authenticated {
            Ok(verified) => {
                accept::<A>(
                    &self.store,
                    request.headers(),
                    &verified,
                    Utc::now(),
                    OnFailure::Spool(budget),
                )
                .await
            }
            Err(e) => (Outcome::Unauthorized(e), None),
        }
    }
}

/// Takes custody of an authenticated delivery: normalized and applied to its record; or,
/// when it cannot be used or stored for good, kept raw with the reason; or, when storage
/// fails or runs out of time, spooled to S3 (with [`OnFailure::Spool`]). Only when the spool
/// fails too is nothing acknowledged. Replay calls this directly with [`OnFailure::Report`].
pub async fn accept<A: Adapter>(
    store: &RecordStore,
    headers: &HeaderMap,
    verified: &Verified,
    received_at: DateTime<Utc>,
    on_failure: OnFailure,
) -> (Outcome, Option<Identity>) {
    let delivery = Delivery {
        verified,
        provider: A::WEBHOOK.provider(),
        webhook: A::WEBHOOK.name(),
        received_at,
        headers: kept_headers(headers),
    };
    let view = RequestView {
        headers,
        query: None,
    };
    let ingested = A::ingest(view, verified, received_at);
    let identity = Identity {
        body_sha256: delivery.body_sha256(),
        delivery_id: ingested.as_ref().ok().and_then(|i| i.delivery_id.clone()),
    };
    let applied = async {
        let reason = match ingested {
            Ok(i) => {
                let contribution = Contribution {
                    delivery_id: i.delivery_id.as_deref(),
                    event_type: &i.event_type,
                    record: i.record,
                    scope: i.scope.as_ref(),
                    transcript_pointer: i.transcript_pointer,
                };
                match store.ingest(&delivery, contribution).await {
                    Ok(put) => return Ok(Outcome::Accepted(put)),
                    Err(e) if e.is_permanent() => KeptReason::Unstorable(e),
                    Err(e) => return Err(e),
                }
            }
            Err(parse_error) => KeptReason::Unusable(parse_error),
        };
        store
            .keep_rejected(&delivery, &reason.to_string())
            .await
            .map(|_| Outcome::Kept(reason))
    };
    let result = match on_failure {
        OnFailure::Spool(budget) => tokio::time::timeout(budget.store, applied)
            .await
            .unwrap_or(Err(StoreError::Deadline(budget.store))),
        OnFailure::Report => applied.await,
    };
    let outcome = match (result, on_failure) {
        (Ok(outcome), _) => outcome,
        (Err(error), OnFailure::Spool(budget)) => {
            let spooled = tokio::time::timeout(budget.spool, store.spool(&delivery))
                .await
                .unwrap_or(Err(StoreError::Deadline(budget.spool)));
            match spooled {
                Ok(key) => {
                    tracing::warn!(provider = A::WEBHOOK.provider().as_str(), spool_key = %key, reason = %error.detail(), "storage failed; delivery spooled for replay");
                    Outcome::Spooled(error)
                }
                Err(spool_error) => {
                    tracing::error!(provider = A::WEBHOOK.provider().as_str(), reason = %spool_error.detail(), "spooling failed too");
                    Outcome::StorageFailed(error)
                }
            }
        }
        (Err(error), OnFailure::Report) => Outcome::StorageFailed(error),
    };
    (outcome, Some(identity))
}

/// What identifies an authenticated delivery in its log event: its body's SHA-256 (what
/// `callvault deliveries show` takes) and the provider's delivery id, where it sends one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// SHA-256 of the body, lowercase hex.
    pub body_sha256: String,
    /// The provider's own delivery id (Voki's `X-Voki-Delivery`).
    pub delivery_id: Option<String>,
}

fn log(provider: &str, outcome: &Outcome, identity: Option<&Identity>, started: Instant) {
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = outcome.status().as_u16();
    let delivery_id = identity
        .and_then(|i| i.delivery_id.as_deref())
        .unwrap_or("");
    let body_sha256 = identity.map_or("", |i| i.body_sha256.as_str());
    let label = outcome.label();
    match outcome {
        Outcome::Accepted(PutOutcome::Stored | PutOutcome::Duplicate) => {
            tracing::info!(
                provider,
                delivery_id,
                body_sha256,
                outcome = label,
                status,
                latency_ms,
                "delivery"
            )
        }
        Outcome::StorageFailed(e) | Outcome::Spooled(e) => {
            tracing::error!(provider, delivery_id, body_sha256, outcome = label, status, latency_ms, reason = %e.detail(), "delivery")
        }
        _ => tracing::warn!(
            provider, delivery_id, body_sha256, outcome = label, status, latency_ms, reason = %outcome.message(), "delivery"
        ),
    }
}

/// A webhook function's whole `main`: the parsers' metadata starts loading on its own thread
/// first; meanwhile JSON logs, its settings, the SDK's configuration, then its secrets and the
/// table's warm-up (independent, so at once); then [`serve`].
pub async fn run<A: Adapter>() -> Result<(), lambda_http::Error> {
    let preload = config::preload();
    telemetry::init();
    metrics::init();
    let config = Config::from_env()?;
    let max_body_bytes = config::max_body_bytes()?;
    let sdk = sdk_config().await;
    let (adapter, store, ()) = tokio::join!(
        A::load(&sdk),
        config.store(&sdk, config::webhook_timeouts()),
        preload
    );
    serve(Webhook::new(adapter?, store, max_body_bytes)).await
}

/// Runs `webhook` as the Lambda function's handler until the runtime stops.
pub async fn serve<A: Adapter>(webhook: Webhook<A>) -> Result<(), lambda_http::Error> {
    let webhook = Arc::new(webhook);
    lambda_http::run(service_fn(move |request: Request| {
        let webhook = Arc::clone(&webhook);
        async move { Ok::<_, std::convert::Infallible>(webhook.handle(request).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spent_before_storage_comes_out_of_its_share() {
        let budget = Budget::DEFAULT;
        assert_eq!(
            budget.spent(MISMATCH_WAIT),
            Budget {
                store: budget.store - MISMATCH_WAIT,
                spool: budget.spool
            }
        );
        assert_eq!(budget.spent(Duration::from_secs(60)).store, Duration::ZERO);
    }

    #[test]
    fn the_budget_fits_the_time_left() {
        let budget = Budget::DEFAULT;
        assert_eq!(budget.within(Duration::from_secs(10)), budget);
        assert_eq!(
            budget.within(Duration::from_secs(5)),
            Budget {
                store: Duration::from_millis(1500),
                spool: Duration::from_millis(3000)
            }
        );
        assert_eq!(
            budget.within(Duration::from_secs(2)),
            Budget {
                store: Duration::ZERO,
                spool: Duration::from_millis(1500)
            }
        );
        assert_eq!(
            budget.within(Duration::ZERO),
            Budget {
                store: Duration::ZERO,
                spool: Duration::ZERO
            }
        );
    }
}
