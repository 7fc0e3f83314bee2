//! Provider payloads and the normalized cross-provider records they become.
//!
//! Pure code: each provider module parses that provider's documented payload from the raw body
//! (keeping unknown fields) and normalizes it into a [`CallRecord`], [`MessageRecord`] or
//! [`ContactRecord`]. Records merge order-independently when several deliveries describe the
//! same call or message. Fields are documented in `docs/records.md`.

mod call;
mod contact;
pub mod duration;
mod error;
pub mod hatif;
mod merge;
mod message;
mod normalized;
mod phone;
pub mod postcall;
mod provider;
pub mod voiceinfra;
pub mod voki;

pub use call::{
    Agent, AgentKind, CallRecord, CallStatus, Contact, Direction, FileRef, Offloaded, Transcript,
    Word,
};
pub use contact::ContactRecord;
pub use error::ParseError;
pub use message::{Location, MessageRecord, MessageStatus};
pub use normalized::Normalized;
pub use phone::PhoneNumber;
pub use provider::Provider;

/// Parses a JSON body into `T`, describing failures without quoting the body.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    serde_json::from_slice(body).map_err(|e| ParseError::from_json(&e))
}

/// Rejects an empty identifier.
pub(crate) fn require_id(field: &'static str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        return Err(ParseError::Field {
            field,
            reason: "must not be empty".into(),
        });
    }
    Ok(())
}
