//! Command-line arguments.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use callvault_query::{input, InputError, Scope};
use callvault_records::{CallStatus, Provider};
use callvault_store::files::FileKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::tail::Kind;

/// Work with callvault: find the stack, connect providers, send test deliveries, watch and
/// inspect deliveries, read calls, messages and recordings, replay and re-drive.
///
/// Uses your normal AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...) and the
/// stack named by --stack (CALLVAULT_STACK): `--stack local` is `make dev`'s. There is no
/// default stack or table: without a stack, give both --table and --bucket.
///
/// Exit codes: 0 success; 1 not found (no such stack, call, file, delivery or secret; or any
/// other failure); 2 bad input, refused before any AWS request; 3 a failed check (a `trigger`
/// delivery that did not land, a body that does not match its SHA-256, `status` unhealthy); 4 an AWS or credential
/// error. The reason is on stderr.
#[derive(Debug, Parser)]
#[command(name = "callvault", version)]
pub struct Cli {
    /// The deployed stack (its outputs name the table, bucket, URLs and secrets), or `local`
    /// for `make dev`'s.
    #[arg(long, env = "CALLVAULT_STACK", global = true)]
    pub stack: Option<String>,
    /// DynamoDB table holding the records (default: the stack's; without a stack, give it
    /// with --bucket).
    #[arg(long, env = "CALLVAULT_TABLE", global = true)]
    pub table: Option<String>,
    /// S3 bucket holding the archived files (default: the stack's; without a stack, give it
    /// with --table).
    #[arg(long, env = "CALLVAULT_BUCKET", global = true)]
    pub bucket: Option<String>,
    /// AWS profile (default: the SDK's usual choice).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (default: the SDK's usual choice).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint URL (e.g. a local emulator); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, global = true, default_value_t = Output::Table)]
    pub output: Output,
    /// Same as --output json.
    #[arg(long, global = true, conflicts_with = "jsonl")]
    pub json: bool,
    /// Same as --output jsonl.
    #[arg(long, global = true)]
    pub jsonl: bool,
    /// Time zone of displayed times: an IANA name such as Europe/Lisbon, or UTC.
    #[arg(long, global = true, default_value = "UTC", value_parser = zone)]
    pub tz: Tz,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables sized to the terminal.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values, with a header line.
    Csv,
}

impl Cli {
    /// The chosen output format (`--json` and `--jsonl` are shorthands).
    pub fn format(&self) -> Output {
        if self.json {
            Output::Json
        } else if self.jsonl {
            Output::Jsonl
        } else {
            self.output
        }
    }
}

fn zone(value: &str) -> Result<Tz, String> {
    value
        .parse()
        .map_err(|_| format!("unknown time zone {value:?} (an IANA name, like Europe/Lisbon)"))
}

/// A value parser over one of `callvault_query::input`'s readers that lists the accepted
/// values (in `--help` and in shell completions).
#[derive(Clone)]
struct Listed<T> {
    read: fn(&str) -> Result<T, InputError>,
    values: &'static [&'static str],
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Listed<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.read)(&text).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.values.iter().map(|v| PossibleValue::new(*v))))
    }
}

fn providers() -> Listed<Provider> {
    Listed {
        read: input::provider,
        values: &["hatif", "voiceinfra", "voki", "postcall"],
    }
}

fn statuses() -> Listed<CallStatus> {
    Listed {
        read: input::status,
        values: &[
            "unknown",
            "queued",
            "assigned",
            "in_progress",
            "completed",
            "voicemail",
            "missed",
            "failed",
        ],
    }
}

fn file_kinds() -> Listed<FileKind> {
    Listed {
        read: input::file_kind,
        values: &["recording", "transcript", "media"],
    }
}

fn file_states() -> Listed<input::FileState> {
    Listed {
        read: input::file_state,
        values: &["pending", "failed"],
    }
}

