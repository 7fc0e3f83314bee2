//! The corpus builder: valid bodies of each webhook naming a fresh id, changed one way per
//! case, authenticated with the dev secrets (or not), each with what it must leave behind.

use callvault_catalog::samples::{fixtures, HATIF_CHANNEL};
use callvault_catalog::{Auth, Webhook};
use callvault_e2e::{authenticate, sign, Stack};
use callvault_store::schema::{call_pk, conversation_pk, CALL_SK};
use callvault_verify::HmacSha256Hex;
use serde_json::{json, Value};

/// Every hostile body carries this, so the logs can be searched for any body content.
pub const BODY_SENTINEL: &str = "HOSTILE-BODY-CONTENT";

/// What a case must leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Refused before or at authentication: this status, nothing stored anywhere.
    Refused(u16),
    /// Authenticated but unusable: 200 `kept` with the reason, kept raw with a reason.
    Kept,
    /// Accepted: 200 and a record under the case's id.
    Stored,
    /// Accepted again: 200 `duplicate`.
    Duplicate,
}

/// The URL suffix and headers that authenticate (or fail to authenticate) a request.
pub type Credentials = (String, Vec<(&'static str, String)>);

/// One request and what it must leave behind.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub webhook: Webhook,
    pub method: reqwest::Method,
    pub suffix: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The record id the body names (for `Stored` and for checking nothing was stored).
    pub id: String,
    pub expect: Expect,
}

/// The signature header and scheme of a signed webhook; `None` for a token-authenticated one.
pub fn signature(w: Webhook) -> Option<(&'static str, HmacSha256Hex)> {
    match w.auth() {
        Auth::Signature { header, scheme, .. } => Some((header, scheme)),
        Auth::Token => None,
    }
}

/// Whether the webhook's secret is chosen by the body's channel (Hatif).
pub fn per_channel(w: Webhook) -> bool {
    matches!(
        w.auth(),
        Auth::Signature {
            per_channel: true,
            ..
        }
    )
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

/// A valid body of `w` naming record `id`, with the body sentinel.
pub fn valid_body(w: Webhook, id: &str) -> anyhow::Result<Value> {
    let fixture = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes);
    let mut body = match w {
        Webhook::VoiceInfra => json!({"call_id": id, "duration_seconds": 12}),
        Webhook::HatifCall => {
            let mut v = fixture(fixtures::HATIF_CALL)?;
            v["callId"] = json!(id);
            v
        }
        Webhook::HatifWhatsApp => {
            let mut v = fixture(fixtures::HATIF_WHATSAPP)?;
            v["messageId"] = json!(id);
            v
        }
        Webhook::Voki => {
            let mut v = fixture(fixtures::VOKI_CALL_COMPLETED)?;
            v["data"]["id"] = json!(id);
            v
        }
        Webhook::PostCall => {
            let mut v = fixture(fixtures::POSTCALL)?;
            v["callId"] = json!(id);
            v
        }
    };
    strip_urls(&mut body);
    body["hostileNote"] = json!(format!("{BODY_SENTINEL} {id}"));
    Ok(body)
}

/// Whether a record of `w` with `id` exists, under any secret scope.
pub async fn record_exists(
    stack: &Stack,
    w: Webhook,
    id: &str,
    body: &Value,
) -> anyhow::Result<bool> {
    let records = if w == Webhook::HatifWhatsApp {
        let conversation = body["conversationId"].as_str().unwrap_or_default();
        stack
            .store
            .records(&conversation_pk(w.provider(), conversation), "MSG#")
            .await?
            .into_iter()
            .filter(|(sk, _)| sk == &format!("MSG#{id}") || sk.ends_with(&format!("#{id}")))
            .count()
    } else {
        stack
            .store
            .records(&call_pk(w.provider(), id), CALL_SK)
            .await?
            .len()
    };
    Ok(records > 0)
}

/// Authentication of `body` with the webhook's own secret (a Hatif body with its channel's).
pub fn auth(w: Webhook, body: &[u8]) -> anyhow::Result<Credentials> {
    authenticate(w, per_channel(w).then_some(HATIF_CHANNEL), body)
}

/// Collects the cases of one webhook, numbering their ids.
pub struct Corpus {
    pub w: Webhook,
    /// Distinguishes this run's ids from earlier runs against the same stack.
    pub run: String,
    n: usize,
    pub cases: Vec<Case>,
}

impl Corpus {
    /// An empty corpus of `w` for this run.
    pub fn new(w: Webhook, run: &str) -> Self {
        Self {
            w,
            run: run.to_owned(),
            n: 0,
            cases: Vec::new(),
        }
    }

    /// A fresh record id for a case.
    pub fn id(&mut self, label: &str) -> String {
        self.n += 1;
        let slug: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!(
            "hostile-{}-{}-{:03}-{slug}",
            self.w.name(),
            self.run,
            self.n
        )
    }

    /// Adds a POST case.
    pub fn push(
        &mut self,
        name: &str,
        id: String,
        body: Vec<u8>,
        auth: Credentials,
        expect: Expect,
    ) {
        self.cases.push(Case {
            name: format!("{} {name}", self.w.name()),
            webhook: self.w,
            method: reqwest::Method::POST,
            suffix: auth.0,
            headers: auth.1,
            body,
            id,
            expect,
        });
    }

    /// A valid body for a fresh id, as bytes.
    pub fn valid(&mut self, label: &str) -> anyhow::Result<(String, Vec<u8>)> {
        let id = self.id(label);
        let body = serde_json::to_vec(&valid_body(self.w, &id)?)?;
        Ok((id, body))
    }

    /// A valid body, authenticated.
    pub fn valid_case(&mut self, label: &str, expect: Expect) -> anyhow::Result<()> {
        let (id, body) = self.valid(label)?;
        let auth = auth(self.w, &body)?;
        self.push(label, id, body, auth, expect);
        Ok(())
    }

    /// A valid body whose signature header is `value(signature)`.
    pub fn signature_case(
        &mut self,
        label: &str,
        value: impl Fn(String) -> String,
        expect: Expect,
    ) -> anyhow::Result<()> {
        let (header, _) = signature(self.w).expect("a signed webhook");
        let (id, body) = self.valid(label)?;
        let (_, signed) = auth(self.w, &body)?;
        let v = value(signed[0].1.clone());
        self.push(label, id, body, (String::new(), vec![(header, v)]), expect);
        Ok(())
    }

    /// An authenticated body that cannot become a record. It names no Hatif channel, so Hatif
    /// bodies are signed with the default secret.
    pub fn kept(&mut self, label: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let id = self.id(label);
        let auth = match signature(self.w) {
            Some((header, scheme)) if per_channel(self.w) => (
                String::new(),
                vec![(header, sign(self.w.secret_var(), None, scheme, &body)?)],
            ),
            _ => auth(self.w, &body)?,
        };
        self.push(label, id, body, auth, Expect::Kept);
        Ok(())
    }

    /// A valid body changed by `change`, authenticated.
    pub fn changed(
        &mut self,
        label: &str,
        change: impl Fn(&mut Value),
        expect: Expect,
    ) -> anyhow::Result<()> {
        let id = self.id(label);
        let mut v = valid_body(self.w, &id)?;
        change(&mut v);
        let body = serde_json::to_vec(&v)?;
        let auth = auth(self.w, &body)?;
        self.push(label, id, body, auth, expect);
        Ok(())
    }

    /// A valid body with one numeric field written as raw JSON text `number`.
    pub fn raw_number(&mut self, label: &str, number: &str, expect: Expect) -> anyhow::Result<()> {
        let id = self.id(label);
        let mut v = valid_body(self.w, &id)?;
        let field = match self.w {
            Webhook::VoiceInfra => &mut v["duration_seconds"],
            Webhook::Voki => &mut v["data"]["duration_seconds"],
            Webhook::HatifCall => &mut v["status"],
            Webhook::HatifWhatsApp => &mut v["latitude"],
            Webhook::PostCall => &mut v["callAnalysis"]["score"],
        };
        *field = json!("__number__");
        let body = serde_json::to_string(&v)?
            .replace("\"__number__\"", number)
            .into_bytes();
        let auth = auth(self.w, &body)?;
        self.push(label, id, body, auth, expect);
        Ok(())
    }
}
