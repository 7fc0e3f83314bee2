//! `SharedToken`: the post-call webhook's token from the query string (`?token=`) or from an
//! `Authorization: Bearer` header, and its check against the configured tokens.
//!
//! Properties:
//! - `from_query` and `from_authorization` never panic and never return an empty token; a
//!   bearer token is trimmed, comes from the header and follows a `Bearer` scheme;
//! - any non-empty token survives percent-encoding into a query string after other
//!   parameters, and any trimmed token survives `Bearer <token>` (any case, extra spaces);
//! - a configured token verifies with its id (the first one when two are equal), through
//!   `Unverified::verify_token` too; an extended token does not verify; an empty or absent
//!   one is `MissingToken`;
//! - whatever is presented the way the adapter reads it (query first, then header) verifies
//!   only if it equals a configured token.

use arbitrary::Arbitrary;
use callvault_verify::{
    Authentication, Secret, SecretId, SecretSet, SharedToken, Unverified, VerifyError,
};

/// One fuzz case.
#[derive(Debug, Arbitrary)]
struct Input<'a> {
    token: &'a str,
    other: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
    authorization: &'a str,
    query: &'a str,
}

/// Checks the properties on one input, read as libFuzzer's `fuzz_target!` reads it.
pub fn run(data: &[u8]) {
    let Ok(input) = <Input<'_>>::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    // Arbitrary raw values.
    let from_query = SharedToken::from_query(input.query);
    if let Some(token) = &from_query {
        assert!(!token.is_empty());
    }
    let from_header = SharedToken::from_authorization(input.authorization);
    if let Some(token) = from_header {
        assert!(!token.is_empty());
        assert_eq!(token, token.trim());
        assert!(input.authorization.contains(token));
        let (scheme, _) = input
            .authorization
            .trim()
            .split_once(' ')
            .expect("a scheme and a token");
        assert!(scheme.eq_ignore_ascii_case("bearer"));
    }

    // Round trips.
    if !input.token.is_empty() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in input.pairs.iter().filter(|(name, _)| *name != "token") {
            query.append_pair(name, value);
        }
        query.append_pair("token", input.token);
        assert_eq!(
            SharedToken::from_query(&query.finish()).as_deref(),
            Some(input.token)
        );
    }
    let trimmed = input.token.trim();
    if !trimmed.is_empty() {
        for header in [
            format!("Bearer {trimmed}"),
            format!("  bEARER   {trimmed} \t"),
        ] {
            assert_eq!(SharedToken::from_authorization(&header), Some(trimmed));
        }
    }

    // Verification.
    if input.token.is_empty() || input.other.is_empty() {
        return;
    }
    let tokens = SecretSet::new(
        "tokens",
        [
            (SecretId::new("a"), Secret::new(input.other)),
            (SecretId::new("b"), Secret::new(input.token)),
        ],
    )
    .expect("non-empty tokens");
    let token_id = if input.token == input.other { "a" } else { "b" };
    assert_eq!(
        SharedToken::verify(Some(input.token), &tokens).map(SecretId::as_str),
        Ok(token_id)
    );
    assert_eq!(
        SharedToken::verify(Some(input.other), &tokens).map(SecretId::as_str),
        Ok("a")
    );
    let extended = format!("{}x", input.token);
    if extended != input.other {
        assert_eq!(
            SharedToken::verify(Some(&extended), &tokens),
            Err(VerifyError::TokenMismatch)
        );
    }
    assert_eq!(
        SharedToken::verify(Some(""), &tokens),
        Err(VerifyError::MissingToken)
    );
    assert_eq!(
        SharedToken::verify(None, &tokens),
        Err(VerifyError::MissingToken)
    );
    let verified = Unverified::new(b"{}".to_vec())
        .verify_token(Some(input.token), &tokens)
        .expect("configured token");
    assert_eq!(
        verified.authentication(),
        &Authentication::Token(SecretId::new(token_id))
    );

    // As the adapter reads it: the query parameter wins over the header.
    let presented = SharedToken::presented(Some(input.query), Some(input.authorization));
    let presented = presented.as_deref();
    match SharedToken::verify(presented, &tokens) {
        Ok(id) => {
            let presented = presented.expect("verified");
            assert!(presented == input.token || presented == input.other);
            assert_eq!(
                id.as_str(),
                if presented == input.other { "a" } else { "b" }
            );
        }
        Err(VerifyError::MissingToken) => assert!(presented.is_none_or(str::is_empty)),
        Err(err) => assert_eq!(err, VerifyError::TokenMismatch),
    }
}
