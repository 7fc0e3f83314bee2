//! Every status of every function, table-driven: 200 kept, 401, 405, 413.

use callvault_catalog::Webhook;
use callvault_e2e::{authenticate, Stack};
use serde_json::json;

/// Authenticates `body` for `webhook` with its default dev secret.
fn auth(webhook: Webhook, body: &[u8]) -> anyhow::Result<(String, Vec<(&'static str, String)>)> {
    authenticate(webhook, None, body)
}

#[tokio::test]
async fn wrong_methods_get_405() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    for w in Webhook::ALL {
        let function = w.name();
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let response = stack.request(method.clone(), function, "").send().await?;
            assert_eq!(response.status().as_u16(), 405, "{function} {method}");
            assert_eq!(response.headers()["allow"], "POST");
            assert_eq!(
                response.json::<serde_json::Value>().await?,
                json!({"error": "method not allowed: send POST"})
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn unauthenticated_bodies_get_401_and_are_stored_nowhere() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    for w in Webhook::ALL {
        let (function, provider) = (w.name(), w.provider());
        let marker = format!("e2e-401-{function}");
        let body = serde_json::to_vec(
            &json!({"call_id": marker, "callId": marker, "messageId": marker, "conversationId": marker}),
        )?;
        let (status, reply) = stack.post(function, &[], body).await?;
        assert_eq!(status, 401, "{function}");
        assert!(
            reply["error"]
                .as_str()
                .is_some_and(|m| m.starts_with("missing")),
            "{function}: {reply}"
        );
        assert!(stack.call(provider, &marker).await?.is_none());
    }
    Ok(())
}

#[tokio::test]
async fn oversized_bodies_get_413_before_anything_else() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let big = vec![b' '; 1024 * 1024 + 1];
    for w in Webhook::ALL {
        let function = w.name();
        let (suffix, headers) = auth(w, &big)?;
        let reply = stack
            .post_to(function, &suffix, &headers, big.clone())
            .await?;
        assert_eq!(
            reply,
            (413, json!({"error": "body larger than 1048576 bytes"})),
            "{function}"
        );
    }
    Ok(())
}

/// An authenticated delivery that cannot become a record is kept and acknowledged (200
/// `kept` with the reason), so the provider does not retry something callvault holds.
#[tokio::test]
async fn authenticated_bad_bodies_are_kept_raw_and_acknowledged() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let cases: [(&str, &[u8]); 4] = [
        ("not json", b"<xml>no</xml>"),
        ("truncated json", b"{\"callId\": \"abc"),
        ("wrong shape", b"[1, 2, 3]"),
        ("empty", b""),
    ];
    for w in Webhook::ALL {
        let (function, provider) = (w.name(), w.provider());
        for (name, case_body) in cases {
            // Make each body unique per function so its kept copy can be found.
            let body = [case_body, format!(" \n{function}").as_bytes()].concat();
            let body = if case_body.is_empty() {
                Vec::new()
            } else {
                body
            };
            let (suffix, headers) = auth(w, &body)?;
            let (status, reply) = stack
                .post_to(function, &suffix, &headers, body.clone())
                .await?;
            assert_eq!(
                (status, &reply["status"]),
                (200, &json!("kept")),
                "{function} {name}: {reply}"
            );
            assert!(
                reply["reason"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("invalid payload")),
                "{function} {name}: {reply}"
            );
            let kept = stack.kept(provider, &body).await?;
            assert!(
                kept.is_some_and(|k| k.body == body && !k.reason.is_empty()),
                "{function} {name}: raw body kept with a reason"
            );
        }
    }
    let body = serde_json::to_vec(&json!({"event": "call.held", "data": {"id": "x"}}))?;
    let (suffix, headers) = auth(Webhook::Voki, &body)?;
    let (status, reply) = stack
        .post_to(Webhook::Voki.name(), &suffix, &headers, body)
        .await?;
    assert_eq!((status, &reply["status"]), (200, &json!("kept")), "{reply}");
    Ok(())
}
