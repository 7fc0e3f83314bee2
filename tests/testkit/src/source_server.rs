//! A local HTTP/1.1 server on 127.0.0.1 standing in for a provider's file hosting, with
//! fault modes for copier tests and generated content of any size for benchmarks.
//!
//! Routes (every response closes the connection):
//! - `/files/<name>`: a file added with [`SourceServer::add`], with `Content-Length`.
//! - `/generated/<bytes>`: that many deterministic bytes, generated while sending.
//! - `/status/<code>`: an empty response with that status.
//! - `/flaky/<n>/<name>`: 500 for the first `n` requests of that path, then the file.
//! - `/outage/<seconds>/<name>`: 503 for `seconds` after the first request of that path, then
//!   the file (a provider's file hosting down for a while).
//! - `/stall/<name>`: headers and half the file, then silence.
//! - `/stall-once/<name>`: the first request of that path as `/stall/`, later ones the file
//!   (a download that stalls once, then recovers).
//! - `/slow/<millis>/<name>`: after waiting that long, the file, or 503 when there is no such
//!   file (a download or a failure that takes a while, so two copiers of one file overlap).
//! - `/truncated/<name>`: declares the full length, sends half, closes.
//! - `/chunked/<name>`: the file with no declared length (chunked).
//! - `/redirect?to=<url>`: 302 to `url`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The deterministic byte at `offset` of generated content.
pub fn generated_byte(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (offset >> 7);
    (x >> 24) as u8
}

#[derive(Default)]
struct State {
    files: Mutex<HashMap<String, (Vec<u8>, String)>>,
    hits: Mutex<HashMap<String, usize>>,
    first_seen: Mutex<HashMap<String, std::time::Instant>>,
    requests: AtomicUsize,
}

/// The server; stops when dropped.
pub struct SourceServer {
    port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SourceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SourceServer {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Ok(Self { port, state, task })
    }

    /// Adds a file served under `/files/<name>` (and the fault routes).
    pub fn add(&self, name: &str, content: Vec<u8>, content_type: &str) {
        if let Ok(mut files) = self.state.files.lock() {
            files.insert(name.to_owned(), (content, content_type.to_owned()));
        }
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests received so far for `path` (as in [`Self::url`]).
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .map(|hits| hits.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for SourceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let hits = {
        let mut hits = state
            .hits
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let file = |name: &str| state.files.lock().ok().and_then(|f| f.get(name).cloned());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["files", name] => match file(name) {
            Some((body, ct)) => {
                respond(&mut stream, 200, &ct, Some(body.len() as u64), &body).await
            }
            None => respond(&mut stream, 404, "text/plain", Some(0), b"").await,
        },
        ["generated", size] => {
            let size: u64 = size.parse().unwrap_or(0);
            let headers = format!("HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
            stream.write_all(headers.as_bytes()).await?;
            let mut block = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            while sent < size {
                let n = block.len().min((size - sent) as usize);
                for (i, b) in block[..n].iter_mut().enumerate() {
                    *b = generated_byte(sent + i as u64);
                }
                stream.write_all(&block[..n]).await?;
                sent += n as u64;
            }
            Ok(())
        }
        ["status", code] => {
            respond(
                &mut stream,
                code.parse().unwrap_or(500),
                "text/plain",
                Some(0),
                b"",
            )
            .await
        }
        ["flaky", n, name] => {
            if hits <= n.parse().unwrap_or(1) {
                respond(&mut stream, 500, "text/plain", Some(0), b"").await
            } else {
                let (body, ct) = file(name).unwrap_or_default();
                respond(&mut stream, 200, &ct, Some(body.len() as u64), &body).await
            }
        }
        ["outage", seconds, name] => {
            let since = state
                .first_seen
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .entry(path.clone())
                .or_insert_with(std::time::Instant::now)
                .elapsed();
            if since.as_secs_f64() < seconds.parse().unwrap_or(0.0) {
                respond(&mut stream, 503, "text/plain", Some(0), b"").await
            } else {
                let (body, ct) = file(name).unwrap_or_default();
                respond(&mut stream, 200, &ct, Some(body.len() as u64), &body).await
            }
        }
        ["slow", millis, name] => {
            tokio::time::sleep(std::time::Duration::from_millis(
                millis.parse().unwrap_or(0),
            ))
            .await;
            match file(name) {
                Some((body, ct)) => {
                    respond(&mut stream, 200, &ct, Some(body.len() as u64), &body).await
                }
                None => respond(&mut stream, 503, "text/plain", Some(0), b"").await,
            }
        }
        ["stall-once", name] if hits > 1 => {
            let (body, ct) = file(name).unwrap_or_default();
            respond(&mut stream, 200, &ct, Some(body.len() as u64), &body).await
        }
        ["stall" | "stall-once", name] => {
            let (body, ct) = file(name).unwrap_or_default();
            let headers = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(headers.as_bytes()).await?;
            stream.write_all(&body[..body.len() / 2]).await?;
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok(())
        }
        ["truncated", name] => {
            let (body, ct) = file(name).unwrap_or_default();
            let headers = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            stream.write_all(headers.as_bytes()).await?;
            stream.write_all(&body[..body.len() / 2]).await?;
            stream.shutdown().await
        }
        ["chunked", name] => {
            let (body, ct) = file(name).unwrap_or_default();
            let headers = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            stream.write_all(headers.as_bytes()).await?;
            for chunk in body.chunks(64 * 1024) {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                stream.write_all(chunk).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await
        }
        [redirect] if redirect.starts_with("redirect?") => {
            let query = redirect.trim_start_matches("redirect?");
            let to = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "to")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let headers = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            stream.write_all(headers.as_bytes()).await
        }
        _ => respond(&mut stream, 404, "text/plain", Some(0), b"").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    length: Option<u64>,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
    );
    if let Some(n) = length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
