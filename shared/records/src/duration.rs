//! Hatif's `callLength`: a .NET `TimeSpan` string, `[d.]HH:MM:SS[.fffffff]`.

/// Whole seconds in a `[d.]HH:MM:SS[.fraction]` duration; `None` if it is not one.
pub fn parse_hms(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) if !d.contains(':') => {
            // Digits only: `u64::from_str` would also take a leading `+`.
            if !digits(d) {
                return None;
            }
            (d.parse::<u64>().ok()?, rest)
        }
        _ => (0, text),
    };
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let s = s.split_once('.').map_or(s, |(whole, frac)| {
        if frac.chars().all(|c| c.is_ascii_digit()) {
            whole
        } else {
            "x"
        }
    });
    if !(digits(h) && digits(m) && digits(s)) {
        return None;
    }
    let (h, m, s): (u64, u64, u64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    if m > 59 || s > 59 {
        return None;
    }
    days.checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::parse_hms;

    #[test]
    fn parses_timespan_forms() {
        assert_eq!(parse_hms("00:05:32"), Some(332));
        assert_eq!(parse_hms("01:00:00"), Some(3600));
        assert_eq!(parse_hms("00:00:07.5000000"), Some(7));
        assert_eq!(parse_hms("1.02:03:04"), Some(93_784));
        assert_eq!(parse_hms("30:00:00"), Some(108_000));
    }

    #[test]
    fn rejects_other_text() {
        for bad in [
            "",
            "string",
            "5:32",
            "00:60:00",
            "00:00:60",
            "-1:00:00",
            "00:00:0x",
            "1:2:3:4",
            "a.00:00:01",
            "00:00:01.x",
        ] {
            assert_eq!(parse_hms(bad), None, "{bad}");
        }
        assert_eq!(parse_hms("99999999999999999.00:00:00"), None);
    }

    /// A sign before the days used to be accepted (`u64::from_str` takes `+`), unlike
    /// anywhere else in the duration.
    #[test]
    fn rejects_a_sign_before_the_days() {
        assert_eq!(parse_hms("+1.00:00:00"), None);
        assert_eq!(parse_hms("-1.00:00:00"), None);
        assert_eq!(parse_hms("1.00:00:00"), Some(86_400));
    }
}
