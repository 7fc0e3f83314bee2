//! Running a parsed command. Each command checks its input first, and only then loads the
//! AWS configuration and the stack: bad input exits 2 before any AWS request.

use std::io::{Read, Write};

use anyhow::{bail, Context as _};
use callvault_catalog::Webhook;
use callvault_query::{input, CallFilter, InputError, Page, QueryError, Reader};
use callvault_records::Provider;
use callvault_store::schema::call_pk;
use callvault_store::timestamp;
use callvault_store::{DynamoDbClient, RecordStore, S3Client};
use callvault_verify::Keyring;
use chrono::{DateTime, Utc};
use clap::CommandFactory;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::args::{
    CallsCommand, Cli, Command, DeliveriesCommand, Download, KeptRange, ListCalls, MessagesCommand,
    Output, Paging, RecordingCommand, RejectedCommand, ReplayCommand, SecretChange, SecretsCommand,
};
use crate::output::{self, Grid, Style};
use crate::target::{self, Target};
use crate::{inspect, secrets, tail, trigger};

/// A failed check (a trigger that did not land): exit code 1, the grid already printed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failed(pub String);

/// A command line that asks for something impossible (exit code 2), beyond what the
/// argument parser checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The exit status of a failed command: 2 for bad input, 1 for everything else.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<QueryError>() {
        Some(QueryError::Input(_) | QueryError::Ambiguous { .. }) => 2,
        _ if err.downcast_ref::<InputError>().is_some()
            || err.downcast_ref::<Usage>().is_some() =>
        {
            2
        }
        _ => 1,
    }
}

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
        let store = RecordStore::new(
            DynamoDbClient::new(&sdk),
            S3Client::new(&sdk),
            &target.table,
            &target.bucket,
        );
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
        let doc = secrets::read(&self.secrets(), self.target.secret_id(webhook)?).await?;
        Keyring::from_json(&doc.to_json()?).with_context(|| {
            format!(
                "{} has no secret yet: `callvault secrets add {}`",
                webhook.secret_name(),
                webhook.provider()
            )
        })
    }
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

/// The providers and `[since, until]` of kept deliveries to look at.
type Range = (Vec<Provider>, DateTime<Utc>, DateTime<Utc>);

