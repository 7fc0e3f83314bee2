//! Signed sample deliveries of every webhook and event type, built from the providers'
//! documented examples (`tests/fixtures`, byte for byte from their documentation) with ids of
//! their own, and authenticated as each provider would with a secret from a [`Keyring`].
//! The tests and `callvault trigger` both send these.

use callvault_records::voki::Event;
use callvault_verify::{Keyring, Secret, SharedToken};
use serde_json::{json, Value};

use crate::{Auth, Webhook};

/// The documented examples, as the providers publish them.
pub mod fixtures {
    /// VoiceInfra's call completed.
    pub const VOICEINFRA: &[u8] = include_bytes!("../../../tests/fixtures/voiceinfra.json");
    /// Hatif's call webhook.
    pub const HATIF_CALL: &[u8] = include_bytes!("../../../tests/fixtures/hatif-call.json");
    /// Hatif's WhatsApp message webhook.
    pub const HATIF_WHATSAPP: &[u8] = include_bytes!("../../../tests/fixtures/hatif-whatsapp.json");
    /// Voki's `call.completed`.
    pub const VOKI_CALL_COMPLETED: &[u8] =
        include_bytes!("../../../tests/fixtures/voki-call-completed.json");
    /// The post-call webhook.
    pub const POSTCALL: &[u8] = include_bytes!("../../../tests/fixtures/postcall.json");
}

/// The Hatif channel of the documented examples.
pub const HATIF_CHANNEL: &str = "5f6d08bc-455a-4532-98b8-19e2cee51160";

/// Why a sample could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SampleError {
    /// The keyring has no secret to authenticate it with.
    #[error("no secret is configured for {0}")]
    NoSecret(String),
    /// The webhook has no such event.
    #[error("{webhook} has no event {event:?} (it has: {known})")]
    UnknownEvent {
        /// The webhook.
        webhook: Webhook,
        /// What was asked for.
        event: String,
        /// Its events, comma-separated.
        known: String,
    },
}

/// What a sample becomes once applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A call of this provider with this id.
    Call(String),
    /// A WhatsApp message of this conversation and message id.
    Message {
        /// The conversation.
        conversation: String,
        /// The message.
        message: String,
    },
    /// A contact (Voki customer) with this id.
    Contact(String),
}

/// One delivery, ready to send to its webhook's URL.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Where it goes.
    pub webhook: Webhook,
    /// What it is (`call.completed`, `message.read`, ...).
    pub event: &'static str,
    /// The query string to append to the URL (`token=...`), or empty.
    pub query: String,
    /// The request headers: content type, authentication, Voki's event and delivery ids.
    pub headers: Vec<(&'static str, String)>,
    /// The exact body.
    pub body: Vec<u8>,
    /// The record it becomes.
    pub target: Target,
}

impl Sample {
    /// The headers as `(&str, &str)` pairs.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }

    /// The URL suffix: `?<query>`, or nothing.
    pub fn suffix(&self) -> String {
        if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        }
    }

    /// The sample with another body, authenticated again with `keyring` (for Hatif, with the
    /// secrets of the body's `channelId`).
    pub fn with_body(&self, body: &Value, keyring: &Keyring) -> Result<Self, SampleError> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let channel = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["channelId"].as_str().map(str::to_owned));
        let mut sample = Self {
            body,
            headers: self
                .headers
                .iter()
                .filter(|(n, _)| !matches!(self.webhook.auth(), Auth::Signature { header, .. } if header == *n))
                .cloned()
                .collect(),
            ..self.clone()
        };
        authenticate(&mut sample, keyring, channel.as_deref())?;
        Ok(sample)
    }

    /// The body as JSON (every sample body is JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn example(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
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

fn first_secret<'k>(keyring: &'k Keyring, key: Option<&str>) -> Option<&'k Secret> {
    keyring
        .for_key(key)
        .and_then(|set| set.iter().next())
        .map(|(_, s)| s)
}

/// Adds the authentication `sample.webhook` requires, with a secret of `keyring` (for a
/// per-channel webhook, one of `channel`'s or the default ones).
fn authenticate(
    sample: &mut Sample,
    keyring: &Keyring,
    channel: Option<&str>,
) -> Result<(), SampleError> {
    let no_secret = || SampleError::NoSecret(sample.webhook.name().to_owned());
    match sample.webhook.auth() {
        Auth::Signature {
            header,
            scheme,
            per_channel,
        } => {
            let key = if per_channel { channel } else { None };
            let secret = first_secret(keyring, key).ok_or_else(no_secret)?;
            sample
                .headers
                .push((header, scheme.sign(secret, &sample.body)));
        }
        Auth::Token => {
            let secret = first_secret(keyring, None).ok_or_else(no_secret)?;
            sample.query = SharedToken::query(secret);
        }
    }
    Ok(())
}

