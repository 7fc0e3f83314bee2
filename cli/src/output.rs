//! Rendering results: tables sized to the terminal, CSV, one JSON document, or JSON lines.
//! Provider text is untrusted: control characters are escaped before they reach a terminal
//! or a CSV file (JSON escapes them itself). Times show in the zone of `--tz`.

use std::io::Write;

use callvault_console::text::printable;
use callvault_query::{CallDetail, CallSummary, FileLink};
use callvault_records::MessageRecord;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::args::Output;

/// How results are written: the format and the time zone of displayed times.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// The format.
    pub output: Output,
    /// Displayed times' zone.
    pub tz: Tz,
}

impl Style {
    /// A time in the chosen zone, to the second.
    pub fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// An RFC 3339 time (as stored) in the chosen zone; other text as it is.
    pub fn stored_time(&self, t: &str) -> String {
        DateTime::parse_from_rfc3339(t)
            .map(|t| self.time(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| t.to_owned())
    }
}

fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Rows of text under a header: a table or CSV.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    /// A grid with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (its text made printable).
    pub fn row<I: IntoIterator<Item = String>>(&mut self, cells: I) {
        self.rows
            .push(cells.into_iter().map(|c| printable(&c)).collect());
    }

    /// A table as wide as the terminal (cells wrap), or unbounded when not a terminal.
    pub fn table(&self) -> String {
        let mut t = Table::new();
        t.load_preset(UTF8_BORDERS_ONLY)
            .set_header(self.header.clone());
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            t.set_width(w)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        for row in &self.rows {
            t.add_row(row.clone());
        }
        t.to_string()
    }