/// The kept deliveries a range names: its providers and `[since, until]` (default today).
fn kept_range(range: &KeptRange) -> Result<Range, InputError> {
    let until = range.until.unwrap_or_else(Utc::now);
    let since = range.since.unwrap_or_else(|| {
        until
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    });
    if since > until {
        return Err(InputError::EmptyRange);
    }
    let providers = range.provider.map_or(Provider::ALL.to_vec(), |p| vec![p]);
    Ok((providers, since, until))
}

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
        }
        Command::Stack => {
            let ctx = Context::load(&cli).await?;
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
            output::write_one(&mut out, format, &shown, |t| stack_text(t).table())?;
        }
        Command::Secrets(command) => {
            if let SecretsCommand::Add(change) | SecretsCommand::Rotate(change) = command {
                if change.id.as_deref().is_some_and(|id| id.trim().is_empty())
                    || change.value.as_deref() == Some("")
                {
                    return Err(Usage("--id and --value must not be empty".into()).into());
                }
            }
            secrets_command(&cli, command, format, &mut out, &mut err).await?
        }
        Command::Trigger(args) => {
            let chosen = trigger::selection(args.all, &args.what)?;
            let ctx = Context::load(&cli).await?;
            let run = format!("trigger-{}", Utc::now().format("%Y%m%d%H%M%S"));
            let mut keyrings = std::collections::BTreeMap::new();
            for (webhook, _) in &chosen {
                if let std::collections::btree_map::Entry::Vacant(slot) = keyrings.entry(*webhook) {
                    slot.insert(ctx.keyring(*webhook).await?);
                }
            }
            let samples = trigger::samples(&chosen, |w| Ok(keyrings[&w].clone()), &run)?;
            if args.curl {
                for sample in &samples {
                    writeln!(
                        out,
                        "{}",
                        trigger::curl(ctx.target.webhook_url(sample.webhook)?, sample)
                    )?;
                }
                return Ok(());
            }
            let http = reqwest::Client::new();
            let mut rows = Vec::new();
            for sample in &samples {
                let url = ctx.target.webhook_url(sample.webhook)?;
                rows.push(trigger::send(&http, &ctx.store, url, sample).await?);
            }
            output::write_list(&mut out, &mut err, format, &rows, None, trigger_grid, true)?;
            let failed = rows.iter().filter(|r| !r.pass).count();
            if failed > 0 {
                return Err(Failed(format!(
                    "{failed} of {} deliveries did not land",
                    rows.len()
                ))
                .into());
            }
        }
        Command::Tail(args) => {
            let ctx = Context::load(&cli).await?;
            let streams = aws_sdk_dynamodbstreams::Client::new(&ctx.sdk);
            writeln!(err, "following {} (Ctrl-C stops)", ctx.target.table)?;
            err.flush()?;
            let mut left = args.count;
            let mut first = true;
            tail::follow(ctx.store.dynamodb(), streams, &ctx.target.table, |line| {
                if args.provider.is_some_and(|p| p.as_str() != line.provider)
                    || (!args.outcome.is_empty() && !args.outcome.contains(&line.kind))
                {
                    return Ok(true);
                }
                match format {
                    Output::Json | Output::Jsonl => {
                        writeln!(out, "{}", serde_json::to_string(&line)?)?
                    }
                    Output::Csv => write!(out, "{}", tail_grid(&style, &line).csv(first)?)?,
                    Output::Table => {
                        let row = tail_grid(&style, &line).csv(false)?;
                        writeln!(out, "{}", row.trim_end().replace(',', "  "))?;
                    }
                }
                out.flush()?;
                first = false;
                left = left.map(|n| n.saturating_sub(1));
                Ok(left != Some(0))
            })
            .await?;
        }
        Command::Calls(CallsCommand::List(list)) => {
            let filter = call_filter(list)?;
            let reader = Context::load(&cli).await?.reader();
            pages(
                &list.paging,
                format,
                (&mut out, &mut err),
                |cursor| {
                    let (reader, filter) = (&reader, &filter);
                    async move {
                        reader
                            .calls(filter, list.paging.limit, cursor.as_deref())
                            .await
                    }
                },
                |c| output::calls_grid(&style, c),
            )
            .await?;
        }
        Command::Calls(CallsCommand::Get(call)) => {
            let id = input::id(&call.call_id, "call id")?;
            let detail = Context::load(&cli)
                .await?
                .reader()
                .call(call.provider, id, call.scope.as_ref())
                .await?;
            output::write_one(&mut out, format, &detail, |d| output::call_text(&style, d))?;
        }
        Command::Messages(MessagesCommand::List(list)) => {
            let conversation = input::id(&list.conversation, "--conversation")?;
            let reader = Context::load(&cli).await?.reader();
            pages(
                &list.paging,
                format,
                (&mut out, &mut err),
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
                |m| output::messages_grid(&style, m),
            )
            .await?;
        }
        Command::Deliveries(DeliveriesCommand::List(call)) => {
            let id = input::id(&call.call_id, "call id")?;
            let detail = Context::load(&cli)
                .await?
                .reader()
                .call(call.provider, id, call.scope.as_ref())
                .await?;
            output::write_list(
                &mut out,
                &mut err,
                format,
                &detail.events,
                None,
                |e| output::events_grid(&style, e),
                true,
            )?;
        }
        Command::Deliveries(DeliveriesCommand::Show {
            call,
            delivery,
            raw,
        }) => {
            let id = input::id(&call.call_id, "call id")?;
            let delivery = input::id(delivery, "delivery")?;
            let ctx = Context::load(&cli).await?;
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
                bail!("the kept body does not match its recorded SHA-256");
            }
            if *raw {
                out.write_all(&body)?;
                return Ok(());
            }
            let shown = inspect::Shown {
                event: event.clone(),
                body_base64: base64_of(&body),
                body: body.clone(),
            };
            output::write_one(&mut out, format, &shown, |s| {
                let mut headers = Grid::new(&["HEADER", "VALUE"]);
                for (name, value) in &s.event.headers {
                    headers.row([name.clone(), value.clone()]);
                }
                format!(
                    "{}\n{}\n{}",
                    output::events_grid(&style, std::slice::from_ref(&s.event)).table(),
                    headers.table(),
                    output::printable(&String::from_utf8_lossy(&s.body))
                )
            })?;
        }
        Command::Rejected(RejectedCommand::List(range)) => {
            let (providers, since, until) = kept_range(range)?;
            let ctx = Context::load(&cli).await?;
            let kept = inspect::kept(&ctx.store, &providers, since, until).await?;
            let rows: Vec<inspect::KeptRow> = kept.iter().map(Into::into).collect();
            output::write_list(
                &mut out,
                &mut err,
                format,
                &rows,
                None,
                |r| kept_grid(&style, r),
                true,
            )?;
        }
        Command::Recording(RecordingCommand::Url(link)) => {
            let id = input::id(&link.call.call_id, "call id")?;
            let link = Context::load(&cli)
                .await?
                .reader()
                .file_link(
                    link.call.provider,
                    id,
                    link.call.scope.as_ref(),
                    link.kind,
                    link.expires,
                )
                .await?;
            output::write_one(&mut out, format, &link, output::link_text)?;
        }
        Command::Recording(RecordingCommand::Download(download)) => {
            let id = input::id(&download.call.call_id, "call id")?;
            drop(out);
            let reader = Context::load(&cli).await?.reader();
            let written = self::download(&reader, download, id).await?;
            writeln!(err, "{written}")?;
        }
        Command::Recording(RecordingCommand::Retry(retry)) => {
            let call = match (&retry.call_provider, &retry.call_id) {
                (Some(provider), Some(id)) => Some((*provider, input::id(id, "call id")?)),
                _ => None,
            };
            let ctx = Context::load(&cli).await?;
            let records = match call {
                Some((provider, id)) => {
                    let (_, _, sk) = ctx
                        .reader()
                        .stored_call(provider, id, retry.scope.as_ref())
                        .await?;
                    vec![(call_pk(provider, id), sk)]
                }
                None => ctx
                    .store
                    .with_file_state("failed", usize::MAX)
                    .await?
                    .into_iter()
                    .filter(|e| retry.provider.is_none_or(|p| e.provider == p.as_str()))
                    .filter(|e| {
                        retry
                            .since
                            .is_none_or(|since| e.time_sk.as_str() >= timestamp(since).as_str())
                    })
                    .map(|e| (e.pk, e.sk))
                    .collect(),
            };
            let mut files = 0;
            for (pk, sk) in &records {
                files += ctx.store.redrive_failed(pk, sk).await?;
            }
            writeln!(
                err,
                "{files} failed file(s) of {} record(s) are pending again; the copier takes them now",
                records.len()
            )?;
        }
        Command::Recording(RecordingCommand::Reindex) => {
            let ctx = Context::load(&cli).await?;
            let done = ctx.store.index_waiting_files(Utc::now()).await?;
            writeln!(
                err,
                "{} of {} record(s) with files pending or failed indexed for the copier's sweep",
                done.updated, done.records
            )?;
        }
        Command::Console(console) => {
            drop(out);
            let ctx = Context::load(&cli).await?;
            ctx.reader().warm_up().await?;
            let label = match &ctx.target.stack {
                Some(stack) => format!("stack {stack}"),
                None => format!("table {}, bucket {}", ctx.target.table, ctx.target.bucket),
            };
            let shown = crate::console::Console {
                reader: ctx.reader(),
                store: ctx.store.clone(),
                tz: cli.tz,
                label,
            };
            crate::console::serve(shown, console.port, console.open).await?;
        }
        Command::Replay(command) => {
            replay_command(&cli, command, &style, &mut out, &mut err).await?
        }
    }
    Ok(())
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

