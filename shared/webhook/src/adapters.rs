//! The provider adapters: one per webhook function.

use std::sync::Arc;

use aws_config::SdkConfig;
use callvault_catalog::Webhook;
use callvault_records::{hatif, postcall, voiceinfra, voki, Normalized, ParseError};

use callvault_verify::{HmacSha256Hex, Scope, SharedToken, Unverified, Verified, VerifyError};
use chrono::{DateTime, Utc};

use crate::secrets::Secrets;
use crate::{config, Adapter, Ingested, RequestView};

/// How a provider whose secret is optional authenticates: with a keyring, or (only when the
/// operator set `ALLOW_UNSIGNED` and configured no secret) not at all.
#[derive(Debug, Clone)]
pub enum Signing {
    /// Signatures are required and checked against these secrets.
    Required(Arc<Secrets>),
    /// Deliveries are accepted unsigned and stored as `unsigned`.
    AllowUnsigned,
}

impl Signing {
    fn secrets(&self) -> Option<&Arc<Secrets>> {
        match self {
            Self::Required(secrets) => Some(secrets),
            Self::AllowUnsigned => None,
        }
    }

    /// Checks a signature with the default secrets.
    fn verify(
        &self,
        scheme: HmacSha256Hex,
        header: Option<&str>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        match self {
            Self::Required(secrets) => {
                let keyring = secrets.keyring();
                let set = keyring.default_set().ok_or(VerifyError::NoSecret)?;
                body.verify_signature(scheme, header, set)
            }
            Self::AllowUnsigned => Ok(body.accept_unsigned()),
        }
    }

    /// Checks a signature with the secrets of `key` (a Hatif channel), or the default ones,
    /// remembering which.
    fn verify_keyed(
        &self,
        scheme: HmacSha256Hex,
        header: Option<&str>,
        key: Option<&str>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        match self {
            Self::Required(secrets) => {
                body.verify_keyed_signature(scheme, header, &secrets.keyring(), key)
            }
            Self::AllowUnsigned => Ok(body.accept_unsigned()),
        }
    }
}

/// The scope of a Hatif record: the channel its body names, whose secrets verified it (its
/// own, or the default ones while it has none), or the default for a body naming none (also
/// for unsigned deliveries, which no channel's secret vouches for).
fn hatif_scope(verified: &Verified) -> Option<Scope> {
    Some(verified.scope().cloned().unwrap_or(Scope::Default))
}

/// VoiceInfra: bare-hex HMAC-SHA256 in `X-VoiceInfra-Signature`; the record is the `call_id`'s.
#[derive(Debug, Clone)]
pub struct VoiceInfra(pub Signing);

impl Adapter for VoiceInfra {
    const WEBHOOK: Webhook = Webhook::VoiceInfra;

    async fn load(sdk: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self(
            config::signing(sdk, Self::WEBHOOK.secret_var()).await?,
        ))
    }

    fn secrets(&self) -> Option<&Arc<Secrets>> {
        self.0.secrets()
    }

    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        self.0.verify(
            HmacSha256Hex::BARE,
            request.header(voiceinfra::SIGNATURE_HEADER),
            body,
        )
    }

    fn ingest(
        _: RequestView<'_>,
        verified: &Verified,
        _: DateTime<Utc>,
    ) -> Result<Ingested, ParseError> {
        let record = voiceinfra::normalize(voiceinfra::parse(verified.body())?);
        Ok(Ingested {
            delivery_id: None,
            event_type: "call.completed".into(),
            record: Normalized::Call(record),
            transcript_pointer: Some(voiceinfra::TRANSCRIPT_POINTER),
            scope: None,
        })
    }
}

/// Hatif call webhook: lowercase hex HMAC-SHA256 in `X-Voxa-Signature` with the secret of
/// the body's `channelId`; the record is the `callId`'s.
#[derive(Debug, Clone)]
pub struct HatifCall(pub Signing);

impl Adapter for HatifCall {
    const WEBHOOK: Webhook = Webhook::HatifCall;

    async fn load(sdk: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self(
            config::signing(sdk, Self::WEBHOOK.secret_var()).await?,
        ))
    }

    fn secrets(&self) -> Option<&Arc<Secrets>> {
        self.0.secrets()
    }

    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        hatif_authenticate(&self.0, request, body)
    }

    fn ingest(
        _: RequestView<'_>,
        verified: &Verified,
        _: DateTime<Utc>,
    ) -> Result<Ingested, ParseError> {
        let record = hatif::call::normalize(hatif::call::parse(verified.body())?);
        Ok(Ingested {
            delivery_id: None,
            event_type: "call.completed".into(),
            record: Normalized::Call(record),
            transcript_pointer: Some(hatif::call::TRANSCRIPT_POINTER),
            scope: hatif_scope(verified),
        })
    }
}

