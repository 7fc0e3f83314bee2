//! The unsigned post-call webhook end to end: shared token in the query or a bearer header.

use callvault_e2e::{dev_secret, Stack};
use callvault_records::{CallStatus, Provider};
use serde_json::json;

const SEED: &[u8] = callvault_catalog::samples::fixtures::POSTCALL;

#[tokio::test]
async fn seed_with_query_token_then_duplicate_with_bearer() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let token = dev_secret("POSTCALL_TOKENS")?;
    let reply = stack
        .post_to("postcall", &format!("?token={token}"), &[], SEED.to_vec())
        .await?;
    assert_eq!(reply, (200, json!({"status": "stored"})));
    let bearer = [("authorization", format!("Bearer {token}"))];
    assert_eq!(
        stack.post("postcall", &bearer, SEED.to_vec()).await?,
        (200, json!({"status": "duplicate"}))
    );

    let (call, stored) = stack
        .call(Provider::PostCall, "693bff62619c51fac21acf50")
        .await?
        .expect("stored");
    assert_eq!(stored.authentication, "token:dev-1");
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.score, Some(85.0));
    assert_eq!(
        call.contact.and_then(|c| c.name).as_deref(),
        Some("John Smith")
    );
    assert!(call.transcript.and_then(|t| t.file).is_some());
    let events = stack
        .store
        .events("CALL#postcall#693bff62619c51fac21acf50", "CALL")
        .await?;
    let headers = events[0]["headers"].as_m().expect("headers");
    assert!(!headers.contains_key("authorization"));
    Ok(())
}

#[tokio::test]
async fn missing_or_wrong_tokens_get_401() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let body = serde_json::to_vec(&json!({"callId": "e2e-postcall-unauth"}))?;
    let token = dev_secret("POSTCALL_TOKENS")?;
    type Case<'a> = (String, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (String::new(), vec![], "missing token"),
        ("?token=".into(), vec![], "missing token"),
        ("?token=wrong".into(), vec![], "token does not match"),
        (
            format!("?token={}", &token[..token.len() - 1]),
            vec![],
            "token does not match",
        ),
        (
            String::new(),
            vec![("authorization", "Bearer wrong".into())],
            "token does not match",
        ),
        (
            String::new(),
            vec![("authorization", format!("Basic {token}"))],
            "missing token",
        ),
    ];
    for (suffix, headers, message) in cases {
        let reply = stack
            .post_to("postcall", &suffix, &headers, body.clone())
            .await?;
        assert_eq!(
            reply,
            (401, json!({"error": message})),
            "{suffix} {headers:?}"
        );
    }
    assert!(stack
        .call(Provider::PostCall, "e2e-postcall-unauth")
        .await?
        .is_none());
    Ok(())
}
