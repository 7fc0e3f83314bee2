//! A small, real implementation of the AWS Lambda Runtime API, so tests and benchmarks can run
//! the function binaries built by `cargo build --bins --workspace` outside `cargo lambda watch`,
//! each with an environment of its own and with control over invocation deadlines.
//!
//! [`LambdaHarness::start`] serves the Runtime API on a free port of 127.0.0.1 and spawns the
//! binary with `AWS_LAMBDA_RUNTIME_API` pointing at it. The binary's `lambda_runtime` then
//! long-polls `GET /2018-06-01/runtime/invocation/next`; [`LambdaHarness::invoke`] hands it one
//! event there and waits for its `POST …/invocation/{id}/response` or `…/error`. A failed
//! initialization (`POST …/init/error`, or the process exiting) is reported by
//! [`LambdaHarness::ready`]. Like a Lambda execution environment, a harness runs one invocation
//! at a time, in order.
//!
//! [`function_url_event`] builds the event a Lambda function URL sends (what `lambda_http`
//! parses), and [`HttpReply`] decodes what the function answers to it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::repo_root;

/// How long [`LambdaHarness::invoke`] waits past an invocation's deadline before giving up,
/// unless changed with [`LambdaHarness::with_grace`].
pub const DEADLINE_GRACE: Duration = Duration::from_secs(10);

/// Lines of the function's log quoted in errors.
const LOG_TAIL_LINES: usize = 40;

/// Path of a workspace binary as built by `cargo build` (debug profile): under
/// `$CARGO_TARGET_DIR` when set, else `<repo>/target`.
pub fn function_binary(name: &str) -> PathBuf {
    function_binary_in(name, "debug")
}

/// Path of a workspace binary as built by `cargo build` with a profile: `profile` is the
/// directory under the target dir (`debug`, `release`, or a custom profile's name; `dev` means
/// `debug`). The target dir is `$CARGO_TARGET_DIR` when set (relative to the repository root
/// if relative), else `<repo>/target`.
pub fn function_binary_in(name: &str, profile: &str) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    };
    let profile = if profile == "dev" { "debug" } else { profile };
    target
        .join(profile)
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The result of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The invocation's request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// `Ok` with the response document the function posted, or `Err` with the error document
    /// (`{"errorType": …, "errorMessage": …}`) it posted to `…/error`.
    pub outcome: Result<Value, Value>,
    /// Time from queueing the invocation to the function's answer arriving at the server.
    pub elapsed: Duration,
}

impl Invocation {
    /// The response decoded as a function URL reply; an error if the invocation failed.
    pub fn reply(&self) -> anyhow::Result<HttpReply> {
        match &self.outcome {
            Ok(payload) => HttpReply::from_payload(payload),
            Err(error) => bail!("invocation {} failed: {error}", self.request_id),
        }
    }
}

/// One invocation waiting for the function's `GET /next`.
struct Queued {
    request_id: String,
    event: Bytes,
    deadline_ms: u64,
    answer: oneshot::Sender<Answer>,
}

/// What the function posted for an invocation, and when it arrived.
struct Answer {
    outcome: Result<Bytes, Bytes>,
    at: Instant,
}

/// What the server has seen of the function's initialization.
#[derive(Clone, Default)]
struct InitState {
    /// When the first `GET /next` arrived.
    first_poll: Option<Instant>,
    /// The document posted to `/init/error`.
    init_error: Option<Value>,
}

/// State shared by the server's connections.
struct Server {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Queued>>,
    in_flight: Mutex<BTreeMap<String, oneshot::Sender<Answer>>>,
    init: watch::Sender<InitState>,
}

/// A function binary running against a Runtime API server of its own. Dropping it kills the
/// function (and waits for it) and stops the server; its log file is removed then, unless the
/// thread is panicking (a failed test), so the log stays available for diagnosis.
pub struct LambdaHarness {
    function_name: String,
    child: Mutex<Child>,
    pid: u32,
    spawned: Instant,
    log_path: PathBuf,
    queue: mpsc::Sender<Queued>,
    init: watch::Receiver<InitState>,
    one_at_a_time: tokio::sync::Mutex<()>,
    grace: Duration,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LambdaHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaHarness")
            .field("function_name", &self.function_name)
            .field("pid", &self.pid)
            .field("log_path", &self.log_path)
            .finish_non_exhaustive()
    }
}

