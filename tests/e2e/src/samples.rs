//! Signed sample deliveries of every webhook and event type, built from the providers'
//! documented examples (`tests/fixtures`) with ids of their own and signed with the
//! development secrets, as each provider would send them.

use anyhow::Context;
use callvault_records::voki::Event;
use callvault_verify::HmacSha256Hex;
use serde_json::{json, Value};

use crate::{dev_secret, sign};

/// The Hatif channel of the documented examples; it has a secret of its own in `dev.env`.
pub const HATIF_CHANNEL: &str = "5f6d08bc-455a-4532-98b8-19e2cee51160";

/// One delivery, ready to send: to `function`, with the URL `suffix` (a token) and `headers`.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The webhook function.
    pub function: &'static str,
    /// What it is (`call.completed`, `message.read`, ...).
    pub event: String,
    /// URL suffix after the function's URL (`?token=...`), or empty.
    pub suffix: String,
    /// Request headers (authentication, Voki's event and delivery ids, content type).
    pub headers: Vec<(&'static str, String)>,
    /// The exact body.
    pub body: Vec<u8>,
}

impl Sample {
    /// The headers as `(&str, &str)` pairs.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }
}

/// A documented example payload.
pub fn fixture(name: &str) -> anyhow::Result<Value> {
    let path = callvault_testkit::repo_root()
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Removes file URLs (for runs without a copier).
pub fn strip_urls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            !(k.ends_with("url") || k.ends_with("uri"))
        });
        map.values_mut().for_each(strip_urls);
    }
}

fn json_body(mut value: Value, with_files: bool) -> anyhow::Result<Vec<u8>> {
    if !with_files {
        strip_urls(&mut value);
    }
    Ok(serde_json::to_vec(&value)?)
}

fn signed(
    function: &'static str,
    event: impl Into<String>,
    body: Vec<u8>,
    header: &'static str,
    signature: String,
) -> Sample {
    Sample {
        function,
        event: event.into(),
        suffix: String::new(),
        headers: vec![
            ("content-type", "application/json".into()),
            (header, signature),
        ],
        body,
    }
}

/// A signed VoiceInfra call completed.
pub fn voiceinfra(call_id: &str, with_files: bool) -> anyhow::Result<Sample> {
    let mut v = fixture("voiceinfra.json")?;
    v["call_id"] = json!(call_id);
    let body = json_body(v, with_files)?;
    let signature = sign(
        "VOICEINFRA_WEBHOOK_SECRETS",
        None,
        HmacSha256Hex::BARE,
        &body,
    )?;
    Ok(signed(
        "voiceinfra",
        "call.completed",
        body,
        "x-voiceinfra-signature",
        signature,
    ))
}

/// A Hatif call, signed with the secret of `channel` (the channel's own, or the default one
/// for a channel without).
pub fn hatif_call(call_id: &str, channel: &str, with_files: bool) -> anyhow::Result<Sample> {
    let mut v = fixture("hatif-call.json")?;
    v["callId"] = json!(call_id);
    v["channelId"] = json!(channel);
    let body = json_body(v, with_files)?;
    let signature = sign(
        "HATIF_WEBHOOK_SECRETS",
        Some(channel),
        HmacSha256Hex::BARE,
        &body,
    )?;
    Ok(signed(
        "hatif-call",
        "call.completed",
        body,
        "x-voxa-signature",
        signature,
    ))
}

/// A Hatif WhatsApp message status (`Sent`, `Delivered`, `Read`, `Failed`), signed with the
/// secret of `channel`.
pub fn hatif_whatsapp(
    conversation_id: &str,
    message_id: &str,
    status: &str,
    channel: &str,
    with_files: bool,
) -> anyhow::Result<Sample> {
    let mut v = fixture("hatif-whatsapp.json")?;
    v["conversationId"] = json!(conversation_id);
    v["messageId"] = json!(message_id);
    v["status"] = json!(status);
    v["channelId"] = json!(channel);
    let body = json_body(v, with_files)?;
    let signature = sign(
        "HATIF_WEBHOOK_SECRETS",
        Some(channel),
        HmacSha256Hex::BARE,
        &body,
    )?;
    Ok(signed(
        "hatif-whatsapp",
        format!("message.{}", status.to_ascii_lowercase()),
        body,
        "x-voxa-signature",
        signature,
    ))
}

/// A Voki event about call (or customer) `id`, under delivery id `delivery`.
pub fn voki(event: Event, id: &str, delivery: &str) -> anyhow::Result<Sample> {
    let mut v = fixture("voki-call-completed.json")?;
    v["event"] = json!(event.name());
    if event == Event::CustomerCreated {
        v["data"] = json!({"id": id, "name": "Ana Souza", "email": "ana@example.com", "phone": "+55 11 91234-5678"});
    } else {
        v["data"]["id"] = json!(id);
    }
    let body = json_body(v, false)?;
    let signature = sign(
        "VOKI_WEBHOOK_SECRETS",
        None,
        HmacSha256Hex::SHA256_PREFIXED,
        &body,
    )?;
    let mut sample = signed("voki", event.name(), body, "x-voki-signature", signature);
    sample
        .headers
        .push(("x-voki-event", event.name().to_owned()));
    sample
        .headers
        .push(("x-voki-delivery", delivery.to_owned()));
    Ok(sample)
}

/// A post-call delivery with the token in the query.
pub fn postcall(call_id: &str, with_files: bool) -> anyhow::Result<Sample> {
    let mut v = fixture("postcall.json")?;
    v["callId"] = json!(call_id);
    Ok(Sample {
        function: "postcall",
        event: "call.completed".into(),
        suffix: format!("?token={}", dev_secret("POSTCALL_TOKENS")?),
        headers: vec![("content-type", "application/json".into())],
        body: json_body(v, with_files)?,
    })
}

/// Every webhook and event type once, with ids ending in `run` and no file URLs: a VoiceInfra
/// call, a Hatif call, a WhatsApp message's four statuses, Voki's six events (the call ones
/// about one call), and a post-call delivery.
pub fn every_kind(run: &str) -> anyhow::Result<Vec<Sample>> {
    let mut samples = vec![
        voiceinfra(&format!("vi-{run}"), false)?,
        hatif_call(&format!("hc-{run}"), HATIF_CHANNEL, false)?,
    ];
    for status in ["Sent", "Delivered", "Read", "Failed"] {
        samples.push(hatif_whatsapp(
            &format!("conv-{run}"),
            &format!("msg-{run}"),
            status,
            HATIF_CHANNEL,
            false,
        )?);
    }
    for event in Event::ALL {
        let id = if event == Event::CustomerCreated {
            format!("customer-{run}")
        } else {
            format!("vk-{run}")
        };
        samples.push(voki(
            event,
            &id,
            &format!("delivery-{}-{run}", event.name()),
        )?);
    }
    samples.push(postcall(&format!("pc-{run}"), false)?);
    Ok(samples)
}
