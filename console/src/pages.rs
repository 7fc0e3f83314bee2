//! The console's pages: what each one reads through the query library, and the template
//! that lays it out.

use std::collections::BTreeMap;
use std::time::Duration;

use askama::Template;
use axum::http::StatusCode;
use callvault_query::{
    input, CallDetail, CallFilter, CallSummary, InputError, MessageDetail, QueryError, Reader,
    Scope, MAX_CONVERSATION, MAX_TEXT_FILE,
};
use callvault_records::{CallRecord, Direction, MessageStatus, Provider, Word};
use callvault_store::files::{FileKind, FileState, FileStatus, Files};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::charts::{self, Chart, Series};
use super::routes::PageError;
use super::view::{self, Choice, Chrome};
use super::Console;
use crate::inspect;

/// How long the links to recordings and media on a page work.
pub const LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Calls per page of the list.
pub const PAGE_SIZE: usize = 50;
/// The most calls the overview counts.
pub const MAX_OVERVIEW_CALLS: usize = 50_000;
/// The longest range the overview covers, in days.
pub const MAX_OVERVIEW_DAYS: u64 = 92;

/// A label and its value.
#[derive(Debug, Clone)]
pub struct Fact {
    /// What it is.
    pub label: String,
    /// Its value, safe to show.
    pub value: String,
}

fn fact(label: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: label.to_owned(),
        value: value.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Calls

/// The calls list's filters, as the URL carries them (empty values mean no filter).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CallsQuery {
    /// `hatif`, `voiceinfra`, `voki` or `postcall`.
    pub provider: Option<String>,
    /// A time, a date or a duration ago (`7d`).
    pub since: Option<String>,
    /// A time, a date or a duration ago.
    pub until: Option<String>,
    /// A phone number in any format.
    pub phone: Option<String>,
    /// The country of a number written without its country code.
    pub country: Option<String>,
    /// An agent id.
    pub agent: Option<String>,
    /// A contact id.
    pub contact: Option<String>,
    /// A call status.
    pub status: Option<String>,
    /// `pending` or `failed`: calls with a file copy in that state.
    pub recording: Option<String>,
    /// Where the page starts (from the previous page's "Older" link).
    pub cursor: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl CallsQuery {
    /// The filter these values name.
    pub fn filter(&self, now: DateTime<Utc>) -> Result<CallFilter, InputError> {
        let time = |v: &Option<String>| given(v).map(|v| input::time(v, now)).transpose();
        let (since, until) = input::range(time(&self.since)?, time(&self.until)?)?;
        let id = |v: &Option<String>, what| {
            given(v)
                .map(|v| input::id(v, what).map(str::to_owned))
                .transpose()
        };
        Ok(CallFilter {
            provider: given(&self.provider).map(input::provider).transpose()?,
            since,
            until,
            phone: given(&self.phone)
                .map(|p| input::phone(p, given(&self.country)))
                .transpose()?,
            agent: id(&self.agent, "agent")?,
            contact: id(&self.contact, "contact")?,
            status: given(&self.status).map(input::status).transpose()?,
            file_state: given(&self.recording).map(input::file_state).transpose()?,
        })
    }

    /// The list's URL with these filters, starting at `cursor`.
    fn href(&self, cursor: Option<&str>) -> String {
        format!(
            "/calls{}",
            view::query_string(&[
                ("provider", given(&self.provider)),
                ("since", given(&self.since)),
                ("until", given(&self.until)),
                ("phone", given(&self.phone)),
                ("country", given(&self.country)),
                ("agent", given(&self.agent)),
                ("contact", given(&self.contact)),
                ("status", given(&self.status)),
                ("recording", given(&self.recording)),
                ("cursor", cursor),
            ])
        )
    }
}

/// One call of the list.
#[derive(Debug, Clone)]
pub struct CallRow {
    /// RFC 3339 time.
    pub iso: String,
    /// Shown time.
    pub time: String,
    /// Provider name.
    pub provider: &'static str,
    /// The provider's call id.
    pub id: String,
    /// Its page.
    pub href: String,
    /// Status name.
    pub status: String,
    /// Inbound or outbound.
    pub direction: String,
    /// Calling number.
    pub from: String,
    /// Called number.
    pub to: String,
    /// Talk time.
    pub duration: String,
    /// Agent name or id.
    pub agent: String,
    /// Contact name or id.
    pub contact: String,
    /// Recording copy status.
    pub recording: String,
    /// Whether it was a provider's test delivery.
    pub test: bool,
}

impl CallRow {
    fn of(call: &CallSummary, tz: chrono_tz::Tz) -> Self {
        let or_blank = |v: &Option<String>| v.as_deref().map(view::line).unwrap_or_default();
        Self {
            iso: call.time.to_rfc3339(),
            time: view::time(tz, call.time),
            provider: call.provider.as_str(),
            id: view::line(&call.provider_call_id),
            href: view::call_href(call.provider, &call.provider_call_id, None),
            status: view::name_of(&call.status),
            direction: call
                .direction
                .map(|d| view::name_of(&d))
                .unwrap_or_default(),
            from: or_blank(&call.from),
            to: or_blank(&call.to),
            duration: call
                .duration_seconds
                .map(view::duration)
                .unwrap_or_default(),
            agent: or_blank(&call.agent_name.clone().or_else(|| call.agent_id.clone())),
            contact: or_blank(
                &call
                    .contact_name
                    .clone()
                    .or_else(|| call.contact_id.clone()),
            ),
            recording: call
                .recording
                .map(|s| view::name_of(&s))
                .unwrap_or_default(),
            test: call.test_delivery,
        }
    }
}

/// The calls list.
#[derive(Debug, Template)]
#[template(path = "calls.html")]
pub struct CallsPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// The filters as given (to fill the form).
    pub query: CallsQuery,
    /// Provider options.
    pub providers: Vec<Choice>,
    /// Status options.
    pub statuses: Vec<Choice>,
    /// File-state options.
    pub recordings: Vec<Choice>,
    /// The calls of this page.
    pub rows: Vec<CallRow>,
    /// Why the filters could not be used, or the list not read.
    pub error: Option<String>,
    /// The next (older) page.
    pub next_href: Option<String>,
    /// The first page, when this is not it.
    pub first_href: Option<String>,
}

