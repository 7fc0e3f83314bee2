//! `callvault stack`: the stack's table, bucket, secrets and webhook URLs, ready to paste
//! into each provider's dashboard.

use std::io::Write;

use callvault_catalog::Webhook;

use super::Context;
use crate::args::{Cli, Output};
use crate::output::{self, Grid};
use crate::target::Target;

/// Prints what the stack names, the post-call URL with its token.
pub async fn run(cli: &Cli, format: Output, out: &mut impl Write) -> anyhow::Result<()> {
    let ctx = Context::load(cli).await?;
    let mut shown = ctx.target.clone();
    // The post-call URL with its token, ready to paste.
    if let (Ok(url), Ok(keyring)) = (
        ctx.target.webhook_url(Webhook::PostCall),
        ctx.keyring(Webhook::PostCall).await,
    ) {
        if let Some((_, token)) = keyring.default_set().and_then(|s| s.iter().next()) {
            shown.webhook_urls.insert(
                Webhook::PostCall.name().to_owned(),
                format!("{url}?{}", callvault_verify::SharedToken::query(token)),
            );
        }
    }
    output::write_one(out, format, &shown, |t| stack_text(t).table())?;
    Ok(())
}

fn stack_text(target: &Target) -> Grid {
    let mut g = Grid::new(&["WHAT", "VALUE"]);
    g.row(["stack".into(), target.stack.clone().unwrap_or_default()]);
    g.row(["table".into(), target.table.clone()]);
    g.row(["bucket".into(), target.bucket.clone()]);
    if let Some(endpoint) = &target.endpoint {
        g.row(["endpoint".into(), endpoint.clone()]);
    }
    for webhook in Webhook::ALL {
        if let Some(url) = target.webhook_urls.get(webhook.name()) {
            g.row([format!("{webhook} URL"), url.clone()]);
            g.row([
                format!("{webhook} goes to"),
                webhook.where_to_paste().into(),
            ]);
        }
    }
    if let Some(url) = &target.query_api_url {
        g.row(["query API URL".into(), url.clone()]);
    }
    for (name, id) in &target.secrets {
        g.row([format!("{name} secret"), id.clone()]);
    }
    g
}
