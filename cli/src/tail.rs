//! `callvault tail`: follows what is written to the table as it happens, from the table's
//! stream: deliveries applied (their event items), deliveries kept (rejected items), and file
//! copies settling (record items whose files changed).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_dynamodbstreams::types::AttributeValue;
use callvault_store::follow::{StartAt, StreamFollower};
use serde::Serialize;

/// What a followed write was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A delivery applied to its record.
    Applied,
    /// A delivery kept with its reason (not applied).
    Kept,
    /// A file's copy state changed.
    File,
}

/// One followed write.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// When it was received (deliveries) or changed (files).
    pub time: String,
    /// What it was.
    pub kind: Kind,
    /// The provider.
    pub provider: String,
    /// The event type, or the file and its state.
    pub what: String,
    /// The delivery id, or the record.
    pub id: String,
    /// Why a delivery was kept, or a file's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn text(image: &HashMap<String, AttributeValue>, name: &str) -> String {
    image
        .get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The line a stream record's new image makes, if it is something `tail` follows.
pub fn line_of(image: &HashMap<String, AttributeValue>) -> Option<Line> {
    match text(image, "kind").as_str() {
        "event" => Some(Line {
            time: text(image, "received_at"),
            kind: Kind::Applied,
            provider: text(image, "provider"),
            what: text(image, "event_type"),
            // The provider's delivery id where it sends one, else the body's digest: what
            // identifies the delivery.
            id: Some(text(image, "delivery_id"))
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| text(image, "body_sha256")),
            reason: None,
        }),
        "rejected" => Some(Line {
            time: text(image, "received_at"),
            kind: Kind::Kept,
            provider: text(image, "provider"),
            what: text(image, "webhook"),
            id: text(image, "body_sha256"),
            reason: Some(text(image, "reason")),
        }),
        "call" | "message" => {
            let files = image.get("files")?.as_m().ok()?;
            let states: Vec<String> = files
                .iter()
                .filter_map(|(kind, state)| {
                    let state = state.as_m().ok()?;
                    let status = state.get("status")?.as_s().ok()?;
                    Some(format!("{kind} {status}"))
                })
                .collect();
            let errors: Vec<String> = files
                .values()
                .filter_map(|s| s.as_m().ok()?.get("error")?.as_s().ok().cloned())
                .collect();
            Some(Line {
                time: text(image, "updated_at"),
                kind: Kind::File,
                provider: text(image, "provider"),
                what: states.join(", "),
                id: text(image, "pk"),
                reason: (!errors.is_empty()).then(|| errors.join("; ")),
            })
        }
        _ => None,
    }
}

/// Follows the stream of `table` from now on, calling `emit` for each line, until `emit`
/// returns `false`.
pub async fn follow(
    ddb: &aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: &str,
    mut emit: impl FnMut(Line) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut stream = StreamFollower::new(ddb, streams, table, StartAt::Now)
        .await
        .map_err(|e| anyhow::anyhow!("reading table {table}: {}", e.detail()))?
        .with_context(|| format!("table {table} has no stream"))?;
    loop {
        for record in stream
            .poll()
            .await
            .map_err(|e| anyhow::anyhow!(e.detail()))?
        {
            let line = record
                .dynamodb
                .and_then(|change| change.new_image)
                .and_then(|image| line_of(&image));
            if let Some(line) = line {
                if !emit(line)? {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn events_kept_deliveries_and_files_become_lines() {
        let event: HashMap<String, AttributeValue> = [
            ("kind", s("event")),
            ("provider", s("voki")),
            ("event_type", s("call.completed")),
            ("delivery_id", s("d-1")),
            ("body_sha256", s("5e1f")),
            ("received_at", s("2026-11-27T10:00:00.000Z")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let line = line_of(&event).expect("a line");
        assert_eq!(
            (line.kind, line.what.as_str(), line.id.as_str()),
            (Kind::Applied, "call.completed", "d-1")
        );

        let mut unnamed = event.clone();
        unnamed.remove("delivery_id");
        assert_eq!(line_of(&unnamed).map(|l| l.id), Some("5e1f".into()));

        let mut kept = event.clone();
        kept.insert("kind".into(), s("rejected"));
        kept.insert("reason".into(), s("invalid payload: x"));
        assert_eq!(
            line_of(&kept).map(|l| (l.kind, l.reason)),
            Some((Kind::Kept, Some("invalid payload: x".into())))
        );

        let mut call = event.clone();
        call.insert("kind".into(), s("call"));
        assert!(
            line_of(&call).is_none(),
            "a record without files is not followed"
        );
        call.insert(
            "files".into(),
            AttributeValue::M(
                [(
                    "recording".to_owned(),
                    AttributeValue::M([("status".to_owned(), s("copied"))].into()),
                )]
                .into(),
            ),
        );
        assert_eq!(
            line_of(&call).map(|l| l.what),
            Some("recording copied".into())
        );
    }
}
