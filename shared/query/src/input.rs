//! Reading the values users type (CLI flags, query parameters) into query terms, with one
//! clear error per mistake. The CLI and the query API both use these.

use callvault_records::{to_e164, CallStatus, Country, Provider};
use callvault_store::files::FileKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::InputError;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;

/// A provider by its lowercase name (`hatif`, `voiceinfra`, `voki`, `postcall`).
pub fn provider(name: &str) -> Result<Provider, InputError> {
    let wanted = name.trim().to_ascii_lowercase();
    Provider::ALL
        .into_iter()
        .find(|p| p.as_str() == wanted)
        .ok_or_else(|| InputError::UnknownProvider(name.to_owned()))
}

/// A point in time: RFC 3339 (`2026-11-23T10:00:00Z`), a UTC date (`2026-11-23`, midnight),
/// a UTC date and time without zone (`2026-11-23T10:00`), or a duration before `now`
/// (`90m`, `2h`, `7days`).
pub fn time(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, InputError> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let ago = humantime::parse_duration(v).map_err(|_| InputError::Time(value.to_owned()))?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| InputError::Time(value.to_owned()))
}

/// A time range `[since, until)`; either end may be open.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Checks that a time range is not empty.
pub fn range(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<TimeRange, InputError> {
    match (since, until) {
        (Some(s), Some(u)) if s >= u => Err(InputError::EmptyRange),
        _ => Ok((since, until)),
    }
}

/// A phone number in any common written form, as E.164. Numbers without a `+` country code
/// need `country` (ISO 3166 alpha-2, e.g. `US`, `SA`).
pub fn phone(value: &str, country: Option<&str>) -> Result<String, InputError> {
    let country = country
        .map(|c| {
            c.parse::<Country>()
                .map_err(|()| InputError::Country(c.to_owned()))
        })
        .transpose()?;
    to_e164(value, country).ok_or_else(|| InputError::Phone(value.to_owned()))
}

/// A normalized call status (`completed`, `missed`, ...).
pub fn status(value: &str) -> Result<CallStatus, InputError> {
    serde_json::from_value(serde_json::Value::String(value.trim().to_ascii_lowercase()))
        .map_err(|_| InputError::Status(value.to_owned()))
}

/// A file copy state to list by: pending or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Waiting for the copier.
    Pending,
    /// The copier gave up.
    Failed,
}

impl FileState {
    /// The stored value (`pending`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
        }
    }
}

/// `pending` or `failed`.
pub fn file_state(value: &str) -> Result<FileState, InputError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "pending" => Ok(FileState::Pending),
        "failed" => Ok(FileState::Failed),
        _ => Err(InputError::FileState(value.to_owned())),
    }
}

/// `recording`, `transcript` or `media`.
pub fn file_kind(value: &str) -> Result<FileKind, InputError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "recording" => Ok(FileKind::Recording),
        "transcript" => Ok(FileKind::Transcript),
        "media" => Ok(FileKind::Media),
        _ => Err(InputError::FileKind(value.to_owned())),
    }
}

/// A page size in `1..=MAX_LIMIT`.
pub fn limit(value: &str) -> Result<usize, InputError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| InputError::Limit {
            max: MAX_LIMIT,
            given: value.to_owned(),
        })
}

/// A presigned link's lifetime in whole seconds, `1..=MAX_LINK_LIFETIME`.
pub fn link_lifetime(value: &str) -> Result<std::time::Duration, InputError> {
    let max = crate::MAX_LINK_LIFETIME.as_secs();
    value
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=max).contains(s))
        .map(std::time::Duration::from_secs)
        .ok_or(InputError::LinkLifetime { max })
}

/// A required, non-empty id.
pub fn id<'a>(value: &'a str, what: &'static str) -> Result<&'a str, InputError> {
    let v = value.trim();
    if v.is_empty() {
        Err(InputError::Empty(what))
    } else {
        Ok(v)
    }
}