const STATUSES: [&str; 8] = [
    "completed",
    "missed",
    "voicemail",
    "failed",
    "in_progress",
    "assigned",
    "queued",
    "unknown",
];

/// The calls list for `query` (an error in the filters is shown on the page, with the form).
pub async fn calls(console: &Console, chrome: Chrome, query: CallsQuery) -> CallsPage {
    let mut page = CallsPage {
        chrome,
        providers: view::choices(
            Provider::ALL.iter().map(|p| (p.as_str(), p.as_str())),
            given(&query.provider),
        ),
        statuses: view::choices(STATUSES.map(|s| (s, s)), given(&query.status)),
        recordings: view::choices(
            [("pending", "copy pending"), ("failed", "copy failed")],
            given(&query.recording),
        ),
        rows: Vec::new(),
        error: None,
        next_href: None,
        first_href: given(&query.cursor).map(|_| query.href(None)),
        query,
    };
    let listed = async {
        let filter = page.query.filter(Utc::now())?;
        console
            .reader
            .calls(&filter, PAGE_SIZE, given(&page.query.cursor))
            .await
    };
    match listed.await {
        Ok(list) => {
            page.rows = list
                .items
                .iter()
                .map(|c| CallRow::of(c, console.tz))
                .collect();
            page.next_href = list.cursor.as_deref().map(|c| page.query.href(Some(c)));
        }
        Err(err) => page.error = Some(err.to_string()),
    }
    page
}

// ---------------------------------------------------------------------------------------
// Call

/// The recording, playable.
#[derive(Debug, Clone)]
pub struct Audio {
    /// A presigned link.
    pub url: String,
    /// Its media type.
    pub content_type: String,
    /// When the link stops working.
    pub expires: String,
}

/// A piece of transcript: a timed word (seekable), or text between words.
#[derive(Debug, Clone)]
pub struct Token {
    /// The text, safe to show.
    pub text: String,
    /// Start offset as sent, for a timed word.
    pub start: Option<String>,
    /// End offset as sent (the start when the provider sent none).
    pub end: String,
}

/// One speaker's run of words.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The speaker's label.
    pub speaker: Option<String>,
    /// Words and the spaces between them.
    pub tokens: Vec<Token>,
}

/// Words grouped into turns by speaker; a space between two words unless the provider sent
/// its own spacing tokens.
pub fn turns(words: &[Word]) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    let mut last_speaker: Option<&str> = None;
    let mut after_word = false;
    for word in words {
        let spacing = word.kind.as_deref() == Some("spacing");
        let speaker = word.speaker.as_deref();
        if turns.is_empty() || (!spacing && speaker.is_some() && speaker != last_speaker) {
            turns.push(Turn {
                speaker: speaker.map(view::line),
                tokens: Vec::new(),
            });
            after_word = false;
            if speaker.is_some() {
                last_speaker = speaker;
            }
        }
        let Some(turn) = turns.last_mut() else {
            continue;
        };
        if spacing {
            turn.tokens.push(Token {
                text: view::text(&word.text),
                start: None,
                end: String::new(),
            });
            after_word = false;
            continue;
        }
        if after_word {
            turn.tokens.push(Token {
                text: " ".into(),
                start: None,
                end: String::new(),
            });
        }
        turn.tokens.push(Token {
            text: view::line(&word.text),
            start: word.start.map(|s| s.to_string()),
            end: word
                .end
                .or(word.start)
                .map(|e| e.to_string())
                .unwrap_or_default(),
        });
        after_word = true;
    }
    turns
}

