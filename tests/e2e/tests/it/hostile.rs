//! The hostile-input corpus: over 200 requests across every webhook function, generated here
//! and sent to the functions served by cargo lambda watch. For each one: the status; nothing
//! stored for requests that fail authentication (or never reach it); authenticated but bad
//! deliveries kept raw with a reason; and afterwards, no panic, secret or body in the logs.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use callvault_e2e::{dev_secret, sha256_hex, sign, Stack};
use callvault_records::Provider;
use callvault_store::schema::{call_pk, conversation_pk, CALL_SK};
use callvault_verify::HmacSha256Hex;
use serde_json::{json, Value};

/// Every hostile body carries this, so the logs can be searched for any body content.
const BODY_SENTINEL: &str = "HOSTILE-BODY-CONTENT";
/// Hatif channel with its own secret in dev.env.
const CHANNEL: &str = "5f6d08bc-455a-4532-98b8-19e2cee51160";

/// What a case must leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Refused before or at authentication: this status, nothing stored anywhere.
    Refused(u16),
    /// Authenticated but unusable: 200 `kept` with the reason, kept raw with a reason.
    Kept,
    /// Accepted: 200 and a record under the case's id.
    Stored,
    /// Accepted again: 200 `duplicate`.
    Duplicate,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    function: &'static str,
    method: reqwest::Method,
    suffix: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// The record id the body names (for `Stored` and for checking nothing was stored).
    id: String,
    expect: Expect,
}

/// A webhook function and how it authenticates.
#[derive(Debug, Clone, Copy)]
struct Function {
    name: &'static str,
    provider: Provider,
    /// Signature header and scheme, or `None` for the token-authenticated post-call webhook.
    signature: Option<(&'static str, HmacSha256Hex)>,
    secrets_var: &'static str,
}

const FUNCTIONS: [Function; 5] = [
    Function {
        name: "voiceinfra",
        provider: Provider::VoiceInfra,
        signature: Some(("x-voiceinfra-signature", HmacSha256Hex::BARE)),
        secrets_var: "VOICEINFRA_WEBHOOK_SECRETS",
    },
    Function {
        name: "hatif-call",
        provider: Provider::Hatif,
        signature: Some(("x-voxa-signature", HmacSha256Hex::BARE)),
        secrets_var: "HATIF_WEBHOOK_SECRETS",
    },
    Function {
        name: "hatif-whatsapp",
        provider: Provider::Hatif,
        signature: Some(("x-voxa-signature", HmacSha256Hex::BARE)),
        secrets_var: "HATIF_WEBHOOK_SECRETS",
    },
    Function {
        name: "voki",
        provider: Provider::Voki,
        signature: Some(("x-voki-signature", HmacSha256Hex::SHA256_PREFIXED)),
        secrets_var: "VOKI_WEBHOOK_SECRETS",
    },
    Function {
        name: "postcall",
        provider: Provider::PostCall,
        signature: None,
        secrets_var: "POSTCALL_TOKENS",
    },
];

fn fixture(name: &str) -> anyhow::Result<Value> {
    let path = callvault_testkit::repo_root()
        .join("tests/fixtures")
        .join(name);
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

/// Removes file URLs (the copier is not under test here).
fn strip_urls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            !(k.ends_with("url") || k.ends_with("uri"))
        });
        map.values_mut().for_each(strip_urls);
    }
}

impl Function {
    /// A valid body for this function naming record `id`, with the body sentinel.
    fn valid_body(&self, id: &str) -> anyhow::Result<Value> {
        let mut body = match self.name {
            "voiceinfra" => json!({"call_id": id, "duration_seconds": 12}),
            "hatif-call" => {
                let mut v = fixture("hatif-call.json")?;
                v["callId"] = json!(id);
                v
            }
            "hatif-whatsapp" => {
                let mut v = fixture("hatif-whatsapp.json")?;
                v["messageId"] = json!(id);
                v
            }
            "voki" => {
                let mut v = fixture("voki-call-completed.json")?;
                v["data"]["id"] = json!(id);
                v
            }
            _ => {
                let mut v = fixture("postcall.json")?;
                v["callId"] = json!(id);
                v
            }
        };
        strip_urls(&mut body);
        body["hostileNote"] = json!(format!("{BODY_SENTINEL} {id}"));
        Ok(body)
    }