/// A secret scope as written by users and stored: `default` or `channel:<channel id>`.
pub fn scope(value: &str) -> Result<callvault_verify::Scope, InputError> {
    value
        .trim()
        .parse()
        .map_err(|_| InputError::Scope(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn providers_by_name_any_case() {
        assert_eq!(provider("Voki"), Ok(Provider::Voki));
        assert_eq!(provider("postcall"), Ok(Provider::PostCall));
        assert!(matches!(
            provider("twilio"),
            Err(InputError::UnknownProvider(_))
        ));
    }

    #[test]
    fn times_in_every_accepted_form() {
        let at = |h, m| {
            Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0)
                .single()
                .expect("valid")
        };
        assert_eq!(time("2026-11-23T10:00:00Z", now()), Ok(at(10, 0)));
        assert_eq!(time("2026-11-23T13:30:00+03:30", now()), Ok(at(10, 0)));
        assert_eq!(time("2026-11-23T10:05", now()), Ok(at(10, 5)));
        assert_eq!(time("2026-11-23", now()), Ok(at(0, 0)));
        assert_eq!(time("2h", now()), Ok(at(10, 0)));
        assert_eq!(time("90m", now()), Ok(at(10, 30)));
        assert!(matches!(
            time("yesterday-ish", now()),
            Err(InputError::Time(_))
        ));
        assert!(matches!(
            time("2026-13-40", now()),
            Err(InputError::Time(_))
        ));
    }

    #[test]
    fn empty_ranges_are_refused() {
        let t = now();
        assert_eq!(range(Some(t), Some(t)), Err(InputError::EmptyRange));
        assert!(range(Some(t), None).is_ok());
    }

    #[test]
    fn phone_numbers_normalize_to_e164() {
        for input in [
            "+14155552671",
            "+1 (415) 555-2671",
            "+1-415-555-2671",
            " +1 415 555 2671 ",
        ] {
            assert_eq!(phone(input, None).as_deref(), Ok("+14155552671"), "{input}");
        }
        assert_eq!(
            phone("(415) 555-2671", Some("us")).as_deref(),
            Ok("+14155552671")
        );
        assert_eq!(
            phone("050 123 4567", Some("SA")).as_deref(),
            Ok("+966501234567")
        );
        assert!(matches!(
            phone("4155552671", None),
            Err(InputError::Phone(_))
        ));
        assert!(matches!(phone("call me", None), Err(InputError::Phone(_))));
        // Searched by the rule numbers are stored by: whatever a provider sent is found as
        // sent, including numbers outside the numbering plan (the documented examples' 555).
        for (sent, stored) in [("+1-555-123-4567", "+15551234567"), ("+1 415", "+1415")] {
            let record = callvault_records::PhoneNumber::parse(sent).and_then(|p| p.e164);
            assert_eq!(record.as_deref(), Some(stored));
            assert_eq!(phone(sent, None).as_deref(), Ok(stored));
        }
        assert!(matches!(
            phone("4155552671", Some("XX")),
            Err(InputError::Country(_))
        ));
    }

    #[test]
    fn statuses_states_kinds_and_limits() {
        assert_eq!(status("in_progress"), Ok(CallStatus::InProgress));
        assert_eq!(status("Completed"), Ok(CallStatus::Completed));
        assert!(matches!(status("done"), Err(InputError::Status(_))));
        assert_eq!(file_state("failed"), Ok(FileState::Failed));
        assert!(file_state("copied").is_err());
        assert_eq!(file_kind("media"), Ok(FileKind::Media));
        assert_eq!(limit("1"), Ok(1));
        assert_eq!(limit("1000"), Ok(1000));
        assert!(limit("0").is_err() && limit("1001").is_err() && limit("x").is_err());
        assert_eq!(id("  ", "call id"), Err(InputError::Empty("call id")));
    }
}
