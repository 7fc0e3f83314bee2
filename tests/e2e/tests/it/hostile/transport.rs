//! How a delivery travels: content types, replays, methods and sizes.

use serde_json::json;

use super::corpus::{auth, signature, valid_body, Corpus, Expect};

/// The exact bytes count, whatever the declared content type.
pub fn content_types(c: &mut Corpus) -> anyhow::Result<()> {
    for content_type in [
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-16",
    ] {
        let (id, body) = c.valid(content_type)?;
        let (suffix, mut headers) = auth(c.w, &body)?;
        headers.push(("content-type", content_type.to_owned()));
        c.push(
            &format!("valid body as {content_type}"),
            id,
            body,
            (suffix, headers),
            Expect::Stored,
        );
    }
    Ok(())
}

/// The same valid delivery twice, then its signature over another body.
pub fn replays(c: &mut Corpus) -> anyhow::Result<()> {
    let (id, body) = c.valid("replayed")?;
    let credentials = auth(c.w, &body)?;
    c.push(
        "original of a replay",
        id.clone(),
        body.clone(),
        credentials.clone(),
        Expect::Stored,
    );
    c.push(
        "exact replay",
        id,
        body,
        credentials.clone(),
        Expect::Duplicate,
    );
    if signature(c.w).is_some() {
        let (other, changed) = c.valid("replayed signature")?;
        c.push(
            "replayed signature on another body",
            other,
            changed,
            credentials,
            Expect::Refused(401),
        );
    }
    Ok(())
}

/// Methods other than POST, and bodies over the size limit with and without authentication.
pub fn methods_and_sizes(c: &mut Corpus) -> anyhow::Result<()> {
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
        reqwest::Method::HEAD,
    ] {
        c.valid_case(&format!("{method} with a valid body"), Expect::Refused(405))?;
        if let Some(last) = c.cases.last_mut() {
            last.method = method;
        }
    }
    let id = c.id("oversized signed");
    let mut big = valid_body(c.w, &id)?;
    big["hostilePad"] = json!("p".repeat(1024 * 1024));
    let body = serde_json::to_vec(&big)?;
    let credentials = auth(c.w, &body)?;
    c.push(
        "oversized, authenticated",
        id,
        body,
        credentials,
        Expect::Refused(413),
    );
    let id = c.id("oversized unsigned");
    c.push(
        "oversized, no authentication",
        id,
        vec![b'{'; 1024 * 1024 + 1],
        (String::new(), vec![]),
        Expect::Refused(413),
    );
    Ok(())
}
