//! The console's routes, its guard (answers only to its own address; changes only from its
//! own pages) and the one place errors become pages.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use callvault_query::{input, InputError, QueryError};
use callvault_records::Provider;
use callvault_store::schema::call_pk;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::pages::{self, CallsQuery, OverviewQuery};
use super::view::Chrome;
use super::Console;
use crate::inspect;

/// The console and the addresses it answers to.
struct App {
    console: Console,
    /// `Host` values of its own address.
    hosts: [String; 2],
    /// `Origin` values of its own pages.
    origins: [String; 2],
    /// The `Content-Security-Policy` of every answer.
    policy: HeaderValue,
}

type Shared = State<Arc<App>>;

/// Every route of the console, whose pages carry `policy` (see [`content_security_policy`]).
pub fn router(console: Console, port: u16, policy: HeaderValue) -> Router {
    let app = Arc::new(App {
        console,
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        origins: [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ],
        policy,
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/calls") }))
        .route("/calls", get(calls))
        .route("/calls/{provider}/{id}", get(call))
        .route(
            "/calls/{provider}/{id}/deliveries/{delivery}",
            get(delivery),
        )
        .route("/calls/{provider}/{id}/retry", post(retry))
        .route("/conversations", get(conversations))
        .route("/conversations/{provider}/{id}", get(conversation))
        .route("/overview", get(overview))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(script))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The query itself failed (bad input, not found, storage).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Bad input in the URL or form.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No such page.
    #[error("no page at {0}")]
    NoPage(String),
    /// A request the guard refused.
    #[error("{0}")]
    Refused(&'static str),
    /// A page could not be rendered.
    #[error(transparent)]
    Render(#[from] askama::Error),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] super::charts::ChartError),
    /// A delivery's body could not be read.
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    /// A raw body no longer matches its hash.
    #[error("the kept body does not match its recorded SHA-256")]
    BodyMismatch,
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Input(_) | Self::Query(QueryError::Input(_)) => StatusCode::BAD_REQUEST,
            Self::Query(QueryError::NotFound(_)) | Self::NoPage(_) => StatusCode::NOT_FOUND,
            Self::Query(QueryError::Ambiguous { .. } | QueryError::NotArchived { .. }) => {
                StatusCode::CONFLICT
            }
            Self::Query(QueryError::Storage(_)) => StatusCode::BAD_GATEWAY,
            Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::Render(_) | Self::Chart(_) | Self::Inspect(_) | Self::BodyMismatch => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let page = pages::ErrorPage::new(&self, status);
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.to_string()).into_response(),
        }
    }
}

/// A rendered page, or why not.
type Page = Result<Response, PageError>;

fn html(template: &impl Template) -> Page {
    Ok(Html(template.render()?).into_response())
}

/// The page policy with `{links}` standing for the start of the archive bucket's presigned
/// links; the README states it word for word.
const POLICY_TEMPLATE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src {links}; media-src {links}; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A start of links that a content security policy cannot name as one source.
#[derive(Debug, thiserror::Error)]
#[error(
    "the archive bucket's presigned links begin with {0:?}, which a content security policy \
     cannot name (expected http:// or https://, a host, and a path of URL characters)"
)]
pub struct UnnameableLinks(pub String);

/// The console's `Content-Security-Policy`: its own script and styles, images and media only
/// from `links` (what every presigned link to the archive bucket begins with, from
/// [`callvault_query::Reader::link_prefix`]: the bucket's origin, and its path under a
/// path-style endpoint), forms only to itself, no framing, no `<base>`, nothing else.
pub fn content_security_policy(links: &str) -> Result<HeaderValue, UnnameableLinks> {
    let unnameable = || UnnameableLinks(links.to_owned());
    let rest = links
        .strip_prefix("https://")
        .or_else(|| links.strip_prefix("http://"))
        .ok_or_else(unnameable)?;
    // A host source: a host (no wildcard), an optional port, a path; nothing that would end
    // the source (space, `;`, `,`) or quote it.
    let url_char = |c: char| c.is_ascii_alphanumeric() || "-._~:/%!$&()+=".contains(c);
    if rest.is_empty() || rest.starts_with(['/', ':']) || !rest.chars().all(url_char) {
        return Err(unnameable());
    }
    HeaderValue::from_str(&POLICY_TEMPLATE.replace("{links}", links)).map_err(|_| unnameable())
}

/// Answers only requests addressed to the console itself (another `Host` is a page of
/// another site rebinding its name to 127.0.0.1), takes changes only from its own pages, and
/// marks every answer: no framing, no sniffing, no referrer (presigned links stay on the
/// page), no caching.
async fn guard(State(app): Shared, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let refused = if !text(header::HOST).is_some_and(|h| app.hosts.iter().any(|x| x == h)) {
        Some(PageError::Refused(
            "this console answers only at its own address (http://127.0.0.1:<port>/)",
        ))
    } else if !matches!(*request.method(), Method::GET | Method::HEAD)
        && !match text(header::ORIGIN) {
            Some(origin) => app.origins.iter().any(|o| o == origin),
            None => text(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin"),
        }
    {
        Some(PageError::Refused(
            "changes are accepted only from the console's own pages",
        ))
    } else {
        None
    };
    let mut response = match refused {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, app.policy.clone());
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

impl App {
    fn chrome(&self, nav: &'static str) -> Chrome {
        Chrome {
            nav,
            label: self.console.label.clone(),
        }
    }
}

async fn calls(State(app): Shared, Query(query): Query<CallsQuery>) -> Page {
    let page = pages::calls(&app.console, app.chrome("calls"), query).await;
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, html(&page)?).into_response())
}

