//! `callvault status`: is the stack healthy? One report of what an operator checks first —
//! secrets set, recent deliveries per provider, alarms, the spool, dead-letter queues and the
//! copier's backlog — and the problems found, each with what to do.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use callvault_catalog::Webhook;
use callvault_query::{CallFilter, Reader};
use callvault_records::Provider;
use callvault_runtime::metrics::{self, dimension};
use callvault_store::RecordStore;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::output::{Grid, Style};
use crate::secrets;
use crate::target::{Target, LOCAL};

/// The outcomes a webhook request can end as (the `Outcome` of the `Deliveries` metric).
const OUTCOMES: [&str; 8] = [
    "stored",
    "duplicate",
    "kept",
    "spooled",
    "unauthorized",
    "too_large",
    "storage_failed",
    "method_not_allowed",
];

/// How far back outcome counts go.
const WINDOW_HOURS: i64 = 24;

/// At most this many records are counted per file state.
const COUNT_LIMIT: usize = 10_000;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No problem found.
    pub healthy: bool,
    /// What is wrong, each with what to do.
    pub problems: Vec<String>,
    /// The stack (`local` for `make dev`'s).
    pub stack: String,
    /// The region asked.
    pub region: Option<String>,
    /// Each provider's secrets (ids and age, never values).
    pub secrets: Vec<SecretState>,
    /// Each provider's recent activity.
    pub providers: Vec<Activity>,
    /// The stack's alarms.
    pub alarms: Vec<Alarm>,
    /// Deliveries waiting in the spool.
    pub spool: Spool,
    /// Dead-letter queues and their depths.
    pub dead_letters: Vec<Queue>,
    /// The copier's backlog.
    pub files: Files,
}

/// One provider's secrets.
#[derive(Debug, Clone, Serialize)]
pub struct SecretState {
    /// The provider.
    pub provider: Provider,
    /// `default`, or `channel:<id>`, with the ids set there.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// When the secret last changed.
    pub changed_at: Option<DateTime<Utc>>,
}

/// One provider's recent activity.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// The provider.
    pub provider: Provider,
    /// The newest call's time in the table.
    pub last_call: Option<DateTime<Utc>>,
    /// Webhook requests over the last 24 hours by outcome (from the `Deliveries` metric;
    /// empty when CloudWatch has none, as on the local stack).
    pub outcomes_24h: BTreeMap<String, u64>,
}

/// One alarm.
#[derive(Debug, Clone, Serialize)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// Why it is in that state.
    pub reason: String,
    /// Its description (which names its runbook).
    pub description: String,
}

/// The spool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spool {
    /// Deliveries waiting.
    pub depth: usize,
    /// When the oldest was spooled.
    pub oldest: Option<DateTime<Utc>>,
}

/// A dead-letter queue.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// The stack output naming it.
    pub name: String,
    /// Messages in it.
    pub depth: u64,
}

/// The copier's backlog.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Files {
    /// Records with a file waiting to be copied.
    pub pending: usize,
    /// Records with a file the copier gave up on.
    pub failed: usize,
}

/// The stack outputs naming dead-letter queues.
const DEAD_LETTER_OUTPUTS: [&str; 2] = ["SpoolDeadLetterQueueUrl", "CopierFailureQueueUrl"];

/// Gathers the report. A source that cannot be read is a problem of its own, not a failure
/// of the command.
pub async fn gather(sdk: &SdkConfig, target: &Target, store: &RecordStore) -> Report {
    let mut problems = Vec::new();
    let stack = target.stack.clone().unwrap_or_default();
    let region = sdk.region().map(|r| r.to_string());

    let secrets = secret_states(sdk, target, &mut problems).await;
    let providers = activity(sdk, target, store, &mut problems).await;
    let alarms = alarms(sdk, target, &mut problems).await;

    let spool = match store.spool_depth().await {
        Ok((depth, oldest)) => Spool { depth, oldest },
        Err(e) => {
            problems.push(format!("the spool could not be listed: {}", e.detail()));
            Spool::default()
        }
    };
    if spool.depth > 0 {
        problems.push(format!(
            "{} deliveries wait in the spool (storage failed when they arrived): the spool replayer applies them once DynamoDB answers; `callvault replay spool` applies them now",
            spool.depth
        ));
    }

    let dead_letters = dead_letters(sdk, target, &mut problems).await;

    let mut files = Files::default();
    for (state, count) in [
        ("pending", &mut files.pending),
        ("failed", &mut files.failed),
    ] {
        match store.with_file_state(state, COUNT_LIMIT).await {
            Ok(entries) => *count = entries.len(),
            Err(e) => problems.push(format!(
                "the {state} files could not be counted: {}",
                e.detail()
            )),
        }
    }
    if files.failed > 0 {
        problems.push(format!(
            "{} records have a file the copier gave up on: see why with `callvault calls list --recording failed`, fix the cause, then `callvault recording retry --failed`",
            files.failed
        ));
    }

    Report {
        healthy: problems.is_empty(),
        problems,
        stack,
        region,
        secrets,
        providers,
        alarms,
        spool,
        dead_letters,
        files,
    }
}

