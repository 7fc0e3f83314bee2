use std::borrow::Cow;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{SecretId, SecretSet, VerifyError};

/// Shared-token authentication for providers that do not sign (the post-call webhook): the
/// endpoint URL carries `?token=<token>` or the request carries `Authorization: Bearer <token>`.
///
/// Both sides are hashed before the constant-time comparison, so neither the content nor the
/// length of a configured token leaks through timing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedToken;

impl SharedToken {
    /// The token in an `Authorization` header value, if it is a bearer token.
    pub fn from_authorization(header: &str) -> Option<&str> {
        let (scheme, token) = header.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }

    /// The `token` parameter of a raw (still percent-encoded) query string, decoded.
    pub fn from_query(query: &str) -> Option<String> {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
            .filter(|t| !t.is_empty())
    }

    /// The token a request presents: the `token` query parameter if there is one, otherwise
    /// the bearer token of the `Authorization` header.
    pub fn presented<'a>(
        query: Option<&str>,
        authorization: Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        query
            .and_then(Self::from_query)
            .map(Cow::Owned)
            .or_else(|| {
                authorization
                    .and_then(Self::from_authorization)
                    .map(Cow::Borrowed)
            })
    }

    /// The query string that presents `token` (`token=<percent-encoded token>`), as a tool
    /// sending a delivery puts it after the function's URL.
    pub fn query(token: &crate::Secret) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &String::from_utf8_lossy(token.expose()))
            .finish()
    }

    /// Checks a presented token against every active token; returns the id of the match.
    pub fn verify<'s>(
        presented: Option<&str>,
        tokens: &'s SecretSet,
    ) -> Result<&'s SecretId, VerifyError> {
        let presented = presented
            .filter(|t| !t.is_empty())
            .ok_or(VerifyError::MissingToken)?;
        let presented = Sha256::digest(presented.as_bytes());
        let mut matched = None;
        for (id, token) in tokens.iter() {
            let is_match = bool::from(Sha256::digest(token.expose()).ct_eq(&presented));
            if is_match && matched.is_none() {
                matched = Some(id);
            }
        }
        matched.ok_or(VerifyError::TokenMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_query_reads_back() {
        let token = crate::Secret::new("a b&c=d");
        let query = SharedToken::query(&token);
        assert_eq!(query, "token=a+b%26c%3Dd");
        assert_eq!(SharedToken::from_query(&query).as_deref(), Some("a b&c=d"));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(SharedToken::from_authorization("Bearer abc"), Some("abc"));
        assert_eq!(
            SharedToken::from_authorization("bearer   abc "),
            Some("abc")
        );
        assert_eq!(SharedToken::from_authorization("Basic abc"), None);
        assert_eq!(SharedToken::from_authorization("Bearer "), None);
        assert_eq!(SharedToken::from_authorization("abc"), None);
    }

    #[test]
    fn the_query_parameter_wins_over_the_header() {
        let header = Some("Bearer from-header");
        assert_eq!(
            SharedToken::presented(Some("token=from-query"), header).as_deref(),
            Some("from-query")
        );
        assert_eq!(
            SharedToken::presented(Some("other=1"), header).as_deref(),
            Some("from-header")
        );
        assert_eq!(SharedToken::presented(None, Some("Basic x")), None);
    }

    #[test]
    fn query_parsing_decodes_percent_escapes() {
        assert_eq!(
            SharedToken::from_query("a=1&token=t%2Bk%3D"),
            Some("t+k=".into())
        );
        assert_eq!(SharedToken::from_query("token=a+b"), Some("a b".into()));
        assert_eq!(SharedToken::from_query("tokens=x"), None);
        assert_eq!(SharedToken::from_query("token="), None);
        assert_eq!(SharedToken::from_query("token=%zz"), Some("%zz".into()));
        assert_eq!(SharedToken::from_query("token=%4"), Some("%4".into()));
        assert_eq!(
            SharedToken::from_query("x=%E2%82&token=%E2%82%AC"),
            Some("€".into())
        );
    }

    #[test]
    fn verify_matches_any_active_token() {
        let set = SecretSet::new(
            "tokens",
            [
                (SecretId::new("a"), crate::Secret::new("tok-a")),
                (SecretId::new("b"), crate::Secret::new("tok-b")),
            ],
        )
        .expect("valid");
        assert_eq!(
            SharedToken::verify(Some("tok-b"), &set).map(SecretId::as_str),
            Ok("b")
        );
        assert_eq!(
            SharedToken::verify(Some("tok-c"), &set),
            Err(VerifyError::TokenMismatch)
        );
        assert_eq!(
            SharedToken::verify(Some("tok-"), &set),
            Err(VerifyError::TokenMismatch)
        );
        assert_eq!(
            SharedToken::verify(Some(""), &set),
            Err(VerifyError::MissingToken)
        );
        assert_eq!(
            SharedToken::verify(None, &set),
            Err(VerifyError::MissingToken)
        );
    }
}