fn trigger_grid(rows: &[trigger::Row]) -> Grid {
    let mut g = Grid::new(&[
        "WEBHOOK", "EVENT", "HTTP", "REPLY", "STORED", "MS", "RECORD", "RESULT",
    ]);
    for r in rows {
        g.row([
            r.webhook.clone(),
            r.event.clone(),
            r.http.map(|h| h.to_string()).unwrap_or_default(),
            r.reply.clone(),
            if r.stored { "yes" } else { "no" }.into(),
            r.ms.to_string(),
            r.record.clone(),
            if r.pass { "pass" } else { "FAIL" }.into(),
        ]);
    }
    g
}

fn tail_grid(style: &Style, line: &tail::Line) -> Grid {
    let mut g = Grid::new(&["TIME", "KIND", "PROVIDER", "WHAT", "ID", "REASON"]);
    g.row([
        style.stored_time(&line.time),
        serde_json::to_value(line.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        line.provider.clone(),
        line.what.clone(),
        line.id.clone(),
        line.reason.clone().unwrap_or_default(),
    ]);
    g
}

fn kept_grid(style: &Style, rows: &[inspect::KeptRow]) -> Grid {
    let mut g = Grid::new(&[
        "RECEIVED", "PROVIDER", "WEBHOOK", "REASON", "SHA-256", "BODY",
    ]);
    for r in rows {
        g.row([
            style.time(r.received_at),
            r.provider.to_string(),
            r.webhook.clone(),
            r.reason.clone(),
            r.body_sha256.chars().take(16).collect(),
            r.body.clone(),
        ]);
    }
    g
}

async fn secrets_command(
    cli: &Cli,
    command: &SecretsCommand,
    format: Output,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
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
                .filter(|l| l.scope == channel.map_or("default".into(), |c| format!("channel:{c}")))
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
                scope: channel.map_or("default".into(), |c| format!("channel:{c}")),
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
            writeln!(
                err,
                "removed secret {id} of {provider}; running functions stop accepting it within 5 minutes"
            )?;
        }
    }
    Ok(())
}