/// The providers whose secret the stack has (a disabled provider has none).
fn providers(target: &Target) -> Vec<(Provider, Webhook, String)> {
    let mut seen = Vec::new();
    for webhook in Webhook::ALL {
        if let Some(id) = target.secrets.get(webhook.secret_name()) {
            if !seen.iter().any(|(p, _, _)| *p == webhook.provider()) {
                seen.push((webhook.provider(), webhook, id.clone()));
            }
        }
    }
    seen
}

async fn secret_states(
    sdk: &SdkConfig,
    target: &Target,
    problems: &mut Vec<String>,
) -> Vec<SecretState> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut states = Vec::new();
    for (provider, _, id) in providers(target) {
        let doc = match secrets::read(&client, &id).await {
            Ok(doc) => doc,
            Err(e) => {
                problems.push(format!(
                    "{provider}: its secret could not be read ({e:#}): check `callvault secrets list {provider}`"
                ));
                continue;
            }
        };
        let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for listed in doc.listed(provider) {
            scopes.entry(listed.scope).or_default().push(listed.id);
        }
        if scopes.is_empty() {
            problems.push(format!(
                "{provider}: no secret set, so every delivery is refused: `callvault secrets add {provider}` and paste it into the provider"
            ));
        }
        let changed_at = client
            .describe_secret()
            .secret_id(&id)
            .send()
            .await
            .ok()
            .and_then(|d| d.last_changed_date)
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
        states.push(SecretState {
            provider,
            scopes,
            changed_at,
        });
    }
    states
}

async fn activity(
    sdk: &SdkConfig,
    target: &Target,
    store: &RecordStore,
    problems: &mut Vec<String>,
) -> Vec<Activity> {
    let reader = Reader::new(
        store.dynamodb().clone(),
        store.s3().clone(),
        store.table(),
        store.bucket(),
    );
    let counts = outcome_counts(sdk, target, problems).await;
    let mut activity = Vec::new();
    for (provider, _, _) in providers(target) {
        let filter = CallFilter {
            provider: Some(provider),
            ..CallFilter::default()
        };
        let last_call = match reader.calls(&filter, 1, None).await {
            Ok(page) => page.items.first().map(|c| c.time),
            Err(e) => {
                problems.push(format!("{provider}: its calls could not be read: {e}"));
                None
            }
        };
        activity.push(Activity {
            provider,
            last_call,
            outcomes_24h: counts.get(provider.as_str()).cloned().unwrap_or_default(),
        });
    }
    activity
}

async fn outcome_counts(
    sdk: &SdkConfig,
    target: &Target,
    problems: &mut Vec<String>,
) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    // The local stack's functions write their metrics to their output only: CloudWatch has
    // none of them.
    let Some(namespace) = target.metrics_namespace().filter(|_| !is_local(target)) else {
        return BTreeMap::new();
    };
    let mut queries = Vec::new();
    let mut keys = BTreeMap::new();
    for (i, (provider, _, _)) in providers(target).into_iter().enumerate() {
        for (j, outcome) in OUTCOMES.iter().enumerate() {
            let id = format!("q{i}_{j}");
            let metric = Metric::builder()
                .namespace(&namespace)
                .metric_name(metrics::DELIVERIES.name)
                .dimensions(
                    Dimension::builder()
                        .name(dimension::PROVIDER)
                        .value(provider.as_str())
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name(dimension::OUTCOME)
                        .value(*outcome)
                        .build(),
                )
                .build();
            queries.push(
                MetricDataQuery::builder()
                    .id(&id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period((WINDOW_HOURS * 3600) as i32)
                            .stat("Sum")
                            .build(),
                    )
                    .build(),
            );
            keys.insert(id, (provider, *outcome));
        }
    }
    let now = Utc::now();
    let start = now - Duration::hours(WINDOW_HOURS);
    let to_time =
        |t: DateTime<Utc>| aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp());
    let answer = aws_sdk_cloudwatch::Client::new(sdk)
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(to_time(start))
        .end_time(to_time(now))
        .send()
        .await;
    let mut counts: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    match answer {
        Ok(out) => {
            for result in out.metric_data_results.unwrap_or_default() {
                let Some((provider, outcome)) = result.id.as_deref().and_then(|id| keys.get(id))
                else {
                    continue;
                };
                let total: f64 = result.values.unwrap_or_default().iter().sum();
                if total > 0.0 {
                    counts
                        .entry(provider.as_str())
                        .or_default()
                        .insert((*outcome).to_owned(), total as u64);
                }
            }
        }
        Err(e) => problems.push(format!(
            "the delivery metrics could not be read: {}",
            aws_sdk_cloudwatch::error::DisplayErrorContext(e)
        )),
    }
    counts
}

