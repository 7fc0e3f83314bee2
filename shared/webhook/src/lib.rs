//! The request pipeline every provider function runs: method and size limits,
//! authentication, normalization, idempotent storage, and one mapping of outcomes to HTTP
//! statuses ([`Outcome`]). Each function's `main.rs` picks an [`Adapter`] and calls [`serve`].

mod adapter;
pub mod config;
mod outcome;
mod pipeline;
pub mod telemetry;
pub mod voiceinfra;

pub use adapter::{Adapter, Ingested, RequestView};
pub use config::Config;
pub use outcome::Outcome;
pub use pipeline::{not_implemented, serve, Webhook};
