use std::fmt;

use thiserror::Error;

/// Why an authenticated body could not be turned into a record. The message names the field
/// or position at fault and never quotes the body.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not JSON, or JSON of the wrong shape (missing field, wrong type).
    #[error("invalid payload: {0}")]
    Invalid(Invalid),
    /// Well-formed, but something this version does not handle (for example an unknown event
    /// type); kept and answered 422.
    #[error("unsupported: {0}")]
    Unsupported(Unsupported),
    /// A field is present but its value is not acceptable (for example an unparseable time).
    #[error("invalid value for `{field}`: {reason}")]
    Field {
        /// The payload field at fault.
        field: &'static str,
        /// What is wrong with it: a fixed phrase of callvault's, never a body value.
        reason: &'static str,
    },
}

/// What makes a body not JSON of the documented shape. Each variant is one message form, and
/// none carries body content: a position, a member or a field name of callvault's own types.
/// Whatever checks the messages (the fuzz properties) matches on these variants, so a new
/// kind of message is a new variant and cannot go unnoticed there.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The body (or a JSON array at its top) is not a JSON object.
    #[error("expected a JSON object")]
    NotAnObject,
    /// A member that must hold an object holds something else (Voki's `data`).
    #[error("`{0}` must be a JSON object")]
    MemberNotAnObject(&'static str),
    /// The body ends inside a JSON value.
    #[error("truncated JSON at {0}")]
    Truncated(Position),
    /// The body is not JSON (or not UTF-8) from this position on.
    #[error("not valid JSON at {0}")]
    Syntax(Position),
    /// A value has the wrong JSON type, or a value its type does not allow.
    #[error("wrong type or value at {0}")]
    WrongType(Position),
    /// A required field is absent; the name is the field of callvault's payload type that
    /// serde reports, never a body value.
    #[error("missing field `{0}`")]
    MissingField(String),
}

/// What a well-formed body asks for that this version does not handle.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// An event name callvault does not handle, cut to [`Unsupported::NAME_CHARS`]
    /// characters: the only body content any message quotes (documented), so an operator
    /// can tell which event a provider added.
    #[error("event type `{0}`")]
    EventType(String),
}

impl Unsupported {
    /// How many characters of an unknown event name a message quotes at most.
    pub const NAME_CHARS: usize = 64;

    /// An unknown event name, cut to [`Self::NAME_CHARS`] characters.
    pub fn event_type(name: &str) -> Self {
        Self::EventType(name.chars().take(Self::NAME_CHARS).collect())
    }
}

/// A position in a body: 1-based line and byte column, as serde_json counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The byte column within the line, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

impl From<Unsupported> for ParseError {
    fn from(unsupported: Unsupported) -> Self {
        Self::Unsupported(unsupported)
    }
}

impl From<Invalid> for ParseError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid(invalid)
    }
}

impl ParseError {
    /// A body that is not UTF-8, so not JSON: the position of the first byte that is not.
    pub(crate) fn not_utf8(body: &[u8], err: &std::str::Utf8Error) -> Self {
        let valid = &body[..err.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        let column = valid.len() - line_start + 1;
        Invalid::Syntax(Position { line, column }).into()
    }

    /// Describes a serde_json error by category, position and field name only: serde_json's
    /// own messages quote offending values, which would copy body content into responses and
    /// logs.
    pub fn from_json(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let at = Position {
            line: err.line(),
            column: err.column(),
        };
        Self::Invalid(match err.classify() {
            Category::Eof => Invalid::Truncated(at),
            Category::Syntax | Category::Io => Invalid::Syntax(at),
            Category::Data => {
                let message = err.to_string();
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split_once('`'))
                    .map(|(field, _)| field.to_owned());
                match missing {
                    Some(field) => Invalid::MissingField(field),
                    None => Invalid::WrongType(at),
                }
            }
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