/// `?scope=` of a call's pages, and `?retried=` after a re-drive.
#[derive(Debug, Default, Deserialize)]
struct CallQuery {
    scope: Option<String>,
    retried: Option<usize>,
}

fn scope_of(value: Option<&str>) -> Result<Option<callvault_verify::Scope>, InputError> {
    value
        .filter(|s| !s.is_empty())
        .map(input::scope)
        .transpose()
}

async fn call(
    State(app): Shared,
    Path((provider, id)): Path<(String, String)>,
    Query(query): Query<CallQuery>,
) -> Page {
    let provider = input::provider(&provider)?;
    let id = input::id(&id, "call id")?;
    let scope = scope_of(query.scope.as_deref())?;
    let page = pages::call(
        &app.console,
        app.chrome("calls"),
        provider,
        id,
        scope.as_ref(),
        query.retried,
    )
    .await?;
    html(&page)
}

/// The exact bytes of one delivery, as text (never rendered as a page).
async fn delivery(
    State(app): Shared,
    Path((provider, id, delivery)): Path<(String, String, String)>,
    Query(query): Query<CallQuery>,
) -> Page {
    let provider = input::provider(&provider)?;
    let id = input::id(&id, "call id")?;
    let scope = scope_of(query.scope.as_deref())?;
    let reader = &app.console.reader;
    let (_, _, sk) = reader.stored_call(provider, id, scope.as_ref()).await?;
    let detail = reader.call(provider, id, scope.as_ref()).await?;
    let event = inspect::find(&detail, &delivery)
        .map_err(|e| PageError::Query(QueryError::NotFound(e.to_string())))?;
    let body = inspect::body_of(&app.console.store, &call_pk(provider, id), event, &sk).await?;
    if hex::encode(Sha256::digest(&body)) != event.body_sha256 {
        return Err(PageError::BodyMismatch);
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("inline; filename=\"{}.txt\"", event.body_sha256))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok((headers, body).into_response())
}

/// The retry form: the call's scope, if it has one.
#[derive(Debug, Default, Deserialize)]
struct RetryForm {
    scope: Option<String>,
}

/// Makes a call's failed copies pending again (the copier takes them at once), then shows
/// the call.
async fn retry(
    State(app): Shared,
    Path((provider, id)): Path<(String, String)>,
    Form(form): Form<RetryForm>,
) -> Page {
    let provider = input::provider(&provider)?;
    let id = input::id(&id, "call id")?;
    let scope = scope_of(form.scope.as_deref())?;
    let (_, _, sk) = app
        .console
        .reader
        .stored_call(provider, id, scope.as_ref())
        .await?;
    let files = app
        .console
        .store
        .redrive_failed(&call_pk(provider, id), &sk)
        .await
        .map_err(QueryError::from)?;
    let href = super::view::call_href(
        provider,
        id,
        scope.as_ref().map(ToString::to_string).as_deref(),
    );
    let sep = if href.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{href}{sep}retried={files}")).into_response())
}

/// `?provider=&id=` of the conversation finder.
#[derive(Debug, Default, Deserialize)]
struct FindConversation {
    provider: Option<String>,
    id: Option<String>,
}

async fn conversations(State(app): Shared, Query(find): Query<FindConversation>) -> Page {
    if let (Some(provider), Some(id)) = (&find.provider, &find.id) {
        let provider = input::provider(provider)?;
        let id = input::id(id, "conversation id")?;
        return Ok(Redirect::to(&super::view::conversation_href(provider, id)).into_response());
    }
    html(&pages::ConversationsPage {
        chrome: app.chrome("conversations"),
        providers: super::view::choices(
            Provider::ALL.iter().map(|p| (p.as_str(), p.as_str())),
            Some("hatif"),
        ),
    })
}

async fn conversation(State(app): Shared, Path((provider, id)): Path<(String, String)>) -> Page {
    let provider = input::provider(&provider)?;
    let id = input::id(&id, "conversation id")?;
    html(&pages::conversation(&app.console, app.chrome("conversations"), provider, id).await?)
}

async fn overview(State(app): Shared, Query(query): Query<OverviewQuery>) -> Page {
    html(&pages::overview(&app.console, app.chrome("overview"), query).await?)
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/console.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/console.js"),
    )
}

async fn not_found(request: Request) -> PageError {
    PageError::NoPage(request.uri().path().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_media_only_from_the_bucket_links() {
        for links in [
            "https://callvault-archive.s3.eu-west-1.amazonaws.com/",
            "https://s3.eu-west-1.amazonaws.com/callvault-archive/",
            "http://127.0.0.1:4566/callvault-archive/",
        ] {
            let policy = content_security_policy(links).expect("a policy");
            assert_eq!(
                policy.to_str().expect("ASCII"),
                format!(
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src {links}; \
                     media-src {links}; form-action 'self'; frame-ancestors 'none'; \
                     base-uri 'none'"
                )
            );
        }
        for unnameable in [
            "",
            "https:",
            "https://",
            "https:///bucket/",
            "ftp://bucket.example/",
            "https://*.amazonaws.com/",
            "https://bucket.example/; script-src *",
            "https://bucket.example/a b/",
            "https://bucket.example/,/",
            "https://bucket.example/'unsafe-inline'",
            "https://user@bucket.example/",
            "https://bucket.example/\n",
        ] {
            assert!(
                content_security_policy(unnameable).is_err(),
                "{unnameable:?} refused"
            );
        }
    }
}
