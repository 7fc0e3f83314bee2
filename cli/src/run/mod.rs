//! Running a parsed command: one module per command group, each with a `run` function the
//! dispatch below calls. Each command checks its input first, and only then loads the AWS
//! configuration and the stack ([`Context`]): bad input exits 2 before any AWS request. Errors
//! become exit codes in one place, [`crate::error`].

mod calls;
mod console;
mod deliveries;
mod erase;
mod kept;
mod logs;
mod messages;
mod recording;
mod replay;
mod secrets;
mod stack;
mod status;
mod tail;
mod trigger;

use std::io::Write;

use callvault_catalog::Webhook;
use callvault_query::{input, CallDetail, Page, QueryError, Reader};
use callvault_store::{DynamoDbClient, RecordStore, S3Client};
use callvault_verify::Keyring;
use clap::CommandFactory;
use serde::Serialize;

use crate::args::{CallRef, Cli, Command, Output, Paging};
use crate::error::CliError;
use crate::output::{self, Grid, Style};
use crate::target::{self, Target};

/// The AWS configuration, the stack, and clients over them.
struct Context {
    sdk: aws_config::SdkConfig,
    target: Target,
    store: RecordStore,
}

impl Context {
    async fn load(cli: &Cli) -> anyhow::Result<Self> {
        let sdk = target::sdk_config(cli).await;
        let target = target::resolve(cli, &sdk).await?;
        let mut store = RecordStore::new(
            DynamoDbClient::new(&sdk),
            S3Client::new(&sdk),
            &target.table,
            &target.bucket,
        );
        if let Some(retention) = target.retention {
            store = store.with_retention(retention);
        }
        Ok(Self { sdk, target, store })
    }

    fn reader(&self) -> Reader {
        Reader::new(
            self.store.dynamodb().clone(),
            self.store.s3().clone(),
            &self.target.table,
            &self.target.bucket,
        )
    }

    fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    async fn keyring(&self, webhook: Webhook) -> anyhow::Result<Keyring> {
        let doc = crate::secrets::read(&self.secrets(), self.target.secret_id(webhook)?).await?;
        if doc.secrets.is_empty() && doc.channels.is_empty() {
            return Err(CliError::NotFound(format!(
                "{} has no secret yet: `callvault secrets add {}`",
                webhook.secret_name(),
                webhook.provider()
            ))
            .into());
        }
        Ok(Keyring::from_json(&doc.to_json()?)?)
    }
}

/// The call `call` names, with its deliveries (its id checked before any AWS request).
async fn call_detail(cli: &Cli, call: &CallRef) -> anyhow::Result<CallDetail> {
    let id = input::id(&call.call_id, "call id")?;
    Ok(Context::load(cli)
        .await?
        .reader()
        .call(call.provider, id, call.scope.as_ref())
        .await?)
}

/// Reads one page, or every page (`--all`), handing each to `show` as it arrives (as one
/// page at the end in JSON, which is one document).
async fn pages<T: Serialize, F, Fut>(
    paging: &Paging,
    format: Output,
    (out, err): (&mut impl Write, &mut impl Write),
    mut read: F,
    grid: impl Fn(&[T]) -> Grid,
) -> anyhow::Result<()>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, QueryError>>,
{
    let mut show = |page: &Page<T>, first| {
        output::write_list(
            out,
            err,
            format,
            &page.items,
            page.cursor.as_deref(),
            &grid,
            first,
        )
    };
    let mut page = read(paging.cursor.clone()).await?;
    let mut first = true;
    // Without --all the cursor stays on the page, to be printed.
    while let Some(cursor) = if paging.all { page.cursor.take() } else { None } {
        if format != Output::Json {
            show(&page, first)?;
            first = false;
            page.items.clear();
        }
        let next = read(Some(cursor)).await?;
        page.items.extend(next.items);
        page.cursor = next.cursor;
    }
    show(&page, first)?;
    Ok(())
}

/// Runs `cli`, writing results to stdout and notes to stderr.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let style = Style {
        output: cli.format(),
        tz: cli.tz,
    };
    let format = style.output;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "callvault", &mut out);
            Ok(())
        }
        Command::Stack(args) => stack::run(&cli, args, format, &mut out, &mut err).await,
        Command::Status => status::run(&cli, &style, &mut out).await,
        Command::Logs(args) => logs::run(&cli, args, &style, &mut out, &mut err).await,
        Command::Secrets(command) => secrets::run(&cli, command, format, &mut out, &mut err).await,
        Command::Trigger(args) => trigger::run(&cli, args, format, &mut out, &mut err).await,
        Command::Tail(args) => tail::run(&cli, args, &style, &mut out, &mut err).await,
        Command::Calls(command) => calls::run(&cli, command, &style, &mut out, &mut err).await,
        Command::Messages(command) => {
            messages::run(&cli, command, &style, &mut out, &mut err).await
        }
        Command::Deliveries(command) => {
            deliveries::run(&cli, command, &style, &mut out, &mut err).await
        }
        Command::Kept(command) => kept::run(&cli, command, &style, &mut out, &mut err).await,
        Command::Recording(command) => recording::run(&cli, command, format, out, &mut err).await,
        Command::Replay(command) => replay::run(&cli, command, format, &mut out, &mut err).await,
        Command::Erase(args) => erase::run(&cli, args, &style, &mut out, &mut err).await,
        Command::Console(args) => {
            drop(out);
            console::run(&cli, args).await
        }
    }
}
