//! Hatif webhooks: call completed and WhatsApp message, both signed with lowercase hex
//! HMAC-SHA256 in `X-Voxa-Signature`, keyed by the channel's `webhookSecret`.

pub mod call;
pub mod whatsapp;

use serde::Deserialize;

/// The header carrying Hatif's signature.
pub const SIGNATURE_HEADER: &str = "x-voxa-signature";

#[derive(Deserialize)]
struct ChannelOnly {
    #[serde(rename = "channelId")]
    channel_id: Option<String>,
}

/// The `channelId` of an (unverified) body, which selects the secret to check it with.
/// `None` when the body is not JSON or has no channel.
pub fn channel_id(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ChannelOnly>(body).ok()?.channel_id
}

#[cfg(test)]
mod tests {
    #[test]
    fn channel_lookup_tolerates_anything() {
        assert_eq!(
            super::channel_id(br#"{"channelId":"c1","x":1}"#).as_deref(),
            Some("c1")
        );
        assert_eq!(super::channel_id(b"{}"), None);
        assert_eq!(super::channel_id(b"garbage"), None);
        assert_eq!(super::channel_id(br#"{"channelId":5}"#), None);
    }
}
