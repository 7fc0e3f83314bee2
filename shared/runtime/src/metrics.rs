//! The functions' metrics, in CloudWatch's embedded metric format (EMF): JSON documents written
//! to standard output after each invocation, from which CloudWatch Logs extracts the metrics.
//! No API call is made on the request path.
//!
//! [`ALL`] is the one list of what is emitted (name, unit, dimensions): the template's alarms
//! and dashboard are checked against it, and an end-to-end test reads the documents a
//! delivery of each outcome makes back from the functions' output.
//!
//! The namespace is `METRICS_NAMESPACE` (the template sets `callvault/<stack name>`), else
//! [`LOCAL_NAMESPACE`]. Until [`init`] runs, recording is a no-op (library tests).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Unit;
use metrics_cloudwatch_embedded::{Builder, Collector};

/// The environment variable naming the metrics' namespace.
pub const NAMESPACE_ENV: &str = "METRICS_NAMESPACE";

/// The namespace when `METRICS_NAMESPACE` is unset (the local stack's).
pub const LOCAL_NAMESPACE: &str = "callvault/local";

/// The invocation's id, a property of each document (matches the log lines' `requestId`).
pub const REQUEST_ID_PROPERTY: &str = "requestId";

/// Dimension names.
pub mod dimension {
    /// The provider (`hatif`, `voiceinfra`, `voki`, `postcall`).
    pub const PROVIDER: &str = "Provider";
    /// What became of the delivery, file or spooled object.
    pub const OUTCOME: &str = "Outcome";
}

/// One metric the functions emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Its dimensions' names, in the order the documents list them.
    pub dimensions: &'static [&'static str],
    /// What it counts or measures.
    pub description: &'static str,
}

/// Webhook requests by provider and outcome (the outcome labels of the webhook's responses
/// and log lines: `stored`, `duplicate`, `kept`, `spooled`, `unauthorized`, `too_large`,
/// `storage_failed`, `method_not_allowed`).
pub const DELIVERIES: Metric = Metric {
    name: "Deliveries",
    unit: Unit::Count,
    dimensions: &[dimension::PROVIDER, dimension::OUTCOME],
    description: "webhook requests by provider and outcome",
};

/// Webhook requests by provider, whatever their outcome: the denominator of the
/// authentication-failure share.
pub const REQUESTS: Metric = Metric {
    name: "Requests",
    unit: Unit::Count,
    dimensions: &[dimension::PROVIDER],
    description: "webhook requests by provider",
};

/// Time from a webhook request's arrival to its answer.
pub const ANSWER_LATENCY: Metric = Metric {
    name: "AnswerLatency",
    unit: Unit::Milliseconds,
    dimensions: &[dimension::PROVIDER],
    description: "time to answer a webhook request",
};

/// File copies by outcome (`copied`, `retry`, `failed`).
pub const FILES: Metric = Metric {
    name: "Files",
    unit: Unit::Count,
    dimensions: &[dimension::OUTCOME],
    description: "file copies by outcome",
};

/// Spooled deliveries replayed, by outcome (the delivery outcomes, and `misfiled`).
pub const SPOOL_REPLAYS: Metric = Metric {
    name: "SpoolReplays",
    unit: Unit::Count,
    dimensions: &[dimension::OUTCOME],
    description: "spooled deliveries replayed, by outcome",
};

/// Every metric emitted.
pub const ALL: [Metric; 5] = [DELIVERIES, REQUESTS, ANSWER_LATENCY, FILES, SPOOL_REPLAYS];

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// The `level` of each document: Lambda's application log level when it filters by one
/// (`AWS_LAMBDA_LOG_LEVEL`), so that its filtering, which takes a line without a level as
/// INFO, never drops a metric; else `INFO`.
pub const LEVEL_PROPERTY: &str = "level";

/// Installs the recorder, in the namespace of `METRICS_NAMESPACE`. Call once at the start of
/// `main`, after the logs; a second call changes nothing.
pub fn init() {
    let namespace = std::env::var(NAMESPACE_ENV)
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| LOCAL_NAMESPACE.to_owned());
    let level = document_level(std::env::var(crate::telemetry::LAMBDA_LOG_LEVEL_ENV).ok());
    if let Some(collector) = install(namespace) {
        collector.set_property(LEVEL_PROPERTY, level);
    }
}

/// The documents' level for Lambda's application log level `lambda_level` (see
/// [`LEVEL_PROPERTY`]).
fn document_level(lambda_level: Option<String>) -> String {
    lambda_level
        .map(|l| l.trim().to_ascii_uppercase())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "INFO".to_owned())
}

