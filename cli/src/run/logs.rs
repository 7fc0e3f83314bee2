//! `callvault logs`: the webhooks' delivery lines from CloudWatch Logs ([`crate::logs`]).

use std::collections::BTreeSet;
use std::io::Write;

use callvault_catalog::Webhook;

use super::Context;
use crate::args::{Cli, Logs, Output};
use crate::error::CliError;
use crate::logs::{self, Filter, FOLLOW_EVERY};
use crate::output::{self, Style};

/// Prints the delivery lines logged since `--since`, then with `--follow` the new ones as
/// they come.
pub async fn run(
    cli: &Cli,
    args: &Logs,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let filter = Filter {
        provider: args.provider,
        outcome: args.outcome.clone(),
    };
    let ctx = Context::load(cli).await?;
    let groups: Vec<(Webhook, String)> = filter
        .webhooks()
        .into_iter()
        // The stack's webhooks (a provider it does not deploy has no URL).
        .filter(|w| ctx.target.webhook_urls.contains_key(w.name()))
        .filter_map(|w| Some((w, ctx.target.log_group(w.name())?)))
        .collect();
    if groups.is_empty() {
        return Err(CliError::Usage(
            "no log groups to read: name the stack with --stack (or CALLVAULT_STACK)".into(),
        )
        .into());
    }
    let client = aws_sdk_cloudwatchlogs::Client::new(&ctx.sdk);
    let mut seen = BTreeSet::new();
    let mut since = args.since.timestamp_millis();
    let mut first = true;
    loop {
        let rows = logs::read(&client, &groups, &filter, since).await?;
        if let Some(newest) = rows.iter().map(|(_, r)| r.time.timestamp_millis()).max() {
            since = newest;
        }
        let rows = logs::unseen(rows, &mut seen);
        if !args.follow {
            let grid = |rows: &[logs::Row]| logs::grid(style, rows);
            output::write_list(out, err, style.output, &rows, None, grid, true)?;
            return Ok(());
        }
        if !rows.is_empty() {
            // Following, each batch is printed as it comes (JSON as one line per row).
            let format = match style.output {
                Output::Json => Output::Jsonl,
                other => other,
            };
            let grid = |r: &[logs::Row]| logs::grid(style, r);
            output::write_list(out, err, format, &rows, None, grid, first)?;
            first = false;
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}
