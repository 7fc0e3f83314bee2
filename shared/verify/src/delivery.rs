use crate::{HmacSha256Hex, Keyring, Scope, SecretId, SecretSet, SharedToken, VerifyError};

/// A request body as received, before authentication. It can be read (for example to find the
/// Hatif `channelId` that selects the secret) but only a check turns it into [`Verified`].
#[derive(Debug, Clone)]
pub struct Unverified {
    body: Vec<u8>,
}

/// How a [`Verified`] delivery was authenticated; stored with the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// An HMAC signature made with the named secret.
    Signature(SecretId),
    /// A shared token with the named id.
    Token(SecretId),
    /// No check: the operator set `ALLOW_UNSIGNED` for a provider with no secret configured.
    Unsigned,
}

impl std::fmt::Display for Authentication {
    /// `signature:<secret id>`, `token:<token id>` or `unsigned`: the form stored with a delivery.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signature(id) => write!(f, "signature:{id}"),
            Self::Token(id) => write!(f, "token:{id}"),
            Self::Unsigned => f.write_str("unsigned"),
        }
    }
}

impl std::str::FromStr for Authentication {
    type Err = String;

    /// Parses the stored form written by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("signature", id)) => Ok(Self::Signature(SecretId::new(id))),
            Some(("token", id)) => Ok(Self::Token(SecretId::new(id))),
            None if s == "unsigned" => Ok(Self::Unsigned),
            _ => Err(format!("not an authentication label: {s}")),
        }
    }
}

/// A delivery that passed authentication: the only form storage accepts.
#[derive(Debug, Clone)]
pub struct Verified {
    body: Vec<u8>,
    authentication: Authentication,
    scope: Option<Scope>,
}

impl Unverified {
    /// Wraps the exact request body bytes.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Self { body: body.into() }
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Verifies an HMAC signature header over the raw body.
    pub fn verify_signature(
        self,
        scheme: HmacSha256Hex,
        header: Option<&str>,
        secrets: &SecretSet,
    ) -> Result<Verified, VerifyError> {
        let id = scheme.verify(header, &self.body, secrets)?.clone();
        Ok(self.into_verified(Authentication::Signature(id)))
    }

    /// Verifies an HMAC signature header with the secrets a keyring holds for `key` (a Hatif
    /// channel), or its default secrets while `key` has none, and remembers whose they were
    /// ([`Verified::scope`]: the key's, or the default scope without a key).
    pub fn verify_keyed_signature(
        self,
        scheme: HmacSha256Hex,
        header: Option<&str>,
        keyring: &Keyring,
        key: Option<&str>,
    ) -> Result<Verified, VerifyError> {
        let (scope, secrets) = keyring.scoped(key).ok_or(VerifyError::NoSecret)?;
        let mut verified = self.verify_signature(scheme, header, secrets)?;
        verified.scope = Some(scope);
        Ok(verified)
    }

    /// Verifies a shared token presented with the request.
    pub fn verify_token(
        self,
        presented: Option<&str>,
        tokens: &SecretSet,
    ) -> Result<Verified, VerifyError> {
        let id = SharedToken::verify(presented, tokens)?.clone();
        Ok(self.into_verified(Authentication::Token(id)))
    }

    /// Accepts the delivery without a check. Only for providers whose secret is optional and
    /// only when the operator opted in explicitly; the result records that it was unsigned.
    pub fn accept_unsigned(self) -> Verified {
        self.into_verified(Authentication::Unsigned)
    }

    fn into_verified(self, authentication: Authentication) -> Verified {
        Verified {
            body: self.body,
            authentication,
            scope: None,
        }
    }
}

impl Verified {
    /// Rebuilds a delivery that passed authentication earlier and was kept by callvault's own
    /// storage (the spool, kept rejected deliveries), so that it can be re-ingested.
    ///
    /// Unchecked: it makes a `Verified` without a check, which is sound only because the store
    /// writes nothing it did not receive as a `Verified` (a spooled or kept delivery records
    /// the authentication it passed). Never call it on a body that arrived from outside.
    pub fn reinstate_unchecked(
        body: impl Into<Vec<u8>>,
        authentication: Authentication,
        scope: Option<Scope>,
    ) -> Self {
        Self {
            body: body.into(),
            authentication,
            scope,
        }
    }

    /// The raw body that was authenticated.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// How the delivery was authenticated.
    pub fn authentication(&self) -> &Authentication {
        &self.authentication
    }

    /// Whose secrets of a keyring authenticated it, when they were chosen per key
    /// ([`Unverified::verify_keyed_signature`]).
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn signature_check_yields_verified_with_secret_id() {
        let set = SecretSet::single("v1", "s");
        let sig = HmacSha256Hex::BARE.sign(&Secret::new("s"), b"{}");
        let verified = Unverified::new(b"{}".to_vec())
            .verify_signature(HmacSha256Hex::BARE, Some(&sig), &set)
            .expect("valid");
        assert_eq!(verified.body(), b"{}");
        assert_eq!(
            verified.authentication(),
            &Authentication::Signature(SecretId::new("v1"))
        );
    }

    #[test]
    fn keyed_signatures_remember_their_scope() {
        let keyring = Keyring::from_json(r#"{"secrets":{"d":"x"},"channels":{"c1":{"c":"y"}}}"#)
            .expect("valid");
        let verify = |secret: &str, key: Option<&str>| {
            let sig = HmacSha256Hex::BARE.sign(&Secret::new(secret), b"{}");
            Unverified::new(b"{}".to_vec())
                .verify_keyed_signature(HmacSha256Hex::BARE, Some(&sig), &keyring, key)
                .map(|v| v.scope().cloned())
        };
        assert_eq!(
            verify("y", Some("c1")),
            Ok(Some(Scope::Channel("c1".into())))
        );
        assert_eq!(
            verify("x", Some("c2")),
            Ok(Some(Scope::Channel("c2".into()))),
            "a key without secrets of its own is checked with the default ones, in its scope"
        );
        assert_eq!(verify("x", None), Ok(Some(Scope::Default)));
        assert_eq!(verify("x", Some("c1")), Err(VerifyError::Mismatch));
        assert_eq!(verify("y", Some("c2")), Err(VerifyError::Mismatch));
        let empty = Keyring::from_json(r#"{"channels":{"c1":{"c":"y"}}}"#).expect("valid");
        let sig = HmacSha256Hex::BARE.sign(&Secret::new("y"), b"{}");
        assert_eq!(
            Unverified::new(b"{}".to_vec())
                .verify_keyed_signature(HmacSha256Hex::BARE, Some(&sig), &empty, None)
                .map(|_| ()),
            Err(VerifyError::NoSecret)
        );
    }

    #[test]
    fn authentication_labels_round_trip() {
        for auth in [
            Authentication::Signature(SecretId::new("2026-11")),
            Authentication::Token(SecretId::new("a:b")),
            Authentication::Unsigned,
        ] {
            assert_eq!(auth.to_string().parse::<Authentication>(), Ok(auth));
        }
        assert!("magic".parse::<Authentication>().is_err());
    }

    #[test]
    fn failed_checks_yield_no_verified() {
        let set = SecretSet::single("v1", "s");
        assert_eq!(
            Unverified::new(b"{}".to_vec())
                .verify_signature(HmacSha256Hex::BARE, None, &set)
                .map(|_| ())
                .expect_err("missing"),
            VerifyError::MissingSignature
        );
        assert_eq!(
            Unverified::new(b"{}".to_vec())
                .verify_token(Some("nope"), &set)
                .map(|_| ())
                .expect_err("wrong"),
            VerifyError::TokenMismatch
        );
    }
}
