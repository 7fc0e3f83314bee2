//! Running a parsed command against the table and bucket.

use std::io::Write;

use anyhow::Context;
use callvault_query::{input, CallFilter, InputError, Page, QueryError, Reader};
use callvault_store::index::index_timestamp;
use callvault_store::schema::call_pk;
use callvault_store::{DynamoDbClient, RecordStore, S3Client};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::args::{
    CallsCommand, Cli, Command, Download, ListCalls, MessagesCommand, Paging, RecordingCommand,
};
use crate::output;

/// The exit status of a failed command: 2 for bad input, 1 for everything else.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<QueryError>() {
        Some(QueryError::Input(_) | QueryError::Ambiguous { .. }) => 2,
        _ if err.downcast_ref::<InputError>().is_some() => 2,
        _ => 1,
    }
}

/// SDK configuration from the environment and the global flags.
pub async fn sdk_config(cli: &Cli) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &cli.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &cli.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &cli.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Reads every page (`--all`) or one page.
async fn pages<T, F, Fut>(paging: &Paging, mut read: F) -> anyhow::Result<Page<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, QueryError>>,
{
    let mut page = read(paging.cursor.clone()).await?;
    if paging.all {
        while let Some(cursor) = page.cursor.take() {
            let next = read(Some(cursor)).await?;
            page.items.extend(next.items);
            page.cursor = next.cursor;
        }
    }
    Ok(page)
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

/// Runs `cli`, writing results to stdout and notes to stderr.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let format = cli.format();
    // Each command checks its input before the AWS configuration is loaded.
    let reader = || async { Reader::from_config(&sdk_config(&cli).await, &cli.table, &cli.bucket) };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match &cli.command {
        Command::Calls(CallsCommand::List(list)) => {
            let filter = call_filter(list)?;
            let reader = reader().await;
            let page = pages(&list.paging, |cursor| {
                let (reader, filter) = (&reader, &filter);
                async move {
                    reader
                        .calls(filter, list.paging.limit, cursor.as_deref())
                        .await
                }
            })
            .await?;
            output::write_list(
                &mut out,
                &mut err,
                format,
                &page.items,
                page.cursor.as_deref(),
                output::calls_table,
            )?;
        }
        Command::Calls(CallsCommand::Get(call)) => {
            let id = input::id(&call.call_id, "call id")?;
            let detail = reader()
                .await
                .call(call.provider, id, call.scope.as_ref())
                .await?;
            output::write_one(&mut out, format, &detail, output::call_text)?;
        }
        Command::Messages(MessagesCommand::List(list)) => {
            let conversation = input::id(&list.conversation, "--conversation")?;
            let reader = reader().await;
            let page = pages(&list.paging, |cursor| {
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
            })
            .await?;
            output::write_list(
                &mut out,
                &mut err,
                format,
                &page.items,
                page.cursor.as_deref(),
                output::messages_table,
            )?;
        }
        Command::Recording(RecordingCommand::Url(link)) => {
            let id = input::id(&link.call.call_id, "call id")?;
            let link = reader()
                .await
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
            drop(out);
            let written = self::download(&reader().await, download).await?;
            writeln!(err, "{written}")?;
        }
        Command::Recording(RecordingCommand::Retry(retry)) => {
            let call = match (&retry.call_provider, &retry.call_id) {
                (Some(provider), Some(id)) => Some((*provider, input::id(id, "call id")?)),
                _ => None,
            };
            let sdk = sdk_config(&cli).await;
            let store = RecordStore::new(
                DynamoDbClient::new(&sdk),
                S3Client::new(&sdk),
                &cli.table,
                &cli.bucket,
            );
            let records = match call {
                Some((provider, id)) => {
                    let reader = Reader::new(
                        store.dynamodb().clone(),
                        store.s3().clone(),
                        &cli.table,
                        &cli.bucket,
                    );
                    let (_, _, sk) = reader
                        .stored_call(provider, id, retry.scope.as_ref())
                        .await?;
                    vec![(call_pk(provider, id), sk)]
                }
                None => store
                    .with_file_state("failed", usize::MAX)
                    .await?
                    .into_iter()
                    .filter(|e| retry.provider.is_none_or(|p| e.provider == p.as_str()))
                    .filter(|e| {
                        retry.since.is_none_or(|since| {
                            e.time_sk.as_str() >= index_timestamp(since).as_str()
                        })
                    })
                    .map(|e| (e.pk, e.sk))
                    .collect(),
            };
            let mut files = 0;
            for (pk, sk) in &records {
                files += store.redrive_failed(pk, sk).await?;
            }
            writeln!(
                err,
                "{files} failed file(s) of {} record(s) are pending again; the copier takes them now",
                records.len()
            )?;
        }
    }
    Ok(())
}

/// Streams an archived file to `--output`, hashing it on the way; a file whose SHA-256 does
/// not match the archive's record is an error (and a partial output file is removed).
async fn download(reader: &Reader, download: &Download) -> anyhow::Result<String> {
    let id = input::id(&download.call.call_id, "call id")?;
    let mut opened = reader
        .open_file(
            download.call.provider,
            id,
            download.call.scope.as_ref(),
            download.kind,
        )
        .await?;
    let to_stdout = download.output.as_os_str() == "-";
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin> = if to_stdout {
        Box::new(tokio::io::stdout())
    } else {
        Box::new(
            tokio::fs::File::create(&download.output)
                .await
                .with_context(|| format!("creating {}", download.output.display()))?,
        )
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let result: anyhow::Result<()> = async {
        while let Some(chunk) = opened.body.try_next().await.context("reading from S3")? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            sink.write_all(&chunk).await?;
        }
        sink.flush().await?;
        let digest = hex::encode(hasher.finalize());
        if let Some(expected) = &opened.file.sha256 {
            anyhow::ensure!(
                *expected == digest,
                "SHA-256 mismatch: archive says {expected}, downloaded {digest}"
            );
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        if !to_stdout {
            let _ = tokio::fs::remove_file(&download.output).await;
        }
        return Err(e);
    }
    Ok(format!(
        "wrote {size} bytes to {}",
        if to_stdout {
            "stdout".into()
        } else {
            download.output.display().to_string()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_exit_with_2_others_with_1() {
        assert_eq!(exit_code(&anyhow::Error::from(InputError::Cursor)), 2);
        assert_eq!(
            exit_code(&anyhow::Error::from(QueryError::Input(
                InputError::EmptyRange
            ))),
            2
        );
        assert_eq!(
            exit_code(&anyhow::Error::from(QueryError::NotFound("x".into()))),
            1
        );
        assert_eq!(exit_code(&anyhow::anyhow!("network down")), 1);
    }
}
