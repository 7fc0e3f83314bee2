//! Archival of provider-hosted files (call recordings, transcript files, WhatsApp media)
//! into the company's own S3 bucket.
//!
//! - [`guard`]: the SSRF policy, enforced on URLs, redirects and every resolved address.
//! - [`source`]: opening a file over HTTP(S) under that policy, with size and time caps.
//! - [`upload`]: streaming it into S3 with bounded memory (single PUT or multipart).
//! - [`Copier`]: one idempotent copy with retries; [`config`] builds it from the environment.
//! - [`stream`]: the recording-copier function's handler ([`stream::Archiver`]): DynamoDB
//!   stream batches and scheduled sweeps, with a time budget per file and spaced retries, and
//!   the removal of expired records' files.

pub mod config;
mod copier;
mod error;
pub mod guard;
pub mod source;
pub mod stream;
pub mod upload;

pub use copier::{Copier, RetryPolicy, Sources};
pub use error::CopyError;
