//! What the templates show: page chrome, links, and provider text made safe to display.
//! Templates escape HTML themselves; here control and direction-override characters become
//! visible escapes, so provider text can neither hide nor reorder what a page says.

use callvault_records::Provider;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What every page shows around its content.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The navigation entry of the page (`calls`, `conversations`, `overview`).
    pub nav: &'static str,
    /// What the console reads (a stack's name, or the table and bucket).
    pub label: String,
}

/// One option of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The submitted value.
    pub value: String,
    /// The shown label.
    pub label: String,
    /// Whether it is the current one.
    pub selected: bool,
}

/// Options from `(value, label)` pairs, `current` selected.
pub fn choices<'a>(
    options: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: Option<&str>,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.to_owned(),
            label: label.to_owned(),
            selected: current == Some(value),
        })
        .collect()
}

/// Characters kept as they are in a URL path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` as one URL path segment.
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A query string (`?a=b&c=d`) of the non-empty pairs, or nothing.
pub fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    if present.is_empty() {
        return String::new();
    }
    serde_urlencoded::to_string(present)
        .map(|q| format!("?{q}"))
        .unwrap_or_default()
}

/// The page of a call (of one secret scope, when given).
pub fn call_href(provider: Provider, id: &str, scope: Option<&str>) -> String {
    format!(
        "/calls/{}/{}{}",
        provider.as_str(),
        segment(id),
        query_string(&[("scope", scope)])
    )
}

/// The page of a conversation.
pub fn conversation_href(provider: Provider, id: &str) -> String {
    format!("/conversations/{}/{}", provider.as_str(), segment(id))
}

/// One line of provider text, safe to show: control and bidirectional-override characters
/// written as visible `\u{..}` escapes.
pub fn line(text: &str) -> String {
    crate::text::printable(text)
}

/// Provider text of several lines, safe to show: as [`line`], keeping line breaks and tabs.
pub fn text(text: &str) -> String {
    crate::text::printable_text(text)
}

/// A time in the console's zone, to the second.
pub fn time(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// A stored RFC 3339 time in the console's zone (other text as it is, made safe).
pub fn stored_time(tz: Tz, t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| time(tz, t.with_timezone(&Utc)))
        .unwrap_or_else(|_| line(t))
}

/// A duration as `m:ss` or `h:mm:ss`.
pub fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A byte count in B, KiB, MiB or GiB.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The JSON name of a serializable enum value (`in_progress`, `copied`, ...).
pub fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A JSON value as text: strings as they are, other values as compact JSON; safe to show.
pub fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => text(s),
        other => text(&other.to_string()),
    }
}

/// A JSON value laid out over several lines; safe to show.
pub fn json_pretty(value: &serde_json::Value) -> String {
    text(&serde_json::to_string_pretty(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(
            call_href(Provider::Hatif, "x/y", Some("channel:c 1")),
            "/calls/hatif/x%2Fy?scope=channel%3Ac+1"
        );
        assert_eq!(
            call_href(Provider::Voki, "v-1_2.3~", None),
            "/calls/voki/v-1_2.3~"
        );
    }

    #[test]
    fn provider_text_cannot_hide_or_reorder() {
        assert_eq!(line("a\u{1b}[31mb\r"), "a\\u{1b}[31mb\\u{d}");
        assert_eq!(line("pay\u{202e}gnp.exe"), "pay\\u{202e}gnp.exe");
        assert_eq!(text("one\n\ttwo\u{7}"), "one\n\ttwo\\u{7}");
    }

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(duration(332), "5:32");
        assert_eq!(duration(3723), "1:02:03");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn query_strings_skip_empty_values() {
        assert_eq!(query_string(&[("a", None), ("b", Some(""))]), "");
        assert_eq!(
            query_string(&[("phone", Some("+1 415")), ("status", Some("missed"))]),
            "?phone=%2B1+415&status=missed"
        );
    }
}
