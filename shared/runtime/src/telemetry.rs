//! Logging setup: JSON lines for CloudWatch, each carrying the invocation's `requestId` (in
//! `span`, from the Lambda runtime's invocation span).
//!
//! The level is Lambda's `ApplicationLogLevel` (`AWS_LAMBDA_LOG_LEVEL`, which the template's
//! `LoggingConfig` sets), else `RUST_LOG`, else `info`. Lines are JSON whatever the log
//! format, so CloudWatch Logs filters and Logs Insights read their fields.

use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The environment variable Lambda sets from `LoggingConfig.ApplicationLogLevel`.
pub const LAMBDA_LOG_LEVEL_ENV: &str = "AWS_LAMBDA_LOG_LEVEL";

/// Installs the JSON subscriber. Call once at the start of `main`.
pub fn init() {
    let lambda_level = std::env::var(LAMBDA_LOG_LEVEL_ENV).ok();
    let events = match lambda_level.as_deref().and_then(directive) {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // Spans are always kept, whatever the level, so a warning still names its invocation.
    let filter = events.or(filter_fn(|meta| meta.is_span()));
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_filter(filter);
    tracing_subscriber::registry().with(layer).init();
}

/// The filter directive for one of Lambda's application log levels (`TRACE`, `DEBUG`,
/// `INFO`, `WARN`, `ERROR`, `FATAL`; any case). `None` for anything else.
fn directive(level: &str) -> Option<&'static str> {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" => Some("warn"),
        "ERROR" | "FATAL" => Some("error"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_directives() {
        assert_eq!(directive("WARN"), Some("warn"));
        assert_eq!(directive("fatal"), Some("error"));
        assert_eq!(directive(" Debug "), Some("debug"));
        assert_eq!(directive("loud"), None);
    }
}
