//! `callvault console`: a web console on 127.0.0.1 over the same query library as the rest of
//! the CLI. Pages are rendered on the server (askama templates checked at compile time,
//! plotters charts as inline SVG) and work without JavaScript; the one script makes a
//! transcript follow its recording.

mod charts;
pub mod inspect;
mod pages;
mod routes;
pub mod text;
mod view;

use std::io::Write as _;
use std::net::Ipv4Addr;

use callvault_query::{QueryError, Reader};
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

/// Why the console could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Where the bucket's presigned links point could not be read.
    #[error("reading where the archive bucket's links point")]
    Links(#[source] QueryError),
    /// The links point somewhere a page policy cannot name.
    #[error(transparent)]
    Policy(#[from] routes::UnnameableLinks),
    /// The port is taken (or not ours to take).
    #[error("cannot listen on 127.0.0.1:{port}: choose another with --port (0 picks a free one)")]
    Listen {
        /// The port asked for.
        port: u16,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// Printing the URL failed.
    #[error("printing the console's URL")]
    Print(#[source] std::io::Error),
    /// Serving failed.
    #[error("the console stopped")]
    Stopped(#[source] std::io::Error),
}

/// A console listening on its port, not serving yet: [`Bound::url`] says where, and
/// [`Bound::run`] serves.
#[derive(Debug)]
pub struct Bound {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    url: String,
}

impl Bound {
    /// Its address, `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until the process is stopped.
    pub async fn run(self) -> Result<(), ServeError> {
        axum::serve(self.listener, self.router)
            .await
            .map_err(ServeError::Stopped)
    }
}

/// Listens on `127.0.0.1:port` (any free port for 0). Its pages may load images and media
/// only from where the reader's presigned links point, read once here.
pub async fn bind(console: Console, port: u16) -> Result<Bound, ServeError> {
    let links = console
        .reader
        .link_prefix()
        .await
        .map_err(ServeError::Links)?;
    let policy = routes::content_security_policy(&links)?;
    let listen = |source| ServeError::Listen { port, source };
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(listen)?;
    let port = listener.local_addr().map_err(listen)?.port();
    Ok(Bound {
        listener,
        router: routes::router(console, port, policy),
        url: format!("http://127.0.0.1:{port}/"),
    })
}

/// Serves the console on `127.0.0.1:port` (see [`bind`]) until the process is stopped,
/// printing its URL first and opening it in the default browser when `open`.
pub async fn serve(console: Console, port: u16, open: bool) -> Result<(), ServeError> {
    let bound = bind(console, port).await?;
    let url = bound.url().to_owned();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "callvault console: {url}  (Ctrl-C stops it)")
            .and_then(|()| out.flush())
            .map_err(ServeError::Print)?;
    }
    if open {
        if let Err(err) = open::that_detached(&url) {
            eprintln!("could not open a browser ({err}): open {url} yourself");
        }
    }
    bound.run().await
}