/// Hatif's signature, shared by its call and WhatsApp webhooks: bare lowercase hex in
/// `X-Voxa-Signature`, with the secret of the body's `channelId` (or the default one).
fn hatif_authenticate(
    signing: &Signing,
    request: RequestView<'_>,
    body: Unverified,
) -> Result<Verified, VerifyError> {
    let channel = hatif::channel_id(body.body());
    signing.verify_keyed(
        HmacSha256Hex::BARE,
        request.header(hatif::SIGNATURE_HEADER),
        channel.as_deref(),
        body,
    )
}

/// Hatif WhatsApp message webhook: same signature as calls; idempotent by message id and
/// status, so each status update is applied once.
#[derive(Debug, Clone)]
pub struct HatifWhatsApp(pub Signing);

impl Adapter for HatifWhatsApp {
    const WEBHOOK: Webhook = Webhook::HatifWhatsApp;

    async fn load(sdk: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self(
            config::signing(sdk, Self::WEBHOOK.secret_var()).await?,
        ))
    }

    fn secrets(&self) -> Option<&Arc<Secrets>> {
        self.0.secrets()
    }

    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        hatif_authenticate(&self.0, request, body)
    }

    fn ingest(
        _: RequestView<'_>,
        verified: &Verified,
        received_at: DateTime<Utc>,
    ) -> Result<Ingested, ParseError> {
        let payload = hatif::whatsapp::parse(verified.body())?;
        let record = hatif::whatsapp::normalize(payload, received_at);
        Ok(Ingested {
            event_type: format!(
                "message.{}",
                record
                    .provider_status
                    .as_deref()
                    .unwrap_or("unknown")
                    .to_ascii_lowercase()
            ),
            delivery_id: None,
            record: Normalized::Message(record),
            transcript_pointer: None,
            scope: hatif_scope(verified),
        })
    }
}

/// Voki: `sha256=<hex>` in `X-Voki-Signature`; `X-Voki-Delivery` (reused on resend) is kept
/// as the delivery's id.
#[derive(Debug, Clone)]
pub struct Voki(pub Arc<Secrets>);

impl Adapter for Voki {
    const WEBHOOK: Webhook = Webhook::Voki;

    async fn load(sdk: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self(
            config::secrets(sdk, Self::WEBHOOK.secret_var()).await?,
        ))
    }

    fn secrets(&self) -> Option<&Arc<Secrets>> {
        Some(&self.0)
    }

    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        let keyring = self.0.keyring();
        let set = keyring.default_set().ok_or(VerifyError::NoSecret)?;
        body.verify_signature(
            HmacSha256Hex::SHA256_PREFIXED,
            request.header(voki::SIGNATURE_HEADER),
            set,
        )
    }

    fn ingest(
        request: RequestView<'_>,
        verified: &Verified,
        _: DateTime<Utc>,
    ) -> Result<Ingested, ParseError> {
        let envelope = voki::parse(verified.body())?;
        let delivery_id = request
            .header(voki::DELIVERY_HEADER)
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(200).collect());
        let event_type = envelope.event.name().to_owned();
        Ok(Ingested {
            delivery_id,
            event_type,
            record: voki::normalize(envelope),
            transcript_pointer: None,
            scope: None,
        })
    }
}

/// The Post-Call Webhook API: no signature, so a shared token (`?token=` or
/// `Authorization: Bearer`) is required; the record is the `callId`'s. It never retries.
#[derive(Debug, Clone)]
pub struct PostCall(pub Arc<Secrets>);

impl Adapter for PostCall {
    const WEBHOOK: Webhook = Webhook::PostCall;

    async fn load(sdk: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self(
            config::secrets(sdk, Self::WEBHOOK.secret_var()).await?,
        ))
    }

    fn secrets(&self) -> Option<&Arc<Secrets>> {
        Some(&self.0)
    }

    fn authenticate(
        &self,
        request: RequestView<'_>,
        body: Unverified,
    ) -> Result<Verified, VerifyError> {
        let keyring = self.0.keyring();
        let tokens = keyring.default_set().ok_or(VerifyError::NoSecret)?;
        let presented = SharedToken::presented(request.query, request.header("authorization"));
        body.verify_token(presented.as_deref(), tokens)
    }

    fn ingest(
        _: RequestView<'_>,
        verified: &Verified,
        _: DateTime<Utc>,
    ) -> Result<Ingested, ParseError> {
        let record = postcall::normalize(postcall::parse(verified.body())?);
        Ok(Ingested {
            delivery_id: None,
            event_type: "call.completed".into(),
            record: Normalized::Call(record),
            transcript_pointer: None,
            scope: None,
        })
    }
}
