//! `callvault status`: the health report ([`crate::status`]); exits 3 when unhealthy.

use std::io::Write;

use super::Context;
use crate::args::Cli;
use crate::error::CliError;
use crate::output::{self, Style};
use crate::status;

/// Gathers and prints the report, then fails with its problems if there are any.
pub async fn run(cli: &Cli, style: &Style, out: &mut impl Write) -> anyhow::Result<()> {
    let ctx = Context::load(cli).await?;
    let report = status::gather(&ctx.sdk, &ctx.target, &ctx.store).await;
    output::write_one(out, style.output, &report, |r| status::text(style, r))?;
    out.flush()?;
    if report.healthy {
        Ok(())
    } else {
        Err(CliError::Unhealthy(report.problems).into())
    }
}