fn install(namespace: String) -> Option<&'static Collector> {
    if let Some(collector) = COLLECTOR.get() {
        return Some(collector);
    }
    match Builder::new().cloudwatch_namespace(namespace).init() {
        Ok(collector) => {
            for metric in ALL {
                metrics::describe_counter!(metric.name, metric.unit, metric.description);
            }
            metrics::describe_histogram!(
                ANSWER_LATENCY.name,
                ANSWER_LATENCY.unit,
                ANSWER_LATENCY.description
            );
            Some(COLLECTOR.get_or_init(|| collector))
        }
        Err(e) => {
            tracing::error!(reason = %e, "metrics are off: the recorder could not be installed");
            None
        }
    }
}

/// Records one webhook request: [`DELIVERIES`], [`REQUESTS`] and [`ANSWER_LATENCY`].
pub fn delivery(provider: &'static str, outcome: &'static str, latency: Duration) {
    metrics::counter!(DELIVERIES.name, dimension::PROVIDER => provider, dimension::OUTCOME => outcome)
        .increment(1);
    metrics::counter!(REQUESTS.name, dimension::PROVIDER => provider).increment(1);
    metrics::histogram!(ANSWER_LATENCY.name, dimension::PROVIDER => provider)
        .record(latency.as_secs_f64() * 1000.0);
}

/// Records one file outcome ([`FILES`]).
pub fn file(outcome: &'static str) {
    metrics::counter!(FILES.name, dimension::OUTCOME => outcome).increment(1);
}

/// Records one replayed spool object ([`SPOOL_REPLAYS`]).
pub fn spool_replay(outcome: &'static str) {
    metrics::counter!(SPOOL_REPLAYS.name, dimension::OUTCOME => outcome).increment(1);
}

/// Writes what was recorded since the last flush to standard output, one document per
/// dimension set, each with the invocation's `request_id`. Call at the end of each invocation.
pub fn flush(request_id: Option<&str>) {
    if let Some(collector) = COLLECTOR.get() {
        write(collector, request_id, std::io::stdout().lock());
    }
}

fn write(collector: &Collector, request_id: Option<&str>, out: impl std::io::Write) {
    match request_id {
        Some(id) => collector.set_property(REQUEST_ID_PROPERTY, id.to_owned()),
        None => collector.remove_property(REQUEST_ID_PROPERTY),
    };
    if let Err(e) = collector.flush(out) {
        tracing::warn!(reason = %e, "metrics not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn documents_carry_lambdas_level_so_its_filtering_keeps_them() {
        assert_eq!(document_level(Some("warn".into())), "WARN");
        assert_eq!(document_level(Some(" ".into())), "INFO");
        assert_eq!(document_level(None), "INFO");
    }

    /// The one test installing the process's recorder.
    #[test]
    fn a_delivery_writes_documents_with_the_listed_names_and_dimensions() {
        let collector = install("callvault/test".into()).expect("installed");
        delivery("voki", "stored", Duration::from_millis(12));
        file("failed");
        spool_replay("kept");
        let mut out = Vec::new();
        write(collector, Some("req-1"), &mut out);
        let documents: Vec<Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("one JSON document a line"))
            .collect();
        let mut seen = Vec::new();
        for doc in &documents {
            assert_eq!(doc[REQUEST_ID_PROPERTY], "req-1");
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "callvault/test");
            let dimensions: Vec<&str> = directive["Dimensions"][0]
                .as_array()
                .expect("one dimension set")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for m in directive["Metrics"].as_array().expect("metrics") {
                let name = m["Name"].as_str().expect("name");
                let metric = ALL.iter().find(|x| x.name == name).expect("listed");
                let mut expected = metric.dimensions.to_vec();
                expected.sort_unstable();
                let mut got = dimensions.clone();
                got.sort_unstable();
                assert_eq!(got, expected, "{name}");
                assert!(!doc[name].is_null(), "{name} has a value");
                seen.push(name.to_owned());
            }
        }
        seen.sort();
        let mut all: Vec<String> = ALL.iter().map(|m| m.name.to_owned()).collect();
        all.sort();
        assert_eq!(seen, all);
        let deliveries = documents
            .iter()
            .find(|d| !d[DELIVERIES.name].is_null())
            .expect("deliveries");
        assert_eq!(deliveries["Provider"], "voki");
        assert_eq!(deliveries["Outcome"], "stored");
        // Flushed: nothing is written again.
        let mut again = Vec::new();
        write(collector, None, &mut again);
        assert!(again.is_empty());
    }
}
