//! The failures a command ends with, and the one place they become exit codes (listed for
//! `--help` in the `Cli` doc comment).

use std::fmt::Display;

use callvault_console::inspect::InspectError;
use callvault_query::{InputError, QueryError};
use callvault_store::erase::EraseError;
use callvault_store::StoreError;

/// What kind of failure ended a command: its exit code ([`Exit::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// No such stack, call, file, delivery or secret (1).
    NotFound,
    /// Any other failure (1, as not found).
    Other,
    /// Bad input, refused before any AWS request (2; clap's own usage errors exit 2 too).
    Usage,
    /// A failed check: deliveries `trigger` sent that did not land, a body that does not
    /// match its SHA-256, a stack found unhealthy (3).
    Check,
    /// AWS refused or did not answer: no credentials, access denied, throttling, an outage (4).
    Aws,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Self::NotFound | Self::Other => 1,
            Self::Usage => 2,
            Self::Check => 3,
            Self::Aws => 4,
        }
    }
}

/// A failure the command itself sorts, in the words it says it in.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something impossible, beyond what the argument parser
    /// checks; the message says what to give instead.
    #[error("{0}")]
    Usage(String),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A check failed; what was checked is printed already.
    #[error("{0}")]
    Failed(String),
    /// The stack is not healthy, for these reasons (`callvault status`).
    #[error("unhealthy: {}", .0.join("; "))]
    Unhealthy(Vec<String>),
    /// An AWS request failed: what was being done, and the SDK's error with its causes.
    #[error("{0}")]
    Aws(String),
}

impl CliError {
    /// An AWS SDK error met while `doing` something (all its causes on one line).
    pub fn aws(doing: impl Display, err: impl std::error::Error) -> Self {
        Self::Aws(format!(
            "{doing}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(err)
        ))
    }

    /// What kind of failure this is.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) => Exit::Usage,
            Self::NotFound(_) => Exit::NotFound,
            Self::Failed(_) | Self::Unhealthy(_) => Exit::Check,
            Self::Aws(_) => Exit::Aws,
        }
    }
}

/// What kind of failure `err` is: the first error of its chain (outermost first) that says.
pub fn exit_of(err: &anyhow::Error) -> Exit {
    err.chain().find_map(kind).unwrap_or(Exit::Other)
}

/// The kind of one error, if its type says.
fn kind(err: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if let Some(e) = err.downcast_ref::<CliError>() {
        return Some(e.exit());
    }
    if let Some(e) = err.downcast_ref::<QueryError>() {
        return Some(match e {
            QueryError::Input(_) | QueryError::Ambiguous { .. } => Exit::Usage,
            QueryError::NotFound(_) | QueryError::NotArchived { .. } => Exit::NotFound,
            QueryError::Storage(e) => storage(e),
        });
    }
    if let Some(e) = err.downcast_ref::<InspectError>() {
        return Some(match e {
            InspectError::SeveralDeliveries(_) => Exit::Usage,
            InspectError::NoDelivery(_) | InspectError::EventGone | InspectError::NoBody => {
                Exit::NotFound
            }
            InspectError::Storage(e) => storage(e),
        });
    }
    if err.is::<InputError>() {
        return Some(Exit::Usage);
    }
    if let Some(e) = err.downcast_ref::<EraseError>() {
        return Some(match e {
            EraseError::EmptySelector(_) => Exit::Usage,
            EraseError::Store(e) => storage(e),
        });
    }
    err.downcast_ref::<StoreError>().map(storage)
}

/// A storage failure: a request DynamoDB or S3 refused or did not answer is an AWS error; an
/// item that cannot be read back is not.
fn storage(err: &StoreError) -> Exit {
    match err {
        StoreError::Request { .. } | StoreError::Deadline(_) | StoreError::Contention(_) => {
            Exit::Aws
        }
        StoreError::Unstorable(_)
        | StoreError::Item(_)
        | StoreError::Corrupt(_)
        | StoreError::Malformed { .. } => Exit::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: impl Into<anyhow::Error>) -> i32 {
        exit_of(&err.into()).code()
    }

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        assert_eq!(code(QueryError::Input(InputError::Cursor)), 2);
        assert_eq!(code(InputError::EmptyRange), 2);
        assert_eq!(code(CliError::Usage("x".into())), 2);
        assert_eq!(code(InspectError::SeveralDeliveries("ab".into())), 2);
        assert_eq!(code(QueryError::NotFound("x".into())), 1);
        assert_eq!(code(CliError::NotFound("x".into())), 1);
        assert_eq!(code(InspectError::NoDelivery("ab".into())), 1);
        assert_eq!(code(CliError::Failed("x".into())), 3);
        assert_eq!(code(CliError::Unhealthy(vec!["spool".into()])), 3);
        assert_eq!(code(CliError::Aws("x".into())), 4);
        assert_eq!(
            code(QueryError::Storage(StoreError::Deadline(
                std::time::Duration::from_secs(1)
            ))),
            4
        );
        assert_eq!(code(StoreError::Contention("x".into())), 4);
        assert_eq!(code(StoreError::Corrupt("x".into())), 1);
        assert_eq!(code(anyhow::anyhow!("anything else")), 1);
    }

    #[test]
    fn the_outermost_error_that_says_decides() {
        let err = anyhow::Error::from(CliError::NotFound("no such secret".into()))
            .context("rotating the secret");
        assert_eq!(exit_of(&err), Exit::NotFound);
        let err = anyhow::Error::from(StoreError::Contention("x".into())).context("reading");
        assert_eq!(exit_of(&err), Exit::Aws);
    }
}