fn time(value: &str) -> Result<DateTime<Utc>, InputError> {
    input::time(value, Utc::now())
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The stack's table, bucket, secrets and webhook URLs, ready to paste into each
    /// provider's dashboard (the post-call URL's token only with --show-secrets).
    Stack(Stack),
    /// Is the stack healthy? Secrets set, deliveries per provider over 24 hours, alarms, the
    /// spool, dead-letter queues and the copier's backlog, with what to do about each problem
    /// (exit 3 when unhealthy).
    Status,
    /// The webhooks' delivery log lines (CloudWatch Logs), failures included: 401, 413, 503
    /// and spooled deliveries, which never reach the table.
    Logs(Logs),
    /// Connect a provider and rotate its secret.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Send signed sample deliveries of every provider and event type, read the records back,
    /// and print a pass/fail grid (exit 3 if any did not land). What it writes is marked as
    /// test records; `trigger --cleanup` removes them.
    Trigger(Trigger),
    /// Follow deliveries and file copies as they are written.
    Tail(Tail),
    /// Calls.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// WhatsApp messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// A call's deliveries, exactly as they arrived.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Deliveries kept instead of applied, with their reasons.
    #[command(subcommand, alias = "rejected")]
    Kept(KeptCommand),
    /// Archived recordings (and transcript or media files).
    #[command(subcommand, visible_alias = "recordings")]
    Recording(RecordingCommand),
    /// Apply spooled or kept deliveries again.
    #[command(subcommand)]
    Replay(ReplayCommand),
    /// Erase one person's data everywhere callvault put it (calls, deliveries, raw bodies,
    /// files with every version, kept and spooled deliveries): by --phone, --contact, --agent
    /// or one call (`erase call`). Lists what would go; --yes removes it and stores a
    /// receipt (`erase --receipts` lists them).
    Erase(Erase),
    /// A web console on 127.0.0.1: calls with their recordings, transcripts and deliveries,
    /// WhatsApp conversations, and an overview in charts.
    Console(Console),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `erase` arguments: whose data (one selector), or `--receipts`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(group(clap::ArgGroup::new("selector").args(["phone", "contact", "agent", "receipts"])))]
pub struct Erase {
    /// One call's data instead.
    #[command(subcommand)]
    pub call: Option<EraseCommand>,
    /// Calls from or to this number (in any common format, the rule `calls list --phone`
    /// uses), and kept or spooled deliveries naming it in any format.
    #[arg(long)]
    pub phone: Option<String>,
    /// Country (ISO 3166, e.g. US) for a --phone written without +country code; kept and
    /// spooled deliveries writing the number nationally are found with it too.
    #[arg(long, requires = "phone")]
    pub country: Option<String>,
    /// Calls of this contact id (and the contact's own record).
    #[arg(long)]
    pub contact: Option<String>,
    /// Calls of this agent id.
    #[arg(long)]
    pub agent: Option<String>,
    /// With --contact or --agent: only this provider's (ids are per provider; default:
    /// every provider's).
    #[arg(long, value_parser = providers(), conflicts_with_all = ["phone", "receipts"])]
    pub provider: Option<Provider>,
    /// List the receipts of erases done (newest first) instead.
    #[arg(long)]
    pub receipts: bool,
    /// Confirmation and how far back.
    #[command(flatten)]
    pub options: EraseOptions,
}

/// `erase call ...`
#[derive(Debug, Subcommand)]
pub enum EraseCommand {
    /// One call: every scope's record unless --scope names one.
    Call {
        /// The call.
        #[command(flatten)]
        call: CallRef,
        /// Confirmation and how far back.
        #[command(flatten)]
        options: EraseOptions,
    },
}

/// Flags every erase takes.
#[derive(Debug, Args)]
pub struct EraseOptions {
    /// Remove what is listed (without it nothing is written).
    #[arg(long)]
    pub yes: bool,
    /// Read kept deliveries received from this time (RFC 3339, a date, or a duration ago)
    /// (default: as far back as the stack keeps them plus 2 days, or 365 days when it keeps
    /// them forever).
    #[arg(long, value_parser = time)]
    pub kept_since: Option<DateTime<Utc>>,
}

/// `stack` arguments.
#[derive(Debug, Args)]
pub struct Stack {
    /// Print the post-call URL with its token (else `<token>` stands in its place).
    #[arg(long)]
    pub show_secrets: bool,
}

/// `logs` arguments.
#[derive(Debug, Args)]
pub struct Logs {
    /// Only this provider's webhooks.
    #[arg(long, value_parser = providers())]
    pub provider: Option<Provider>,
    /// Only this outcome (stored, duplicate, kept, spooled, unauthorized, too_large,
    /// storage_failed, method_not_allowed).
    #[arg(long)]
    pub outcome: Option<String>,
    /// From this time: RFC 3339, a date (UTC), or a duration ago (2h, 7days).
    #[arg(long, value_parser = time, default_value = "1h")]
    pub since: DateTime<Utc>,
    /// Keep printing new lines as they are logged (Ctrl-C stops).
    #[arg(long)]
    pub follow: bool,
}

/// `console` arguments.
#[derive(Debug, Args)]
pub struct Console {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Open it in the default browser.
    #[arg(long)]
    pub open: bool,
}

/// `secrets ...`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// The secrets' ids, per provider and channel (never their values).
    List {
        /// Only this provider.
        #[arg(value_parser = providers())]
        provider: Option<Provider>,
    },
    /// Add a secret (generated, or given) and print where to paste it.
    Add(SecretChange),
    /// Add a new secret beside the current ones; remove the old ones once the provider uses
    /// the new one.
    Rotate(SecretChange),
    /// Remove a secret (never the last one).
    Remove {
        /// The provider.
        #[arg(value_parser = providers())]
        provider: Provider,
        /// The secret's id (`secrets list` names them).
        id: String,
        /// A Hatif channel's secret.
        #[arg(long)]
        channel: Option<String>,
    },
}