    /// Whether a record of this function with `id` exists, under any secret scope.
    async fn record_exists(&self, stack: &Stack, id: &str, body: &Value) -> anyhow::Result<bool> {
        let records = if self.name == "hatif-whatsapp" {
            let conversation = body["conversationId"].as_str().unwrap_or_default();
            stack
                .store
                .records(&conversation_pk(self.provider, conversation), "MSG#")
                .await?
                .into_iter()
                .filter(|(sk, _)| sk == &format!("MSG#{id}") || sk.ends_with(&format!("#{id}")))
                .count()
        } else {
            stack
                .store
                .records(&call_pk(self.provider, id), CALL_SK)
                .await?
                .len()
        };
        Ok(records > 0)
    }

    /// Authentication (URL suffix and headers) of `body` with this function's own secret.
    fn auth(&self, body: &[u8]) -> anyhow::Result<(String, Vec<(&'static str, String)>)> {
        Ok(match self.signature {
            Some((header, scheme)) => {
                let key = (self.name.starts_with("hatif")).then_some(CHANNEL);
                (
                    String::new(),
                    vec![(header, sign(self.secrets_var, key, scheme, body)?)],
                )
            }
            None => (format!("?token={}", dev_secret(self.secrets_var)?), vec![]),
        })
    }
}

/// Collects the cases of one function, numbering their ids.
struct Corpus {
    f: Function,
    /// Distinguishes this run's ids from earlier runs against the same stack.
    run: String,
    n: usize,
    cases: Vec<Case>,
}

type Headers = Vec<(&'static str, String)>;

impl Corpus {
    fn id(&mut self, label: &str) -> String {
        self.n += 1;
        let slug: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("hostile-{}-{}-{:03}-{slug}", self.f.name, self.run, self.n)
    }

    fn push(
        &mut self,
        name: &str,
        id: String,
        body: Vec<u8>,
        auth: (String, Headers),
        expect: Expect,
    ) {
        self.cases.push(Case {
            name: format!("{} {name}", self.f.name),
            function: self.f.name,
            method: reqwest::Method::POST,
            suffix: auth.0,
            headers: auth.1,
            body,
            id,
            expect,
        });
    }

    /// A valid body for a fresh id, as bytes.
    fn valid(&mut self, label: &str) -> anyhow::Result<(String, Vec<u8>)> {
        let id = self.id(label);
        let body = serde_json::to_vec(&self.f.valid_body(&id)?)?;
        Ok((id, body))
    }

    /// A valid body whose signature header is `value(signature)`.
    fn signature_case(
        &mut self,
        label: &str,
        value: impl Fn(String) -> String,
        expect: Expect,
    ) -> anyhow::Result<()> {
        let (header, _) = self.f.signature.expect("a signed function");
        let (id, body) = self.valid(label)?;
        let (_, signed) = self.f.auth(&body)?;
        let v = value(signed[0].1.clone());
        self.push(label, id, body, (String::new(), vec![(header, v)]), expect);
        Ok(())
    }

    /// An authenticated body that cannot become a record. It names no Hatif channel, so Hatif
    /// bodies are signed with the default secret.
    fn kept(&mut self, label: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let id = self.id(label);
        let auth = match self.f.signature {
            Some((header, scheme)) if self.f.name.starts_with("hatif") => (
                String::new(),
                vec![(header, sign(self.f.secrets_var, None, scheme, &body)?)],
            ),
            _ => self.f.auth(&body)?,
        };
        self.push(label, id, body, auth, Expect::Kept);
        Ok(())
    }

    /// A valid body changed by `change`, authenticated.
    fn changed(
        &mut self,
        label: &str,
        change: impl Fn(&mut Value),
        expect: Expect,
    ) -> anyhow::Result<()> {
        let id = self.id(label);
        let mut v = self.f.valid_body(&id)?;
        change(&mut v);
        let body = serde_json::to_vec(&v)?;
        let auth = self.f.auth(&body)?;
        self.push(label, id, body, auth, expect);
        Ok(())
    }

    /// A valid body with one numeric field written as raw JSON text `number`.
    fn raw_number(&mut self, label: &str, number: &str, expect: Expect) -> anyhow::Result<()> {
        let id = self.id(label);
        let mut v = self.f.valid_body(&id)?;
        let field = match self.f.name {
            "voiceinfra" => &mut v["duration_seconds"],
            "voki" => &mut v["data"]["duration_seconds"],
            "hatif-call" => &mut v["status"],
            "hatif-whatsapp" => &mut v["latitude"],
            _ => &mut v["callAnalysis"]["score"],
        };
        *field = json!("__number__");
        let body = serde_json::to_string(&v)?
            .replace("\"__number__\"", number)
            .into_bytes();
        let auth = self.f.auth(&body)?;
        self.push(label, id, body, auth, expect);
        Ok(())
    }
}

/// Builds every case of one function.
fn cases_of(f: Function) -> anyhow::Result<Vec<Case>> {
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let mut c = Corpus {
        f,
        run: run.clone(),
        n: 0,
        cases: Vec::new(),
    };
    let refused = Expect::Refused(401);

    // Authentication.
    if let Some((header, scheme)) = f.signature {
        let prefix = if scheme == HmacSha256Hex::SHA256_PREFIXED {
            "sha256="
        } else {
            ""
        };
        let digest = |s: &str| s[s.len() - 64..].to_owned();
        c.signature_case("empty signature", |_| String::new(), refused)?;
        c.signature_case("whitespace signature", |_| "   ".into(), refused)?;
        c.signature_case(
            "truncated signature",
            |s| s[..s.len() - 1].to_owned(),
            refused,
        )?;
        c.signature_case("signature one char too long", |s| format!("{s}0"), refused)?;
        c.signature_case("signature twice", |s| format!("{s}{}", digest(&s)), refused)?;
        c.signature_case(
            "half a signature",
            |s| s[..s.len() - 32].to_owned(),
            refused,
        )?;
        c.signature_case(
            "flipped last hex digit",
            |s| {
                let last = if s.ends_with('0') { '1' } else { '0' };
                format!("{}{last}", &s[..s.len() - 1])
            },
            refused,
        )?;
        c.signature_case(
            "non-hex signature",
            |s| format!("{prefix}zz{}", &digest(&s)[2..]),
            refused,
        )?;
        c.signature_case("wrong prefix", |s| format!("sha1={}", digest(&s)), refused)?;
        c.signature_case(
            "prefix with wrong case",
            |s| format!("SHA256={}", digest(&s)),
            refused,
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
            refused,
        )?;
        c.signature_case(
            "all-zero signature",
            |_| format!("{prefix}{}", "0".repeat(64)),
            refused,
        )?;
        if prefix.is_empty() {
            c.signature_case(
                "unexpected sha256 prefix",
                |s| format!("sha256={s}"),
                refused,
            )?;
        } else {
            c.signature_case("missing sha256 prefix", |s| digest(&s), refused)?;
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
            refused,
        );
        // The signature in the query instead of the header.
        let (id, body) = c.valid("signature in query")?;
        let (_, signed) = f.auth(&body)?;
        c.push(
            "signature in query",
            id,
            body,
            (format!("?signature={}", signed[0].1), vec![]),
            refused,
        );
        // A signature over a re-serialized body (same JSON, other bytes).
        let id = c.id("signature of re-serialized body");
        let value = f.valid_body(&id)?;
        let (_, signed) = f.auth(&serde_json::to_vec(&value)?)?;
        c.push(
            "signature of re-serialized body",
            id,
            serde_json::to_vec_pretty(&value)?,
            (String::new(), signed),
            refused,
        );
        // Valid signatures made with other secrets.
        let other_var = if f.name == "voiceinfra" {
            "VOKI_WEBHOOK_SECRETS"
        } else {
            "VOICEINFRA_WEBHOOK_SECRETS"
        };
        for (label, var, key) in [
            ("another provider's secret", other_var, None),
            ("the post-call token as secret", "POSTCALL_TOKENS", None),
        ] {
            let (id, body) = c.valid(label)?;
            let value = sign(var, key, scheme, &body)?;
            c.push(
                label,
                id,
                body,
                (String::new(), vec![(header, value)]),
                refused,
            );
        }
        if f.name.starts_with("hatif") {
            // The channel's body signed with the default secret, and an unlisted channel's
            // body signed with the listed channel's secret.
            let (id, body) = c.valid("channel body with default secret")?;
            let value = sign(f.secrets_var, None, scheme, &body)?;
            c.push(
                "channel body with default secret",
                id,
                body,
                (String::new(), vec![(header, value)]),
                refused,
            );
            let id = c.id("other channel's secret");
            let mut v = f.valid_body(&id)?;
            v["channelId"] = json!("0b5e8f7c-0000-4000-8000-000000000000");
            let body = serde_json::to_vec(&v)?;
            let value = sign(f.secrets_var, Some(CHANNEL), scheme, &body)?;
            c.push(
                "other channel's secret",
                id,
                body,
                (String::new(), vec![(header, value)]),
                refused,
            );
        }
    } else {
        let token = dev_secret(f.secrets_var)?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{token}"));
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
                vec![("x-voki-signature", token.clone())],
            ),
            (
                "another provider's secret",
                "?token=dev-voiceinfra-secret".to_owned(),
                vec![],
            ),
            (
                "wrong bearer",
                String::new(),
                vec![("authorization", "Bearer not-the-token".to_owned())],
            ),
        ] {
            let (id, body) = c.valid(label)?;
            c.push(label, id, body, (suffix, headers), refused);
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
    }

    // Authenticated bodies that cannot become records: kept raw with the reason.
    let name = format!("{}-{run}", f.name);
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(10_000), close.repeat(10_000));
    c.kept(
        "not JSON",
        format!("<xml>{BODY_SENTINEL} {name}</xml>").into_bytes(),
    )?;
    c.kept(
        "truncated JSON",
        format!("{{\"note\": \"{BODY_SENTINEL} {name}").into_bytes(),
    )?;
    c.kept(
        "JSON array",
        format!("[\"{BODY_SENTINEL}\", \"{name}\"]").into_bytes(),
    )?;
    c.kept(
        "JSON string",
        format!("\"{BODY_SENTINEL} {name}\"").into_bytes(),
    )?;
    c.kept("JSON number", format!("{} ", 42 + name.len()).into_bytes())?;
    c.kept(
        "JSON null",
        format!("null{}", " ".repeat(name.len())).into_bytes(),
    )?;
    c.kept(
        "empty object",
        format!("{{{}}}", " ".repeat(name.len())).into_bytes(),
    )?;
    c.kept(
        "object without the id",
        format!("{{\"note\": \"{BODY_SENTINEL} {name}\"}}").into_bytes(),
    )?;
    c.kept(
        "10,000 nested arrays",
        format!("{} {name}", deep("[", "]")).into_bytes(),
    )?;
    c.kept(
        "10,000 nested objects in a field",
        format!(
            "{{\"note\": \"{name}\", \"deep\": {}1{}}}",
            "{\"a\":".repeat(10_000),
            "}".repeat(10_000)
        )
        .into_bytes(),
    )?;
    // Bytes that are not UTF-8 travel as binary (base64 in the Function URL event): the local
    // emulator, like a text content type would, cannot carry them otherwise.
    c.kept(
        "invalid UTF-8",
        [
            b"{\"note\": \"".as_slice(),
            &[0xff, 0xfe, 0xc3, 0x28],
            name.as_bytes(),
            b"\"}",
        ]
        .concat(),
    )?;
    c.kept(
        "lone UTF-8 continuation bytes",
        [&[0x80, 0x81][..], name.as_bytes()].concat(),
    )?;
    for case in c.cases.iter_mut().rev().take(2) {
        case.headers
            .push(("content-type", "application/octet-stream".to_owned()));
    }
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&f.valid_body(&format!("b64-{name}"))?)?);
    c.kept("base64 of a valid body", b64.into_bytes())?;
    c.kept(
        "form-encoded body",
        format!("note={BODY_SENTINEL}&function={name}&id=x").into_bytes(),
    )?;

    // Valid ids with hostile values.
    // Voki keeps only its documented fields, so the string never reaches the record.
    let huge = if f.name == "voki" {
        Expect::Stored
    } else {
        Expect::Kept
    };
    c.changed(
        "huge string in an unknown field",
        |v| v["hostileHuge"] = json!("x".repeat(700_000)),
        huge,
    )?;
    let set_id = |value: Value| {
        move |v: &mut Value| {
            for key in ["call_id", "callId", "messageId"] {
                if v.get(key).is_some() {
                    v[key] = value.clone();
                }
            }
            if v.get("data").is_some() {
                v["data"]["id"] = value.clone();
            }
        }
    };
    c.changed("id of the wrong type", set_id(json!([12345])), Expect::Kept)?;
    c.changed("empty id", set_id(json!("")), Expect::Kept)?;
    c.raw_number("number beyond f64", "1e400", Expect::Kept)?;
    // Floating-point fields (latitude, score) hold these; integer fields refuse them, except
    // Hatif's numeric call status, where an unknown value is kept as `unknown`.
    let float_field = matches!(f.name, "hatif-whatsapp" | "postcall");
    let signed_field = float_field || f.name == "hatif-call";
    c.raw_number(
        "number beyond u64",
        "18446744073709551616",
        if float_field {
            Expect::Stored
        } else {
            Expect::Kept
        },
    )?;
    c.raw_number(
        "negative number",
        "-5",
        if signed_field {
            Expect::Stored
        } else {
            Expect::Kept
        },
    )?;

    // Duplicate keys: an ambiguous known field is refused; a repeated unknown one is harmless
    // (the last value is kept among the extras).
    let key = match f.name {
        "voiceinfra" => "call_id",
        "hatif-call" | "postcall" => "callId",
        "hatif-whatsapp" => "messageId",
        _ => "event",
    };
    let (id, body) = c.valid("duplicate id key")?;
    let body = [
        format!("{{\"{key}\": \"other-{id}\", ").as_bytes(),
        &body[1..],
    ]
    .concat();
    let auth = f.auth(&body)?;
    c.push(
        &format!("duplicate {key} key"),
        id,
        body,
        auth,
        Expect::Kept,
    );
    let (id, body) = c.valid("duplicate unknown keys")?;
    let body = [
        b"{\"hostileDup\": 1, \"hostileDup\": 2, ".as_slice(),
        &body[1..],
    ]
    .concat();
    let auth = f.auth(&body)?;
    c.push("duplicate unknown keys", id, body, auth, Expect::Stored);

    // Content types: the exact bytes count, whatever the declared type.
    for content_type in [
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-16",
    ] {
        let (id, body) = c.valid(content_type)?;
        let (suffix, mut headers) = f.auth(&body)?;
        headers.push(("content-type", content_type.to_owned()));
        c.push(
            &format!("valid body as {content_type}"),
            id,
            body,
            (suffix, headers),
            Expect::Stored,
        );
    }

    // Replays: the same valid delivery twice, then its signature over another body.
    let (id, body) = c.valid("replayed")?;
    let auth = f.auth(&body)?;
    c.push(
        "original of a replay",
        id.clone(),
        body.clone(),
        auth.clone(),
        Expect::Stored,
    );
    c.push("exact replay", id, body, auth.clone(), Expect::Duplicate);
    if f.signature.is_some() {
        let (other, changed) = c.valid("replayed signature")?;
        c.push(
            "replayed signature on another body",
            other,
            changed,
            auth,
            refused,
        );
    }

    // Methods and sizes.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
        reqwest::Method::HEAD,
    ] {
        let (id, body) = c.valid("method")?;
        let auth = f.auth(&body)?;
        c.push(
            &format!("{method} with a valid body"),
            id,
            body,
            auth,
            Expect::Refused(405),
        );
        if let Some(last) = c.cases.last_mut() {
            last.method = method;
        }
    }
    let id = c.id("oversized signed");
    let mut big = f.valid_body(&id)?;
    big["hostilePad"] = json!("p".repeat(1024 * 1024));
    let body = serde_json::to_vec(&big)?;
    let auth = f.auth(&body)?;
    c.push(
        "oversized, authenticated",
        id,
        body,
        auth,
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
    Ok(c.cases)
}

