//! `callvault rejected`: the deliveries kept instead of applied, with their reasons.

use std::io::Write;

use callvault_console::inspect;
use callvault_query::InputError;
use callvault_records::Provider;
use callvault_store::{KeptBody, RejectedDelivery};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use crate::args::{Cli, KeptRange, RejectedCommand};
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

/// Runs `rejected list`.
pub async fn run(
    cli: &Cli,
    command: &RejectedCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    let RejectedCommand::List(range) = command;
    let (providers, since, until) = kept_range(range)?;
    let ctx = Context::load(cli).await?;
    let kept = inspect::kept(&ctx.store, &providers, since, until).await?;
    let rows: Vec<KeptRow> = kept.iter().map(Into::into).collect();
    output::write_list(out, err, format, &rows, None, |r| kept_grid(style, r), true)?;
    Ok(())
}

/// The providers and `[since, until]` of kept deliveries to look at.
pub(super) type Range = (Vec<Provider>, DateTime<Utc>, DateTime<Utc>);

/// The kept deliveries a range names: its providers and `[since, until]` (default today).
pub(super) fn kept_range(range: &KeptRange) -> Result<Range, InputError> {
    let until = range.until.unwrap_or_else(Utc::now);
    let since = range.since.unwrap_or_else(|| {
        until
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    });
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
