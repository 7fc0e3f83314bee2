//! `callvault logs`: the webhooks' log lines from CloudWatch Logs, one row per delivery,
//! failures included (401, 413, 503 and spooled deliveries never reach the table, so `tail`
//! cannot show them).
//!
//! Lines are read with `FilterLogEvents` over each webhook's log group, with a JSON filter
//! pattern so CloudWatch sends only delivery lines (of one outcome, with `--outcome`); they
//! are checked again here. `--follow` polls for newer lines.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudwatchlogs::Client;
use callvault_catalog::Webhook;
use callvault_records::Provider;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::output::{Grid, Style};

/// The message of a webhook's one log line per delivery.
const DELIVERY_MESSAGE: &str = "delivery";

/// How often `--follow` asks for newer lines.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// One delivery as its webhook logged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// When it was logged.
    pub time: DateTime<Utc>,
    /// The webhook (function) that logged it.
    pub webhook: String,
    /// The provider.
    pub provider: String,
    /// Its outcome (`stored`, `duplicate`, `kept`, `spooled`, `unauthorized`, ...).
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u64,
    /// Time to answer, in milliseconds.
    pub latency_ms: f64,
    /// SHA-256 of the body (authenticated deliveries only).
    pub body_sha256: String,
    /// The provider's delivery id, where it sends one.
    pub delivery_id: String,
    /// The invocation's request id.
    pub request_id: String,
    /// Why it was refused, kept or spooled.
    pub reason: String,
}

/// Which lines.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this provider's webhooks.
    pub provider: Option<Provider>,
    /// Only this outcome.
    pub outcome: Option<String>,
}

impl Filter {
    /// The webhooks to read.
    pub fn webhooks(&self) -> Vec<Webhook> {
        Webhook::ALL
            .into_iter()
            .filter(|w| self.provider.is_none_or(|p| w.provider() == p))
            .collect()
    }

    /// The CloudWatch Logs filter pattern selecting these lines.
    pub fn pattern(&self) -> String {
        match &self.outcome {
            Some(outcome) => format!(
                r#"{{ ($.message = "{DELIVERY_MESSAGE}") && ($.outcome = "{}") }}"#,
                outcome.replace('"', "")
            ),
            None => format!(r#"{{ $.message = "{DELIVERY_MESSAGE}" }}"#),
        }
    }

    /// The row of one log line, if it is a delivery line these filters keep.
    pub fn row(&self, webhook: Webhook, timestamp_ms: i64, message: &str) -> Option<Row> {
        let line: Value = serde_json::from_str(message).ok()?;
        if line["message"] != DELIVERY_MESSAGE {
            return None;
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let row = Row {
            time: DateTime::from_timestamp_millis(timestamp_ms)?,
            webhook: webhook.name().to_owned(),
            provider: text(&line["provider"]),
            outcome: text(&line["outcome"]),
            status: line["status"].as_u64().unwrap_or_default(),
            latency_ms: line["latency_ms"].as_f64().unwrap_or_default(),
            body_sha256: text(&line["body_sha256"]),
            delivery_id: text(&line["delivery_id"]),
            request_id: text(&line["span"]["requestId"]),
            reason: text(&line["reason"]),
        };
        let wanted = self.outcome.as_ref().is_none_or(|o| *o == row.outcome)
            && self.provider.is_none_or(|p| p.as_str() == row.provider);
        wanted.then_some(row)
    }
}

/// Reads the delivery lines logged from `since` (ms) on, oldest first, with each event's id
/// (for `--follow`, which asks again from the newest time seen).
pub async fn read(
    client: &Client,
    groups: &[(Webhook, String)],
    filter: &Filter,
    since_ms: i64,
) -> anyhow::Result<Vec<(String, Row)>> {
    let mut rows = Vec::new();
    for (webhook, group) in groups {
        let mut pages = client
            .filter_log_events()
            .log_group_name(group)
            .start_time(since_ms)
            .filter_pattern(filter.pattern())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    // No line logged yet (the group is made on the first), or a provider
                    // this stack does not deploy.
                    break;
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "{}",
                        aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
                    ))
                    .with_context(|| format!("reading log group {group}"))
                }
            };
            for event in page.events.unwrap_or_default() {
                let (Some(id), Some(ts), Some(message)) =
                    (event.event_id, event.timestamp, event.message)
                else {
                    continue;
                };
                if let Some(row) = filter.row(*webhook, ts, &message) {
                    rows.push((id, row));
                }
            }
        }
    }
    rows.sort_by_key(|(_, row)| row.time);
    Ok(rows)
}

/// Keeps the rows not seen before (by event id), remembering them.
pub fn unseen(rows: Vec<(String, Row)>, seen: &mut BTreeSet<String>) -> Vec<Row> {
    rows.into_iter()
        .filter(|(id, _)| seen.insert(id.clone()))
        .map(|(_, row)| row)
        .collect()
}

/// The rows as a table.
pub fn grid(style: &Style, rows: &[Row]) -> Grid {
    let mut grid = Grid::new(&[
        "time", "webhook", "outcome", "status", "ms", "sha256", "request", "reason",
    ]);
    for r in rows {
        grid.row([
            style.time(r.time),
            r.webhook.clone(),
            r.outcome.clone(),
            r.status.to_string(),
            format!("{:.0}", r.latency_ms),
            r.body_sha256.chars().take(12).collect(),
            r.request_id.clone(),
            r.reason.clone(),
        ]);
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"timestamp":"2026-12-03T10:00:00Z","level":"WARN","provider":"voki","delivery_id":"d-1","body_sha256":"","outcome":"unauthorized","status":401,"latency_ms":1.5,"reason":"signature mismatch","message":"delivery","span":{"requestId":"r-1","name":"Lambda runtime invoke"}}"#;

    #[test]
    fn a_delivery_line_becomes_a_row() {
        let row = Filter::default()
            .row(Webhook::Voki, 1_764_756_000_000, LINE)
            .expect("a row");
        assert_eq!(row.outcome, "unauthorized");
        assert_eq!(row.status, 401);
        assert_eq!(row.request_id, "r-1");
        assert_eq!(row.webhook, "voki");
        assert_eq!(row.reason, "signature mismatch");
    }

    #[test]
    fn other_lines_and_other_outcomes_are_left_out() {
        let stored = Filter {
            outcome: Some("stored".into()),
            ..Filter::default()
        };
        assert_eq!(stored.row(Webhook::Voki, 0, LINE), None);
        let hatif = Filter {
            provider: Some(Provider::Hatif),
            ..Filter::default()
        };
        assert_eq!(hatif.row(Webhook::Voki, 0, LINE), None);
        assert_eq!(
            Filter::default().row(Webhook::Voki, 0, r#"{"message":"spool sweep"}"#),
            None
        );
        assert_eq!(Filter::default().row(Webhook::Voki, 0, "not json"), None);
    }

    #[test]
    fn the_pattern_selects_delivery_lines_of_the_outcome() {
        let filter = Filter {
            outcome: Some("too_large".into()),
            ..Filter::default()
        };
        assert_eq!(
            filter.pattern(),
            r#"{ ($.message = "delivery") && ($.outcome = "too_large") }"#
        );
        let hatif = Filter {
            provider: Some(Provider::Hatif),
            ..Filter::default()
        };
        assert_eq!(
            hatif.webhooks(),
            vec![Webhook::HatifCall, Webhook::HatifWhatsApp]
        );
    }
}
