use serde::{Deserialize, Serialize};

/// A webhook provider whose deliveries callvault receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Hatif (call and WhatsApp webhooks, `X-Voxa-Signature`).
    Hatif,
    /// VoiceInfra (call completed, `X-VoiceInfra-Signature`).
    #[serde(rename = "voiceinfra")]
    VoiceInfra,
    /// Voki (call lifecycle and customer events, `X-Voki-Signature`).
    Voki,
    /// The unsigned Post-Call Webhook API (shared token).
    #[serde(rename = "postcall")]
    PostCall,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 4] = [Self::Hatif, Self::VoiceInfra, Self::Voki, Self::PostCall];

    /// The lowercase name used in keys, logs and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hatif => "hatif",
            Self::VoiceInfra => "voiceinfra",
            Self::Voki => "voki",
            Self::PostCall => "postcall",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
