//! Hatif "WhatsApp Message Webhook".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::payload::{payload, Time};
use crate::storable::{self, require_storable};
use crate::{
    from_json, optional_id, require_id, Direction, FileRef, Location, MessageRecord, MessageStatus,
    ParseError, Provider,
};

payload! {
    /// The documented payload. `conversationId` and `messageId` are required.
    pub struct Payload {
        /// Workspace.
        "workspaceId" => pub workspace_id: Option<String>,
        /// Channel (selects the secret).
        "channelId" => pub channel_id: Option<String>,
        /// Conversation.
        "conversationId" => pub conversation_id: String,
        /// Contact.
        "contactId" => pub contact_id: Option<String>,
        /// Message id.
        "messageId" => pub message_id: String,
        /// `Inbound` or `Outbound`.
        "direction" => pub direction: Option<String>,
        /// `Text`, `Image`, ...
        "messageType" => pub message_type: Option<String>,
        /// Text body.
        "body" => pub body: Option<String>,
        /// Media URL.
        "mediaUrl" => pub media_url: Option<String>,
        /// Media MIME type.
        "mimeType" => pub mime_type: Option<String>,
        /// `Sent`, `Delivered`, `Read`, `Failed`, ...
        "status" => pub status: Option<String>,
        /// Sending workspace user.
        "senderUserId" => pub sender_user_id: Option<String>,
        /// Latitude (location messages).
        "latitude" => pub latitude: Option<f64>,
        /// Longitude (location messages).
        "longitude" => pub longitude: Option<f64>,
        /// Message creation time.
        "creationTime" => pub creation_time: Option<DateTime<Utc>> as Time,
        /// Billable flag.
        "isBillable" => pub is_billable: Option<bool>,
        /// Error code.
        "errorCode" => pub error_code: Option<i64>,
        /// Error reason.
        "errorReason" => pub error_reason: Option<String>,
    }
}

/// Parses a raw body. `conversationId`, `messageId` and `channelId` (parts of storage keys)
/// are at most [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes, and coordinates are numbers
/// DynamoDB can store.
pub fn parse(body: &[u8]) -> Result<Payload, ParseError> {
    let payload: Payload = from_json(body)?;
    require_id("conversationId", &payload.conversation_id)?;
    require_id("messageId", &payload.message_id)?;
    optional_id("channelId", payload.channel_id.as_deref())?;
    require_storable("latitude", payload.latitude)?;
    require_storable("longitude", payload.longitude)?;
    Ok(payload)
}

