//! The CloudWatch embedded-metric-format documents in a function's output, read back as
//! CloudWatch Logs would extract them.

use std::collections::BTreeMap;

use callvault_runtime::metrics::REQUEST_ID_PROPERTY;
use serde_json::Value;

/// One EMF document: a namespace, one dimension set with its values, and the metrics it
/// carries with their values.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDocument {
    /// The namespace of its metrics.
    pub namespace: String,
    /// The invocation that wrote it.
    pub request_id: Option<String>,
    /// Dimension name to value.
    pub dimensions: BTreeMap<String, String>,
    /// Metric name to (unit, value: a number or an array of numbers).
    pub metrics: BTreeMap<String, (Option<String>, Value)>,
}

impl MetricDocument {
    /// The dimension names, sorted.
    pub fn dimension_names(&self) -> Vec<String> {
        self.dimensions.keys().cloned().collect()
    }

    /// The sum of a metric's values in this document (a count's value, or a histogram's
    /// number of values), if it carries the metric.
    pub fn count(&self, metric: &str) -> Option<f64> {
        self.metrics.get(metric).map(|(_, value)| match value {
            Value::Array(values) => values.len() as f64,
            other => other.as_f64().unwrap_or(f64::NAN),
        })
    }
}

/// Every EMF document among the lines of `log` (other lines are skipped).
pub fn metric_documents(log: &str) -> Vec<MetricDocument> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|doc| document(&doc))
        .collect()
}

fn document(doc: &Value) -> Option<MetricDocument> {
    let directive = doc.get("_aws")?.get("CloudWatchMetrics")?.get(0)?;
    let names = directive.get("Dimensions")?.get(0)?.as_array()?;
    let dimensions = names
        .iter()
        .filter_map(Value::as_str)
        .map(|name| {
            let value = doc.get(name).and_then(Value::as_str).unwrap_or_default();
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let metrics = directive
        .get("Metrics")?
        .as_array()?
        .iter()
        .filter_map(|m| {
            let name = m.get("Name")?.as_str()?;
            let unit = m.get("Unit").and_then(Value::as_str).map(str::to_owned);
            Some((name.to_owned(), (unit, doc.get(name)?.clone())))
        })
        .collect();
    Some(MetricDocument {
        namespace: directive.get("Namespace")?.as_str()?.to_owned(),
        request_id: doc
            .get(REQUEST_ID_PROPERTY)
            .and_then(Value::as_str)
            .map(str::to_owned),
        dimensions,
        metrics,
    })
}
