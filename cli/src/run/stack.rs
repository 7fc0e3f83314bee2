//! `callvault stack`: the stack's table, bucket, secrets and webhook URLs, ready to paste
//! into each provider's dashboard. It prints no secret: the post-call URL's token stands as
//! [`HIDDEN`] unless `--show-secrets`.

use std::io::Write;

use callvault_catalog::Webhook;
use callvault_verify::SharedToken;

use super::Context;
use crate::args::{Cli, Output, Stack};
use crate::output::{self, Grid};
use crate::target::Target;

/// What stands in place of a token not shown.
pub const HIDDEN: &str = "<token>";

/// Prints what the stack names, the post-call URL with its token (hidden unless
/// `--show-secrets`).
pub async fn run(
    cli: &Cli,
    args: &Stack,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let ctx = Context::load(cli).await?;
    let mut shown = ctx.target.clone();
    // The post-call URL with its token, ready to paste.
    if let (Ok(url), Ok(keyring)) = (
        ctx.target.webhook_url(Webhook::PostCall),
        ctx.keyring(Webhook::PostCall).await,
    ) {
        if let Some((_, token)) = keyring.default_set().and_then(|s| s.iter().next()) {
            let query = SharedToken::query(token);
            let query = if args.show_secrets {
                query
            } else {
                writeln!(
                    err,
                    "the post-call URL's token is shown as {HIDDEN}: `callvault stack --show-secrets` prints it"
                )?;
                hidden(&query)
            };
            shown.webhook_urls.insert(
                Webhook::PostCall.name().to_owned(),
                format!("{url}?{query}"),
            );
        }
    }
    output::write_one(out, format, &shown, |t| stack_text(t).table())?;
    Ok(())
}

/// A query string presenting a token (`token=...`) with [`HIDDEN`] for the token.
fn hidden(query: &str) -> String {
    let name = query.split_once('=').map_or(query, |(name, _)| name);
    format!("{name}={HIDDEN}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_verify::Secret;

    #[test]
    fn a_hidden_token_keeps_its_parameter_name_only() {
        let query = SharedToken::query(&Secret::new("s3cr3t-token"));
        assert!(query.contains("s3cr3t-token"));
        assert_eq!(hidden(&query), "token=<token>");
    }
}
