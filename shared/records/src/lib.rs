//! Provider payloads and the normalized cross-provider records they become.
//!
//! Pure code: each provider module parses that provider's documented payload from the raw body
//! (keeping unknown fields) and normalizes it into a [`CallRecord`]. The record's fields are
//! documented in `docs/records.md`.

mod call;
mod error;
mod phone;
mod provider;
pub mod voiceinfra;

pub use call::{Agent, AgentKind, CallRecord, CallStatus, Contact, Direction, FileRef, Transcript};
pub use error::ParseError;
pub use phone::PhoneNumber;
pub use provider::Provider;
