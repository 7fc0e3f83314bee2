//! `callvault tail`: print deliveries and file copies as they are written (the following
//! itself: [`crate::tail`]).

use std::io::Write;

use super::Context;
use crate::args::{Cli, Output, Tail};
use crate::output::{Grid, Style};
use crate::tail;

/// Prints each followed write that passes the filters, until `--count` lines or Ctrl-C.
pub async fn run(
    cli: &Cli,
    args: &Tail,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    let ctx = Context::load(cli).await?;
    let streams = aws_sdk_dynamodbstreams::Client::new(&ctx.sdk);
    writeln!(err, "following {} (Ctrl-C stops)", ctx.target.table)?;
    err.flush()?;
    let mut left = args.count;
    let mut first = true;
    tail::follow(ctx.store.dynamodb(), streams, &ctx.target.table, |line| {
        if args.provider.is_some_and(|p| p.as_str() != line.provider)
            || (!args.outcome.is_empty() && !args.outcome.contains(&line.kind))
        {
            return Ok(true);
        }
        match format {
            Output::Json | Output::Jsonl => writeln!(out, "{}", serde_json::to_string(&line)?)?,
            Output::Csv => write!(out, "{}", tail_grid(style, &line).csv(first)?)?,
            Output::Table => {
                let row = tail_grid(style, &line).csv(false)?;
                writeln!(out, "{}", row.trim_end().replace(',', "  "))?;
            }
        }
        out.flush()?;
        first = false;
        left = left.map(|n| n.saturating_sub(1));
        Ok(left != Some(0))
    })
    .await?;
    Ok(())
}

fn tail_grid(style: &Style, line: &tail::Line) -> Grid {
    let mut g = Grid::new(&["TIME", "KIND", "PROVIDER", "WHAT", "ID", "REASON"]);
    g.row([
        style.stored_time(&line.time),
        serde_json::to_value(line.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        line.provider.clone(),
        line.what.clone(),
        line.id.clone(),
        line.reason.clone().unwrap_or_default(),
    ]);
    g
}
