//! The catalog's sample deliveries (`callvault_catalog::samples`), authenticated with the
//! development secrets the functions under test use (`dev.env`, in the environment).

use callvault_catalog::samples as catalog;
use callvault_catalog::Webhook;
use callvault_records::voki::Event;
use callvault_verify::Keyring;

pub use callvault_catalog::samples::{Sample, HATIF_CHANNEL};

/// The development keyring of `webhook`.
pub fn keyring(webhook: Webhook) -> anyhow::Result<Keyring> {
    let var = webhook.secret_var();
    let json = std::env::var(var).map_err(|_| {
        anyhow::anyhow!("{var} is not set: run the end-to-end tests with `make test-e2e`")
    })?;
    Ok(Keyring::from_json(&json)?)
}

/// A signed VoiceInfra call completed, without file URLs unless `with_files`.
pub fn voiceinfra(call_id: &str, with_files: bool) -> anyhow::Result<Sample> {
    Ok(catalog::voiceinfra(
        &keyring(Webhook::VoiceInfra)?,
        call_id,
        with_files,
    )?)
}

/// A Hatif call, signed with the secret of `channel`.
pub fn hatif_call(call_id: &str, channel: &str, with_files: bool) -> anyhow::Result<Sample> {
    Ok(catalog::hatif_call(
        &keyring(Webhook::HatifCall)?,
        call_id,
        channel,
        with_files,
    )?)
}

/// A Hatif WhatsApp status update (`message.sent`, ...), signed with the secret of `channel`.
pub fn hatif_whatsapp(
    conversation: &str,
    message: &str,
    event: &str,
    channel: &str,
) -> anyhow::Result<Sample> {
    Ok(catalog::hatif_whatsapp(
        &keyring(Webhook::HatifWhatsApp)?,
        conversation,
        message,
        event,
        channel,
        false,
    )?)
}

/// A Voki event about `id`, under delivery id `delivery`.
pub fn voki(event: Event, id: &str, delivery: &str) -> anyhow::Result<Sample> {
    Ok(catalog::voki(
        &keyring(Webhook::Voki)?,
        event,
        id,
        delivery,
    )?)
}

/// A post-call delivery with the token in the query.
pub fn postcall(call_id: &str, with_files: bool) -> anyhow::Result<Sample> {
    Ok(catalog::postcall(
        &keyring(Webhook::PostCall)?,
        call_id,
        with_files,
    )?)
}

/// Every webhook and event type once, with ids ending in `run` and no file URLs.
pub fn every_kind(run: &str) -> anyhow::Result<Vec<Sample>> {
    let keyrings = Webhook::ALL
        .into_iter()
        .map(|w| Ok((w, keyring(w)?)))
        .collect::<anyhow::Result<std::collections::BTreeMap<_, _>>>()?;
    Ok(catalog::every_kind(|w| keyrings[&w].clone(), run, false)?)
}

/// Re-authenticates `sample` after its body changed (Hatif: with the body's channel).
pub fn with_body(sample: &Sample, body: &serde_json::Value) -> anyhow::Result<Sample> {
    Ok(sample.with_body(body, &keyring(sample.webhook)?)?)
}
