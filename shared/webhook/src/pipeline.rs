use std::sync::Arc;
use std::time::Instant;

use callvault_store::{CallStore, Delivery};
use callvault_verify::Unverified;
use chrono::Utc;
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{service_fn, Body, Request, Response};

use crate::{Adapter, Outcome, RequestView};

/// Headers never stored with a kept delivery.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// One provider's webhook endpoint: limits, authentication, normalization and storage.
#[derive(Debug)]
pub struct Webhook<A> {
    adapter: A,
    store: CallStore,
    max_body_bytes: usize,
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

impl<A: Adapter> Webhook<A> {
    /// A webhook over `store` accepting bodies up to `max_body_bytes`.
    pub fn new(adapter: A, store: CallStore, max_body_bytes: usize) -> Self {
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
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let provider = A::PROVIDER.as_str();
        let status = outcome.status().as_u16();
        let delivery_id = delivery_id.as_deref().unwrap_or("");
        match &outcome {
            Outcome::Accepted(_) => tracing::info!(
                provider, delivery_id, outcome = outcome.label(), status, latency_ms, "delivery"
            ),
            Outcome::StorageFailed(e) => tracing::error!(
                provider, delivery_id, outcome = outcome.label(), status, latency_ms,
                reason = %e, "delivery"
            ),
            _ => tracing::warn!(
                provider, delivery_id, outcome = outcome.label(), status, latency_ms,
                reason = %outcome.message(), "delivery"
            ),
        }
        outcome.into_response()
    }

    async fn process(&self, request: &Request) -> (Outcome, Option<String>) {
        if request.method() != Method::POST {
            return (Outcome::MethodNotAllowed, None);
        }
        let body = body_bytes(request.body());
        if body.len() > self.max_body_bytes {
            return (Outcome::TooLarge { limit: self.max_body_bytes }, None);
        }
        let view = RequestView {
            headers: request.headers(),
            query: request.uri().query(),
        };
        let verified = match self.adapter.authenticate(view, Unverified::new(body)) {
            Ok(v) => v,
            Err(e) => return (Outcome::Unauthorized(e), None),
        };
        let received_at = Utc::now();
        let delivery = |delivery_id: String| Delivery {
            verified: &verified,
            provider: A::PROVIDER,
            delivery_id,
            received_at,
            headers: kept_headers(request.headers()),
        };
        match self.adapter.ingest(view, &verified) {
            Ok(ingested) => {
                let id = ingested.delivery_id.clone();
                let outcome = match self.store.put_call(&delivery(id.clone()), &ingested.record).await {
                    Ok(put) => Outcome::Accepted(put),
                    Err(e) => Outcome::StorageFailed(e),
                };
                (outcome, Some(id))
            }
            Err(parse_error) => {
                let kept = self
                    .store
                    .keep_rejected(&delivery(String::new()), &parse_error.to_string())
                    .await;
                match kept {
                    Ok(()) => (Outcome::Rejected(parse_error), None),
                    Err(e) => (Outcome::StorageFailed(e), None),
                }
            }
        }
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

/// Runs a placeholder handler answering 501 for a provider whose function is not built yet.
pub async fn not_implemented(provider: &'static str) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(move |request: Request| async move {
        tracing::warn!(provider, method = %request.method(), outcome = "not_implemented", status = 501, "delivery");
        Ok::<_, std::convert::Infallible>(Outcome::NotImplemented.into_response())
    }))
    .await
}
