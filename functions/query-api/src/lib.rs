//! The query API: the same reads as the `callvault` CLI, as JSON over HTTP (GET only).
//! `docs/openapi.yaml` describes every route and response. Authentication is the Function
//! URL's `AWS_IAM` auth: requests reach this code only once AWS has checked their SigV4
//! signature and the caller's `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`
//! permissions (the template's `QueryApiConsumerPolicy` grants both).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use callvault_query::{input, CallFilter, InputError, QueryError, Reader};
use chrono::Utc;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

/// Default lifetime of a presigned file link, in seconds.
pub const DEFAULT_LINK_SECONDS: u64 = 3600;

/// Why a request got no data: the status and a message for the caller.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
    }
}

/// The one mapping of query failures to HTTP statuses.
impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Input(e) => e.into(),
            QueryError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            QueryError::NotArchived { .. } => {
                Self::new(StatusCode::CONFLICT, "not_archived", e.to_string())
            }
            QueryError::Ambiguous { .. } => {
                Self::new(StatusCode::CONFLICT, "ambiguous", e.to_string())
            }
            QueryError::Storage(_) => {
                tracing::error!(error = %e, "storage request failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "storage_unavailable",
                    "the table or bucket could not be read; retry later",
                )
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// The query parameters of a request (first value of each name).
struct Params(Vec<(String, String)>);

impl Params {
    fn of(request: &Request) -> Self {
        Self(
            form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn scope(&self) -> Result<Option<callvault_query::Scope>, InputError> {
        self.get("scope").map(input::scope).transpose()
    }

    fn limit(&self) -> Result<usize, InputError> {
        self.get("limit")
            .map_or(Ok(input::DEFAULT_LIMIT), input::limit)
    }
}

/// The decoded segments of a request path.
fn segments(path: &str) -> Vec<Cow<'_, str>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy())
        .collect()
}

/// A request's route, read once from its path segments.
enum Route<'a> {
    Index,
    ListCalls,
    GetCall {
        provider: &'a str,
        call_id: &'a str,
    },
    FileLink {
        provider: &'a str,
        call_id: &'a str,
        kind: &'a str,
    },
    ListMessages {
        provider: &'a str,
        conversation: &'a str,
    },
    Unknown,
}

impl<'a> Route<'a> {
    fn of(parts: &[&'a str]) -> Self {
        match *parts {
            [] => Self::Index,
            ["calls"] => Self::ListCalls,
            ["calls", provider, call_id] => Self::GetCall { provider, call_id },
            ["calls", provider, call_id, "files", kind] => Self::FileLink {
                provider,
                call_id,
                kind,
            },
            ["conversations", provider, conversation, "messages"] => Self::ListMessages {
                provider,
                conversation,
            },
            _ => Self::Unknown,
        }
    }

    /// The name logged for it.
    fn name(&self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::ListCalls => "list_calls",
            Self::GetCall { .. } => "get_call",
            Self::FileLink { .. } => "file_link",
            Self::ListMessages { .. } => "list_messages",
            Self::Unknown => "unknown",
        }
    }
}

/// Serves the query API over one reader.
#[derive(Debug, Clone)]
pub struct QueryApi {
    reader: Reader,
}

impl QueryApi {
    /// An API over `reader`.
    pub fn new(reader: Reader) -> Self {
        Self { reader }
    }

    /// Answers one request, logging one event (route, status, latency; never the body).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let path = request.uri().path().to_owned();
        let (route, response) = match self.route(&request, &path).await {
            Ok((route, response)) => (route, response),
            Err((route, e)) => (
                route,
                json(
                    e.status,
                    &ErrorBody {
                        error: e.code,
                        message: &e.message,
                    },
                ),
            ),
        };
        tracing::info!(
            route,
            method = %request.method(),
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "query"
        );
        response
    }

    async fn route(
        &self,
        request: &Request,
        path: &str,
    ) -> Result<(&'static str, Response<Body>), (&'static str, ApiError)> {
        let params = Params::of(request);
        let segments = segments(path);
        let parts: Vec<&str> = segments.iter().map(|s| s.as_ref()).collect();
        let route = Route::of(&parts);
        let name = route.name();
        if request.method() != Method::GET {
            return Err((
                name,
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "only GET is supported",
                ),
            ));
        }
        let result = match route {
            Route::Index => Ok(json(StatusCode::OK, &index())),
            Route::ListCalls => self.list_calls(&params).await,
            Route::GetCall { provider, call_id } => self.get_call(provider, call_id, &params).await,
            Route::FileLink {
                provider,
                call_id,
                kind,
            } => self.file_link(provider, call_id, kind, &params).await,
            Route::ListMessages {
                provider,
                conversation,
            } => self.list_messages(provider, conversation, &params).await,
            Route::Unknown => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no route {path}; see GET / for the routes"),
            )),
        };
        result.map(|r| (name, r)).map_err(|e| (name, e))
    }

    async fn list_calls(&self, params: &Params) -> Result<Response<Body>, ApiError> {
        let now = Utc::now();
        let time = |name| params.get(name).map(|v| input::time(v, now)).transpose();
        let (since, until) = input::range(time("since")?, time("until")?)?;
        let filter = CallFilter {
            provider: params.get("provider").map(input::provider).transpose()?,
            since,
            until,
            phone: params
                .get("phone")
                .map(|p| input::phone(p, params.get("country")))
                .transpose()?,
            agent: params.get("agent").map(str::to_owned),
            contact: params.get("contact").map(str::to_owned),
            status: params.get("status").map(input::status).transpose()?,
            file_state: params.get("recording").map(input::file_state).transpose()?,
        };
        let page = self
            .reader
            .calls(&filter, params.limit()?, params.get("cursor"))
            .await?;
        Ok(json(StatusCode::OK, &page))
    }

    async fn get_call(
        &self,
        provider: &str,
        call_id: &str,
        params: &Params,
    ) -> Result<Response<Body>, ApiError> {
        let detail = self
            .reader
            .call(
                input::provider(provider)?,
                input::id(call_id, "call id")?,
                params.scope()?.as_ref(),
            )
            .await?;
        Ok(json(StatusCode::OK, &detail))
    }

    async fn file_link(
        &self,
        provider: &str,
        call_id: &str,
        kind: &str,
        params: &Params,
    ) -> Result<Response<Body>, ApiError> {
        let lifetime = match params.get("expires") {
            None => Duration::from_secs(DEFAULT_LINK_SECONDS),
            Some(v) => input::link_lifetime(v)?,
        };
        let link = self
            .reader
            .file_link(
                input::provider(provider)?,
                input::id(call_id, "call id")?,
                params.scope()?.as_ref(),
                input::file_kind(kind)?,
                lifetime,
            )
            .await?;
        Ok(json(StatusCode::OK, &link))
    }

    async fn list_messages(
        &self,
        provider: &str,
        conversation: &str,
        params: &Params,
    ) -> Result<Response<Body>, ApiError> {
        let page = self
            .reader
            .messages(
                input::provider(provider)?,
                input::id(conversation, "conversation id")?,
                params.limit()?,
                params.get("cursor"),
            )
            .await?;
        Ok(json(StatusCode::OK, &page))
    }
}

/// `GET /`: the routes, for people trying the API by hand.
fn index() -> serde_json::Value {
    serde_json::json!({
        "service": "callvault query API",
        "openapi": "docs/openapi.yaml",
        "routes": [
            "GET /calls?provider&since&until&phone&country&agent&contact&status&recording&limit&cursor",
            "GET /calls/{provider}/{call_id}",
            "GET /calls/{provider}/{call_id}/files/{kind}?expires",
            "GET /conversations/{provider}/{conversation_id}/messages?limit&cursor"
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_decoded() {
        assert_eq!(
            segments("/calls/voki/call%2F7%20a/"),
            vec!["calls", "voki", "call/7 a"]
        );
        assert!(segments("/").is_empty());
    }

    #[test]
    fn statuses_follow_the_error_kind() {
        let status = |e: QueryError| ApiError::from(e).status;
        assert_eq!(
            status(QueryError::Input(InputError::Cursor)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(QueryError::NotFound("x".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(QueryError::NotArchived {
                kind: "recording",
                id: "x".into(),
                status: "pending".into()
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(QueryError::Storage(
                callvault_store::StoreError::Contention("down".into())
            )),
            StatusCode::BAD_GATEWAY
        );
    }
}
