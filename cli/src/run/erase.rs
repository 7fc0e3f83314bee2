//! `callvault erase`: one person's data, listed (the default) or removed with `--yes`, and
//! the receipts of erases done. The finding, planning and removing are the store's
//! ([`callvault_store::erase`]); this wires arguments, output and confirmation.

use std::io::Write;

use callvault_query::input;
use callvault_store::erase::{
    EraseCounts, ErasePlan, EraseRequest, ErasureReceipt, ItemKind, ObjectKind, Selector,
    UNKNOWN_PRINCIPAL,
};
use chrono::Utc;
use serde::Serialize;

use super::Context;
use crate::args::{Cli, Erase, EraseCommand, EraseOptions, Output};
use crate::error::CliError;
use crate::output::{self, Grid, Style};

/// One thing an erase removes, as listed.
#[derive(Debug, Clone, Serialize)]
struct EraseRow {
    /// `record`, `event`, `kept` (table items) or `file`, `body`, `spooled` (bucket keys).
    kind: &'static str,
    /// `table` or `bucket`.
    place: &'static str,
    /// The item's `pk` and `sk`, or the object's key.
    key: String,
    /// Object versions and delete markers (0 for an item).
    versions: usize,
    /// Bytes.
    bytes: u64,
}

/// The rows of a plan: table items, then bucket keys.
fn rows(plan: &ErasePlan) -> Vec<EraseRow> {
    let item_kind = |k| match k {
        ItemKind::Record => "record",
        ItemKind::Event => "event",
        ItemKind::Kept => "kept",
    };
    let object_kind = |k| match k {
        ObjectKind::File => "file",
        ObjectKind::Body => "body",
        ObjectKind::Spooled => "spooled",
    };
    plan.items
        .iter()
        .map(|i| EraseRow {
            kind: item_kind(i.kind),
            place: "table",
            key: format!("{} {}", i.pk, i.sk),
            versions: 0,
            bytes: i.bytes,
        })
        .chain(plan.objects.iter().map(|o| EraseRow {
            kind: object_kind(o.kind),
            place: "bucket",
            key: o.key.clone(),
            versions: o.versions,
            bytes: o.bytes,
        }))
        .collect()
}

fn rows_grid(rows: &[EraseRow]) -> Grid {
    let mut g = Grid::new(&["KIND", "WHERE", "KEY", "VERSIONS", "BYTES"]);
    for r in rows {
        g.row([
            r.kind.to_owned(),
            r.place.to_owned(),
            r.key.clone(),
            r.versions.to_string(),
            r.bytes.to_string(),
        ]);
    }
    g
}

/// The counts as one sentence.
fn counts_text(c: &EraseCounts) -> String {
    format!(
        "{} record(s), {} event(s), {} kept and {} spooled deliver(ies); {} object(s) with {} version(s); {} bytes",
        c.records, c.events, c.kept, c.spooled, c.objects, c.versions, c.bytes
    )
}

/// What a dry run prints in JSON: the plan and its counts.
#[derive(Debug, Serialize)]
struct DryRun<'a> {
    /// Nothing was written.
    dry_run: bool,
    /// The kind of selector.
    selector: &'static str,
    /// What would go.
    counts: EraseCounts,
    /// Each item and object.
    items: &'a [EraseRow],
    /// Raw bodies that stay because an item outside the erase still has them.
    shared_bodies: &'a [String],
}

/// Runs `erase`.
pub async fn run(
    cli: &Cli,
    args: &Erase,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    if args.receipts {
        let ctx = Context::load(cli).await?;
        let receipts = ctx.store.erasure_receipts().await?;
        output::write_list(
            out,
            err,
            format,
            &receipts,
            None,
            |r| receipts_grid(style, r),
            true,
        )?;
        return Ok(());
    }
    let (selector, options) = selector(args)?;
    let ctx = Context::load(cli).await?;
    let kept_since = options.kept_since.map_or_else(
        || ctx.store.kept_lookback(Utc::now().date_naive()),
        |t| t.date_naive(),
    );
    let plan = ctx
        .store
        .plan_erase(&EraseRequest {
            selector,
            kept_since,
        })
        .await?;
    let listed = rows(&plan);
    let counts = plan.counts();
    if !options.yes {
        match format {
            Output::Json => output::write_one(
                out,
                format,
                &DryRun {
                    dry_run: true,
                    selector: plan.selector.as_str(),
                    counts,
                    items: &listed,
                    shared_bodies: &plan.shared_bodies,
                },
                |_| String::new(),
            )?,
            _ => output::write_list(out, err, format, &listed, None, rows_grid, true)?,
        }
        for key in &plan.shared_bodies {
            writeln!(
                err,
                "stays: {key} (the body of an item outside this erase; it goes with that item)"
            )?;
        }
        writeln!(
            err,
            "would remove {} (kept deliveries read from {kept_since}); nothing written: add --yes to remove it",
            counts_text(&counts)
        )?;
        return Ok(());
    }
    let receipt = ctx.store.apply_erase(&plan, &principal(&ctx).await).await?;
    output::write_done(
        out,
        err,
        format,
        &receipt,
        &format!(
            "removed {}; receipt {}",
            counts_text(&receipt.counts),
            receipt.id
        ),
    )?;
    Ok(())
}

/// The selector the arguments name (checked before any AWS request), with its options.
fn selector(args: &Erase) -> anyhow::Result<(Selector, &EraseOptions)> {
    if let Some(EraseCommand::Call { call, options }) = &args.call {
        let id = input::id(&call.call_id, "call id")?;
        return Ok((
            Selector::Call {
                provider: call.provider,
                call_id: id.to_owned(),
                scope: call.scope.clone(),
            },
            options,
        ));
    }
    let selector = if let Some(phone) = &args.phone {
        Selector::Phone {
            e164: input::phone(phone, args.country.as_deref())?,
            country: args.country.as_deref().and_then(|c| c.parse().ok()),
        }
    } else if let Some(id) = &args.contact {
        Selector::Contact {
            provider: args.provider,
            id: input::id(id, "contact id")?.to_owned(),
        }
    } else if let Some(id) = &args.agent {
        Selector::Agent {
            provider: args.provider,
            id: input::id(id, "agent id")?.to_owned(),
        }
    } else {
        return Err(CliError::Usage(
            "say whose data to erase: --phone, --contact or --agent, `erase call <provider> <call id>`, or list receipts with --receipts".into(),
        )
        .into());
    };
    Ok((selector, &args.options))
}

/// The AWS principal running the erase (STS GetCallerIdentity), or "unknown".
async fn principal(ctx: &Context) -> String {
    aws_sdk_sts::Client::new(&ctx.sdk)
        .get_caller_identity()
        .send()
        .await
        .ok()
        .and_then(|identity| identity.arn)
        .unwrap_or_else(|| UNKNOWN_PRINCIPAL.to_owned())
}

fn receipts_grid(style: &Style, receipts: &[ErasureReceipt]) -> Grid {
    let mut g = Grid::new(&[
        "ERASED", "SELECTOR", "BY", "RECORDS", "EVENTS", "KEPT", "SPOOLED", "OBJECTS", "VERSIONS",
        "BYTES",
    ]);
    for r in receipts {
        let c = &r.counts;
        g.row([
            style.time(r.erased_at),
            r.selector.as_str().to_owned(),
            r.principal.clone(),
            c.records.to_string(),
            c.events.to_string(),
            c.kept.to_string(),
            c.spooled.to_string(),
            c.objects.to_string(),
            c.versions.to_string(),
            c.bytes.to_string(),
        ]);
    }
    g
}
