//! `callvault kept`: the deliveries kept instead of applied, with their reasons.

use std::io::Write;

use callvault_console::inspect;
use callvault_query::InputError;
use callvault_records::Provider;
use callvault_store::{KeptBody, RejectedDelivery};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use crate::args::{Cli, KeptCommand, KeptRange};
use crate::output::{self, Grid, Style};

/// A kept delivery as listed.
#[derive(Debug, Clone, Serialize)]
struct KeptRow {
    /// When it was received.
    received_at: DateTime<Utc>,
    /// The provider.
    provider: Provider,
    /// The webhook.
    webhook: String,
    /// Why it was kept.
    reason: String,
    /// Its body's SHA-256 (its id among the kept deliveries of its day).
    body_sha256: String,
    /// Where its body is.
    body: String,
}

impl From<&RejectedDelivery> for KeptRow {
    fn from(r: &RejectedDelivery) -> Self {
        Self {
            received_at: r.received_at,
            provider: r.provider,
            webhook: r.webhook.clone(),
            reason: r.reason.clone(),
            body_sha256: r.body_sha256.clone(),
            body: match &r.body {
                KeptBody::Inline(bytes) => format!("inline, {} bytes", bytes.len()),
                KeptBody::S3(uri) => uri.clone(),
            },
        }
    }
}

/// Runs `kept list`.
pub async fn run(
    cli: &Cli,
    command: &KeptCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    let KeptCommand::List(range) = command;
    let (providers, since, until) = kept_range(range)?;
    let ctx = Context::load(cli).await?;
    let kept = inspect::kept(&ctx.store, &providers, since, until).await?;
    let rows: Vec<KeptRow> = kept.iter().map(Into::into).collect();
    output::write_list(out, err, format, &rows, None, |r| kept_grid(style, r), true)?;
    Ok(())
}

/// The providers and `[since, until]` of kept deliveries to look at.
pub(super) type Range = (Vec<Provider>, DateTime<Utc>, DateTime<Utc>);

/// How far back kept deliveries are looked for without `--since`.
const DEFAULT_LOOKBACK: chrono::Duration = chrono::Duration::hours(24);

/// The kept deliveries a range names: its providers and `[since, until]` (default: the 24
/// hours before `until`, which defaults to now).
pub(super) fn kept_range(range: &KeptRange) -> Result<Range, InputError> {
    let until = range.until.unwrap_or_else(Utc::now);
    let since = range.since.unwrap_or(until - DEFAULT_LOOKBACK);
    if since > until {
        return Err(InputError::EmptyRange);
    }
    let providers = range.provider.map_or(Provider::ALL.to_vec(), |p| vec![p]);
    Ok((providers, since, until))
}

fn kept_grid(style: &Style, rows: &[KeptRow]) -> Grid {
    let mut g = Grid::new(&[
        "RECEIVED", "PROVIDER", "WEBHOOK", "REASON", "SHA-256", "BODY",
    ]);
    for r in rows {
        g.row([
            style.time(r.received_at),
            r.provider.to_string(),
            r.webhook.clone(),
            r.reason.clone(),
            r.body_sha256.chars().take(16).collect(),
            r.body.clone(),
        ]);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(since: Option<&str>, until: Option<&str>) -> KeptRange {
        let at = |t: &str| t.parse::<DateTime<Utc>>().expect("a time");
        KeptRange {
            provider: None,
            since: since.map(at),
            until: until.map(at),
        }
    }

    #[test]
    fn kept_deliveries_are_looked_for_over_the_last_24_hours_by_default() {
        let (providers, since, until) =
            kept_range(&range(None, Some("2026-11-28T06:00:00Z"))).expect("a range");
        assert_eq!(providers, Provider::ALL);
        assert_eq!(since.to_rfc3339(), "2026-11-27T06:00:00+00:00");
        assert_eq!(until - since, chrono::Duration::hours(24));
        let (_, since, until) = kept_range(&range(None, None)).expect("a range");
        assert_eq!(until - since, chrono::Duration::hours(24));
        assert!(
            Utc::now() - until < chrono::Duration::minutes(1),
            "until now"
        );
        let (_, since, _) =
            kept_range(&range(Some("2026-11-01T00:00:00Z"), None)).expect("a range");
        assert_eq!(since.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert!(kept_range(&range(
            Some("2026-11-02T00:00:00Z"),
            Some("2026-11-01T00:00:00Z")
        ))
        .is_err());
    }
}