impl LambdaHarness {
    /// Starts the Runtime API server on a free port of 127.0.0.1 and spawns `binary` with a
    /// cleared environment holding only `PATH`, the `AWS_LAMBDA_*` variables a Lambda execution
    /// environment sets (function name `function_name`, 128 MB, version `$LATEST`, log
    /// group/stream names) and `env`, which may override any of them except
    /// `AWS_LAMBDA_RUNTIME_API`. Its stdout and stderr go to a log file under the system's
    /// temporary directory ([`Self::log_path`]).
    pub async fn start(
        binary: &Path,
        function_name: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        if !binary.is_file() {
            bail!(
                "{} not found: build the function binaries first with `cargo build --bins --workspace`",
                binary.display()
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let region = env
            .iter()
            .find(|(k, _)| *k == "AWS_REGION")
            .map_or("us-east-1", |(_, v)| v.as_str());
        let safe_name: String = function_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let log_path = std::env::temp_dir().join(format!(
            "callvault-lambda-{safe_name}-{}-{port}.log",
            std::process::id()
        ));
        let log = File::create(&log_path)
            .with_context(|| format!("creating log file {}", log_path.display()))?;
        let stdout = log.try_clone()?;
        let (queue, queue_rx) = mpsc::channel(1);
        let (init_tx, init) = watch::channel(InitState::default());
        let server = Arc::new(Server {
            function_arn: format!("arn:aws:lambda:{region}:000000000000:function:{function_name}"),
            queue: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::new(BTreeMap::new()),
            init: init_tx,
        });
        let server = tokio::spawn(serve(listener, server));
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("harness/[$LATEST]{port}"),
            )
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log);
        let spawned = Instant::now();
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                let _ = std::fs::remove_file(&log_path);
                return Err(e).with_context(|| format!("spawning {}", binary.display()));
            }
        };
        Ok(Self {
            function_name: function_name.to_owned(),
            pid: child.id(),
            child: Mutex::new(child),
            spawned,
            log_path,
            queue,
            init,
            one_at_a_time: tokio::sync::Mutex::new(()),
            grace: DEADLINE_GRACE,
            server,
        })
    }

    /// Sets how long [`Self::invoke`] waits past an invocation's deadline for the answer
    /// (default [`DEADLINE_GRACE`]).
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Waits until the function has initialized, i.e. its first `GET /next` arrived, and
    /// returns the time from spawning the process to that request. An error if the function
    /// posted `/init/error`, exited, or did not poll within `timeout`; the error quotes the
    /// end of its log.
    pub async fn ready(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let give_up = after(timeout);
        let mut init = self.init.clone();
        loop {
            let state = init.borrow_and_update().clone();
            if let Some(error) = state.init_error {
                bail!(
                    "{} reported an init error: {error}{}",
                    self.function_name,
                    self.log_tail()
                );
            }
            if let Some(at) = state.first_poll {
                return Ok(at.saturating_duration_since(self.spawned));
            }
            self.fail_if_exited("before initializing")?;
            if tokio::time::Instant::now() >= give_up {
                bail!(
                    "{} did not poll for an invocation within {timeout:?}{}",
                    self.function_name,
                    self.log_tail()
                );
            }
            tokio::select! {
                changed = init.changed() => if changed.is_err() {
                    bail!("the Runtime API server stopped");
                },
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = tokio::time::sleep_until(give_up) => {}
            }
        }
    }

    /// Queues one invocation with `event` and a deadline `deadline` from now
    /// (`Lambda-Runtime-Deadline-Ms`), and waits for the function's response or error. Waits
    /// for an invocation already in flight first. An error if the function exits or gives no
    /// answer within `deadline` plus the grace ([`Self::with_grace`]; an answer after the
    /// deadline but within the grace is returned: check [`Invocation::elapsed`]), or if its
    /// response is not JSON. A function that gave no answer is still busy with that
    /// invocation (and one abandoned in the queue is handed out first), so later invocations
    /// of the same harness wait behind it.
    pub async fn invoke(&self, event: &Value, deadline: Duration) -> anyhow::Result<Invocation> {
        let _turn = self.one_at_a_time.lock().await;
        let request_id = new_request_id();
        let (answer_tx, mut answer_rx) = oneshot::channel();
        let queued_at = Instant::now();
        let deadline_ms = SystemTime::now()
            .checked_add(deadline)
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(u64::MAX, |d| d.as_millis() as u64);
        self.queue
            .send(Queued {
                request_id: request_id.clone(),
                event: Bytes::from(serde_json::to_vec(event)?),
                deadline_ms,
                answer: answer_tx,
            })
            .await
            .map_err(|_| anyhow!("the Runtime API server has stopped"))?;
        let give_up = after(deadline.saturating_add(self.grace));
        let answer = loop {
            tokio::select! {
                biased;
                answer = &mut answer_rx => break answer.map_err(|_| {
                    anyhow!("invocation {request_id} was dropped by the Runtime API server")
                })?,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    // An answer posted just before exiting still counts.
                    if let Ok(answer) = answer_rx.try_recv() {
                        break answer;
                    }
                    self.fail_if_exited("during an invocation")?;
                }
                _ = tokio::time::sleep_until(give_up) => bail!(
                    "{} gave no answer to invocation {request_id} within its deadline \
                     ({deadline:?}) plus {:?}{}",
                    self.function_name,
                    self.grace,
                    self.log_tail()
                ),
            }
        };
        let outcome = match answer.outcome {
            Ok(body) => Ok(serde_json::from_slice(&body).with_context(|| {
                format!(
                    "the response to invocation {request_id} is not JSON: {}",
                    String::from_utf8_lossy(&body)
                )
            })?),
            Err(body) => Err(serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))),
        };
        Ok(Invocation {
            request_id,
            outcome,
            elapsed: answer.at.saturating_duration_since(queued_at),
        })
    }

    /// The function's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The file holding the function's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The function's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Peak resident memory of the function's process in KiB (`VmHWM` of `/proc/<pid>/status`);
    /// `None` once it has exited, or where `/proc` is not available.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM:")
    }

    /// Current resident memory of the function's process in KiB (`VmRSS`); `None` once it has
    /// exited, or where `/proc` is not available.
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS:")
    }

    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// The process's exit status if it has exited.
    fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        child.try_wait().ok().flatten()
    }

    fn fail_if_exited(&self, when: &str) -> anyhow::Result<()> {
        match self.exit_status() {
            Some(status) => bail!(
                "{} exited ({status}) {when}{}",
                self.function_name,
                self.log_tail()
            ),
            None => Ok(()),
        }
    }

    /// The end of the log, formatted for an error message.
    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        format!("; its log ({}) ends with:\n{tail}", self.log_path.display())
    }
}

