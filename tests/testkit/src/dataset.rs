//! A realistic, reproducible data set of calls and WhatsApp messages (several providers,
//! days, numbers, agents, contacts, statuses and file states), loaded through the record
//! store, with the answers every access pattern should give.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use callvault_records::{
    voiceinfra, Agent, AgentKind, CallRecord, CallStatus, Contact, Direction, FileRef,
    MessageRecord, MessageStatus, Normalized, PhoneNumber, Provider,
};
use callvault_store::files::{FileKind, FileStatus};
use callvault_store::index::{file_state, time_sk};
use callvault_store::schema::{call_key, record_key};
use callvault_store::{Contribution, Delivery, RecordStore};
use callvault_verify::Unverified;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The conversation with many messages.
pub const BUSY_CONVERSATION: &str = "conv-busy";
/// A conversation with a few messages.
pub const SMALL_CONVERSATION: &str = "conv-small";
/// Content of every archived recording: `recording of <call id>`.
pub fn recording_content(call_id: &str) -> Vec<u8> {
    format!("recording of {call_id}").into_bytes()
}

/// One seeded call and what its stored state will be.
#[derive(Debug, Clone)]
pub struct SeededCall {
    /// The record as ingested.
    pub record: CallRecord,
    /// When its delivery was received.
    pub received_at: DateTime<Utc>,
    /// The recording's final copy status, when it has one.
    pub recording: Option<FileStatus>,
}

impl SeededCall {
    /// Its index sort key (newest-first lists sort by this, descending).
    pub fn time_sk(&self) -> String {
        time_sk(
            self.record.listed_at(self.received_at),
            self.record.provider,
            &self.record.provider_call_id,
        )
    }

    /// `pending` / `failed` when a file copy is in that state.
    pub fn file_state(&self) -> Option<&'static str> {
        let mut files = callvault_store::files::Files::new();
        if let Some(status) = self.recording {
            files.insert(
                FileKind::Recording,
                callvault_store::files::FileState {
                    status,
                    ..callvault_store::files::FileState::pending("", "")
                },
            );
        }
        file_state(&files)
    }

    /// `(provider, call id)`.
    pub fn id(&self) -> (Provider, String) {
        (self.record.provider, self.record.provider_call_id.clone())
    }
}

/// The generated data.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Every call.
    pub calls: Vec<SeededCall>,
    /// Every message, in the (shuffled) order they are ingested.
    pub messages: Vec<MessageRecord>,
    /// Phone numbers used (E.164).
    pub numbers: Vec<String>,
}

/// A valid US number of the pool.
fn number(i: usize) -> String {
    format!("+1415555{:04}", 2600 + i)
}