/// A transcript file (the provider's `transcriptUri`, archived), as read back.
#[derive(Debug, Clone, Default)]
pub struct TranscriptFile {
    /// Speaker turns, when the file is a list of them.
    pub turns: Vec<Fact>,
    /// The file as text otherwise (JSON laid out).
    pub raw: Option<String>,
    /// A note (truncated, not archived yet, ...).
    pub note: Option<String>,
}

/// Turns of a transcript file: `{"turns": [{speaker, text}]}` or a bare list of them.
fn file_turns(value: &serde_json::Value) -> Vec<Fact> {
    let list = value
        .get("turns")
        .or_else(|| value.get("transcript"))
        .unwrap_or(value);
    list.as_array()
        .map(|turns| {
            turns
                .iter()
                .filter_map(|t| {
                    let text = t.get("text").or_else(|| t.get("content"))?.as_str()?;
                    let speaker = t
                        .get("speaker")
                        .or_else(|| t.get("role"))
                        .map(view::json_text)
                        .unwrap_or_default();
                    Some(fact(&speaker, view::text(text)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One file of a call.
#[derive(Debug, Clone)]
pub struct FileRow {
    /// `recording`, `transcript` or `media`.
    pub kind: &'static str,
    /// Copy status.
    pub status: String,
    /// Size.
    pub size: String,
    /// SHA-256 of the archived copy.
    pub sha256: String,
    /// Media type.
    pub content_type: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub error: String,
    /// When the copier tries again.
    pub next_attempt: String,
    /// When it was archived.
    pub copied_at: String,
    /// Its key in the bucket.
    pub key: String,
}

impl FileRow {
    fn of(kind: FileKind, file: &FileState, tz: chrono_tz::Tz) -> Self {
        let time = |t: &Option<String>| {
            t.as_deref()
                .map(|t| view::stored_time(tz, t))
                .unwrap_or_default()
        };
        Self {
            kind: kind.as_str(),
            status: view::name_of(&file.status),
            size: file.size.map(view::size).unwrap_or_default(),
            sha256: file.sha256.clone().unwrap_or_default(),
            content_type: file
                .content_type
                .as_deref()
                .map(view::line)
                .unwrap_or_default(),
            attempts: file.attempts,
            error: file.error.as_deref().map(view::line).unwrap_or_default(),
            next_attempt: time(&file.next_attempt_at),
            copied_at: time(&file.copied_at),
            key: view::line(&file.s3_key),
        }
    }
}

/// One delivery of a call's timeline.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// RFC 3339 time it arrived.
    pub iso: String,
    /// Shown time.
    pub time: String,
    /// Event type.
    pub event_type: String,
    /// The webhook that received it.
    pub webhook: String,
    /// How it was authenticated.
    pub authentication: String,
    /// The provider's delivery id.
    pub delivery_id: String,
    /// Its body's SHA-256.
    pub sha256: String,
    /// Its exact raw body.
    pub href: String,
}

/// A call, laid out for reading and listening.
#[derive(Debug, Template)]
#[template(path = "call.html")]
pub struct CallPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// Provider name.
    pub provider: &'static str,
    /// The provider's call id, safe to show.
    pub id: String,
    /// Status name.
    pub status: String,
    /// A line under the title: direction, parties, time.
    pub headline: String,
    /// The record's fields.
    pub facts: Vec<Fact>,
    /// The provider's summary.
    pub summary: Option<String>,
    /// Evaluation criteria, each as its fields.
    pub evaluation: Vec<Vec<Fact>>,
    /// Other analysis (action items, interests and needs), laid out.
    pub analysis: Vec<Fact>,
    /// The recording, when archived.
    pub audio: Option<Audio>,
    /// What to say when there is no playable recording.
    pub recording_note: String,
    /// The transcript's words by speaker.
    pub turns: Vec<Turn>,
    /// Whether any word has a timing (the player highlights and seeks).
    pub timed: bool,
    /// The transcript's text, when it has no words.
    pub transcript_text: Option<String>,
    /// The transcript file.
    pub transcript_file: Option<TranscriptFile>,
    /// Its files.
    pub files: Vec<FileRow>,
    /// Where the retry form posts, when a copy failed.
    pub retry_href: Option<String>,
    /// The call's scope (for the retry form).
    pub scope: String,
    /// What a re-drive just did.
    pub retried: Option<String>,
    /// Stages the provider reported, in order.
    pub stages: Vec<Fact>,
    /// Its deliveries, oldest first.
    pub events: Vec<EventRow>,
    /// How many deliveries arrived (resends of an identical body are kept once).
    pub delivery_count: u64,
    /// Fields kept as sent.
    pub extras: Option<String>,
}

fn party(number: Option<&callvault_records::PhoneNumber>) -> Option<String> {
    number.map(|n| view::line(n.shown()))
}

fn facts_of(detail: &CallDetail, tz: chrono_tz::Tz) -> Vec<Fact> {
    let r = &detail.record;
    let mut facts = Vec::new();
    let mut add = |label: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            facts.push(fact(label, value));
        }
    };
    add("Direction", r.direction.map(|d| view::name_of(&d)));
    add(
        "Status",
        Some(match &r.provider_status {
            Some(raw) => format!(
                "{} (provider: {})",
                view::name_of(&r.status),
                view::line(raw)
            ),
            None => view::name_of(&r.status),
        }),
    );
    add("From", party(r.from.as_ref()));
    add("To", party(r.to.as_ref()));
    add(
        "Agent",
        r.agent.as_ref().map(|a| {
            let name = a.name.as_deref().map(view::line);
            let kind = view::name_of(&a.kind);
            match name {
                Some(name) => format!("{name} ({kind}, {})", view::line(&a.id)),
                None => format!("{} ({kind})", view::line(&a.id)),
            }
        }),
    );
    add(
        "Contact",
        r.contact.as_ref().map(|c| {
            [
                c.name.as_deref(),
                c.id.as_deref(),
                c.email.as_deref(),
                c.phone.as_ref().map(|p| p.shown()),
            ]
            .into_iter()
            .flatten()
            .map(view::line)
            .collect::<Vec<_>>()
            .join(" · ")
        }),
    );
    add("Started", r.started_at.map(|t| view::time(tz, t)));
    add("Answered", r.answered_at.map(|t| view::time(tz, t)));
    add("Ended", r.ended_at.map(|t| view::time(tz, t)));
    add("Duration", r.duration_seconds.map(view::duration));
    add("Outcome", r.outcome.as_deref().map(view::line));
    add(
        "Classification",
        r.classification.as_deref().map(view::line),
    );
    add("Mood", r.mood.as_deref().map(view::line));
    add("Sentiment", r.sentiment.as_ref().map(view::json_text));
    add("Score", r.score.map(|s| s.to_string()));
    add("Workspace", r.workspace_id.as_deref().map(view::line));
    add("Channel", r.channel_id.as_deref().map(view::line));
    add("Secrets", detail.scope.as_deref().map(view::line));
    add("Test delivery", r.test_delivery.then(|| "yes".to_owned()));
    add(
        "First received",
        Some(view::stored_time(tz, &detail.received_at)),
    );
    add(
        "Last changed",
        Some(view::stored_time(tz, &detail.updated_at)),
    );
    add("Authenticated by", Some(view::line(&detail.authentication)));
    facts
}

fn evaluation_of(record: &CallRecord) -> Vec<Vec<Fact>> {
    record
        .evaluation
        .iter()
        .map(|criterion| match criterion.as_object() {
            Some(fields) => fields
                .iter()
                .map(|(k, v)| fact(&view::line(k), view::json_text(v)))
                .collect(),
            None => vec![fact("value", view::json_text(criterion))],
        })
        .collect()
}

async fn transcript_file(reader: &Reader, files: &Files) -> Option<TranscriptFile> {
    let file = files.get(&FileKind::Transcript)?;
    if file.status != FileStatus::Copied {
        return Some(TranscriptFile {
            note: Some(format!(
                "The transcript file is not archived yet ({}); see Files.",
                view::name_of(&file.status)
            )),
            ..TranscriptFile::default()
        });
    }
    let mut shown = TranscriptFile::default();
    match reader.read_file(file, MAX_TEXT_FILE).await {
        Ok(bytes) => {
            if file.size.is_some_and(|size| size > MAX_TEXT_FILE) {
                shown.note = Some(format!(
                    "The file is {}; the first {} are shown (Files has its key).",
                    view::size(file.size.unwrap_or_default()),
                    view::size(MAX_TEXT_FILE)
                ));
            }
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(value) => {
                    shown.turns = file_turns(&value);
                    if shown.turns.is_empty() {
                        shown.raw = Some(view::json_pretty(&value));
                    }
                }
                Err(_) => shown.raw = Some(view::text(&String::from_utf8_lossy(&bytes))),
            }
        }
        Err(err) => shown.note = Some(format!("The transcript file could not be read: {err}")),
    }
    Some(shown)
}

/// A call's page.
pub async fn call(
    console: &Console,
    chrome: Chrome,
    provider: Provider,
    id: &str,
    scope: Option<&Scope>,
    retried: Option<usize>,
) -> Result<CallPage, PageError> {
    let reader = &console.reader;
    let tz = console.tz;
    let detail = reader.call(provider, id, scope).await?;
    let record = &detail.record;
    let recording = detail.files.get(&FileKind::Recording);
    let (audio, recording_note) = match recording.map(|f| f.status) {
        Some(FileStatus::Copied) => {
            let link = reader
                .file_link(provider, id, scope, FileKind::Recording, LINK_LIFETIME)
                .await?;
            let audio = Audio {
                url: link.url,
                content_type: link.file.content_type.unwrap_or_default(),
                expires: view::time(tz, link.expires_at),
            };
            (Some(audio), String::new())
        }
        Some(FileStatus::Pending) => (
            None,
            "The recording is being archived; reload in a moment.".to_owned(),
        ),
        Some(FileStatus::Failed) => (
            None,
            "The recording could not be archived; Files says why, and Retry tries again."
                .to_owned(),
        ),
        None => (None, "The deliveries carried no recording.".to_owned()),
    };
    let transcript = reader.transcript(record).await?;
    let words = transcript
        .as_ref()
        .map(|t| t.words.as_slice())
        .unwrap_or_default();
    let turns = turns(words);
    let timed = words.iter().any(|w| w.start.is_some());
    let transcript_text = transcript
        .as_ref()
        .filter(|_| turns.is_empty())
        .and_then(|t| t.text.as_deref())
        .map(view::text);
    let scope_text = detail.scope.clone().unwrap_or_default();
    let scope_param = detail.scope.as_deref();
    let files: Vec<FileRow> = detail
        .files
        .iter()
        .map(|(kind, file)| FileRow::of(*kind, file, tz))
        .collect();
    let any_failed = detail
        .files
        .values()
        .any(|f| f.status == FileStatus::Failed);
    let call_href = view::call_href(provider, id, None);
    let events = detail
        .events
        .iter()
        .map(|e| EventRow {
            iso: e.received_at.clone(),
            time: view::stored_time(tz, &e.received_at),
            event_type: view::line(&e.event_type),
            webhook: view::line(&e.webhook),
            authentication: view::line(&e.authentication),
            delivery_id: view::line(&e.delivery_id),
            sha256: e.body_sha256.clone(),
            href: format!(
                "{call_href}/deliveries/{}{}",
                view::segment(&e.body_sha256),
                view::query_string(&[("scope", scope_param)])
            ),
        })
        .collect();
    let mut stages: Vec<(&String, &DateTime<Utc>)> = record.stages.iter().collect();
    stages.sort_by_key(|(_, t)| **t);
    let analysis = [
        ("Action items", &record.action_items),
        ("Interests and needs", &record.interests_and_needs),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.as_ref().map(|v| fact(label, view::json_pretty(v))))
    .collect();
    let headline = [
        record.direction.map(|d| view::name_of(&d)),
        match (party(record.from.as_ref()), party(record.to.as_ref())) {
            (Some(from), Some(to)) => Some(format!("{from} → {to}")),
            (from, to) => from.or(to),
        },
        record
            .started_at
            .or(record.ended_at)
            .map(|t| view::time(tz, t)),
        record.duration_seconds.map(view::duration),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    Ok(CallPage {
        chrome,
        provider: provider.as_str(),
        id: view::line(id),
        status: view::name_of(&record.status),
        headline,
        facts: facts_of(&detail, tz),
        summary: record.summary.as_deref().map(view::text),
        evaluation: evaluation_of(record),
        analysis,
        audio,
        recording_note,
        transcript_file: transcript_file(reader, &detail.files).await,
        turns,
        timed,
        transcript_text,
        files,
        retry_href: any_failed.then(|| format!("{call_href}/retry")),
        scope: scope_text,
        retried: retried.map(|n| match n {
            0 => "No copy had failed: nothing to retry.".to_owned(),
            1 => "1 failed copy is pending again; the copier takes it now. Reload to follow."
                .to_owned(),
            n => format!(
                "{n} failed copies are pending again; the copier takes them now. Reload to follow."
            ),
        }),
        stages: stages
            .into_iter()
            .map(|(stage, t)| fact(&view::line(stage), view::time(tz, *t)))
            .collect(),
        events,
        delivery_count: detail.delivery_count,
        extras: (!record.extras.is_empty())
            .then(|| view::json_pretty(&serde_json::Value::Object(record.extras.clone()))),
    })
}

// ---------------------------------------------------------------------------------------
// Conversations

/// The conversation finder.
#[derive(Debug, Template)]
#[template(path = "conversations.html")]
pub struct ConversationsPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// Provider options.
    pub providers: Vec<Choice>,
}

/// A message's media.
#[derive(Debug, Clone)]
pub struct Media {
    /// `image`, `audio`, `video` or `file` when archived; empty otherwise.
    pub kind: &'static str,
    /// A presigned link, when archived.
    pub url: String,
    /// Its state otherwise.
    pub note: String,
}

/// One message as a chat bubble.
#[derive(Debug, Clone)]
pub struct Bubble {
    /// `inbound`, `outbound` or `unknown` (which side it sits on).
    pub side: &'static str,
    /// The message id.
    pub id: String,
    /// The message type (`text`, `image`, ...).
    pub kind: String,
    /// Its text.
    pub body: Option<String>,
    /// Its media.
    pub media: Option<Media>,
    /// Shared location.
    pub location: Option<String>,
    /// RFC 3339 creation time.
    pub iso: String,
    /// Shown creation time.
    pub time: String,
    /// Status name.
    pub status: String,
    /// Status ticks (✓ sent, ✓✓ delivered or read, ✕ failed).
    pub ticks: &'static str,
    /// When each status was reached.
    pub status_times: Vec<Fact>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A WhatsApp conversation as chat bubbles.
#[derive(Debug, Template)]
#[template(path = "conversation.html")]
pub struct ConversationPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// Provider name.
    pub provider: &'static str,
    /// The conversation id, safe to show.
    pub id: String,
    /// Its messages in creation order.
    pub messages: Vec<Bubble>,
    /// Whether it has more messages than the page shows.
    pub truncated: bool,
}

fn ticks(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Sent => "✓",
        MessageStatus::Delivered | MessageStatus::Read => "✓✓",
        MessageStatus::Failed => "✕",
        MessageStatus::Unknown => "·",
    }
}

async fn media_of(console: &Console, message: &MessageDetail) -> Option<Media> {
    let file = message.files.get(&FileKind::Media)?;
    if file.status != FileStatus::Copied {
        return Some(Media {
            kind: "",
            url: String::new(),
            note: match file.status {
                FileStatus::Pending => "media being archived".to_owned(),
                _ => format!(
                    "media could not be archived: {}",
                    view::line(file.error.as_deref().unwrap_or("unknown reason"))
                ),
            },
        });
    }
    let content_type = file
        .content_type
        .as_deref()
        .or(message.record.mime_type.as_deref())
        .unwrap_or_default();
    let kind = match content_type.split('/').next() {
        Some("image") => "image",
        Some("audio") => "audio",
        Some("video") => "video",
        _ => "file",
    };
    match console.reader.link_to(file.clone(), LINK_LIFETIME).await {
        Ok(link) => Some(Media {
            kind,
            url: link.url,
            note: file.size.map(view::size).unwrap_or_default(),
        }),
        Err(err) => Some(Media {
            kind: "",
            url: String::new(),
            note: format!("no link to the media: {err}"),
        }),
    }
}

/// A conversation's page.
pub async fn conversation(
    console: &Console,
    chrome: Chrome,
    provider: Provider,
    id: &str,
) -> Result<ConversationPage, PageError> {
    let messages = console.reader.conversation(provider, id).await?;
    if messages.is_empty() {
        return Err(QueryError::NotFound(format!("conversation {provider}/{id}")).into());
    }
    let tz = console.tz;
    let mut bubbles = Vec::with_capacity(messages.len());
    for message in &messages {
        let m = &message.record;
        let mut status_times: Vec<(&String, &DateTime<Utc>)> = m.status_times.iter().collect();
        status_times.sort_by_key(|(_, t)| **t);
        bubbles.push(Bubble {
            side: match m.direction {
                Some(Direction::Inbound) => "inbound",
                Some(Direction::Outbound) => "outbound",
                None => "unknown",
            },
            id: view::line(&m.message_id),
            kind: m
                .message_type
                .as_deref()
                .map(view::line)
                .unwrap_or_default(),
            body: m.body.as_deref().map(view::text),
            media: media_of(console, message).await,
            location: m
                .location
                .as_ref()
                .map(|l| format!("{:.5}, {:.5}", l.latitude, l.longitude)),
            iso: m.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            time: m.created_at.map(|t| view::time(tz, t)).unwrap_or_default(),
            status: view::name_of(&m.status),
            ticks: ticks(m.status),
            status_times: status_times
                .into_iter()
                .map(|(s, t)| fact(&view::line(s), view::time(tz, *t)))
                .collect(),
            error: match (&m.error_code, &m.error_reason) {
                (None, None) => None,
                (code, reason) => Some(
                    [
                        code.map(|c| c.to_string()),
                        reason.as_deref().map(view::line),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": "),
                ),
            },
        });
    }
    Ok(ConversationPage {
        chrome,
        provider: provider.as_str(),
        id: view::line(id),
        truncated: messages.len() >= MAX_CONVERSATION,
        messages: bubbles,
    })
}

// ---------------------------------------------------------------------------------------
// Overview

/// The overview's range, as the URL carries it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct OverviewQuery {
    /// A time, a date or a duration ago (default: 30 days ago).
    pub since: Option<String>,
    /// A time, a date or a duration ago (default: now).
    pub until: Option<String>,
}

