//! `callvault recording`: archived recordings (and transcript or media files): download,
//! link, copy again, index for the copier.

use std::io::Write;

use anyhow::Context as _;
use callvault_query::{input, Reader};
use callvault_store::schema::call_pk;
use callvault_store::timestamp;
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::Context;
use crate::args::{Cli, Download, Output, RecordingCommand};
use crate::error::CliError;
use crate::output;

/// What `recording download` wrote.
#[derive(Debug, Clone, Serialize)]
struct Downloaded {
    /// Where (`-`: stdout).
    file: String,
    /// Its size.
    bytes: u64,
    /// Its SHA-256, checked against the archive's record.
    sha256: String,
}

/// Runs `recording url`, `download`, `retry` or `reindex`. Takes stdout whole: a download
/// to `-` writes there itself.
pub async fn run(
    cli: &Cli,
    command: &RecordingCommand,
    format: Output,
    mut out: impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        RecordingCommand::Url(link) => {
            let id = input::id(&link.call.call_id, "call id")?;
            let link = Context::load(cli)
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
        RecordingCommand::Download(download) => {
            let id = input::id(&download.call.call_id, "call id")?;
            // The file itself goes to stdout for `-`, written there by another thread.
            let mut out = (download.file.as_os_str() != "-").then_some(out);
            let reader = Context::load(cli).await?.reader();
            let done = self::download(&reader, download, id).await?;
            let text = format!("{} bytes, sha256 {} (verified)", done.bytes, done.sha256);
            match out.as_mut() {
                Some(out) => output::write_done(out, err, format, &done, &text)?,
                None => writeln!(err, "{text}")?,
            }
        }
        RecordingCommand::Retry(retry) => {
            let call = match (&retry.call_provider, &retry.call_id) {
                (Some(provider), Some(id)) => Some((*provider, input::id(id, "call id")?)),
                _ => None,
            };
            let ctx = Context::load(cli).await?;
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
            output::write_done(
                &mut out,
                err,
                format,
                &serde_json::json!({"files": files, "records": records.len()}),
                &format!(
                    "{files} failed file(s) of {} record(s) are pending again; the copier takes them now",
                    records.len()
                ),
            )?;
        }
        RecordingCommand::Reindex => {
            let ctx = Context::load(cli).await?;
            let done = ctx.store.index_waiting_files(Utc::now()).await?;
            output::write_done(
                &mut out,
                err,
                format,
                &serde_json::json!({"indexed": done.updated, "records": done.records}),
                &format!(
                    "{} of {} record(s) with files pending or failed indexed for the copier's sweep",
                    done.updated, done.records
                ),
            )?;
        }
    }
    Ok(())
}

/// Streams an archived file to `--to`, hashing it on the way, with a progress bar on a
/// terminal; a file whose SHA-256 does not match the archive's record is an error (and a
/// partial output file is removed).
async fn download(reader: &Reader, download: &Download, id: &str) -> anyhow::Result<Downloaded> {
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
        Some(expected) if *expected != digest => Err(CliError::Failed(format!(
            "SHA-256 mismatch: got {digest}, the archive recorded {expected}"
        ))
        .into()),
        _ => Ok(()),
    });
    if let Err(e) = outcome {
        if !to_stdout {
            let _ = tokio::fs::remove_file(&download.file).await;
        }
        return Err(e);
    }
    Ok(Downloaded {
        file: download.file.display().to_string(),
        bytes: size,
        sha256: digest,
    })
}
