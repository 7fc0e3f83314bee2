use callvault_records::{ParseError, Provider};
use callvault_store::{PutOutcome, StoreError};
use callvault_verify::VerifyError;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde_json::json;

/// Why an authenticated delivery was kept instead of applied to a record. Neither goes away
/// by sending the delivery again, so both are acknowledged.
#[derive(Debug)]
pub enum KeptReason {
    /// Not JSON, not the documented shape, a bad value, or something this version does not
    /// handle (an unknown Voki event).
    Unusable(ParseError),
    /// Storage refuses it for good (DynamoDB rejected the record, or it would be too large).
    Unstorable(StoreError),
    /// A spooled object whose key is not under the prefix of the webhook it names, or that
    /// names a webhook of another provider: not applied, since the webhook that wrote it
    /// vouches only for its own.
    Misfiled(Misfiled),
}

impl std::fmt::Display for KeptReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unusable(e) => e.fmt(f),
            Self::Unstorable(e) => write!(f, "cannot be stored: {}", e.detail()),
            Self::Misfiled(m) => m.fmt(f),
        }
    }
}

/// How a spooled object's key, webhook and provider disagree (see [`KeptReason::Misfiled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfiled {
    /// The webhook whose spool prefix the key is under (`spool/<webhook>/`), as written in the
    /// key; `None` outside any.
    pub key_webhook: Option<String>,
    /// The webhook the object names.
    pub webhook: String,
    /// The provider the object names.
    pub provider: Provider,
}

impl std::fmt::Display for Misfiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (webhook, provider) = (&self.webhook, self.provider);
        match &self.key_webhook {
            Some(under) => write!(
                f,
                "not applied: spooled under the prefix of webhook `{under}` but names webhook `{webhook}` of provider {provider}"
            ),
            None => write!(
                f,
                "not applied: spooled outside any webhook's prefix; names webhook `{webhook}` of provider {provider}"
            ),
        }
    }
}

/// Everything a delivery can end as, and the one place each maps to an HTTP status.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (200), or already stored by an earlier delivery (200, nothing changed).
    Accepted(PutOutcome),
    /// Authenticated but not usable as a record: kept raw with the reason (200, `kept`), so
    /// the provider stops retrying something callvault already holds.
    Kept(KeptReason),
    /// Storage failed or ran out of time, and the raw delivery was written to the S3 spool,
    /// from which it is applied once storage is back (200, `spooled`).
    Spooled(StoreError),
    /// Not a POST (405).
    MethodNotAllowed,
    /// Body over the size limit (413); nothing stored.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Authentication failed (401); nothing stored.
    Unauthorized(VerifyError),
    /// Storage and the spool both failed (503): nothing was acknowledged, the provider should
    /// retry.
    StorageFailed(StoreError),
}

impl Outcome {
    /// The label of [`Outcome::StorageFailed`].
    pub const STORAGE_FAILED: &'static str = "storage_failed";

    /// The HTTP status for this outcome.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Accepted(_) | Self::Kept(_) | Self::Spooled(_) => StatusCode::OK,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::StorageFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short machine-readable label: the response's `status` on success, and the `outcome`
    /// field of the delivery's log line.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Accepted(PutOutcome::Stored) => "stored",
            Self::Accepted(PutOutcome::Duplicate) => "duplicate",
            Self::Kept(_) => "kept",
            Self::Spooled(_) => "spooled",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TooLarge { .. } => "too_large",
            Self::Unauthorized(_) => "unauthorized",
            Self::StorageFailed(_) => Self::STORAGE_FAILED,
        }
    }

    /// Whether the delivery is now held by callvault (the provider may stop retrying).
    pub fn acknowledged(&self) -> bool {
        self.status().is_success()
    }

    /// What the response says besides the status: the reason for `kept` and errors. Storage
    /// details stay in the logs.
    pub fn message(&self) -> String {
        match self {
            Self::Accepted(_) | Self::Spooled(_) => String::new(),
            Self::Kept(reason) => reason.to_string(),
            Self::MethodNotAllowed => "method not allowed: send POST".into(),
            Self::TooLarge { limit } => format!("body larger than {limit} bytes"),
            Self::Unauthorized(e) => e.to_string(),
            Self::StorageFailed(_) => "storage unavailable, retry later".into(),
        }
    }

    /// The HTTP response: `{"status": ...}` on success (with `reason` when kept),
    /// `{"error": ...}` otherwise.
    pub fn into_response(self) -> Response<Body> {
        let body = match &self {
            Self::Accepted(_) | Self::Spooled(_) => json!({ "status": self.label() }),
            Self::Kept(_) => json!({ "status": self.label(), "reason": self.message() }),
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
    use callvault_records::{Invalid, Unsupported};

    fn outage() -> StoreError {
        StoreError::Contention("CALL#x at 10.0.0.1".into())
    }

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
                Outcome::Kept(KeptReason::Unusable(ParseError::Unsupported(
                    Unsupported::event_type("x"),
                ))),
                200,
                r#"{"reason":"unsupported: event type `x`","status":"kept"}"#,
            ),
            (Outcome::Spooled(outage()), 200, r#"{"status":"spooled"}"#),
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
                Outcome::StorageFailed(outage()),
                503,
                r#"{"error":"storage unavailable, retry later"}"#,
            ),
        ];
        for (outcome, status, body) in cases {
            assert_eq!(outcome.acknowledged(), status == 200);
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
    fn kept_says_why() {
        let response = Outcome::Kept(KeptReason::Unusable(ParseError::Invalid(
            Invalid::MissingField("call_id".into()),
        )))
        .into_response();
        assert_eq!(response.status(), StatusCode::OK);
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        let json: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(json["status"], "kept");
        assert_eq!(json["reason"], "invalid payload: missing field `call_id`");
    }
}
