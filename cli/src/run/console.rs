//! `callvault console`: the web console (`callvault_console`) over the stack's table and
//! bucket.

use super::Context;
use crate::args::{Cli, Console};

/// Serves the console until the process is stopped.
pub async fn run(cli: &Cli, args: &Console) -> anyhow::Result<()> {
    let ctx = Context::load(cli).await?;
    ctx.reader().warm_up().await?;
    let label = match &ctx.target.stack {
        Some(stack) => format!("stack {stack}"),
        None => format!("table {}, bucket {}", ctx.target.table, ctx.target.bucket),
    };
    let shown = callvault_console::Console {
        reader: ctx.reader(),
        store: ctx.store.clone(),
        tz: cli.tz,
        label,
    };
    callvault_console::serve(shown, args.port, args.open).await?;
    Ok(())
}