/// `secrets add` and `secrets rotate` arguments.
#[derive(Debug, Args)]
pub struct SecretChange {
    /// The provider.
    #[arg(value_parser = providers())]
    pub provider: Provider,
    /// A Hatif channel's own secret (default: the provider's default secret). The channel's
    /// first one carries the default secrets over into its set (`default:<id>`), since they
    /// checked its deliveries until now: remove them once Hatif uses the new secret.
    #[arg(long)]
    pub channel: Option<String>,
    /// With --channel: carry no default secret over (a channel whose deliveries were never
    /// signed with one).
    #[arg(long, requires = "channel")]
    pub no_carry_over: bool,
    /// The new secret's id (default: today's date).
    #[arg(long)]
    pub id: Option<String>,
    /// The secret to use instead of a generated one (read from stdin with `-`).
    #[arg(long)]
    pub value: Option<String>,
}

/// `trigger` arguments.
#[derive(Debug, Args)]
pub struct Trigger {
    /// A provider or webhook (hatif, hatif-call, hatif-whatsapp, voiceinfra, voki,
    /// postcall), then some of its events (default: all of them).
    pub what: Vec<String>,
    /// Every webhook and event.
    #[arg(long)]
    pub all: bool,
    /// Print the requests as curl commands instead of sending them.
    #[arg(long)]
    pub curl: bool,
    /// Remove the test records trigger wrote (every record whose id carries its mark, with
    /// its deliveries and archived files), and list them. Reads the whole table.
    #[arg(long, conflicts_with_all = ["what", "all", "curl"])]
    pub cleanup: bool,
}

/// `tail` arguments.
#[derive(Debug, Args)]
pub struct Tail {
    /// Only this provider's.
    #[arg(long, value_parser = providers())]
    pub provider: Option<Provider>,
    /// Only these kinds: applied deliveries, kept ones, file changes.
    #[arg(long, value_enum)]
    pub outcome: Vec<Kind>,
    /// Stop after this many lines.
    #[arg(long)]
    pub count: Option<usize>,
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
    /// Read every page (printed as each arrives).
    #[arg(long)]
    pub all: bool,
}

/// `calls list` filters.
#[derive(Debug, Args)]
pub struct ListCalls {
    /// Only this provider.
    #[arg(long, value_parser = providers())]
    pub provider: Option<Provider>,
    /// From this time: RFC 3339, a date (UTC), or a duration ago (2h, 7days).
    #[arg(long, value_parser = time)]
    pub since: Option<DateTime<Utc>>,
    /// Before this time (same forms as --since).
    #[arg(long, value_parser = time)]
    pub until: Option<DateTime<Utc>>,
    /// Calls from or to this number, in any common format (the rule numbers are stored by).
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
    /// Calls with this status.
    #[arg(long, value_parser = statuses())]
    pub status: Option<CallStatus>,
    /// Calls whose recording (or transcript file) copy is pending or failed.
    #[arg(long, value_parser = file_states())]
    pub recording: Option<input::FileState>,
    /// Paging.
    #[command(flatten)]
    pub paging: Paging,
}

/// A call by provider and provider call id.
#[derive(Debug, Args)]
pub struct CallRef {
    /// The provider.
    #[arg(value_parser = providers())]
    pub provider: Provider,
    /// The provider's call id.
    pub call_id: String,
    /// Which record, when one Hatif call id was delivered under several channels' secrets
    /// (`default` or `channel:<channel id>`; the error names them).
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
    #[arg(long, value_parser = providers(), default_value = "hatif")]
    pub provider: Provider,
    /// Paging.
    #[command(flatten)]
    pub paging: Paging,
}

/// `deliveries ...`
#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// A call's deliveries, oldest first.
    List(CallRef),
    /// One delivery's kept headers and exact body.
    Show {
        /// The call.
        #[command(flatten)]
        call: CallRef,
        /// The delivery: its id, or at least 8 characters of its body's SHA-256.
        delivery: String,
        /// Write only the body's exact bytes to stdout.
        #[arg(long)]
        raw: bool,
    },
}

/// `kept ...`
#[derive(Debug, Subcommand)]
pub enum KeptCommand {
    /// Kept deliveries with their reasons, oldest first.
    List(KeptRange),
}

/// Which kept deliveries.
#[derive(Debug, Args)]
pub struct KeptRange {
    /// Only this provider's.
    #[arg(long, value_parser = providers())]
    pub provider: Option<Provider>,
    /// Received at or after this time: RFC 3339, a date (UTC), or a duration ago (2h,
    /// 7days) (default: 24 hours before --until).
    #[arg(long, value_parser = time)]
    pub since: Option<DateTime<Utc>>,
    /// Received before this time (default: now).
    #[arg(long, value_parser = time)]
    pub until: Option<DateTime<Utc>>,
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
    /// Once, after upgrading from a version without the copier's due index: index the records
    /// with files pending or failed so the copier's sweep finds every waiting file (idempotent).
    Reindex,
}

