//! The request pipeline every provider function runs: method and size limits,
//! authentication, normalization, idempotent storage, and one mapping of outcomes to HTTP
//! statuses ([`Outcome`]). Each function's `main.rs` picks an adapter from [`adapters`] and
//! calls [`run`].

mod adapter;
pub mod adapters;
pub mod config;
mod outcome;
mod pipeline;
pub mod replay;
pub mod rescope;
pub mod secrets;

pub use adapter::{Adapter, Ingested, RequestView};
pub use outcome::{KeptReason, Misfiled, Outcome};
pub use pipeline::{accept, kept_headers, run, serve, Budget, Identity, OnFailure, Webhook};