async fn replay_command(
    cli: &Cli,
    command: &ReplayCommand,
    style: &Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    use callvault_webhook::replay;

    let format = style.output;
    let ranged = match command {
        ReplayCommand::Rejected { range, .. } | ReplayCommand::Delivery { range, .. } => {
            Some(kept_range(range)?)
        }
        ReplayCommand::Spool { .. } | ReplayCommand::HatifScopes { .. } => None,
    };
    if let ReplayCommand::Delivery { sha256, .. } = command {
        if sha256.len() < 8 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Usage(format!(
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
        ReplayCommand::Rejected { dry_run, .. } | ReplayCommand::Delivery { dry_run, .. } => {
            let Some((providers, since, until)) = ranged else {
                unreachable!("ranged above")
            };
            let mut kept = inspect::kept(&ctx.store, &providers, since, until).await?;
            if let ReplayCommand::Delivery { sha256, .. } = command {
                kept.retain(|k| k.body_sha256.starts_with(&sha256.to_ascii_lowercase()));
                if kept.len() != 1 {
                    bail!(
                        "{} kept deliveries in the range match {sha256} (widen it with --since, or give more of the SHA-256)",
                        kept.len()
                    );
                }
            }
            for rejected in &kept {
                let outcome = if *dry_run {
                    let body = ctx.store.kept_body(&rejected.body).await?;
                    match replay::preview(
                        replay::webhook_named(&rejected.webhook)?,
                        &rejected.headers,
                        &rejected.verified(body)?,
                        rejected.received_at,
                    ) {
                        Ok(record) => format!("would apply: {record}"),
                        Err(reason) => format!("would stay kept: {reason}"),
                    }
                } else {
                    match replay::replay_kept(&ctx.store, rejected).await {
                        Ok(o) => o.label().to_owned(),
                        Err(e) => format!("failed: {}", e.detail()),
                    }
                };
                rows.push(
                    serde_json::json!({"kept": rejected.body_sha256, "webhook": rejected.webhook,
                    "received_at": rejected.received_at, "outcome": outcome}),
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

/// Streams an archived file to `--to`, hashing it on the way, with a progress bar on a
/// terminal; a file whose SHA-256 does not match the archive's record is an error (and a
/// partial output file is removed).
async fn download(reader: &Reader, download: &Download, id: &str) -> anyhow::Result<String> {
    let mut opened = reader
        .open_file(
            download.call.provider,
            id,
            download.call.scope.as_ref(),
            download.kind,
        )
        .await?;
    let to_stdout = download.file.as_os_str() == "-";
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin> = if to_stdout {
        Box::new(tokio::io::stdout())
    } else {
        Box::new(
            tokio::fs::File::create(&download.file)
                .await
                .with_context(|| format!("creating {}", download.file.display()))?,
        )
    };
    let progress = indicatif::ProgressBar::with_draw_target(
        opened.file.size,
        if to_stdout {
            indicatif::ProgressDrawTarget::hidden()
        } else {
            indicatif::ProgressDrawTarget::stderr()
        },
    );
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let result: anyhow::Result<()> = async {
        while let Some(chunk) = opened.body.next().await {
            let chunk = chunk.context("reading the archived file")?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            progress.inc(chunk.len() as u64);
            sink.write_all(&chunk).await?;
        }
        sink.flush().await?;
        Ok(())
    }
    .await;
    progress.finish_and_clear();
    let digest = hex::encode(hasher.finalize());
    let outcome = result.and_then(|()| match &opened.file.sha256 {
        Some(expected) if *expected != digest => Err(anyhow::anyhow!(
            "SHA-256 mismatch: got {digest}, the archive recorded {expected}"
        )),
        _ => Ok(()),
    });
    if let Err(e) = outcome {
        if !to_stdout {
            let _ = tokio::fs::remove_file(&download.file).await;
        }
        return Err(e);
    }
    Ok(format!("{size} bytes, sha256 {digest} (verified)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_other_failures_1() {
        assert_eq!(
            exit_code(&anyhow::Error::from(QueryError::Input(InputError::Cursor))),
            2
        );
        assert_eq!(
            exit_code(&anyhow::Error::from(QueryError::NotFound("x".into()))),
            1
        );
        assert_eq!(exit_code(&anyhow::Error::from(Failed("x".into()))), 1);
    }
}