/// Whether `target` is `make dev`'s stack, which has no CloudWatch metrics or alarms.
fn is_local(target: &Target) -> bool {
    target.stack.as_deref() == Some(LOCAL)
}

async fn alarms(sdk: &SdkConfig, target: &Target, problems: &mut Vec<String>) -> Vec<Alarm> {
    let stack = match target.stack.as_deref() {
        Some(stack) if !is_local(target) => stack,
        _ => return Vec::new(),
    };
    let mut alarms = Vec::new();
    let mut pages = aws_sdk_cloudwatch::Client::new(sdk)
        .describe_alarms()
        .alarm_name_prefix(format!("{stack}-"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for a in page.metric_alarms.unwrap_or_default() {
                    alarms.push(Alarm {
                        name: a.alarm_name.unwrap_or_default(),
                        state: a
                            .state_value
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default(),
                        reason: a.state_reason.unwrap_or_default(),
                        description: a.alarm_description.unwrap_or_default(),
                    });
                }
            }
            Err(e) => {
                problems.push(format!(
                    "the alarms could not be read: {}",
                    aws_sdk_cloudwatch::error::DisplayErrorContext(e)
                ));
                break;
            }
        }
    }
    for a in alarms.iter().filter(|a| a.state == "ALARM") {
        problems.push(format!("alarm {} is firing: {}", a.name, a.description));
    }
    alarms
}

async fn dead_letters(sdk: &SdkConfig, target: &Target, problems: &mut Vec<String>) -> Vec<Queue> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut queues = Vec::new();
    for output in DEAD_LETTER_OUTPUTS {
        let Some(url) = target.outputs.get(output) else {
            continue;
        };
        let depth = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await;
        match depth {
            Ok(out) => {
                let depth = out
                    .attributes
                    .and_then(|a| {
                        a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                            .cloned()
                    })
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0);
                if depth > 0 {
                    problems.push(format!(
                        "{depth} messages in the dead-letter queue of {output}: see docs/operations.md for what they hold and how to re-drive them"
                    ));
                }
                queues.push(Queue {
                    name: output.to_owned(),
                    depth,
                });
            }
            Err(e) => problems.push(format!(
                "{output} could not be read: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )),
        }
    }
    queues
}

/// The report as text: a summary line, the problems, then each section.
pub fn text(style: &Style, report: &Report) -> String {
    let mut out = String::new();
    let region = report.region.as_deref().unwrap_or("(default region)");
    out.push_str(&format!(
        "stack {} in {region}: {}\n",
        report.stack,
        if report.healthy {
            "healthy"
        } else {
            "UNHEALTHY"
        }
    ));
    for p in &report.problems {
        out.push_str(&format!("  ! {p}\n"));
    }
    let mut secrets = Grid::new(&["provider", "scope", "secret ids", "changed"]);
    for s in &report.secrets {
        let changed = s.changed_at.map(|t| style.time(t)).unwrap_or_default();
        if s.scopes.is_empty() {
            secrets.row([
                s.provider.to_string(),
                "-".into(),
                "(none)".into(),
                changed.clone(),
            ]);
        }
        for (scope, ids) in &s.scopes {
            secrets.row([
                s.provider.to_string(),
                scope.clone(),
                ids.join(", "),
                changed.clone(),
            ]);
        }
    }
    out.push_str(&format!("\nsecrets\n{}\n", secrets.table()));
    let mut activity = Grid::new(&["provider", "last call", "requests in 24 h by outcome"]);
    for a in &report.providers {
        let counts = if a.outcomes_24h.is_empty() {
            "(none in CloudWatch)".to_owned()
        } else {
            a.outcomes_24h
                .iter()
                .map(|(o, n)| format!("{o} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let last = a
            .last_call
            .map(|t| style.time(t))
            .unwrap_or_else(|| "(none)".into());
        activity.row([a.provider.to_string(), last, counts]);
    }
    out.push_str(&format!("\ndeliveries\n{}\n", activity.table()));
    if !report.alarms.is_empty() {
        let mut alarms = Grid::new(&["alarm", "state"]);
        for a in &report.alarms {
            alarms.row([a.name.clone(), a.state.clone()]);
        }
        out.push_str(&format!("\nalarms\n{}\n", alarms.table()));
    }
    let mut queues = Grid::new(&["what", "depth", "oldest"]);
    queues.row([
        "spool".into(),
        report.spool.depth.to_string(),
        report
            .spool
            .oldest
            .map(|t| style.time(t))
            .unwrap_or_default(),
    ]);
    for q in &report.dead_letters {
        queues.row([q.name.clone(), q.depth.to_string(), String::new()]);
    }
    queues.row([
        "files pending".into(),
        report.files.pending.to_string(),
        String::new(),
    ]);
    queues.row([
        "files failed".into(),
        report.files.failed.to_string(),
        String::new(),
    ]);
    out.push_str(&format!("\nbacklog\n{}\n", queues.table()));
    out
}
