//! `callvault secrets`: list, add, rotate and remove a provider's secrets (the document
//! itself: [`crate::secrets`]).

use std::io::{Read, Write};

use callvault_records::Provider;

use super::Context;
use crate::args::{Cli, Output, SecretChange, SecretsCommand};
use crate::error::CliError;
use crate::output::{self, Grid};
use crate::secrets;

/// Runs `secrets list`, `add`, `rotate` or `remove`.
pub async fn run(
    cli: &Cli,
    command: &SecretsCommand,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    if let SecretsCommand::Add(change) | SecretsCommand::Rotate(change) = command {
        if change.id.as_deref().is_some_and(|id| id.trim().is_empty())
            || change.value.as_deref() == Some("")
        {
            return Err(CliError::Usage("--id and --value must not be empty".into()).into());
        }
    }
    let ctx = Context::load(cli).await?;
    let client = ctx.secrets();
    match command {
        SecretsCommand::List { provider } => {
            let providers = provider.map_or(Provider::ALL.to_vec(), |p| vec![p]);
            let mut rows = Vec::new();
            for provider in providers {
                let webhook = secrets::webhook_of(provider);
                let doc = secrets::read(&client, ctx.target.secret_id(webhook)?).await?;
                rows.extend(doc.listed(provider));
            }
            output::write_list(
                out,
                err,
                format,
                &rows,
                None,
                |rows| {
                    let mut g = Grid::new(&["PROVIDER", "SCOPE", "ID"]);
                    for r in rows {
                        g.row([r.provider.to_string(), r.scope.clone(), r.id.clone()]);
                    }
                    g
                },
                true,
            )?;
        }
        SecretsCommand::Add(change) | SecretsCommand::Rotate(change) => {
            let value = match secret_value(change)? {
                Some(v) => v,
                None => secrets::generate()?,
            };
            let webhook = secrets::webhook_of(change.provider);
            let id_of_secret = ctx.target.secret_id(webhook)?;
            let mut doc = secrets::read(&client, id_of_secret).await?;
            let channel = change.channel.as_deref();
            let carried_over = match channel {
                Some(c) if !change.no_carry_over => doc.carry_over_defaults(c),
                _ => Vec::new(),
            };
            let existing = doc
                .listed(change.provider)
                .into_iter()
                .filter(|l| l.scope == secrets::scope_name(channel))
                .map(|l| l.id)
                .filter(|id| !carried_over.contains(id))
                .collect::<Vec<_>>();
            let taken: std::collections::BTreeMap<String, String> = existing
                .iter()
                .chain(&carried_over)
                .map(|id| (id.clone(), String::new()))
                .collect();
            let id = change.id.clone().unwrap_or_else(|| secrets::new_id(&taken));
            doc.add(channel, &id, &value)?;
            secrets::write(&client, id_of_secret, &doc).await?;
            let added = secrets::Added {
                provider: change.provider,
                scope: secrets::scope_name(channel),
                id: id.clone(),
                value: value.clone(),
                others: existing.clone(),
                carried_over,
                paste: secrets::paste(change.provider, &value, |w| {
                    ctx.target.webhook_url(w).ok().map(str::to_owned)
                }),
            };
            output::write_one(out, format, &added, |a| {
                let mut text = format!(
                    "Added secret {} for {} ({}). The functions use it from its first delivery.\nSecret: {}\n",
                    a.id, a.provider, a.scope, a.value
                );
                for p in &a.paste {
                    text.push_str(&format!("\n{}: {}\n", p.webhook, p.place));
                    if let Some(url) = &p.url {
                        text.push_str(&format!("  URL: {url}\n"));
                    }
                }
                if !a.carried_over.is_empty() {
                    text.push_str(&format!(
                        "\nThe default secrets checked this channel's deliveries until now, and {} signs them with one until told to switch: the channel keeps accepting them, carried over as {}. Once {} signs with the new secret: callvault secrets remove {} <id>{}\n",
                        a.provider,
                        a.carried_over.join(", "),
                        a.provider,
                        a.provider,
                        channel.map(|c| format!(" --channel {c}")).unwrap_or_default()
                    ));
                }
                if !a.others.is_empty() {
                    text.push_str(&format!(
                        "\nStill active: {}. Once the provider uses the new secret: callvault secrets remove {} <id>{}\n",
                        a.others.join(", "),
                        a.provider,
                        channel.map(|c| format!(" --channel {c}")).unwrap_or_default()
                    ));
                }
                text
            })?;
        }
        SecretsCommand::Remove {
            provider,
            id,
            channel,
        } => {
            let webhook = secrets::webhook_of(*provider);
            let id_of_secret = ctx.target.secret_id(webhook)?;
            let mut doc = secrets::read(&client, id_of_secret).await?;
            doc.remove(channel.as_deref(), id)?;
            secrets::write(&client, id_of_secret, &doc).await?;
            let removed = secrets::Listed {
                provider: *provider,
                scope: secrets::scope_name(channel.as_deref()),
                id: id.clone(),
            };
            output::write_done(
                out,
                err,
                format,
                &removed,
                &format!(
                    "removed secret {id} of {provider}; running functions stop accepting it within 5 minutes"
                ),
            )?;
        }
    }
    Ok(())
}

/// The `--value` given (`-`: read from stdin), if any.
fn secret_value(change: &SecretChange) -> anyhow::Result<Option<String>> {
    match change.value.as_deref() {
        Some("-") => {
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value)?;
            Ok(Some(value.trim_end_matches(['\n', '\r']).to_owned()))
        }
        Some(value) => Ok(Some(value.to_owned())),
        None => Ok(None),
    }
}
