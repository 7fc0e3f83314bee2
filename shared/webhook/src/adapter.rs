use std::future::Future;

use aws_config::SdkConfig;
use callvault_records::{Normalized, ParseError};
use callvault_verify::{Scope, Unverified, Verified, VerifyError};
use chrono::{DateTime, Utc};
use lambda_http::http::HeaderMap;

/// What an adapter can see of a request besides the body.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Request headers (names are lowercase).
    pub headers: &'a HeaderMap,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
}

impl RequestView<'_> {
    /// A header's value as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A delivery turned into a record. What makes it idempotent is its body: a delivery is the
/// same delivery only when its bytes are the same (the store compares SHA-256 digests).
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The provider's own id of this delivery, where it sends one (Voki's `X-Voki-Delivery`,
    /// reused on resend): kept in the record's history and its event, never used to decide
    /// that a delivery is a duplicate. The call or message id keys the record, not this.
    pub delivery_id: Option<String>,
    /// What happened (`call.completed`, `message.read`, ...), stored with the event entry.
    pub event_type: String,
    /// The normalized record this delivery contributes to.
    pub record: Normalized,
    /// Where the inline transcript sits in the raw body, if the provider sends one inline.
    pub transcript_pointer: Option<&'static str>,
    /// The scope of the record's identity, for providers whose secrets are chosen per
    /// channel (Hatif): the channel whose secrets authenticated the delivery, or the default.
    pub scope: Option<Scope>,
}

/// One provider's webhook: how it authenticates and how its body becomes a record.
pub trait Adapter: Send + Sync + Sized + 'static {
    /// The webhook this adapter serves; its name is stored with kept deliveries so replay
    /// finds the adapter.
    const WEBHOOK: callvault_catalog::Webhook;

    /// Loads what it authenticates with (its webhook's secret), at cold start.
    fn load(sdk: &SdkConfig) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// The secrets it authenticates with, when it has any (not when unsigned deliveries are
    /// allowed): the pipeline reads them again when a delivery matches none.
    fn secrets(&self) -> Option<&std::sync::Arc<crate::secrets::Secrets>>;

    /// Authenticates the raw body with the provider's scheme.
    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError>;

    /// Parses and normalizes an authenticated body. Needs no secrets, so replay can call it.
    fn ingest(
        request: RequestView<'_>,
        verified: &Verified,
        received_at: DateTime<Utc>,
    ) -> Result<Ingested, ParseError>;
}