    /// The grid as CSV, with a header line.
    pub fn csv(&self, header: bool) -> std::io::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        if header {
            writer.write_record(&self.header)?;
        }
        for row in &self.rows {
            writer.write_record(row)?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Calls as a grid.
pub fn calls_grid(style: &Style, calls: &[CallSummary]) -> Grid {
    let mut g = Grid::new(&[
        "TIME",
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
        g.row([
            style.time(c.time),
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
    g
}

/// Messages as a grid.
pub fn messages_grid(style: &Style, messages: &[MessageRecord]) -> Grid {
    let mut g = Grid::new(&["CREATED", "MESSAGE ID", "DIR", "TYPE", "STATUS", "BODY"]);
    for m in messages {
        g.row([
            m.created_at.map(|t| style.time(t)).unwrap_or_default(),
            m.message_id.clone(),
            m.direction.as_ref().map(json_name).unwrap_or_default(),
            m.message_type.clone().unwrap_or_default(),
            json_name(&m.status),
            m.body
                .clone()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect(),
        ]);
    }
    g
}

/// One call: its main fields, files and delivery history.
pub fn call_text(style: &Style, detail: &CallDetail) -> String {
    let r = &detail.record;
    let mut fields = Grid::new(&["FIELD", "VALUE"]);
    let mut row = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.row([name.to_owned(), v]);
        }
    };
    row("provider", Some(r.provider.to_string()));
    row("call id", Some(r.provider_call_id.clone()));
    row("scope", detail.scope.clone());
    row("status", Some(json_name(&r.status)));
    row("direction", r.direction.as_ref().map(json_name));
    row("from", r.from.as_ref().map(|n| n.shown().to_owned()));
    row("to", r.to.as_ref().map(|n| n.shown().to_owned()));
    row("started", r.started_at.map(|t| style.time(t)));
    row("ended", r.ended_at.map(|t| style.time(t)));
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
    row("received", Some(style.stored_time(&detail.received_at)));
    row("updated", Some(style.stored_time(&detail.updated_at)));
    row("deliveries", Some(detail.delivery_count.to_string()));
    for (kind, file) in &detail.files {
        row(
            kind.as_str(),
            Some(format!(
                "{} s3://…/{}{}",
                json_name(&file.status),
                file.s3_key,
                file.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )),
        );
    }
    format!(
        "{}\nDeliveries:\n{}",
        fields.table(),
        events_grid(style, &detail.events).table()
    )
}

/// A call's deliveries as a grid.
pub fn events_grid(style: &Style, events: &[callvault_query::DeliveryEvent]) -> Grid {
    let mut g = Grid::new(&[
        "RECEIVED",
        "DELIVERY ID",
        "EVENT",
        "AUTHENTICATION",
        "SHA-256",
    ]);
    for e in events {
        g.row([
            style.stored_time(&e.received_at),
            e.delivery_id.clone(),
            e.event_type.clone(),
            e.authentication.clone(),
            e.body_sha256.chars().take(16).collect(),
        ]);
    }
    g
}

/// A presigned link.
pub fn link_text(link: &FileLink) -> String {
    format!("{}\n(expires {})", link.url, link.expires_at.to_rfc3339())
}

/// Writes `items` in the chosen format: a table (`grid`), CSV (with its header when `first`),
/// a JSON document `{"items": [...], "cursor": ...}`, or one JSON object per line. Table and
/// JSON-lines forms put the cursor on stderr, so stdout stays clean.
pub fn write_list<T: Serialize>(
    out: &mut impl Write,
    err: &mut impl Write,
    output: Output,
    items: &[T],
    cursor: Option<&str>,
    grid: impl Fn(&[T]) -> Grid,
    first: bool,
) -> std::io::Result<()> {
    match output {
        Output::Table => {
            writeln!(out, "{}", grid(items).table())?;
            writeln!(err, "{} item(s)", items.len())?;
        }
        Output::Csv => write!(out, "{}", grid(items).csv(first)?)?,
        Output::Json => {
            let doc = serde_json::json!({ "items": items, "cursor": cursor });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Output::Jsonl => {
            for item in items {
                writeln!(out, "{}", serde_json::to_string(item)?)?;
            }
        }
    }
    if let (Some(c), Output::Table | Output::Jsonl | Output::Csv) = (cursor, output) {
        writeln!(err, "more: --cursor {c}")?;
    }
    out.flush()
}

/// Writes one value in the chosen format: `text` for tables, CSV as `FIELD,VALUE` rows (see
/// [`fields`]), or its JSON.
pub fn write_one<T: Serialize>(
    out: &mut impl Write,
    output: Output,
    value: &T,
    text: impl Fn(&T) -> String,
) -> std::io::Result<()> {
    match output {
        Output::Table => writeln!(out, "{}", text(value)),
        Output::Csv => write!(out, "{}", fields(&serde_json::to_value(value)?).csv(true)?),
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(value)?),
        Output::Jsonl => writeln!(out, "{}", serde_json::to_string(value)?),
    }
}

/// Writes what a command did: for a table, the sentence `text` on stderr (stdout stays
/// empty, as for any other note); in the other formats, `value` on stdout.
pub fn write_done<T: Serialize>(
    out: &mut impl Write,
    err: &mut impl Write,
    output: Output,
    value: &T,
    text: &str,
) -> std::io::Result<()> {
    match output {
        Output::Table => writeln!(err, "{text}"),
        _ => write_one(out, output, value, |_| String::new()),
    }
}

/// One value as a grid of `FIELD,VALUE` rows: a row per scalar of its JSON form, nested
/// names joined by `.` (`webhook_urls.voki`, `events.0.received_at`).
pub fn fields(value: &serde_json::Value) -> Grid {
    fn walk(grid: &mut Grid, name: String, value: &serde_json::Value) {
        let join = |part: &dyn std::fmt::Display| {
            if name.is_empty() {
                part.to_string()
            } else {
                format!("{name}.{part}")
            }
        };
        match value {
            serde_json::Value::Object(members) => {
                for (key, value) in members {
                    walk(grid, join(key), value);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    walk(grid, join(&i), value);
                }
            }
            serde_json::Value::Null => grid.row([name, String::new()]),
            serde_json::Value::String(text) => grid.row([name, text.clone()]),
            other => grid.row([name, other.to_string()]),
        }
    }
    let mut grid = Grid::new(&["FIELD", "VALUE"]);
    walk(&mut grid, String::new(), value);
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_records::{CallStatus, Provider};
    use chrono::TimeZone;

    fn style(output: Output) -> Style {
        Style {
            output,
            tz: chrono_tz::UTC,
        }
    }

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
            agent_name: Some("Eve\u{1b}[2J\u{1b}]0;owned\u{7}".into()),
            contact_id: None,
            contact_name: None,
            recording: None,
            file_state: None,
            test_delivery: false,
        }
    }

    #[test]
    fn tables_show_the_readable_fields_with_control_characters_escaped() {
        let text = calls_grid(&style(Output::Table), &[summary()]).table();
        for expected in [
            "2026-11-23 09:30:00 UTC",
            "voki",
            "c-1",
            "in_progress",
            "+14155552671",
            "2:05",
            r"Eve\u{1b}[2J",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    }

    #[test]
    fn times_show_in_the_chosen_zone() {
        let lisbon = Style {
            output: Output::Table,
            tz: "Asia/Tokyo".parse().expect("zone"),
        };
        assert_eq!(lisbon.time(summary().time), "2026-11-23 18:30:00 JST");
        assert_eq!(
            lisbon.stored_time("2026-11-23T09:30:00.000Z"),
            "2026-11-23 18:30:00 JST"
        );
    }

    #[test]
    fn csv_quotes_and_escapes() {
        let csv = calls_grid(&style(Output::Csv), &[summary()])
            .csv(true)
            .expect("csv");
        let mut lines = csv.lines();
        assert!(lines
            .next()
            .is_some_and(|h| h.starts_with("TIME,PROVIDER,CALL ID")));
        let row = lines.next().expect("a row");
        assert!(row.contains("c-1") && !row.contains('\u{1b}'), "{row}");
    }

    #[test]
    fn json_forms_carry_items_and_cursor() {
        let grid = |items: &[CallSummary]| calls_grid(&style(Output::Table), items);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_list(
            &mut out,
            &mut err,
            Output::Json,
            &[summary()],
            Some("abc"),
            grid,
            true,
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
            Output::Jsonl,
            &[summary(), summary()],
            Some("abc"),
            grid,
            true,
        )
        .expect("written");
        let lines: Vec<&str> = std::str::from_utf8(&out).expect("utf-8").lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
        }
        assert_eq!(String::from_utf8_lossy(&err), "more: --cursor abc\n");
    }

    #[test]
    fn one_value_as_csv_is_a_row_per_field() {
        let value = serde_json::json!({
            "table": "t",
            "webhook_urls": {"voki": "https://v.example/"},
            "events": [{"size": 3}],
            "scope": null,
        });
        let mut out = Vec::new();
        write_one(&mut out, Output::Csv, &value, |_| "a table".into()).expect("written");
        let csv = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "FIELD,VALUE",
                "events.0.size,3",
                "scope,",
                "table,t",
                "webhook_urls.voki,https://v.example/",
            ]
        );
    }

    #[test]
    fn what_a_command_did_is_a_note_for_tables_and_data_otherwise() {
        let done = serde_json::json!({"files": 2});
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_done(&mut out, &mut err, Output::Table, &done, "2 files").expect("written");
        assert!(out.is_empty());
        assert_eq!(String::from_utf8_lossy(&err), "2 files\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_done(&mut out, &mut err, Output::Jsonl, &done, "2 files").expect("written");
        assert_eq!(String::from_utf8_lossy(&out), "{\"files\":2}\n");
        assert!(err.is_empty());
    }
}
