//! `callvault trigger`: send signed samples and print whether they landed (the samples and
//! the sending: [`crate::trigger`]).

use std::io::Write;

use chrono::Utc;

use super::{Context, Failed};
use crate::args::{Cli, Output, Trigger};
use crate::output::{self, Grid};
use crate::trigger;

/// Sends the chosen samples (or prints them as curl commands) and prints the grid; a sample
/// that did not land is a failed check.
pub async fn run(
    cli: &Cli,
    args: &Trigger,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let chosen = trigger::selection(args.all, &args.what)?;
    let ctx = Context::load(cli).await?;
    let run = format!("trigger-{}", Utc::now().format("%Y%m%d%H%M%S"));
    let mut keyrings = std::collections::BTreeMap::new();
    for (webhook, _) in &chosen {
        if let std::collections::btree_map::Entry::Vacant(slot) = keyrings.entry(*webhook) {
            slot.insert(ctx.keyring(*webhook).await?);
        }
    }
    let samples = trigger::samples(&chosen, |w| Ok(keyrings[&w].clone()), &run)?;
    if args.curl {
        for sample in &samples {
            writeln!(
                out,
                "{}",
                trigger::curl(ctx.target.webhook_url(sample.webhook)?, sample)
            )?;
        }
        return Ok(());
    }
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    for sample in &samples {
        let url = ctx.target.webhook_url(sample.webhook)?;
        rows.push(trigger::send(&http, &ctx.store, url, sample).await?);
    }
    output::write_list(out, err, format, &rows, None, trigger_grid, true)?;
    let failed = rows.iter().filter(|r| !r.pass).count();
    if failed > 0 {
        return Err(Failed(format!(
            "{failed} of {} deliveries did not land",
            rows.len()
        ))
        .into());
    }
    Ok(())
}

fn trigger_grid(rows: &[trigger::Row]) -> Grid {
    let mut g = Grid::new(&[
        "WEBHOOK", "EVENT", "HTTP", "REPLY", "STORED", "MS", "RECORD", "RESULT",
    ]);
    for r in rows {
        g.row([
            r.webhook.clone(),
            r.event.clone(),
            r.http.map(|h| h.to_string()).unwrap_or_default(),
            r.reply.clone(),
            if r.stored { "yes" } else { "no" }.into(),
            r.ms.to_string(),
            r.record.clone(),
            if r.pass { "pass" } else { "FAIL" }.into(),
        ]);
    }
    g
}