fn build(
    webhook: Webhook,
    event: &'static str,
    mut body: Value,
    with_files: bool,
    target: Target,
    keyring: &Keyring,
    channel: Option<&str>,
) -> Result<Sample, SampleError> {
    if !with_files {
        strip_urls(&mut body);
    }
    let mut sample = Sample {
        webhook,
        event,
        query: String::new(),
        headers: vec![("content-type", "application/json".into())],
        body: serde_json::to_vec(&body).unwrap_or_default(),
        target,
    };
    authenticate(&mut sample, keyring, channel)?;
    Ok(sample)
}

/// A VoiceInfra call completed about `call_id`.
pub fn voiceinfra(
    keyring: &Keyring,
    call_id: &str,
    with_files: bool,
) -> Result<Sample, SampleError> {
    let mut body = example(fixtures::VOICEINFRA);
    body["call_id"] = json!(call_id);
    let target = Target::Call(call_id.to_owned());
    build(
        Webhook::VoiceInfra,
        "call.completed",
        body,
        with_files,
        target,
        keyring,
        None,
    )
}

/// A Hatif call about `call_id` through `channel`, signed with that channel's secret (or the
/// default one when the channel has none).
pub fn hatif_call(
    keyring: &Keyring,
    call_id: &str,
    channel: &str,
    with_files: bool,
) -> Result<Sample, SampleError> {
    let mut body = example(fixtures::HATIF_CALL);
    body["callId"] = json!(call_id);
    body["channelId"] = json!(channel);
    let target = Target::Call(call_id.to_owned());
    build(
        Webhook::HatifCall,
        "call.completed",
        body,
        with_files,
        target,
        keyring,
        Some(channel),
    )
}

/// The WhatsApp statuses, as Hatif writes them, by event type.
const WHATSAPP_STATUSES: [(&str, &str); 4] = [
    ("message.sent", "Sent"),
    ("message.delivered", "Delivered"),
    ("message.read", "Read"),
    ("message.failed", "Failed"),
];

/// A Hatif WhatsApp message status update (`event`: `message.sent`, `message.delivered`,
/// `message.read` or `message.failed`).
pub fn hatif_whatsapp(
    keyring: &Keyring,
    conversation: &str,
    message: &str,
    event: &str,
    channel: &str,
    with_files: bool,
) -> Result<Sample, SampleError> {
    let (event, status) = WHATSAPP_STATUSES
        .into_iter()
        .find(|(e, _)| *e == event)
        .ok_or_else(|| unknown(Webhook::HatifWhatsApp, event))?;
    let mut body = example(fixtures::HATIF_WHATSAPP);
    body["conversationId"] = json!(conversation);
    body["messageId"] = json!(message);
    body["status"] = json!(status);
    body["channelId"] = json!(channel);
    let target = Target::Message {
        conversation: conversation.to_owned(),
        message: message.to_owned(),
    };
    build(
        Webhook::HatifWhatsApp,
        event,
        body,
        with_files,
        target,
        keyring,
        Some(channel),
    )
}

/// A Voki event about call (or, for `customer.created`, customer) `id`, under delivery id
/// `delivery`.
pub fn voki(
    keyring: &Keyring,
    event: Event,
    id: &str,
    delivery: &str,
) -> Result<Sample, SampleError> {
    let mut body = example(fixtures::VOKI_CALL_COMPLETED);
    body["event"] = json!(event.name());
    let target = if event == Event::CustomerCreated {
        body["data"] = json!({"id": id, "name": "Ana Souza", "email": "ana@example.com", "phone": "+55 11 91234-5678"});
        Target::Contact(id.to_owned())
    } else {
        body["data"]["id"] = json!(id);
        Target::Call(id.to_owned())
    };
    let mut sample = build(
        Webhook::Voki,
        event.name(),
        body,
        false,
        target,
        keyring,
        None,
    )?;
    sample.headers.push((
        callvault_records::voki::EVENT_HEADER,
        event.name().to_owned(),
    ));
    sample.headers.push((
        callvault_records::voki::DELIVERY_HEADER,
        delivery.to_owned(),
    ));
    Ok(sample)
}

/// A post-call delivery about `call_id`, with the token in the query.
pub fn postcall(keyring: &Keyring, call_id: &str, with_files: bool) -> Result<Sample, SampleError> {
    let mut body = example(fixtures::POSTCALL);
    body["callId"] = json!(call_id);
    let target = Target::Call(call_id.to_owned());
    build(
        Webhook::PostCall,
        "call.completed",
        body,
        with_files,
        target,
        keyring,
        None,
    )
}

