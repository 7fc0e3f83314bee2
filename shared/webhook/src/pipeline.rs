use std::sync::Arc;
use std::time::Instant;

use callvault_records::ParseError;
use callvault_store::{Delivery, PutOutcome, RecordStore, StoreError};
use callvault_verify::{Unverified, Verified};
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{service_fn, Body, Request, Response};

use crate::{Adapter, Outcome, RequestView};

/// Headers never stored with a kept delivery.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// One provider's webhook endpoint: limits, authentication, normalization and storage.
#[derive(Debug)]
pub struct Webhook<A> {
    adapter: A,
    store: RecordStore,
    max_body_bytes: usize,
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The request headers kept with a delivery: all but credentials.
pub fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

impl<A: Adapter> Webhook<A> {
    /// A webhook over `store` accepting bodies up to `max_body_bytes`.
    pub fn new(adapter: A, store: RecordStore, max_body_bytes: usize) -> Self {
        Self {
            adapter,
            store,
            max_body_bytes,
        }
    }

    /// Handles one request and logs one structured event for it (never the body).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let (outcome, delivery_id) = self.process(&request).await;
        log(
            A::PROVIDER.as_str(),
            &outcome,
            delivery_id.as_deref(),
            started,
        );
        outcome.into_response()
    }

    async fn process(&self, request: &Request) -> (Outcome, Option<String>) {
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
        match self.adapter.authenticate(view, Unverified::new(body)) {
            Ok(verified) => {
                accept::<A>(
                    &self.store,
                    request.headers(),
                    &verified,
                    Utc::now(),
                    A::SPOOL_ON_STORAGE_FAILURE,
                )
                .await
            }
            Err(e) => (Outcome::Unauthorized(e), None),
        }
    }
}

/// Stores an authenticated delivery: normalized and applied to its record, or, when it
/// cannot be parsed, kept raw with the reason. With `spool`, a storage failure writes the
/// raw delivery to the S3 spool instead of failing. Replay calls this directly.
pub async fn accept<A: Adapter>(
    store: &RecordStore,
    headers: &HeaderMap,
    verified: &Verified,
    received_at: DateTime<Utc>,
    spool: bool,
) -> (Outcome, Option<String>) {
    let delivery = Delivery {
        verified,
        provider: A::PROVIDER,
        webhook: A::WEBHOOK,
        received_at,
        headers: kept_headers(headers),
    };
    let view = RequestView {
        headers,
        query: None,
    };
    let ingested = A::ingest(view, verified, received_at);
    let (stored, delivery_id) = match ingested {
        Ok(i) => {
            let stored = store
                .ingest(
                    &delivery,
                    &i.delivery_id,
                    &i.event_type,
                    i.record,
                    i.transcript_pointer,
                )
                .await;
            let stored = match stored {
                Err(StoreError::RecordTooLarge(n)) => Err(ParseError::Unsupported(format!(
                    "record of {n} bytes is too large to store"
                ))),
                other => Ok(other),
            };
            (stored, Some(i.delivery_id))
        }
        Err(parse_error) => (Err(parse_error), None),
    };
    let result = match stored {
        Ok(stored) => stored.map(Outcome::Accepted),
        Err(parse_error) => {
            let kept = store
                .keep_rejected(&delivery, &parse_error.to_string())
                .await;
            kept.map(|_| Outcome::Rejected(parse_error))
        }
    };
    match result {
        Ok(outcome) => (outcome, delivery_id),
        Err(error) if spool => match store.spool(&delivery).await {
            Ok(key) => {
                tracing::error!(provider = A::PROVIDER.as_str(), spool_key = %key, reason = %error, "storage failed; delivery spooled for replay");
                (Outcome::Spooled, delivery_id)
            }
            Err(spool_error) => {
                tracing::error!(provider = A::PROVIDER.as_str(), reason = %spool_error, "spooling failed too");
                (Outcome::StorageFailed(error), delivery_id)
            }
        },
        Err(error) => (Outcome::StorageFailed(error), delivery_id),
    }
}

fn log(provider: &str, outcome: &Outcome, delivery_id: Option<&str>, started: Instant) {
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = outcome.status().as_u16();
    let delivery_id = delivery_id.unwrap_or("");
    let label = outcome.label();
    match outcome {
        Outcome::Accepted(PutOutcome::Stored | PutOutcome::Duplicate) => {
            tracing::info!(
                provider,
                delivery_id,
                outcome = label,
                status,
                latency_ms,
                "delivery"
            )
        }
        Outcome::StorageFailed(e) => {
            tracing::error!(provider, delivery_id, outcome = label, status, latency_ms, reason = %e, "delivery")
        }
        _ => tracing::warn!(
            provider, delivery_id, outcome = label, status, latency_ms, reason = %outcome.message(), "delivery"
        ),
    }
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