impl Drop for LambdaHarness {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
        self.server.abort();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

/// Accepts connections until aborted; aborting it also ends every connection.
async fn serve(listener: TcpListener, server: Arc<Server>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let server = Arc::clone(&server);
                let service = hyper::service::service_fn(move |request| {
                    let server = Arc::clone(&server);
                    async move { Ok::<_, std::convert::Infallible>(route(&server, request).await) }
                });
                connections.spawn(async move {
                    // No header timeout: the runtime's pooled connection idles between
                    // invocations for as long as a test or benchmark pauses.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .header_read_timeout(None)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

type Reply = Response<Full<Bytes>>;

async fn route(server: &Server, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": "unknown path"}),
        );
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (request.method(), segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(server).await,
        (&Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let Some(answer) = server
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(*id)
            else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"errorType": "InvalidRequestID", "errorMessage": "unknown request id"}),
                );
            };
            let is_response = *kind == "response";
            let body = match request.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) => {
                    let error = format!("reading the {path} body: {e}");
                    Bytes::from(json!({"errorType": "Harness", "errorMessage": error}).to_string())
                }
            };
            let outcome = if is_response { Ok(body) } else { Err(body) };
            let _ = answer.send(Answer {
                outcome,
                at: Instant::now(),
            });
            reply(StatusCode::ACCEPTED, json!({"status": "OK"}))
        }
        (&Method::POST, ["init", "error"]) => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let document = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            server
                .init
                .send_modify(|state| state.init_error = Some(document));
            reply(StatusCode::ACCEPTED, json!({"status": "OK"}))
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": format!("no route for {} {path}", request.method())}),
        ),
    }
}

