//! `callvault deliveries`: a call's deliveries, exactly as they arrived.

use std::io::Write;

use callvault_console::inspect;
use callvault_console::text::printable;
use callvault_query::{input, DeliveryEvent};
use callvault_store::schema::call_pk;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{call_detail, Context};
use crate::args::{Cli, DeliveriesCommand};
use crate::error::CliError;
use crate::output::{self, Grid, Style};

/// One delivery, whole: its event and exact body.
#[derive(Debug, Clone, Serialize)]
struct Shown {
    /// The event.
    #[serde(flatten)]
    event: DeliveryEvent,
    /// The body, base64 (in JSON output; tables print it as text).
    body_base64: String,
    /// The body's bytes.
    #[serde(skip)]
    body: Vec<u8>,
}

/// Runs `deliveries list` or `deliveries show`.
pub async fn run(
    cli: &Cli,
    command: &DeliveriesCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    match command {
        DeliveriesCommand::List(call) => {
            let detail = call_detail(cli, call).await?;
            output::write_list(
                out,
                err,
                format,
                &detail.events,
                None,
                |e| output::events_grid(style, e),
                true,
            )?;
        }
        DeliveriesCommand::Show {
            call,
            delivery,
            raw,
        } => {
            let id = input::id(&call.call_id, "call id")?;
            let delivery = input::id(delivery, "delivery")?;
            let ctx = Context::load(cli).await?;
            let reader = ctx.reader();
            let (_, _, sk) = reader
                .stored_call(call.provider, id, call.scope.as_ref())
                .await?;
            let detail = reader.call(call.provider, id, call.scope.as_ref()).await?;
            let event = inspect::find(&detail, delivery)?;
            let body =
                inspect::body_of(&ctx.store, &call_pk(call.provider, id), event, &sk).await?;
            if Sha256::digest(&body).as_slice()
                != hex::decode(&event.body_sha256).unwrap_or_default()
            {
                return Err(CliError::Failed(
                    "the kept body does not match its recorded SHA-256".into(),
                )
                .into());
            }
            if *raw {
                out.write_all(&body)?;
                return Ok(());
            }
            let shown = Shown {
                event: event.clone(),
                body_base64: base64_of(&body),
                body: body.clone(),
            };
            output::write_one(out, format, &shown, |s| {
                let mut headers = Grid::new(&["HEADER", "VALUE"]);
                for (name, value) in &s.event.headers {
                    headers.row([name.clone(), value.clone()]);
                }
                format!(
                    "{}\n{}\n{}",
                    output::events_grid(style, std::slice::from_ref(&s.event)).table(),
                    headers.table(),
                    printable(&String::from_utf8_lossy(&s.body))
                )
            })?;
        }
    }
    Ok(())
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