/// Normalizes a parsed payload; `received_at` stamps the status it reports. Numbers DynamoDB
/// cannot store in `extras` are kept as text ([`storable_numbers`](crate::storable_numbers)).
pub fn normalize(p: Payload, received_at: DateTime<Utc>) -> MessageRecord {
    let status = p
        .status
        .as_deref()
        .map_or(MessageStatus::Unknown, MessageStatus::from_provider);
    let is_location = p
        .message_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("location"));
    let location = match (p.latitude, p.longitude) {
        (Some(latitude), Some(longitude)) if is_location || latitude != 0.0 || longitude != 0.0 => {
            Some(Location {
                latitude,
                longitude,
            })
        }
        _ => None,
    };
    let direction = match p
        .direction
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        _ => None,
    };
    let mut status_times = BTreeMap::new();
    if let Some(s) = &p.status {
        status_times.insert(s.to_ascii_lowercase(), received_at);
    }
    let mut record = MessageRecord {
        provider: Provider::Hatif,
        conversation_id: p.conversation_id,
        message_id: p.message_id,
        workspace_id: p.workspace_id,
        channel_id: p.channel_id,
        contact_id: p.contact_id,
        direction,
        message_type: p.message_type,
        body: p.body,
        media: FileRef::from_url(p.media_url),
        mime_type: p.mime_type,
        status,
        provider_status: p.status,
        status_times,
        sender_user_id: p.sender_user_id,
        location,
        billable: p.is_billable,
        error_code: p.error_code,
        error_reason: p.error_reason,
        created_at: p.creation_time,
        extras: p.extra,
    };
    storable::message(&mut record);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!("../../../../tests/fixtures/hatif-whatsapp.json");

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    #[test]
    fn seed_payload_normalizes_every_field() {
        let p = parse(SEED).expect("seed parses");
        let m = normalize(p, at("2026-01-01T00:00:00Z"));
        assert_eq!(m.conversation_id, "ee6e55e8-45fe-4a3e-9bc8-4669f9fdf77a");
        assert_eq!(m.message_id, "string");
        assert_eq!(
            m.workspace_id.as_deref(),
            Some("ef0efa32-d1c1-43d4-a5e2-fe7b4f00403c")
        );
        assert_eq!(
            m.channel_id.as_deref(),
            Some("5f6d08bc-455a-4532-98b8-19e2cee51160")
        );
        assert_eq!(
            m.contact_id.as_deref(),
            Some("b5ec5d98-4bee-4da1-ad24-dde86346cb1d")
        );
        assert_eq!(m.direction, Some(Direction::Inbound));
        assert_eq!(m.message_type.as_deref(), Some("Text"));
        assert_eq!(m.body.as_deref(), Some("string"));
        assert_eq!(m.media.map(|f| f.source_url).as_deref(), Some("string"));
        assert_eq!(m.mime_type.as_deref(), Some("string"));
        assert_eq!(
            (m.status, m.provider_status.as_deref()),
            (MessageStatus::Sent, Some("Sent"))
        );
        assert_eq!(
            m.sender_user_id.as_deref(),
            Some("2b0414b9-b88f-4722-84b0-333eb47e9180")
        );
        assert_eq!(m.location, None, "0,0 on a text message is no location");
        assert_eq!(m.billable, Some(true));
        assert_eq!(m.error_code, Some(0));
        assert_eq!(m.error_reason.as_deref(), Some("string"));
        assert_eq!(m.created_at, Some(at("2019-08-24T14:15:22.123Z")));
        assert_eq!(
            m.status_times.get("sent"),
            Some(&at("2026-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn statuses_never_move_backwards_in_any_order() {
        let statuses = ["Sent", "Delivered", "Read"];
        let records: Vec<MessageRecord> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let body = format!(r#"{{"conversationId":"c","messageId":"m","status":"{s}"}}"#);
                normalize(
                    parse(body.as_bytes()).expect("parses"),
                    at(&format!("2026-01-01T00:00:0{i}Z")),
                )
            })
            .collect();
        for order in [
            [0, 1, 2],
            [2, 1, 0],
            [1, 2, 0],
            [2, 0, 1],
            [0, 2, 1],
            [1, 0, 2],
        ] {
            let merged = order
                .iter()
                .map(|&i| records[i].clone())
                .reduce(MessageRecord::merge)
                .expect("3");
            assert_eq!(merged.status, MessageStatus::Read, "{order:?}");
            assert_eq!(merged.provider_status.as_deref(), Some("Read"));
            assert_eq!(merged.status_times.len(), 3);
        }
        let failed = normalize(
            parse(br#"{"conversationId":"c","messageId":"m","status":"failed"}"#).expect("p"),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(
            records[2].clone().merge(failed.clone()).status,
            MessageStatus::Failed
        );
        assert_eq!(
            failed.merge(records[0].clone()).status,
            MessageStatus::Failed
        );
    }

    #[test]
    fn location_messages_and_required_ids() {
        let m = normalize(
            parse(br#"{"conversationId":"c","messageId":"m","messageType":"Location","latitude":0,"longitude":0}"#).expect("p"),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            m.location,
            Some(Location {
                latitude: 0.0,
                longitude: 0.0
            })
        );
        assert!(parse(br#"{"conversationId":"","messageId":"m"}"#).is_err());
        assert!(parse(br#"{"conversationId":"c"}"#).is_err());
    }

    #[test]
    fn key_ids_are_at_most_256_bytes() {
        use crate::testing::check_id_limit;
        check_id_limit(
            r#"{"conversationId":"@ID@","messageId":"m"}"#,
            "conversationId",
            parse,
        );
        check_id_limit(
            r#"{"conversationId":"c","messageId":"@ID@"}"#,
            "messageId",
            parse,
        );
        check_id_limit(
            r#"{"conversationId":"c","messageId":"m","channelId":"@ID@"}"#,
            "channelId",
            parse,
        );
        let long = "x".repeat(1100);
        let body = format!(r#"{{"conversationId":"c","messageId":"{long}"}}"#);
        let err = parse(body.as_bytes()).expect_err("too long");
        assert_eq!(
            err.to_string(),
            "invalid value for `messageId`: longer than 256 bytes"
        );
        // The contact and sender are no part of any key, and are not limited.
        let body = format!(
            r#"{{"conversationId":"c","messageId":"m","contactId":"{long}","senderUserId":"{long}"}}"#
        );
        assert!(parse(body.as_bytes()).is_ok());
    }

    #[test]
    fn out_of_range_numbers_in_extras_are_kept_as_text() {
        let body = format!(
            r#"{{"conversationId":"c","messageId":"m","latitude":0.5,"longitude":-1e125,{}}}"#,
            crate::testing::UNKNOWN_NUMBERS
        );
        let m = normalize(
            parse(body.as_bytes()).expect("parses"),
            at("2026-01-01T00:00:00Z"),
        );
        crate::testing::assert_numbers_kept(&m.extras);
        assert_eq!(m.extras.len(), 2);
        assert_eq!(
            m.location,
            Some(Location {
                latitude: 0.5,
                longitude: -1e125
            })
        );
    }

    #[test]
    fn coordinates_out_of_range_are_refused() {
        for bad in ["1e200", "-1e200", "1e-200", "-1e-200"] {
            for (lat, lon, field) in [(bad, "0", "latitude"), ("0", bad, "longitude")] {
                let body = format!(
                    r#"{{"conversationId":"c","messageId":"m","latitude":{lat},"longitude":{lon}}}"#
                );
                assert_eq!(
                    parse(body.as_bytes()).err(),
                    Some(crate::testing::out_of_range(field)),
                    "{lat},{lon}"
                );
            }
        }
    }
}