/// `GET /next`: long-polls until an invocation is queued, then hands it out.
async fn next(server: &Server) -> Reply {
    server.init.send_if_modified(|state| {
        let first = state.first_poll.is_none();
        if first {
            state.first_poll = Some(Instant::now());
        }
        first
    });
    let queued = server.queue.lock().await.recv().await;
    let Some(queued) = queued else {
        return reply(
            StatusCode::GONE,
            json!({"errorMessage": "the harness stopped"}),
        );
    };
    server
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(queued.request_id.clone(), queued.answer);
    let mut response = Response::new(Full::new(queued.event));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json".into());
    set("lambda-runtime-aws-request-id", queued.request_id.clone());
    set("lambda-runtime-deadline-ms", queued.deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        server.function_arn.clone(),
    );
    set("lambda-runtime-trace-id", trace_id(&queued.request_id));
    response
}

fn reply(status: StatusCode, body: Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    if let Ok(value) = "application/json".parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}

/// `duration` from now, or far in the future when that is past what an instant can hold.
fn after(duration: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(10 * 365 * 24 * 3600))
}

/// A process-unique counter mixed into generated ids.
fn next_serial() -> u64 {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

fn epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A UUID-shaped request id, unique within the test process.
fn new_request_id() -> String {
    let nanos = epoch().as_nanos() as u64;
    let serial = next_serial();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (nanos >> 32) as u32,
        (nanos >> 16) as u16,
        nanos & 0xfff,
        serial & 0xfff,
        (u64::from(std::process::id()) << 16 | (serial & 0xffff)) & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header derived from a request id.
fn trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    format!(
        "Root=1-{:08x}-{:0>24.24};Parent={:0>16.16};Sampled=0",
        epoch().as_secs(),
        hex,
        &hex[hex.len().saturating_sub(16)..]
    )
}

/// A Lambda function URL request event (API Gateway HTTP API payload format 2.0, what
/// `lambda_http` with the `apigw_http` feature parses): `method` and `path_and_query` (split
/// into `rawPath` and `rawQueryString`), `headers` with lowercased names (repeated names are
/// joined with `,`; a `cookie` header becomes the `cookies` list, as function URLs do; `host`,
/// `x-forwarded-for`, `x-forwarded-proto` and `x-forwarded-port` are filled in when absent),
/// and `body` base64-encoded with `isBase64Encoded: true` so any bytes survive (no body when
/// empty). The request context carries the method, path, source IP 127.0.0.1, a request id
/// and the current time.
pub fn function_url_event(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Value {
    const URL_ID: &str = "callvaultharness0000000000000000";
    let domain = format!("{URL_ID}.lambda-url.us-east-1.on.aws");
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut header_map: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        header_map
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| (*value).to_owned());
    }
    for (name, value) in [
        ("host", domain.as_str()),
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
    ] {
        header_map
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let now = chrono::Utc::now();
    let user_agent = header_map.get("user-agent").cloned().unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": domain,
            "domainPrefix": URL_ID,
            "http": {
                "method": method.to_ascii_uppercase(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent,
            },
            "requestId": new_request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !body.is_empty() {
        event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
        event["isBase64Encoded"] = json!(true);
    }
    event
}

/// A function URL response (what `lambda_http` returns to a payload format 2.0 event), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status code.
    pub status: u16,
    /// Headers by lowercased name (`headers`, then any `multiValueHeaders` joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// The `Set-Cookie` values (`cookies`).
    pub cookies: Vec<String>,
    /// The body bytes (decoded from base64 when `isBase64Encoded`).
    pub body: Vec<u8>,
}

impl HttpReply {
    /// Decodes a function's response document.
    pub fn from_payload(payload: &Value) -> anyhow::Result<Self> {
        let status = payload["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .with_context(|| format!("no statusCode in the function's response: {payload}"))?;
        let mut headers = BTreeMap::new();
        if let Some(map) = payload["headers"].as_object() {
            for (name, value) in map {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                headers.insert(name.to_ascii_lowercase(), value);
            }
        }
        if let Some(map) = payload["multiValueHeaders"].as_object() {
            for (name, values) in map {
                let joined = values
                    .as_array()
                    .map(|vs| {
                        vs.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                if !joined.is_empty() {
                    headers.insert(name.to_ascii_lowercase(), joined);
                }
            }
        }
        let cookies = payload["cookies"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let body = match payload["body"].as_str() {
            None => Vec::new(),
            Some(text) if payload["isBase64Encoded"].as_bool() == Some(true) => {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .context("the function's response body is not valid base64")?
            }
            Some(text) => text.as_bytes().to_vec(),
        };
        Ok(Self {
            status,
            headers,
            cookies,
            body,
        })
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "the body of a {} reply is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
