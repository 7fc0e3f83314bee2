//! Authentication of webhook deliveries, with no I/O.
//!
//! Every provider function passes the raw request body through this crate before anything is
//! parsed or stored: HMAC-SHA256 signatures ([`HmacSha256Hex`]) for providers that sign, a shared
//! token ([`SharedToken`]) for those that do not. Comparisons are constant-time, several secrets
//! can be active at once (rotation), and the result names which secret matched by its id only.
//! Storage accepts only a [`Verified`] delivery, which nothing outside this crate can construct
//! without going through a check.

mod delivery;
mod error;
mod hmac_sha256;
mod secret;
mod token;

pub use delivery::{Authentication, Unverified, Verified};
pub use error::{SecretConfigError, VerifyError};
pub use hmac_sha256::HmacSha256Hex;
pub use secret::{Keyring, Scope, Secret, SecretId, SecretSet};
pub use token::SharedToken;