/// Records with files waiting or given up, per provider.
#[derive(Debug, Clone)]
pub struct BacklogRow {
    /// Provider name.
    pub provider: &'static str,
    /// Records with a copy pending.
    pub pending: usize,
    /// Records with a copy failed.
    pub failed: usize,
}

/// Counts and charts of a range.
#[derive(Debug, Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// The range as given (to fill the form).
    pub since: String,
    /// The range as given.
    pub until: String,
    /// The range, shown.
    pub range: String,
    /// Calls in the range (counted up to [`MAX_OVERVIEW_CALLS`]).
    pub total: usize,
    /// Whether the count stopped at [`MAX_OVERVIEW_CALLS`].
    pub truncated: bool,
    /// Calls per provider.
    pub per_provider: Vec<Fact>,
    /// Kept deliveries in the range.
    pub kept: usize,
    /// Copy backlog now.
    pub backlog: Vec<BacklogRow>,
    /// The charts.
    pub charts: Vec<Chart>,
}

/// The days of `[since, until]` in `tz`.
fn days_of(tz: chrono_tz::Tz, since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<NaiveDate> {
    let (mut day, last) = (
        since.with_timezone(&tz).date_naive(),
        until.with_timezone(&tz).date_naive(),
    );
    let mut days = Vec::new();
    while day <= last {
        days.push(day);
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

/// Duration buckets of the distribution: (upper bound in seconds, label).
const DURATION_BUCKETS: [(u64, &str); 7] = [
    (30, "< 30 s"),
    (60, "30 s–1 min"),
    (120, "1–2 min"),
    (300, "2–5 min"),
    (600, "5–10 min"),
    (1200, "10–20 min"),
    (u64::MAX, "≥ 20 min"),
];

/// Counts per (category, series) turned into chart series, every series listed.
fn series_of(
    names: &[&str],
    categories: usize,
    counts: &BTreeMap<(usize, String), u64>,
) -> Vec<Series> {
    names
        .iter()
        .map(|name| Series {
            name: (*name).to_owned(),
            values: (0..categories)
                .map(|i| counts.get(&(i, (*name).to_owned())).copied().unwrap_or(0))
                .collect(),
        })
        .collect()
}

/// The overview of `query`'s range.
pub async fn overview(
    console: &Console,
    chrome: Chrome,
    query: OverviewQuery,
) -> Result<OverviewPage, PageError> {
    let now = Utc::now();
    let tz = console.tz;
    let since = match given(&query.since) {
        Some(v) => input::time(v, now)?,
        None => now - chrono::Duration::days(30),
    };
    let until = match given(&query.until) {
        Some(v) => input::time(v, now)?,
        None => now,
    };
    input::range(Some(since), Some(until))?;
    let days = days_of(tz, since, until);
    if days.len() as u64 > MAX_OVERVIEW_DAYS {
        return Err(PageError::Input(InputError::Limit {
            max: MAX_OVERVIEW_DAYS as usize,
            given: format!(
                "{} days (the overview covers at most that many)",
                days.len()
            ),
        }));
    }
    let day_index: BTreeMap<NaiveDate, usize> =
        days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let labels: Vec<String> = days
        .iter()
        .map(|d| format!("{:02}-{:02}", d.month(), d.day()))
        .collect();

    let filter = CallFilter {
        since: Some(since),
        until: Some(until),
        ..CallFilter::default()
    };
    let (mut by_provider, mut by_status, mut by_duration) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut per_provider: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut total, mut cursor) = (0, None);
    loop {
        let page = console
            .reader
            .calls(&filter, input::MAX_LIMIT, cursor.as_deref())
            .await?;
        for call in &page.items {
            total += 1;
            let provider = call.provider.as_str();
            *per_provider.entry(provider).or_default() += 1;
            if let Some(&day) = day_index.get(&call.time.with_timezone(&tz).date_naive()) {
                *by_provider.entry((day, provider.to_owned())).or_insert(0) += 1;
                *by_status
                    .entry((day, view::name_of(&call.status)))
                    .or_insert(0) += 1;
            }
            if let Some(seconds) = call.duration_seconds {
                let bucket = DURATION_BUCKETS
                    .iter()
                    .position(|(upper, _)| seconds < *upper)
                    .unwrap_or(DURATION_BUCKETS.len() - 1);
                *by_duration
                    .entry((bucket, provider.to_owned()))
                    .or_insert(0) += 1;
            }
        }
        cursor = page.cursor;
        if cursor.is_none() || total >= MAX_OVERVIEW_CALLS {
            break;
        }
    }

    let kept = inspect::kept(&console.store, &Provider::ALL, since, until)
        .await
        .map_err(inspect::InspectError::from)?;
    let mut kept_by_day = BTreeMap::new();
    for k in &kept {
        if let Some(&day) = day_index.get(&k.received_at.with_timezone(&tz).date_naive()) {
            *kept_by_day
                .entry((day, k.provider.as_str().to_owned()))
                .or_insert(0) += 1;
        }
    }

    let mut backlog: Vec<BacklogRow> = Provider::ALL
        .iter()
        .map(|p| BacklogRow {
            provider: p.as_str(),
            pending: 0,
            failed: 0,
        })
        .collect();
    for (state, failed) in [("pending", false), ("failed", true)] {
        for entry in console
            .store
            .with_file_state(state, usize::MAX)
            .await
            .map_err(QueryError::from)?
        {
            if let Some(row) = backlog.iter_mut().find(|r| r.provider == entry.provider) {
                if failed {
                    row.failed += 1;
                } else {
                    row.pending += 1;
                }
            }
        }
    }

    let providers: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
    let buckets: Vec<String> = DURATION_BUCKETS
        .iter()
        .map(|(_, l)| (*l).to_owned())
        .collect();
    let charts = vec![
        charts::stacked_bars(
            "Calls per day, by provider",
            "calls",
            &labels,
            &series_of(&providers, days.len(), &by_provider),
        ),
        charts::stacked_bars(
            "Calls per day, by status",
            "calls",
            &labels,
            &series_of(&STATUSES, days.len(), &by_status),
        ),
        charts::stacked_bars(
            "Call durations",
            "calls",
            &buckets,
            &series_of(&providers, buckets.len(), &by_duration),
        ),
        charts::stacked_bars(
            "Kept deliveries per day",
            "deliveries",
            &labels,
            &series_of(&providers, days.len(), &kept_by_day),
        ),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    Ok(OverviewPage {
        chrome,
        since: given(&query.since).unwrap_or_default().to_owned(),
        until: given(&query.until).unwrap_or_default().to_owned(),
        range: format!("{} to {}", view::time(tz, since), view::time(tz, until)),
        total,
        truncated: total >= MAX_OVERVIEW_CALLS,
        per_provider: providers
            .iter()
            .map(|p| fact(p, per_provider.get(p).copied().unwrap_or(0).to_string()))
            .collect(),
        kept: kept.len(),
        backlog,
        charts,
    })
}

// ---------------------------------------------------------------------------------------
// Errors

/// A page that could not be shown, and what to do instead.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Page chrome.
    pub chrome: Chrome,
    /// HTTP status code.
    pub code: u16,
    /// Its reason phrase.
    pub title: String,
    /// What went wrong and what to do.
    pub message: String,
    /// Links to choose from (the scopes of an ambiguous call).
    pub choices: Vec<Fact>,
}

impl ErrorPage {
    /// The page of `err`.
    pub fn new(err: &PageError, status: StatusCode) -> Self {
        let mut choices = Vec::new();
        if let PageError::Query(QueryError::Ambiguous { id, scopes }) = err {
            if let Some((provider, call)) = id
                .split_once('/')
                .and_then(|(p, c)| Some((input::provider(p).ok()?, c)))
            {
                for scope in scopes.split(", ") {
                    choices.push(fact(
                        &view::line(scope),
                        view::call_href(provider, call, Some(scope)),
                    ));
                }
            }
        }
        Self {
            chrome: Chrome::default(),
            code: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: view::line(&format!("{err:#}")),
            choices,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: f64, speaker: &str) -> Word {
        Word {
            text: text.into(),
            start: Some(start),
            end: Some(start + 0.4),
            kind: Some("word".into()),
            speaker: Some(speaker.into()),
        }
    }

    #[test]
    fn words_group_by_speaker_with_spaces_between() {
        let words = [
            word("Hello", 0.0, "agent"),
            word("there", 0.5, "agent"),
            word("Hi", 1.2, "customer"),
        ];
        let turns = turns(&words);
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[0].speaker.as_deref(), Some("agent"));
        let texts: Vec<&str> = turns[0].tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hello", " ", "there"]);
        assert_eq!(turns[0].tokens[2].start.as_deref(), Some("0.5"));
        assert_eq!(turns[0].tokens[2].end, "0.9");
        assert_eq!(turns[1].tokens.len(), 1);
    }

    #[test]
    fn provider_spacing_tokens_are_kept_instead_of_added_spaces() {
        let mut space = word(" ", 0.4, "agent");
        space.kind = Some("spacing".into());
        let turns = turns(&[word("a", 0.0, "agent"), space, word("b", 0.5, "agent")]);
        let texts: Vec<&str> = turns[0].tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["a", " ", "b"]);
        assert!(
            turns[0].tokens[1].start.is_none(),
            "spacing is not seekable"
        );
    }

    #[test]
    fn transcript_files_of_turns_are_read_as_turns() {
        let turns = file_turns(&serde_json::json!({"turns": [
            {"speaker": "agent", "text": "hello"}, {"speaker": "caller", "text": "hi\u{1b}"}]}));
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[1].label, "caller");
        assert_eq!(turns[1].value, "hi\\u{1b}");
        assert!(file_turns(&serde_json::json!({"other": 1})).is_empty());
    }

    #[test]
    fn filters_come_from_the_url() {
        let now = "2026-11-27T12:00:00Z".parse().expect("time");
        let query = CallsQuery {
            provider: Some("Voki".into()),
            since: Some("2026-11-01".into()),
            phone: Some("(415) 555-2671".into()),
            country: Some("us".into()),
            status: Some("missed".into()),
            recording: Some(String::new()),
            ..CallsQuery::default()
        };
        let filter = query.filter(now).expect("valid");
        assert_eq!(filter.provider, Some(Provider::Voki));
        assert_eq!(filter.phone.as_deref(), Some("+14155552671"));
        assert_eq!(filter.file_state, None, "an empty field is no filter");
        assert_eq!(
            query.href(Some("c1")),
            "/calls?provider=Voki&since=2026-11-01&phone=%28415%29+555-2671&country=us&status=missed&cursor=c1"
        );
        let bad = CallsQuery {
            status: Some("exploded".into()),
            ..CallsQuery::default()
        };
        assert!(bad.filter(now).is_err());
    }
}
