use thiserror::Error;

/// Why an authenticated body could not be turned into a record. The message names the field
/// or position at fault and never quotes the body.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not JSON, or JSON of the wrong shape (missing field, wrong type).
    #[error("invalid payload: {0}")]
    Invalid(String),
    /// Well-formed, but something this version does not handle (for example an unknown event
    /// type); kept and answered 422.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A field is present but its value is not acceptable (for example an unparseable time).
    #[error("invalid value for `{field}`: {reason}")]
    Field {
        /// The payload field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ParseError {
    /// A body that is not UTF-8, so not JSON: the position (1-based line and byte column, as
    /// serde_json counts them) of the first byte that is not.
    pub(crate) fn not_utf8(body: &[u8], err: &std::str::Utf8Error) -> Self {
        let valid = &body[..err.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        let column = valid.len() - line_start + 1;
        Self::Invalid(format!("not valid JSON at line {line} column {column}"))
    }

    /// Describes a serde_json error by category, position and field name only: serde_json's
    /// own messages quote offending values, which would copy body content into responses and
    /// logs.
    pub fn from_json(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let at = format!("line {} column {}", err.line(), err.column());
        let message = err.to_string();
        Self::Invalid(match err.classify() {
            Category::Eof => format!("truncated JSON at {at}"),
            Category::Syntax | Category::Io => format!("not valid JSON at {at}"),
            Category::Data => match message.strip_prefix("missing field ") {
                Some(rest) => format!(
                    "missing field {}",
                    rest.split(" at line").next().unwrap_or(rest)
                ),
                None => format!("wrong type or value at {at}"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(body: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            id: String,
            n: Option<u8>,
        }
        let err = serde_json::from_str::<Shape>(body).expect_err("invalid");
        ParseError::from_json(&err).to_string()
    }

    #[test]
    fn messages_name_the_problem_without_quoting_values() {
        assert_eq!(
            describe("{"),
            "invalid payload: truncated JSON at line 1 column 1"
        );
        assert_eq!(
            describe("nope"),
            "invalid payload: not valid JSON at line 1 column 2"
        );
        assert_eq!(describe("{}"), "invalid payload: missing field `id`");
        let wrong = describe(r#"{"id":"x","n":"top-secret-value"}"#);
        assert!(
            wrong.starts_with("invalid payload: wrong type or value at line 1"),
            "{wrong}"
        );
        assert!(!wrong.contains("top-secret"), "{wrong}");
    }
}
