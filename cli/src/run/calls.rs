//! `callvault calls`: list calls, newest first, and show one with its delivery history.

use std::io::Write;

use callvault_query::{input, CallFilter, InputError};

use super::{call_detail, pages, Context};
use crate::args::{CallsCommand, Cli, ListCalls};
use crate::output::{self, Style};

/// Runs `calls list` or `calls get`.
pub async fn run(
    cli: &Cli,
    command: &CallsCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    match command {
        CallsCommand::List(list) => {
            let filter = call_filter(list)?;
            let reader = Context::load(cli).await?.reader();
            pages(
                &list.paging,
                format,
                (out, err),
                |cursor| {
                    let (reader, filter) = (&reader, &filter);
                    async move {
                        reader
                            .calls(filter, list.paging.limit, cursor.as_deref())
                            .await
                    }
                },
                |c| output::calls_grid(style, c),
            )
            .await?;
        }
        CallsCommand::Get(call) => {
            let detail = call_detail(cli, call).await?;
            output::write_one(out, format, &detail, |d| output::call_text(style, d))?;
        }
    }
    Ok(())
}

/// The filter `calls list` names.
fn call_filter(list: &ListCalls) -> Result<CallFilter, InputError> {
    let (since, until) = input::range(list.since, list.until)?;
    Ok(CallFilter {
        provider: list.provider,
        since,
        until,
        phone: list
            .phone
            .as_deref()
            .map(|p| input::phone(p, list.country.as_deref()))
            .transpose()?,
        agent: list
            .agent
            .as_deref()
            .map(|a| input::id(a, "--agent"))
            .transpose()?
            .map(str::to_owned),
        contact: list
            .contact
            .as_deref()
            .map(|c| input::id(c, "--contact"))
            .transpose()?
            .map(str::to_owned),
        status: list.status,
        file_state: list.recording,
    })
}
