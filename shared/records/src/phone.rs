use serde::{Deserialize, Serialize};

/// A phone number as the provider sent it, with its E.164 form when it can be parsed.
///
/// Numbers without a leading `+` country code cannot be placed and keep only `raw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// The value exactly as received.
    pub raw: String,
    /// The number in E.164 (`+14155550100`), when the raw value is an international number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,
}

impl PhoneNumber {
    /// Parses a provider's phone number; `None` for an empty value.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        Some(Self {
            raw: raw.to_owned(),
            e164: to_e164(trimmed),
        })
    }

    /// Loads the phone-number metadata, which the `phonenumber` crate otherwise loads on
    /// first use (hundreds of milliseconds; seconds in a debug build): call it while a
    /// function initializes, so no delivery pays for it.
    pub fn load_metadata() {
        let _ = to_e164("+14155550100");
    }

    /// The number as shown to people: its E.164 form, or the raw value when it has none.
    pub fn shown(&self) -> &str {
        self.e164.as_deref().unwrap_or(&self.raw)
    }
}

/// Normalizes any common written form of an international number to E.164.
pub(crate) fn to_e164(input: &str) -> Option<String> {
    let number = phonenumber::parse(None, input).ok()?;
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_forms_normalize_to_e164() {
        for (raw, e164) in [
            ("+14155550100", "+14155550100"),
            ("+1-555-123-4567", "+15551234567"),
            ("+1 (800) 555-1234", "+18005551234"),
            ("+44 20 7946 0958", "+442079460958"),
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).and_then(|p| p.e164).as_deref(),
                Some(e164),
                "{raw}"
            );
        }
    }

    #[test]
    fn unplaceable_values_keep_raw_only() {
        let p = PhoneNumber::parse("string").expect("non-empty");
        assert_eq!(p.raw, "string");
        assert_eq!(p.e164, None);
        assert_eq!(PhoneNumber::parse("4155550100").and_then(|p| p.e164), None);
        assert_eq!(PhoneNumber::parse("  "), None);
    }
}
