//! `callvault console`: a web console on 127.0.0.1 over the same query library as the rest of
//! the CLI. Pages are rendered on the server (askama templates checked at compile time,
//! plotters charts as inline SVG) and work without JavaScript; the one script makes a
//! transcript follow its recording.

mod charts;
mod pages;
mod routes;
mod view;

use std::io::Write as _;
use std::net::Ipv4Addr;

use anyhow::Context as _;
use callvault_query::Reader;
use callvault_store::RecordStore;
use chrono_tz::Tz;

/// What the pages read from, and how they show times.
#[derive(Debug, Clone)]
pub struct Console {
    /// Calls, messages and files.
    pub reader: Reader,
    /// Kept deliveries, raw bodies, the copy backlog and re-drives.
    pub store: RecordStore,
    /// Displayed times' zone.
    pub tz: Tz,
    /// What the console shows (the stack's name, or the table and bucket).
    pub label: String,
}

/// Serves the console on `127.0.0.1:port` (any free port for 0) until the process is stopped,
/// printing its URL first and opening it in the default browser when `open`. Its pages may
/// load images and media only from where the reader's presigned links point, read once here.
pub async fn serve(console: Console, port: u16, open: bool) -> anyhow::Result<()> {
    let links = console
        .reader
        .link_prefix()
        .await
        .context("reading where the archive bucket's links point")?;
    let policy = routes::content_security_policy(&links)?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}: choose another with --port (0 picks a free one)")
        })?;
    let port = listener.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}/");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "callvault console: {url}  (Ctrl-C stops it)")?;
        out.flush()?;
    }
    if open {
        if let Err(err) = open::that_detached(&url) {
            eprintln!("could not open a browser ({err}): open {url} yourself");
        }
    }
    axum::serve(listener, routes::router(console, port, policy))
        .await
        .context("the console stopped")?;
    Ok(())
}
