use callvault_records::{CallRecord, ParseError, Provider};
use callvault_verify::{Unverified, Verified, VerifyError};
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

/// A delivery turned into a record, with the id that makes it idempotent.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The provider's delivery or event id.
    pub delivery_id: String,
    /// The normalized record.
    pub record: CallRecord,
}

/// One provider's webhook: how it authenticates and how its body becomes a record.
pub trait Adapter: Send + Sync + 'static {
    /// The provider this adapter serves.
    const PROVIDER: Provider;

    /// Authenticates the raw body with the provider's scheme.
    fn authenticate(&self, request: RequestView<'_>, body: Unverified)
        -> Result<Verified, VerifyError>;

    /// Parses and normalizes an authenticated body.
    fn ingest(&self, request: RequestView<'_>, verified: &Verified) -> Result<Ingested, ParseError>;
}
