//! What callvault serves, in one place: the [`Webhook`]s (each one function behind one URL),
//! with the provider, the secret, the authentication and the event types of each; and
//! [`samples`]: signed sample deliveries of every webhook and event type, built from the
//! providers' documented examples. Pure: no I/O.
//!
//! Every caller matches on [`Webhook`] (the functions' wiring, replay, the CLI, the tests),
//! and the scripts ask `callvault-devstack functions` for the list, so adding a webhook is a
//! compile error everywhere it must be handled.

pub mod samples;

use callvault_records::{hatif, voiceinfra, voki, Provider};
use callvault_verify::HmacSha256Hex;

/// A webhook: one provider endpoint, one Lambda function, one Function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Webhook {
    /// VoiceInfra's call completed.
    VoiceInfra,
    /// Hatif's Call Webhook.
    HatifCall,
    /// Hatif's WhatsApp Message Webhook.
    HatifWhatsApp,
    /// Voki's call and customer events.
    Voki,
    /// The Post-Call Webhook API.
    PostCall,
}

/// How a webhook's deliveries are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// An HMAC-SHA256 signature of the raw body in `header`.
    Signature {
        /// The header (lowercase).
        header: &'static str,
        /// The signature's form.
        scheme: HmacSha256Hex,
        /// Whether the secret is chosen by the body's channel (Hatif's `channelId`).
        per_channel: bool,
    },
    /// A shared token, `?token=` or `Authorization: Bearer`.
    Token,
}

impl Webhook {
    /// Every webhook, in a fixed order.
    pub const ALL: [Webhook; 5] = [
        Self::VoiceInfra,
        Self::HatifCall,
        Self::HatifWhatsApp,
        Self::Voki,
        Self::PostCall,
    ];

    /// The function's (and binary's) name, stored with every kept delivery.
    pub fn name(self) -> &'static str {
        match self {
            Self::VoiceInfra => "voiceinfra",
            Self::HatifCall => "hatif-call",
            Self::HatifWhatsApp => "hatif-whatsapp",
            Self::Voki => "voki",
            Self::PostCall => "postcall",
        }
    }

    /// The webhook with this function name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The provider.
    pub fn provider(self) -> Provider {
        match self {
            Self::VoiceInfra => Provider::VoiceInfra,
            Self::HatifCall | Self::HatifWhatsApp => Provider::Hatif,
            Self::Voki => Provider::Voki,
            Self::PostCall => Provider::PostCall,
        }
    }

    /// The environment variable holding its secrets JSON (`<it>_ARN`: a Secrets Manager
    /// secret holding it).
    pub fn secret_var(self) -> &'static str {
        match self {
            Self::VoiceInfra => "VOICEINFRA_WEBHOOK_SECRETS",
            Self::HatifCall | Self::HatifWhatsApp => "HATIF_WEBHOOK_SECRETS",
            Self::Voki => "VOKI_WEBHOOK_SECRETS",
            Self::PostCall => "POSTCALL_TOKENS",
        }
    }

    /// The name of its Secrets Manager secret within a stack (`<stack>/<this>`): both Hatif
    /// webhooks read one secret.
    pub fn secret_name(self) -> &'static str {
        match self {
            Self::VoiceInfra => "voiceinfra",
            Self::HatifCall | Self::HatifWhatsApp => "hatif",
            Self::Voki => "voki",
            Self::PostCall => "postcall",
        }
    }

    /// Whether the provider's secret is optional (unsigned deliveries can be allowed with
    /// `ALLOW_UNSIGNED` when none is configured).
    pub fn secret_optional(self) -> bool {
        matches!(
            self,
            Self::VoiceInfra | Self::HatifCall | Self::HatifWhatsApp
        )
    }

    /// How its deliveries are authenticated.
    pub fn auth(self) -> Auth {
        match self {
            Self::VoiceInfra => Auth::Signature {
                header: voiceinfra::SIGNATURE_HEADER,
                scheme: HmacSha256Hex::BARE,
                per_channel: false,
            },
            Self::HatifCall | Self::HatifWhatsApp => Auth::Signature {
                header: hatif::SIGNATURE_HEADER,
                scheme: HmacSha256Hex::BARE,
                per_channel: true,
            },
            Self::Voki => Auth::Signature {
                header: voki::SIGNATURE_HEADER,
                scheme: HmacSha256Hex::SHA256_PREFIXED,
                per_channel: false,
            },
            Self::PostCall => Auth::Token,
        }
    }

    /// The infrastructure template's output holding its URL.
    pub fn url_output(self) -> &'static str {
        match self {
            Self::VoiceInfra => "VoiceInfraWebhookUrl",
            Self::HatifCall => "HatifCallWebhookUrl",
            Self::HatifWhatsApp => "HatifWhatsAppWebhookUrl",
            Self::Voki => "VokiWebhookUrl",
            Self::PostCall => "PostCallWebhookUrl",
        }
    }

    /// The template's output holding the ARN of its secret.
    pub fn secret_output(self) -> &'static str {
        match self {
            Self::VoiceInfra => "VoiceInfraSecretArn",
            Self::HatifCall | Self::HatifWhatsApp => "HatifSecretArn",
            Self::Voki => "VokiSecretArn",
            Self::PostCall => "PostCallSecretArn",
        }
    }

    /// Where the provider takes this webhook's URL and secret (`docs/providers/`).
    pub fn where_to_paste(self) -> &'static str {
        match self {
            Self::VoiceInfra => {
                "VoiceInfra dashboard: Settings > Webhooks > Add Webhook (URL and Secret)"
            }
            Self::HatifCall => {
                "Hatif configures webhooks on request: send the Hatif team the channel's call webhook URL and its webhookSecret"
            }
            Self::HatifWhatsApp => {
                "Hatif configures webhooks on request: send the Hatif team the channel's WhatsApp message webhook URL and its webhookSecret"
            }
            Self::Voki => "Voki Manager Panel: Settings > Webhooks > New Webhook (URL and Secret)",
            Self::PostCall => "the agent's webhooks.postCall: the URL, with its ?token=",
        }
    }

    /// The event types it receives, as stored with each delivery.
    pub fn events(self) -> &'static [&'static str] {
        match self {
            Self::VoiceInfra | Self::HatifCall | Self::PostCall => &["call.completed"],
            Self::HatifWhatsApp => &[
                "message.sent",
                "message.delivered",
                "message.read",
                "message.failed",
            ],
            Self::Voki => &[
                "call.created",
                "call.assigned",
                "call.started",
                "call.completed",
                "call.missed",
                "customer.created",
            ],
        }
    }
}

impl std::fmt::Display for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_voki_events_are_the_documented_six() {
        for webhook in Webhook::ALL {
            assert_eq!(Webhook::from_name(webhook.name()), Some(webhook));
        }
        assert_eq!(Webhook::from_name("other"), None);
        let names: Vec<_> = voki::Event::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(Webhook::Voki.events(), names.as_slice());
    }
}
