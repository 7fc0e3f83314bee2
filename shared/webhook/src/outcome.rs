use callvault_records::ParseError;
use callvault_store::{PutOutcome, StoreError};
use callvault_verify::VerifyError;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde_json::json;

/// Everything a delivery can end as, and the one place each maps to an HTTP status.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (200), or already stored by an earlier delivery (200, nothing changed).
    Accepted(PutOutcome),
    /// Not a POST (405).
    MethodNotAllowed,
    /// Body over the size limit (413); nothing stored.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Authentication failed (401); nothing stored.
    Unauthorized(VerifyError),
    /// Authenticated but unparseable (400), or well-formed but unsupported, such as an
    /// unknown event type (422); either way the raw delivery is kept with the reason.
    Rejected(ParseError),
    /// Storage failed (503); nothing acknowledged, the provider should retry.
    StorageFailed(StoreError),
    /// Storage failed but the raw delivery was spooled to S3 for replay (200), for providers
    /// that never retry.
    Spooled,
}

impl Outcome {
    /// The HTTP status for this outcome.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Accepted(_) => StatusCode::OK,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Rejected(ParseError::Unsupported(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Rejected(_) => StatusCode::BAD_REQUEST,
            Self::StorageFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Spooled => StatusCode::OK,
        }
    }

    /// A short machine-readable label, used in logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Accepted(PutOutcome::Stored) => "stored",
            Self::Accepted(PutOutcome::Duplicate) => "duplicate",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TooLarge { .. } => "too_large",
            Self::Unauthorized(_) => "unauthorized",
            Self::Rejected(_) => "rejected",
            Self::StorageFailed(_) => "storage_failed",
            Self::Spooled => "spooled",
        }
    }

    /// The message returned to the caller. Storage details stay in the logs.
    pub fn message(&self) -> String {
        match self {
            Self::Accepted(_) | Self::Spooled => String::new(),
            Self::MethodNotAllowed => "method not allowed: send POST".into(),
            Self::TooLarge { limit } => format!("body larger than {limit} bytes"),
            Self::Unauthorized(e) => e.to_string(),
            Self::Rejected(e) => format!("{e} (the delivery was kept for inspection)"),
            Self::StorageFailed(_) => "storage unavailable, retry later".into(),
        }
    }

    /// The HTTP response: `{"status": ...}` on success, `{"error": ...}` otherwise.
    pub fn into_response(self) -> Response<Body> {
        let body = match &self {
            Self::Accepted(_) | Self::Spooled => json!({ "status": self.label() }),
            _ => json!({ "error": self.message() }),
        };
        let mut builder = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/json");
        if matches!(self, Self::MethodNotAllowed) {
            builder = builder.header(header::ALLOW, "POST");
        }
        builder
            .body(Body::Text(body.to_string()))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_documented_status_and_json_body() {
        let cases = [
            (
                Outcome::Accepted(PutOutcome::Stored),
                200,
                r#"{"status":"stored"}"#,
            ),
            (
                Outcome::Accepted(PutOutcome::Duplicate),
                200,
                r#"{"status":"duplicate"}"#,
            ),
            (
                Outcome::MethodNotAllowed,
                405,
                r#"{"error":"method not allowed: send POST"}"#,
            ),
            (
                Outcome::TooLarge { limit: 10 },
                413,
                r#"{"error":"body larger than 10 bytes"}"#,
            ),
            (
                Outcome::Unauthorized(VerifyError::Mismatch),
                401,
                r#"{"error":"signature does not match"}"#,
            ),
            (
                Outcome::StorageFailed(StoreError::Unavailable("db down at 10.0.0.1".into())),
                503,
                r#"{"error":"storage unavailable, retry later"}"#,
            ),
            (Outcome::Spooled, 200, r#"{"status":"spooled"}"#),
            (
                Outcome::Rejected(ParseError::Unsupported("event type `x`".into())),
                422,
                r#"{"error":"unsupported: event type `x` (the delivery was kept for inspection)"}"#,
            ),
        ];
        for (outcome, status, body) in cases {
            let response = outcome.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            match response.body() {
                Body::Text(text) => assert_eq!(text, body),
                other => panic!("unexpected body {other:?}"),
            }
        }
    }

    #[test]
    fn rejected_says_the_delivery_was_kept() {
        let response = Outcome::Rejected(ParseError::Invalid("missing field `call_id`".into()))
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert!(
            text.contains("missing field `call_id`") && text.contains("kept"),
            "{text}"
        );
    }
}
