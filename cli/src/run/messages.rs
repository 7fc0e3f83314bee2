//! `callvault messages`: a WhatsApp conversation's messages in order.

use std::io::Write;

use callvault_query::input;

use super::{pages, Context};
use crate::args::{Cli, MessagesCommand};
use crate::output::{self, Style};

/// Runs `messages list`.
pub async fn run(
    cli: &Cli,
    command: &MessagesCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let format = style.output;
    let MessagesCommand::List(list) = command;
    let conversation = input::id(&list.conversation, "--conversation")?;
    let reader = Context::load(cli).await?.reader();
    pages(
        &list.paging,
        format,
        (out, err),
        |cursor| {
            let reader = &reader;
            async move {
                reader
                    .messages(
                        list.provider,
                        conversation,
                        list.paging.limit,
                        cursor.as_deref(),
                    )
                    .await
            }
        },
        |m| output::messages_grid(style, m),
    )
    .await?;
    Ok(())
}
