//! Rendering results as tables, one JSON document, or JSON lines.

use std::io::Write;

use callvault_query::{CallDetail, CallSummary, FileLink};
use callvault_records::MessageRecord;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;
use serde::Serialize;

use crate::args::Format;

fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

/// A page (or all pages) of calls as a table.
pub fn calls_table(calls: &[CallSummary]) -> String {
    let mut t = table(&[
        "TIME (UTC)",
        "PROVIDER",
        "CALL ID",
        "STATUS",
        "DIR",
        "FROM",
        "TO",
        "DURATION",
        "AGENT",
        "RECORDING",
    ]);
    for c in calls {
        t.add_row(vec![
            c.time.format("%Y-%m-%d %H:%M:%S").to_string(),
            c.provider.to_string(),
            c.provider_call_id.clone(),
            json_name(&c.status),
            c.direction.as_ref().map(json_name).unwrap_or_default(),
            c.from.clone().unwrap_or_default(),
            c.to.clone().unwrap_or_default(),
            c.duration_seconds
                .map(|s| format!("{}:{:02}", s / 60, s % 60))
                .unwrap_or_default(),
            c.agent_name
                .clone()
                .or_else(|| c.agent_id.clone())
                .unwrap_or_default(),
            c.recording.as_ref().map(json_name).unwrap_or_default(),
        ]);
    }
    t.to_string()
}

/// Messages as a table.
pub fn messages_table(messages: &[MessageRecord]) -> String {
    let mut t = table(&[
        "CREATED (UTC)",
        "MESSAGE ID",
        "DIR",
        "TYPE",
        "STATUS",
        "BODY",
    ]);
    for m in messages {
        let body: String = m
            .body
            .clone()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        t.add_row(vec![
            m.created_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            m.message_id.clone(),
            m.direction.as_ref().map(json_name).unwrap_or_default(),
            m.message_type.clone().unwrap_or_default(),
            json_name(&m.status),
            body,
        ]);
    }
    t.to_string()
}

/// One call: its main fields, files and delivery history.
pub fn call_text(detail: &CallDetail) -> String {
    let r = &detail.record;
    let mut fields = table(&["FIELD", "VALUE"]);
    let mut row = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.add_row(vec![name.to_owned(), v]);
        }
    };
    row("provider", Some(r.provider.to_string()));
    row("call id", Some(r.provider_call_id.clone()));
    row("status", Some(json_name(&r.status)));
    row("direction", r.direction.as_ref().map(json_name));
    row("from", r.from.as_ref().map(|n| n.shown().to_owned()));
    row("to", r.to.as_ref().map(|n| n.shown().to_owned()));
    row("started", r.started_at.map(|t| t.to_rfc3339()));
    row("ended", r.ended_at.map(|t| t.to_rfc3339()));
    row("duration (s)", r.duration_seconds.map(|d| d.to_string()));
    row(
        "agent",
        r.agent
            .as_ref()
            .map(|a| a.name.clone().unwrap_or(a.id.clone())),
    );
    row(
        "contact",
        r.contact
            .as_ref()
            .and_then(|c| c.name.clone().or(c.id.clone())),
    );
    row("summary", r.summary.clone());
    row("received", Some(detail.received_at.clone()));
    row("updated", Some(detail.updated_at.clone()));
    for (kind, file) in &detail.files {
        row(
            kind.as_str(),
            Some(format!(
                "{} s3://…/{}",
                json_name(&file.status),
                file.s3_key
            )),
        );
    }
    let mut events = table(&["RECEIVED", "DELIVERY ID", "EVENT", "AUTHENTICATION"]);
    for e in &detail.events {
        events.add_row(vec![
            e.received_at.clone(),
            e.delivery_id.clone(),
            e.event_type.clone(),
            e.authentication.clone(),
        ]);
    }
    format!("{fields}\nDeliveries:\n{events}")
}

/// A presigned link.
pub fn link_text(link: &FileLink) -> String {
    format!("{}\n(expires {})", link.url, link.expires_at.to_rfc3339())
}

/// Writes a list in `format`: a table, `{"items": [...], "cursor": ...}`, or one item per line.
/// In table and JSON-lines form the cursor goes to stderr, so stdout stays clean.
pub fn write_list<T: Serialize>(
    out: &mut impl Write,
    err: &mut impl Write,
    format: Format,
    items: &[T],
    cursor: Option<&str>,
    render: impl Fn(&[T]) -> String,
) -> std::io::Result<()> {
    match format {
        Format::Table => {
            writeln!(out, "{}", render(items))?;
            writeln!(err, "{} item(s)", items.len())?;
        }
        Format::Json => {
            let doc = serde_json::json!({ "items": items, "cursor": cursor });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Jsonl => {
            for item in items {
                writeln!(out, "{}", serde_json::to_string(item)?)?;
            }
        }
    }
    if let (Some(c), Format::Table | Format::Jsonl) = (cursor, format) {
        writeln!(err, "more: --cursor {c}")?;
    }
    Ok(())
}

/// Writes one value in `format` (`text` for tables).
pub fn write_one<T: Serialize>(
    out: &mut impl Write,
    format: Format,
    value: &T,
    text: impl Fn(&T) -> String,
) -> std::io::Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", text(value)),
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(value)?),
        Format::Jsonl => writeln!(out, "{}", serde_json::to_string(value)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_records::{CallStatus, Provider};
    use chrono::TimeZone;

    fn summary() -> CallSummary {
        CallSummary {
            provider: Provider::Voki,
            provider_call_id: "c-1".into(),
            time: chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 9, 30, 0)
                .single()
                .expect("valid"),
            status: CallStatus::InProgress,
            direction: None,
            from: Some("+14155552671".into()),
            to: None,
            duration_seconds: Some(125),
            agent_id: Some("a1".into()),
            agent_name: None,
            contact_id: None,
            contact_name: None,
            recording: None,
            file_state: None,
            test_delivery: false,
        }
    }

    #[test]
    fn tables_show_the_readable_fields() {
        let text = calls_table(&[summary()]);
        for expected in [
            "2026-11-23 09:30:00",
            "voki",
            "c-1",
            "in_progress",
            "+14155552671",
            "2:05",
            "a1",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
    }

    #[test]
    fn json_forms_carry_items_and_cursor() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_list(
            &mut out,
            &mut err,
            Format::Json,
            &[summary()],
            Some("abc"),
            calls_table,
        )
        .expect("written");
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
        assert_eq!(doc["items"][0]["provider_call_id"], "c-1");
        assert_eq!(doc["cursor"], "abc");
        assert!(err.is_empty());

        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_list(
            &mut out,
            &mut err,
            Format::Jsonl,
            &[summary(), summary()],
            Some("abc"),
            calls_table,
        )
        .expect("written");
        let lines: Vec<&str> = std::str::from_utf8(&out).expect("utf-8").lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
        }
        assert_eq!(String::from_utf8_lossy(&err), "more: --cursor abc\n");
    }
}
