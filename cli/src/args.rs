//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use callvault_query::{input, Scope};
use callvault_records::{CallStatus, Provider};
use callvault_store::files::FileKind;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

/// Read the calls, WhatsApp messages and recordings that callvault stored in your AWS account.
///
/// Uses your normal AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
/// Exit codes: 0 success, 1 not found or AWS error, 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "callvault", version)]
pub struct Cli {
    /// DynamoDB table holding the records.
    #[arg(long, env = "CALLVAULT_TABLE", default_value = callvault_store::schema::DEFAULT_TABLE, global = true)]
    pub table: String,
    /// S3 bucket holding the archived files.
    #[arg(long, env = "CALLVAULT_BUCKET", default_value = callvault_store::schema::DEFAULT_BUCKET, global = true)]
    pub bucket: String,
    /// AWS profile (default: the SDK's usual choice).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (default: the SDK's usual choice).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint URL (e.g. a local emulator); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Print one JSON document.
    #[arg(long, global = true, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON object per line.
    #[arg(long, global = true)]
    pub jsonl: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
}

impl Cli {
    /// The chosen output format.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.jsonl {
            Format::Jsonl
        } else {
            Format::Table
        }
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Calls.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// WhatsApp messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Archived recordings (and transcript or media files).
    #[command(subcommand, visible_alias = "recordings")]
    Recording(RecordingCommand),
}

/// `calls ...`
#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// List calls, newest first.
    List(ListCalls),
    /// Show one call with its delivery history.
    Get(CallRef),
}

/// Paging flags shared by lists.
#[derive(Debug, Args)]
pub struct Paging {
    /// Items per page (1-1000).
    #[arg(long, default_value_t = input::DEFAULT_LIMIT, value_parser = input::limit)]
    pub limit: usize,
    /// Continue from the cursor a previous page printed.
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Read every page.
    #[arg(long)]
    pub all: bool,
}

fn time(value: &str) -> Result<DateTime<Utc>, callvault_query::InputError> {
    input::time(value, Utc::now())
}

/// `calls list` filters.
#[derive(Debug, Args)]
pub struct ListCalls {
    /// Only this provider (hatif, voiceinfra, voki, postcall).
    #[arg(long, value_parser = input::provider)]
    pub provider: Option<Provider>,
    /// From this time: RFC 3339, a date (UTC), or a duration ago (2h, 7days).
    #[arg(long, value_parser = time)]
    pub since: Option<DateTime<Utc>>,
    /// Before this time (same forms as --since).
    #[arg(long, value_parser = time)]
    pub until: Option<DateTime<Utc>>,
    /// Calls from or to this number, in any common format.
    #[arg(long)]
    pub phone: Option<String>,
    /// Country (ISO 3166, e.g. US) for a --phone written without +country code.
    #[arg(long, requires = "phone")]
    pub country: Option<String>,
    /// Calls of this agent id.
    #[arg(long)]
    pub agent: Option<String>,
    /// Calls of this contact id.
    #[arg(long)]
    pub contact: Option<String>,
    /// Calls with this status (completed, missed, voicemail, failed, in_progress, ...).
    #[arg(long, value_parser = input::status)]
    pub status: Option<CallStatus>,
    /// Calls whose recording (or transcript file) copy is pending or failed.
    #[arg(long, value_parser = input::file_state)]
    pub recording: Option<input::FileState>,
    /// Paging.
    #[command(flatten)]
    pub paging: Paging,
}

/// A call by provider and provider call id.
#[derive(Debug, Args)]
pub struct CallRef {
    /// The provider (hatif, voiceinfra, voki, postcall).
    #[arg(value_parser = input::provider)]
    pub provider: Provider,
    /// The provider's call id.
    pub call_id: String,
    /// Which record, when one Hatif call id was delivered under several channels' secrets
    /// (`default` or `channel:<channel id>`; `calls get` names them).
    #[arg(long, value_parser = input::scope)]
    pub scope: Option<Scope>,
}

/// `messages ...`
#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List a conversation's messages in order.
    List(ListMessages),
}

