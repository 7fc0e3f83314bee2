use callvault_store::StoreError;

/// Input a user typed (CLI flag or query parameter) that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// Not one of the providers.
    #[error("unknown provider {0:?} (expected one of: hatif, voiceinfra, voki, postcall)")]
    UnknownProvider(String),
    /// Not a time or a duration.
    #[error("cannot read time {0:?} (expected RFC 3339 like 2026-11-23T10:00:00Z, a date like 2026-11-23, or a duration ago like 2h or 7days)")]
    Time(String),
    /// `since` is not before `until`.
    #[error("--since must be before --until")]
    EmptyRange,
    /// Not a phone number, or one without a country.
    #[error("cannot read phone number {0:?} (write it with its country code, like +14155550100, or give a default country)")]
    Phone(String),
    /// Not an ISO 3166 country code.
    #[error("unknown country code {0:?} (expected two letters, like US or SA)")]
    Country(String),
    /// Not a call status.
    #[error("unknown call status {0:?} (expected one of: unknown, queued, assigned, in_progress, completed, voicemail, missed, failed)")]
    Status(String),
    /// Not `pending` or `failed`.
    #[error("unknown file state {0:?} (expected pending or failed)")]
    FileState(String),
    /// Not a file kind.
    #[error("unknown file kind {0:?} (expected recording, transcript or media)")]
    FileKind(String),
    /// Outside `1..=MAX_LIMIT`.
    #[error("limit must be between 1 and {max}, got {given}")]
    Limit {
        /// The largest page size.
        max: usize,
        /// What was asked for.
        given: String,
    },
    /// A link lifetime outside `1..=MAX_LINK_LIFETIME` seconds.
    #[error("expires must be seconds between 1 and {max}")]
    LinkLifetime {
        /// The longest lifetime, in seconds.
        max: u64,
    },
    /// A cursor that this query did not produce.
    #[error("invalid cursor: it was not produced by this query")]
    Cursor,
    /// An empty id or other required value.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Not a secret scope.
    #[error("unknown scope {0:?} (expected default or channel:<channel id>)")]
    Scope(String),
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request itself is wrong (exit code 2, HTTP 400).
    #[error(transparent)]
    Input(#[from] InputError),
    /// There is no such record or file (HTTP 404).
    #[error("not found: {0}")]
    NotFound(String),
    /// One call id names records of several secret scopes (Hatif channels whose secrets
    /// authenticated them); the request must say which (HTTP 409).
    #[error("call {id} was delivered under several secret scopes ({scopes}): name one with scope")]
    Ambiguous {
        /// The call.
        id: String,
        /// The scopes, comma-separated.
        scopes: String,
    },
    /// The file exists in the record but has not been archived (HTTP 409).
    #[error("{kind} of {id} is not archived yet (status: {status})")]
    NotArchived {
        /// Which file.
        kind: &'static str,
        /// The record.
        id: String,
        /// Its copy status.
        status: String,
    },
    /// Reading from the table or bucket failed (HTTP 502).
    #[error(transparent)]
    Storage(#[from] StoreError),
}
