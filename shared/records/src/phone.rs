use rlibphonenumber::{PhoneNumberFormat, Region, PHONE_NUMBER_UTIL};
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
            e164: to_e164(trimmed, None),
        })
    }

    /// Loads the phone-number metadata and compiles the patterns that parsing numbers in
    /// international and national form uses, which would otherwise happen on first use (a few
    /// milliseconds in a release build): call it while a function initializes, so no delivery
    /// pays for it.
    pub fn load_metadata() {
        for (number, country) in [
            ("+1 (415) 555-0100", None),
            ("+44 20 7946 0958", None),
            ("(415) 555-0100", Some(Country(Region::US))),
        ] {
            let _ = to_e164(number, country);
        }
    }

    /// The number as shown to people: its E.164 form, or the raw value when it has none.
    pub fn shown(&self) -> &str {
        self.e164.as_deref().unwrap_or(&self.raw)
    }
}

/// A country (ISO 3166-1 alpha-2, like `US`), for numbers written without their country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(Region);

impl std::str::FromStr for Country {
    type Err = ();

    /// Reads a two-letter country code, in any letter case.
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<Region>()
            .ok()
            .filter(|region| {
                PHONE_NUMBER_UTIL
                    .get_country_code_for_region(*region)
                    .is_some()
            })
            .map(Self)
            .ok_or(())
    }
}

/// The E.164 form of a phone number written in any common way, by the one rule callvault
/// applies to the numbers it stores and to the numbers people search by: a number with its
/// `+` country code as it is, a national one only with `country`. It is not checked against
/// the country's numbering plan, so any number a provider sent can be searched as it was sent
/// (the documented examples use fictional `555` numbers).
pub fn to_e164(input: &str, country: Option<Country>) -> Option<String> {
    // A value without a single digit (a withheld caller's `anonymous`, `unknown`) is never a
    // number to libphonenumber either, which takes a thousand-odd instructions to say so.
    if !input.chars().any(char::is_numeric) {
        return None;
    }
    let number = PHONE_NUMBER_UTIL
        .parse(input.trim(), country.map(|c| c.0))
        .ok()?;
    Some(
        PHONE_NUMBER_UTIL
            .format(&number, PhoneNumberFormat::E164)
            .into_owned(),
    )
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
            // The national prefix written after the country code is dropped.
            ("+44 (0)20 7946 0958", "+442079460958"),
            // Digits of other scripts read as libphonenumber reads them.
            ("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧", "+966501234567"),
            ("tel:+1-415-555-0100", "+14155550100"),
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).and_then(|p| p.e164).as_deref(),
                Some(e164),
                "{raw}"
            );
        }
    }

    #[test]
    fn national_numbers_need_their_country() {
        let us: Country = "us".parse().expect("country");
        assert_eq!(
            to_e164("(415) 555-2671", Some(us)).as_deref(),
            Some("+14155552671")
        );
        assert_eq!(to_e164("(415) 555-2671", None), None);
        assert_eq!(
            to_e164("+1-555-123-4567", Some(us)).as_deref(),
            Some("+15551234567")
        );
        assert!("XX".parse::<Country>().is_err());
        assert!("ZZ".parse::<Country>().is_err());
        assert!("".parse::<Country>().is_err());
    }

    #[test]
    fn values_without_digits_are_refused_as_libphonenumber_refuses_them() {
        let us = Some(Country(Region::US));
        for raw in [
            "anonymous",
            "Restricted",
            "+",
            "+ - ()",
            "string",
            "tel:",
            "½",
            "x²",
        ] {
            for country in [None, us] {
                let full = PHONE_NUMBER_UTIL.parse(raw, country.map(|c| c.0)).ok();
                assert_eq!(full, None, "{raw}");
                assert_eq!(to_e164(raw, country), None, "{raw}");
            }
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
