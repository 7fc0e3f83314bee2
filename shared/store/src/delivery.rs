use callvault_records::Provider;
use callvault_verify::Verified;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// One authenticated delivery as storage sees it. Holding a [`Verified`] body is what makes a
/// `Delivery` constructible at all, so nothing unauthenticated reaches storage.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// The authenticated body.
    pub verified: &'a Verified,
    /// The provider that sent it.
    pub provider: Provider,
    /// The webhook (function) that received it, e.g. `hatif-whatsapp`.
    pub webhook: &'static str,
    /// When the function received it.
    pub received_at: DateTime<Utc>,
    /// Request headers worth keeping, with secrets already removed.
    pub headers: Vec<(String, String)>,
}

impl Delivery<'_> {
    /// SHA-256 of the raw body, lowercase hex.
    pub fn body_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.verified.body()))
    }

    /// The received date, `YYYY-MM-DD`, used in keys that group by day.
    pub fn day(&self) -> String {
        self.received_at.format("%Y-%m-%d").to_string()
    }
}