#[tokio::test]
async fn hostile_requests_get_clear_statuses_and_nothing_gets_in_or_lost() -> anyhow::Result<()> {
    let stack = Stack::from_env().await?;
    let log_path = std::env::var("CALLVAULT_FUNCTION_LOG")?;
    let log_start = std::fs::metadata(&log_path)?.len();
    let mut cases = Vec::new();
    for f in FUNCTIONS {
        cases.extend(cases_of(f)?);
    }
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());

    let mut failures = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        let mut request = stack
            .request(c.method.clone(), c.function, &c.suffix)
            .body(c.body.clone());
        if !c.headers.iter().any(|(h, _)| *h == "content-type") {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in &c.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let reply: Value = if c.method == reqwest::Method::HEAD {
            Value::Null
        } else {
            response.json().await.unwrap_or(Value::Null)
        };
        let (expected, reply_ok) = match c.expect {
            Expect::Refused(s) => (s, reply["error"].as_str().is_some_and(|m| !m.is_empty())),
            Expect::Kept => (
                200,
                reply["status"] == "kept"
                    && reply["reason"].as_str().is_some_and(|m| !m.is_empty()),
            ),
            Expect::Stored => (200, reply == json!({"status": "stored"})),
            Expect::Duplicate => (200, reply == json!({"status": "duplicate"})),
        };
        // A HEAD response has no body to check.
        let reply_ok = reply_ok || c.method == reqwest::Method::HEAD;
        if status != expected || !reply_ok {
            failures.push(format!(
                "{}: expected {expected} ({:?}), got {status} {reply}",
                c.name, c.expect
            ));
        }
        let outcome = match reply["status"].as_str() {
            Some(label) => format!("{status} {label}"),
            None => status.to_string(),
        };
        *counts
            .entry(format!("{} {outcome}", c.function))
            .or_default() += 1;
    }

    // What is stored: records only for accepted cases; kept raw bodies only for `Kept`.
    // Kept deliveries by the SHA-256 of their body, with their reasons.
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    for provider in Provider::ALL {
        for item in stack.rejected_today(provider).await? {
            let text = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            reasons.insert(text("body_sha256"), text("reason"));
        }
    }
    for c in &cases {
        let f = FUNCTIONS
            .iter()
            .find(|f| f.name == c.function)
            .expect("known function");
        let parsed: Value = serde_json::from_slice(&c.body).unwrap_or(Value::Null);
        let record = f.record_exists(&stack, &c.id, &parsed).await?;
        let sha = sha256_hex(&c.body);
        match c.expect {
            Expect::Refused(_) => {
                if record {
                    failures.push(format!("{}: refused but a record exists", c.name));
                }
                if reasons.contains_key(&sha) {
                    failures.push(format!("{}: refused but its body was kept", c.name));
                }
            }
            Expect::Kept => match reasons.get(&sha) {
                Some(reason) if !reason.is_empty() => {}
                _ => failures.push(format!("{}: not kept raw with a reason", c.name)),
            },
            Expect::Stored | Expect::Duplicate => {
                if !record {
                    failures.push(format!("{}: accepted but no record", c.name));
                }
            }
        }
    }

    // The logs: no panic, no secret, no body content.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read(&log_path)?;
    let log =
        String::from_utf8_lossy(&log[usize::try_from(log_start)?.min(log.len())..]).into_owned();
    assert!(!log.contains("panicked"), "a function panicked:\n{log}");
    for (var, needle) in [
        ("VOICEINFRA_WEBHOOK_SECRETS", "dev-voiceinfra-secret"),
        ("HATIF_WEBHOOK_SECRETS", "dev-hatif-default-secret"),
        ("HATIF_WEBHOOK_SECRETS", "dev-hatif-channel-secret"),
        ("VOKI_WEBHOOK_SECRETS", "dev-voki-secret"),
        ("POSTCALL_TOKENS", "dev-postcall-token"),
    ] {
        assert!(std::env::var(var)?.contains(needle), "{var} holds {needle}");
        assert!(
            !log.to_ascii_lowercase().contains(needle),
            "{needle} reached the log"
        );
    }
    assert!(!log.contains(BODY_SENTINEL), "body content reached the log");
    eprintln!(
        "hostile corpus: {} cases; by function and status: {counts:?}",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}
