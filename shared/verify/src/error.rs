use thiserror::Error;

/// Why a delivery failed authentication. Each variant is a distinct client mistake so the
/// response can say which; none of them carries a secret or the expected signature.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The signature header is absent or empty.
    #[error("missing signature header")]
    MissingSignature,
    /// The signature does not start with the scheme's prefix (for example `sha256=`).
    #[error("signature must start with `{expected}`")]
    BadPrefix {
        /// The prefix the scheme requires.
        expected: &'static str,
    },
    /// The hex part of the signature has the wrong number of characters.
    #[error("signature must be {expected} hex characters, got {actual}")]
    BadLength {
        /// Required number of hex characters.
        expected: usize,
        /// Number of characters received.
        actual: usize,
    },
    /// The signature contains characters that are not hexadecimal digits.
    #[error("signature is not hexadecimal")]
    NotHex,
    /// The signature is well formed but no active secret produces it.
    #[error("signature does not match")]
    Mismatch,
    /// No secret is configured for this delivery (for example an unknown Hatif channel).
    #[error("no secret is configured for this delivery")]
    NoSecret,
    /// The shared token is absent (neither `?token=` nor `Authorization: Bearer`).
    #[error("missing token")]
    MissingToken,
    /// The shared token does not match any active token.
    #[error("token does not match")]
    TokenMismatch,
}

/// Why a secret configuration could not be loaded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SecretConfigError {
    /// The configuration is not the documented JSON shape.
    #[error("secret configuration is not valid JSON of the documented shape: {0}")]
    Json(String),
    /// A set of secrets is empty where at least one is required.
    #[error("secret set `{0}` has no secrets")]
    Empty(String),
    /// A secret value is the empty string.
    #[error("secret `{0}` is empty")]
    EmptySecret(String),
    /// A set under `channels` has an empty channel id: no body names it (a body without a
    /// channel is checked with `secrets`).
    #[error("a channel id under `channels` is empty: put secrets for bodies without a channel under `secrets`")]
    EmptyKey,
}