/// `recording retry` arguments.
#[derive(Debug, Args)]
pub struct Retry {
    /// Every failed file.
    #[arg(long, conflicts_with_all = ["provider_call", "call_id"])]
    pub failed: bool,
    /// With `--failed`: only this provider's.
    #[arg(long, value_parser = providers(), requires = "failed")]
    pub provider: Option<Provider>,
    /// With `--failed`: only calls and messages at or after this time (RFC 3339, a date, or a
    /// duration ago such as 2h or 7days).
    #[arg(long, value_parser = time, requires = "failed")]
    pub since: Option<DateTime<Utc>>,
    /// One call's failed files: its provider ...
    #[arg(
        value_parser = providers(),
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
    /// Which file.
    #[arg(long, value_parser = file_kinds(), default_value = "recording")]
    pub kind: FileKind,
    /// Where to write it; `-` for stdout.
    #[arg(long = "to", short = 'o', value_name = "FILE")]
    pub file: PathBuf,
}

/// `recording url` arguments.
#[derive(Debug, Args)]
pub struct Link {
    /// The call.
    #[command(flatten)]
    pub call: CallRef,
    /// Which file.
    #[arg(long, value_parser = file_kinds(), default_value = "recording")]
    pub kind: FileKind,
    /// How long the link works (e.g. 15m, 1h, 7days; at most 7 days).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub expires: Duration,
}

/// `replay ...`
#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Apply every spooled delivery (the spool replayer does this by itself in AWS).
    Spool {
        /// List them without applying anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply kept deliveries again (after a fix): each one applied leaves the kept ones.
    #[command(alias = "rejected")]
    Kept {
        /// Which ones.
        #[command(flatten)]
        range: KeptRange,
        /// Say what each would become (parse only), without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Once, after upgrading to channel-scoped Hatif records: apply the deliveries of each
    /// Hatif record that the default secrets verified for a channel (scope `default`) again
    /// under that channel's scope, merging with what arrived there since, then remove the old
    /// record.
    HatifScopes {
        /// List the records that would move, without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply one kept delivery again, by (at least 8 characters of) its body's SHA-256.
    Delivery {
        /// The SHA-256 (or a prefix).
        sha256: String,
        /// Which kept deliveries to look in.
        #[command(flatten)]
        range: KeptRange,
        /// Say what it would become, without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
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
        assert_eq!(cli.format(), Output::Json);
        let Command::Calls(CallsCommand::List(list)) = cli.command else {
            panic!("calls list expected")
        };
        assert_eq!(list.provider, Some(Provider::Voki));
        assert_eq!(list.status, Some(CallStatus::Missed));
        assert_eq!(list.recording, Some(input::FileState::Failed));
        assert_eq!(list.paging.limit, 5);
    }

    #[test]
    fn erase_takes_one_selector_or_one_call() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["callvault", "erase"], args].concat());
        let cli = parse(&["--agent", "a7", "--provider", "voki", "--yes"]).expect("valid");
        let Command::Erase(erase) = cli.command else {
            panic!("erase expected")
        };
        assert_eq!(erase.agent.as_deref(), Some("a7"));
        assert_eq!(erase.provider, Some(Provider::Voki));
        assert!(erase.options.yes);
        let cli = parse(&["call", "hatif", "c1", "--scope", "default"]).expect("valid");
        let Command::Erase(Erase {
            call: Some(EraseCommand::Call { call, options }),
            ..
        }) = cli.command
        else {
            panic!("erase call expected")
        };
        assert_eq!(
            (call.provider, call.call_id.as_str()),
            (Provider::Hatif, "c1")
        );
        assert!(!options.yes, "a dry run unless --yes");
        for refused in [
            &["--phone", "+14155550100", "--contact", "c1"][..],
            &["--phone", "+14155550100", "--provider", "voki"],
            &["--receipts", "--agent", "a7"],
            &["--country", "US"],
            &["--phone", "+14155550100", "call", "voki", "c1"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn allowed_values_are_listed_in_help() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("calls")
            .and_then(|c| c.find_subcommand_mut("list"))
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for value in [
            "hatif, voiceinfra, voki, postcall",
            "in_progress",
            "pending",
        ] {
            assert!(help.contains(value), "{value} in\n{help}");
        }
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
            &["callvault", "--tz", "Mars/Olympus", "calls", "list"],
            &["callvault", "--output", "xml", "calls", "list"],
            &["callvault", "secrets", "add", "twilio"],
        ] {
            let err = Cli::try_parse_from(args).expect_err("refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