impl Dataset {
    /// `calls` calls over ten days from 2026-11-01 and two conversations, from `seed`.
    pub fn generate(seed: u64, calls: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let base = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let numbers: Vec<String> = (0..40).map(number).collect();
        let statuses = [
            CallStatus::Completed,
            CallStatus::Completed,
            CallStatus::Missed,
            CallStatus::Voicemail,
            CallStatus::Failed,
            CallStatus::InProgress,
        ];
        let mut seeded = Vec::with_capacity(calls);
        for i in 0..calls {
            let provider = Provider::ALL[rng.random_range(0..Provider::ALL.len())];
            let mut call = CallRecord::new(provider, format!("call-{i:05}"));
            let time = base + Duration::seconds(rng.random_range(0..10 * 86_400));
            let received_at = if rng.random_bool(0.9) {
                call.started_at = Some(time);
                time + Duration::seconds(rng.random_range(30..900))
            } else {
                time
            };
            call.status = statuses[rng.random_range(0..statuses.len())];
            call.direction = Some(if rng.random_bool(0.5) {
                Direction::Inbound
            } else {
                Direction::Outbound
            });
            // Skewed towards the first numbers, so some numbers have many calls.
            let pick = |rng: &mut StdRng| {
                let spread = rng.random_range(1..=numbers.len());
                numbers[rng.random_range(0..spread)].clone()
            };
            call.from = PhoneNumber::parse(&pick(&mut rng));
            call.to = if i == 7 {
                call.from.clone()
            } else if rng.random_bool(0.05) {
                PhoneNumber::parse("4155550000")
            } else {
                PhoneNumber::parse(&pick(&mut rng))
            };
            if rng.random_bool(0.8) {
                let a = rng.random_range(1..=12);
                call.agent = Some(Agent {
                    id: format!("agent-{a:02}"),
                    name: Some(format!("Agent {a}")),
                    kind: if a > 10 {
                        AgentKind::Ai
                    } else {
                        AgentKind::Human
                    },
                });
            }
            if rng.random_bool(0.7) {
                let c = rng.random_range(1..=30);
                call.contact = Some(Contact {
                    id: Some(format!("contact-{c:03}")),
                    name: Some(format!("Contact {c}")),
                    ..Contact::default()
                });
            }
            call.duration_seconds = Some(rng.random_range(0..1200));
            let recording = rng.random_bool(0.6).then(|| match rng.random_range(0..6) {
                0 | 1 => FileStatus::Pending,
                2 => FileStatus::Failed,
                _ => FileStatus::Copied,
            });
            if recording.is_some() {
                call.recording = Some(FileRef {
                    source_url: format!("https://recordings.example.test/{i}.mp3"),
                });
            }
            seeded.push(SeededCall {
                record: call,
                received_at,
                recording,
            });
        }

        let mut messages = Vec::new();
        for (conversation, count) in [(BUSY_CONVERSATION, 120), (SMALL_CONVERSATION, 5)] {
            for m in 0..count {
                let created =
                    (m % 40 != 39).then(|| base + Duration::seconds(rng.random_range(0..86_400)));
                let value = serde_json::json!({
                    "provider": "hatif",
                    "conversation_id": conversation,
                    "message_id": format!("{conversation}-m{m:03}"),
                    "status": "delivered",
                    "body": format!("message {m}"),
                    "created_at": created,
                });
                if let Ok(message) = serde_json::from_value::<MessageRecord>(value) {
                    messages.push(message);
                }
            }
        }
        // Shuffle the message arrival order.
        for i in (1..messages.len()).rev() {
            let j = rng.random_range(0..=i);
            messages.swap(i, j);
        }
        Self {
            calls: seeded,
            messages,
            numbers,
        }
    }

    /// The same data without recordings (for a stack whose copier would otherwise try to
    /// fetch them).
    pub fn without_files(mut self) -> Self {
        for call in &mut self.calls {
            call.record.recording = None;
            call.recording = None;
        }
        self
    }

    /// Ingests everything into `store` (16 at a time), then settles the recordings' copy
    /// states (copied ones get their object in the bucket).
    pub async fn load(&self, store: &RecordStore, s3: &aws_sdk_s3::Client) -> anyhow::Result<()> {
        let records = self
            .calls
            .iter()
            .map(|c| (Normalized::Call(c.record.clone()), c.received_at))
            .chain(self.messages.iter().map(|m| {
                (
                    Normalized::Message(m.clone()),
                    m.created_at.unwrap_or_default(),
                )
            }));
        stream::iter(records)
            .map(|(record, received_at)| ingest(store, record, received_at))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;

        stream::iter(
            self.calls
                .iter()
                .filter(|c| matches!(c.recording, Some(FileStatus::Copied | FileStatus::Failed))),
        )
        .map(|call| async move {
            let (pk, sk) = record_key(&Normalized::Call(call.record.clone()), None);
            let status = call.recording.unwrap_or(FileStatus::Pending);
            let files = store
                .update_files(&pk, &sk, |files| {
                    if let Some(f) = files.get_mut(&FileKind::Recording) {
                        f.status = status;
                        f.attempts = 1;
                        if status == FileStatus::Failed {
                            f.error = Some("source answered 404".into());
                        }
                        if status == FileStatus::Copied {
                            let content = recording_content(&call.record.provider_call_id);
                            f.size = Some(content.len() as u64);
                            f.sha256 = Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                                &content,
                            )));
                            f.content_type = Some("audio/mpeg".into());
                        }
                    }
                })
                .await?
                .context("seeded call exists")?;
            if status == FileStatus::Copied {
                let key = files
                    .get(&FileKind::Recording)
                    .map(|f| f.s3_key.clone())
                    .context("recording tracked")?;
                s3.put_object()
                    .bucket(store.bucket())
                    .key(key)
                    .content_type("audio/mpeg")
                    .body(ByteStream::from(recording_content(
                        &call.record.provider_call_id,
                    )))
                    .send()
                    .await?;
            }
            anyhow::Ok(())
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
        Ok(())
    }

    /// The calls matching `keep`, newest first, as `(provider, call id)`.
    pub fn expected(&self, keep: impl Fn(&SeededCall) -> bool) -> Vec<(Provider, String)> {
        let mut matching: Vec<&SeededCall> = self.calls.iter().filter(|c| keep(c)).collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.time_sk()));
        matching.iter().map(|c| c.id()).collect()
    }

    /// A conversation's message ids in creation order (messages without a time last, by id).
    pub fn expected_messages(&self, conversation: &str) -> Vec<String> {
        let mut by_key: BTreeMap<(bool, Option<DateTime<Utc>>, String), String> = BTreeMap::new();
        for m in self
            .messages
            .iter()
            .filter(|m| m.conversation_id == conversation)
        {
            by_key.insert(
                (m.created_at.is_none(), m.created_at, m.message_id.clone()),
                m.message_id.clone(),
            );
        }
        by_key.into_values().collect()
    }
}

