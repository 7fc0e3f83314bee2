//! `callvault replay`: apply spooled or kept deliveries again.

use std::io::Write;

use callvault_console::inspect;
use callvault_webhook::replay;

use super::kept::kept_range;
use super::Context;
use crate::args::{Cli, Output, ReplayCommand};
use crate::error::CliError;
use crate::output::{self, Grid};

/// Runs `replay spool`, `kept`, `hatif-scopes` or `delivery`, printing each one's outcome.
pub async fn run(
    cli: &Cli,
    command: &ReplayCommand,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let ranged = match command {
        ReplayCommand::Kept { range, .. } | ReplayCommand::Delivery { range, .. } => {
            Some(kept_range(range)?)
        }
        ReplayCommand::Spool { .. } | ReplayCommand::HatifScopes { .. } => None,
    };
    if let ReplayCommand::Delivery { sha256, .. } = command {
        if sha256.len() < 8 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CliError::Usage(format!(
                "{sha256:?} is not a SHA-256: give at least 8 of its hex characters"
            ))
            .into());
        }
    }
    let ctx = Context::load(cli).await?;
    let mut rows: Vec<serde_json::Value> = Vec::new();
    match command {
        ReplayCommand::Spool { dry_run } => {
            for key in ctx.store.spooled_keys().await? {
                if *dry_run {
                    let spooled = ctx.store.read_spooled(&key).await?;
                    rows.push(serde_json::json!({"spooled": key, "outcome": "would apply",
                        "webhook": spooled.map(|s| s.webhook)}));
                } else {
                    let outcome = replay::replay_spooled(&ctx.store, &key).await;
                    rows.push(
                        serde_json::json!({"spooled": key, "outcome": match outcome {
                            Ok(Some(o)) => o.label().to_owned(),
                            Ok(None) => "already applied".to_owned(),
                            Err(e) => format!("stays: {}", e.detail()),
                        }}),
                    );
                }
            }
        }
        ReplayCommand::HatifScopes { dry_run } => {
            use callvault_webhook::rescope::{legacy_records, rescope, Rescoped};
            for legacy in legacy_records(&ctx.store).await? {
                let outcome = if *dry_run {
                    format!("would move to {}", legacy.to_sk)
                } else {
                    match rescope(&ctx.store, &legacy).await {
                        Ok(Rescoped::Moved { deliveries }) => {
                            format!("moved to {} ({deliveries} deliveries)", legacy.to_sk)
                        }
                        Ok(Rescoped::Gone) => "already moved".to_owned(),
                        Ok(Rescoped::Stays(outcome)) => {
                            format!("stays: a delivery is {}", outcome.label())
                        }
                        Err(e) => format!("stays: {}", e.detail()),
                    }
                };
                rows.push(
                    serde_json::json!({"record": format!("{} {}", legacy.pk, legacy.sk),
                    "channel": legacy.channel, "outcome": outcome}),
                );
            }
        }
        ReplayCommand::Kept { dry_run, .. } | ReplayCommand::Delivery { dry_run, .. } => {
            let Some((providers, since, until)) = ranged else {
                unreachable!("ranged above")
            };
            let mut kept = inspect::kept(&ctx.store, &providers, since, until).await?;
            if let ReplayCommand::Delivery { sha256, .. } = command {
                kept.retain(|k| k.body_sha256.starts_with(&sha256.to_ascii_lowercase()));
                match kept.len() {
                    1 => {}
                    0 => {
                        return Err(CliError::NotFound(format!(
                            "no kept delivery in the range matches {sha256} (widen it with --since)"
                        ))
                        .into())
                    }
                    n => {
                        return Err(CliError::Usage(format!(
                        "{n} kept deliveries in the range match {sha256}: give more of the SHA-256"
                    ))
                        .into())
                    }
                }
            }
            for delivery in &kept {
                let outcome = if *dry_run {
                    let body = ctx.store.kept_body(&delivery.body).await?;
                    match replay::preview(
                        replay::webhook_named(&delivery.webhook)?,
                        &delivery.headers,
                        &delivery.verified(body)?,
                        delivery.received_at,
                    ) {
                        Ok(record) => format!("would apply: {record}"),
                        Err(reason) => format!("would stay kept: {reason}"),
                    }
                } else {
                    match replay::replay_kept(&ctx.store, delivery).await {
                        Ok(o) => o.label().to_owned(),
                        Err(e) => format!("failed: {}", e.detail()),
                    }
                };
                rows.push(
                    serde_json::json!({"kept": delivery.body_sha256, "webhook": delivery.webhook,
                    "received_at": delivery.received_at, "outcome": outcome}),
                );
            }
        }
    }
    output::write_list(
        out,
        err,
        format,
        &rows,
        None,
        |rows| {
            let mut g = Grid::new(&["DELIVERY", "WEBHOOK", "OUTCOME"]);
            for r in rows {
                let id = r["spooled"]
                    .as_str()
                    .or(r["kept"].as_str())
                    .or(r["record"].as_str())
                    .unwrap_or_default();
                g.row([
                    id.to_owned(),
                    r["webhook"].as_str().unwrap_or_default().to_owned(),
                    r["outcome"].as_str().unwrap_or_default().to_owned(),
                ]);
            }
            g
        },
        true,
    )?;
    Ok(())
}