/// `messages list` arguments.
#[derive(Debug, Args)]
pub struct ListMessages {
    /// The conversation id.
    #[arg(long)]
    pub conversation: String,
    /// The provider.
    #[arg(long, value_parser = input::provider, default_value = "hatif")]
    pub provider: Provider,
    /// Paging.
    #[command(flatten)]
    pub paging: Paging,
}

/// `recording ...`
#[derive(Debug, Subcommand)]
pub enum RecordingCommand {
    /// Stream an archived file to a file or stdout, checking its SHA-256.
    Download(Download),
    /// Print a presigned link to an archived file.
    Url(Link),
    /// Copy failed files again (after fixing the cause, or once the provider's link works):
    /// every failed file (`--failed`, narrowed by `--provider` and `--since`), or one call's.
    Retry(Retry),
}

/// `recording retry` arguments.
#[derive(Debug, Args)]
pub struct Retry {
    /// Every failed file.
    #[arg(long, conflicts_with_all = ["provider_call", "call_id"])]
    pub failed: bool,
    /// With `--failed`: only this provider's.
    #[arg(long, value_parser = input::provider, requires = "failed")]
    pub provider: Option<Provider>,
    /// With `--failed`: only calls and messages at or after this time (RFC 3339, a date, or a
    /// duration ago such as 2h or 7days).
    #[arg(long, value_parser = time, requires = "failed")]
    pub since: Option<DateTime<Utc>>,
    /// One call's failed files: its provider ...
    #[arg(
        value_parser = input::provider,
        id = "provider_call",
        value_name = "PROVIDER",
        required_unless_present = "failed",
        requires = "call_id"
    )]
    pub call_provider: Option<Provider>,
    /// ... and its call id.
    #[arg(requires = "provider_call")]
    pub call_id: Option<String>,
    /// Which record, when one Hatif call id was delivered under several channels' secrets.
    #[arg(long, value_parser = input::scope)]
    pub scope: Option<Scope>,
}

/// `recording download` arguments.
#[derive(Debug, Args)]
pub struct Download {
    /// The call.
    #[command(flatten)]
    pub call: CallRef,
    /// Which file: recording, transcript or media.
    #[arg(long, value_parser = input::file_kind, default_value = "recording")]
    pub kind: FileKind,
    /// Where to write it; `-` for stdout.
    #[arg(long, short)]
    pub output: PathBuf,
}

/// `recording url` arguments.
#[derive(Debug, Args)]
pub struct Link {
    /// The call.
    #[command(flatten)]
    pub call: CallRef,
    /// Which file: recording, transcript or media.
    #[arg(long, value_parser = input::file_kind, default_value = "recording")]
    pub kind: FileKind,
    /// How long the link works (e.g. 15m, 1h, 7days; at most 7 days).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub expires: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn list_flags_parse_into_typed_values() {
        let cli = Cli::try_parse_from([
            "callvault",
            "--json",
            "calls",
            "list",
            "--provider",
            "Voki",
            "--since",
            "2026-11-01",
            "--status",
            "missed",
            "--recording",
            "failed",
            "--limit",
            "5",
        ])
        .expect("valid arguments");
        assert_eq!(cli.format(), Format::Json);
        let Command::Calls(CallsCommand::List(list)) = cli.command else {
            panic!("calls list expected")
        };
        assert_eq!(list.provider, Some(Provider::Voki));
        assert_eq!(list.status, Some(CallStatus::Missed));
        assert_eq!(list.recording, Some(input::FileState::Failed));
        assert_eq!(list.paging.limit, 5);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["callvault", "calls", "list", "--provider", "twilio"][..],
            &["callvault", "calls", "list", "--since", "someday"],
            &["callvault", "calls", "list", "--limit", "0"],
            &["callvault", "calls", "list", "--status", "done"],
            &["callvault", "--json", "--jsonl", "calls", "list"],
            &["callvault", "calls", "get", "voki"],
        ] {
            let err = Cli::try_parse_from(args).expect_err("refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