/// Ingests one record as a delivery of its own JSON (webhook `seed`, no delivery id),
/// received at `received_at`.
pub async fn ingest(
    store: &RecordStore,
    record: Normalized,
    received_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&record)?;
    let verified = Unverified::new(body).accept_unsigned();
    let (pk, _) = record_key(&record, None);
    let delivery = Delivery {
        verified: &verified,
        provider: record.provider(),
        webhook: "seed",
        received_at,
        headers: vec![("content-type".into(), "application/json".into())],
    };
    let contribution = Contribution {
        delivery_id: None,
        event_type: "seed",
        record,
        scope: None,
        transcript_pointer: None,
    };
    store
        .ingest(&delivery, contribution)
        .await
        .with_context(|| format!("ingesting {pk}"))?;
    Ok(())
}

/// Stores a VoiceInfra call whose recording is at `recording_url`, as its webhook would, and
/// returns the record's key.
pub async fn ingest_voiceinfra_call(
    store: &RecordStore,
    call_id: &str,
    recording_url: &str,
) -> anyhow::Result<(String, String)> {
    ingest_voiceinfra(
        store,
        &serde_json::json!({
            "call_id": call_id, "start_time": "2026-11-20T09:00:00Z", "recording_url": recording_url
        }),
    )
    .await
}

/// Stores any VoiceInfra `body` as its webhook would (delivery id: the body's SHA-256, so
/// another body for the same call applies again), and returns the record's key.
pub async fn ingest_voiceinfra(
    store: &RecordStore,
    body: &serde_json::Value,
) -> anyhow::Result<(String, String)> {
    let verified = Unverified::new(serde_json::to_vec(body)?).accept_unsigned();
    let call = voiceinfra::normalize(voiceinfra::parse(verified.body())?);
    let key = call_key(Provider::VoiceInfra, None, &call.provider_call_id);
    let delivery = Delivery {
        verified: &verified,
        provider: Provider::VoiceInfra,
        webhook: "voiceinfra",
        received_at: Utc::now(),
        headers: vec![],
    };
    // VoiceInfra sends no delivery id: the body is the delivery's identity.
    let contribution = Contribution {
        delivery_id: None,
        event_type: "call.completed",
        record: Normalized::Call(call),
        scope: None,
        transcript_pointer: None,
    };
    store.ingest(&delivery, contribution).await?;
    Ok(key)
}

/// The phone numbers of a call in E.164 (those that could be placed).
pub fn numbers_of(call: &CallRecord) -> Vec<&str> {
    [call.from.as_ref(), call.to.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|n| n.e164.as_deref())
        .collect()
}

/// Message statuses are not varied in the data set; this is the one used.
pub const MESSAGE_STATUS: MessageStatus = MessageStatus::Delivered;
