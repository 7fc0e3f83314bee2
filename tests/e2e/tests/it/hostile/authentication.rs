//! Authentication cases: every way a signature or token can be wrong, and the two harmless
//! variations (upper-case hex, any case of `Bearer`) that must be accepted.

use base64::Engine;
use callvault_catalog::samples::HATIF_CHANNEL;
use callvault_catalog::Webhook;
use callvault_e2e::{dev_secret, sign};
use callvault_records::voki;
use callvault_verify::HmacSha256Hex;
use serde_json::json;

use super::corpus::{auth, per_channel, signature, valid_body, Corpus, Expect};

const REFUSED: Expect = Expect::Refused(401);

/// The cases of a signed webhook (its signature header and scheme).
fn signatures(c: &mut Corpus, header: &'static str, scheme: HmacSha256Hex) -> anyhow::Result<()> {
    let w = c.w;
    let prefix = if scheme == HmacSha256Hex::SHA256_PREFIXED {
        "sha256="
    } else {
        ""
    };
    let digest = |s: &str| s[s.len() - 64..].to_owned();
    c.signature_case("empty signature", |_| String::new(), REFUSED)?;
    c.signature_case("whitespace signature", |_| "   ".into(), REFUSED)?;
    c.signature_case(
        "truncated signature",
        |s| s[..s.len() - 1].to_owned(),
        REFUSED,
    )?;
    c.signature_case("signature one char too long", |s| format!("{s}0"), REFUSED)?;
    c.signature_case("signature twice", |s| format!("{s}{}", digest(&s)), REFUSED)?;
    c.signature_case(
        "half a signature",
        |s| s[..s.len() - 32].to_owned(),
        REFUSED,
    )?;
    c.signature_case(
        "flipped last hex digit",
        |s| {
            let last = if s.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &s[..s.len() - 1])
        },
        REFUSED,
    )?;
    c.signature_case(
        "non-hex signature",
        |s| format!("{prefix}zz{}", &digest(&s)[2..]),
        REFUSED,
    )?;
    c.signature_case("wrong prefix", |s| format!("sha1={}", digest(&s)), REFUSED)?;
    c.signature_case(
        "prefix with wrong case",
        |s| format!("SHA256={}", digest(&s)),
        REFUSED,
    )?;
    c.signature_case(
        "base64 signature",
        |s| {
            let raw = hex::decode(digest(&s)).unwrap_or_default();
            format!(
                "{prefix}{}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        },
        REFUSED,
    )?;
    c.signature_case(
        "all-zero signature",
        |_| format!("{prefix}{}", "0".repeat(64)),
        REFUSED,
    )?;
    if prefix.is_empty() {
        c.signature_case(
            "unexpected sha256 prefix",
            |s| format!("sha256={s}"),
            REFUSED,
        )?;
    } else {
        c.signature_case("missing sha256 prefix", |s| digest(&s), REFUSED)?;
    }
    // Upper-case hex is the same digest: accepted.
    c.signature_case(
        "upper-case hex",
        |s| format!("{prefix}{}", digest(&s).to_ascii_uppercase()),
        Expect::Stored,
    )?;

    let (id, body) = c.valid("missing signature")?;
    c.push(
        "missing signature",
        id,
        body,
        (String::new(), vec![]),
        REFUSED,
    );
    // The signature in the query instead of the header.
    let (id, body) = c.valid("signature in query")?;
    let (_, signed) = auth(w, &body)?;
    c.push(
        "signature in query",
        id,
        body,
        (format!("?signature={}", signed[0].1), vec![]),
        REFUSED,
    );
    // A signature over a re-serialized body (same JSON, other bytes).
    let id = c.id("signature of re-serialized body");
    let value = valid_body(w, &id)?;
    let (_, signed) = auth(w, &serde_json::to_vec(&value)?)?;
    c.push(
        "signature of re-serialized body",
        id,
        serde_json::to_vec_pretty(&value)?,
        (String::new(), signed),
        REFUSED,
    );
    // Valid signatures made with other secrets.
    let other = if w == Webhook::VoiceInfra {
        Webhook::Voki
    } else {
        Webhook::VoiceInfra
    };
    for (label, var) in [
        ("another provider's secret", other.secret_var()),
        (
            "the post-call token as secret",
            Webhook::PostCall.secret_var(),
        ),
    ] {
        let (id, body) = c.valid(label)?;
        let value = sign(var, None, scheme, &body)?;
        c.push(
            label,
            id,
            body,
            (String::new(), vec![(header, value)]),
            REFUSED,
        );
    }
    if per_channel(w) {
        // The channel's body signed with the default secret, and an unlisted channel's body
        // signed with the listed channel's secret.
        let (id, body) = c.valid("channel body with default secret")?;
        let value = sign(w.secret_var(), None, scheme, &body)?;
        c.push(
            "channel body with default secret",
            id,
            body,
            (String::new(), vec![(header, value)]),
            REFUSED,
        );
        let id = c.id("other channel's secret");
        let mut v = valid_body(w, &id)?;
        v["channelId"] = json!("0b5e8f7c-0000-4000-8000-000000000000");
        let body = serde_json::to_vec(&v)?;
        let value = sign(w.secret_var(), Some(HATIF_CHANNEL), scheme, &body)?;
        c.push(
            "other channel's secret",
            id,
            body,
            (String::new(), vec![(header, value)]),
            REFUSED,
        );
    }
    Ok(())
}

/// The cases of the token-authenticated webhook.
fn tokens(c: &mut Corpus) -> anyhow::Result<()> {
    let token = dev_secret(c.w.secret_var())?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{token}"));
    let another = dev_secret(Webhook::VoiceInfra.secret_var())?;
    for (label, suffix, headers) in [
        ("missing token", String::new(), vec![]),
        ("empty token", "?token=".to_owned(), vec![]),
        ("wrong token", "?token=not-the-token".to_owned(), vec![]),
        (
            "token with wrong case",
            format!("?token={}", token.to_ascii_uppercase()),
            vec![],
        ),
        (
            "truncated token",
            format!("?token={}", &token[..token.len() - 1]),
            vec![],
        ),
        ("token with extra char", format!("?token={token}x"), vec![]),
        (
            "token under another name",
            format!("?access_token={token}"),
            vec![],
        ),
        (
            "bearer without token",
            String::new(),
            vec![("authorization", "Bearer ".to_owned())],
        ),
        (
            "basic auth with token",
            String::new(),
            vec![("authorization", format!("Basic {basic}"))],
        ),
        (
            "token as a signature header",
            String::new(),
            vec![(voki::SIGNATURE_HEADER, token.clone())],
        ),
        (
            "another provider's secret",
            format!("?token={another}"),
            vec![],
        ),
        (
            "wrong bearer",
            String::new(),
            vec![("authorization", "Bearer not-the-token".to_owned())],
        ),
    ] {
        let (id, body) = c.valid(label)?;
        c.push(label, id, body, (suffix, headers), REFUSED);
    }
    let (id, body) = c.valid("bearer token, any case")?;
    c.push(
        "bearer token, any case",
        id,
        body,
        (
            String::new(),
            vec![("authorization", format!("bEaReR {token}"))],
        ),
        Expect::Stored,
    );
    Ok(())
}

/// The authentication cases of `c`'s webhook.
pub fn cases(c: &mut Corpus) -> anyhow::Result<()> {
    match signature(c.w) {
        Some((header, scheme)) => signatures(c, header, scheme),
        None => tokens(c),
    }
}
