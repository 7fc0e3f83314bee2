//! `callvault trigger`: send signed samples and print whether they landed, or remove the test
//! records they made (the samples, the sending and the cleanup: [`crate::trigger`]).

use std::io::Write;

use chrono::Utc;

use super::Context;
use crate::args::{Cli, Output, Trigger};
use crate::error::CliError;
use crate::output::{self, Grid};
use crate::trigger;

/// Sends the chosen samples (or prints them as curl commands) and prints the grid; a sample
/// that did not land is a failed check. With `--cleanup`, removes the test records instead.
pub async fn run(
    cli: &Cli,
    args: &Trigger,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    if args.cleanup {
        return cleanup(cli, format, out, err).await;
    }
    let chosen = trigger::selection(args.all, &args.what)?;
    let ctx = Context::load(cli).await?;
    let run = trigger::test_run(Utc::now());
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
        return Err(CliError::Failed(format!(
            "{failed} of {} deliveries did not land",
            rows.len()
        ))
        .into());
    }
    Ok(())
}

/// Removes the test records and lists them.
async fn cleanup(
    cli: &Cli,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let ctx = Context::load(cli).await?;
    writeln!(
        err,
        "looking for test records (ids with {}) in {}",
        trigger::TEST_MARK,
        ctx.target.table
    )?;
    let removed = trigger::cleanup(&ctx.store).await?;
    output::write_list(out, err, format, &removed, None, removed_grid, true)?;
    writeln!(
        err,
        "removed {} test record(s) with {} item(s) and {} file(s)",
        removed.len(),
        removed.iter().map(|r| r.items).sum::<usize>(),
        removed.iter().map(|r| r.files.len()).sum::<usize>()
    )?;
    Ok(())
}

fn removed_grid(rows: &[trigger::Removed]) -> Grid {
    let mut g = Grid::new(&["RECORD", "ITEMS", "FILES"]);
    for r in rows {
        g.row([r.record.clone(), r.items.to_string(), r.files.join(" ")]);
    }
    g
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
