//! VoiceInfra adapter: bare-hex HMAC-SHA256 in `X-VoiceInfra-Signature`; idempotent by `call_id`.

use callvault_records::{voiceinfra, ParseError, Provider};
use callvault_verify::{HmacSha256Hex, Keyring, Unverified, Verified, VerifyError};

use crate::{Adapter, Ingested, RequestView};

/// Environment variable holding VoiceInfra's secrets (JSON, see `Keyring`).
pub const SECRETS_VAR: &str = "VOICEINFRA_WEBHOOK_SECRETS";

/// The VoiceInfra webhook.
#[derive(Debug, Clone)]
pub struct VoiceInfra {
    keyring: Keyring,
}

impl VoiceInfra {
    /// An adapter checking signatures against `keyring`'s default set.
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }
}

impl Adapter for VoiceInfra {
    const PROVIDER: Provider = Provider::VoiceInfra;

    fn authenticate(&self, request: RequestView<'_>, body: Unverified) -> Result<Verified, VerifyError> {
        let secrets = self.keyring.default_set().ok_or(VerifyError::NoSecret)?;
        body.verify_signature(HmacSha256Hex::BARE, request.header(voiceinfra::SIGNATURE_HEADER), secrets)
    }

    fn ingest(&self, _request: RequestView<'_>, verified: &Verified) -> Result<Ingested, ParseError> {
        let record = voiceinfra::normalize(voiceinfra::parse(verified.body())?);
        Ok(Ingested {
            delivery_id: record.provider_call_id.clone(),
            record,
        })
    }
}