fn unknown(webhook: Webhook, event: &str) -> SampleError {
    SampleError::UnknownEvent {
        webhook,
        event: event.to_owned(),
        known: webhook.events().join(", "),
    }
}

/// The sample of one webhook and event type, with ids ending in `run` (Voki's call events of
/// one run are about one call; Hatif's from the documented channel).
pub fn of_event(
    keyring: &Keyring,
    webhook: Webhook,
    event: &str,
    run: &str,
    with_files: bool,
) -> Result<Sample, SampleError> {
    match webhook {
        Webhook::VoiceInfra | Webhook::HatifCall | Webhook::PostCall
            if event != "call.completed" =>
        {
            Err(unknown(webhook, event))
        }
        Webhook::VoiceInfra => voiceinfra(keyring, &format!("vi-{run}"), with_files),
        Webhook::HatifCall => hatif_call(keyring, &format!("hc-{run}"), HATIF_CHANNEL, with_files),
        Webhook::HatifWhatsApp => hatif_whatsapp(
            keyring,
            &format!("conv-{run}"),
            &format!("msg-{run}"),
            event,
            HATIF_CHANNEL,
            with_files,
        ),
        Webhook::Voki => {
            let voki_event = Event::ALL
                .into_iter()
                .find(|e| e.name() == event)
                .ok_or_else(|| unknown(webhook, event))?;
            let id = if voki_event == Event::CustomerCreated {
                format!("customer-{run}")
            } else {
                format!("vk-{run}")
            };
            voki(keyring, voki_event, &id, &format!("delivery-{event}-{run}"))
        }
        Webhook::PostCall => postcall(keyring, &format!("pc-{run}"), with_files),
    }
}

/// Every webhook and event type once, with ids ending in `run`, each authenticated with the
/// keyring `keyring_of` gives for its webhook.
pub fn every_kind(
    keyring_of: impl Fn(Webhook) -> Keyring,
    run: &str,
    with_files: bool,
) -> Result<Vec<Sample>, SampleError> {
    let mut samples = Vec::new();
    for webhook in Webhook::ALL {
        let keyring = keyring_of(webhook);
        for event in webhook.events() {
            samples.push(of_event(&keyring, webhook, event, run, with_files)?);
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_verify::{HmacSha256Hex, Unverified};

    fn keyring() -> Keyring {
        Keyring::from_json(
            r#"{"secrets":{"d":"default-secret"},"channels":{"5f6d08bc-455a-4532-98b8-19e2cee51160":{"c":"channel-secret"}}}"#,
        )
        .expect("keyring")
    }

    #[test]
    fn every_event_of_every_webhook_has_a_sample_that_verifies() {
        let samples = every_kind(|_| keyring(), "r1", false).expect("samples");
        let count: usize = Webhook::ALL.iter().map(|w| w.events().len()).sum();
        assert_eq!(samples.len(), count);
        for s in &samples {
            let verified = match s.webhook.auth() {
                Auth::Signature {
                    header,
                    scheme,
                    per_channel,
                } => {
                    let signature = s
                        .headers
                        .iter()
                        .find(|(n, _)| *n == header)
                        .map(|(_, v)| v.as_str());
                    let channel = per_channel.then_some(HATIF_CHANNEL);
                    Unverified::new(s.body.clone()).verify_keyed_signature(
                        scheme,
                        signature,
                        &keyring(),
                        channel,
                    )
                }
                Auth::Token => {
                    let token = SharedToken::from_query(&s.query);
                    let tokens = keyring();
                    Unverified::new(s.body.clone())
                        .verify_token(token.as_deref(), tokens.default_set().expect("set"))
                }
            };
            assert!(verified.is_ok(), "{} {}", s.webhook, s.event);
            assert!(
                !s.body.windows(4).any(|w| w == b"http"),
                "no file URLs: {} {}",
                s.webhook,
                s.event
            );
        }
        let hatif = samples
            .iter()
            .find(|s| s.webhook == Webhook::HatifCall)
            .expect("hatif");
        let signature = &hatif.headers[1].1;
        assert_eq!(
            signature,
            &HmacSha256Hex::BARE.sign(&Secret::new("channel-secret"), &hatif.body),
            "signed with the channel's own secret"
        );
    }

    #[test]
    fn unknown_events_name_the_known_ones() {
        let err =
            of_event(&keyring(), Webhook::Voki, "call.held", "r", false).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "voki has no event \"call.held\" (it has: call.created, call.assigned, call.started, call.completed, call.missed, customer.created)"
        );
        let tokens_only = Keyring::from_json(r#"{"channels":{"x":{"c":"s"}}}"#).expect("keyring");
        assert_eq!(
            postcall(&tokens_only, "c", false).map(|_| ()),
            Err(SampleError::NoSecret("postcall".into()))
        );
    }
}
