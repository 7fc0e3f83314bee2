//! Provider payloads read in one pass: documented fields typed, every other field kept as sent.
//!
//! serde's `#[serde(flatten)]` would keep the other fields too, but it first buffers the whole
//! object into an intermediate tree and then reads each field out of it again; on the hot path
//! that second pass cost more than verifying and normalizing together. [`payload!`] declares
//! the struct and a map visitor that reads each value once, straight into its field or into
//! `extra`. What it accepts and refuses is what the derive with `flatten` did: a missing required
//! field is "missing field `x`", a documented field given twice is "duplicate field `x`", an
//! undocumented field given twice keeps its last value.
//!
//! A field may name the type it is read through on the wire (`... : Option<DateTime<Utc>> as
//! Time`): [`Time`] reads provider times with a fast path for strict RFC 3339.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// What a field the body leaves out becomes: optional and list fields are empty, any other
/// field is required.
pub(crate) trait Absent: Sized {
    /// The value of the field `name` when the body has none, or the "missing field" error.
    fn absent<E: de::Error>(name: &'static str) -> Result<Self, E>;
}

impl<T> Absent for Option<T> {
    fn absent<E: de::Error>(_: &'static str) -> Result<Self, E> {
        Ok(None)
    }
}

impl<T> Absent for Vec<T> {
    fn absent<E: de::Error>(_: &'static str) -> Result<Self, E> {
        Ok(Vec::new())
    }
}

impl Absent for String {
    fn absent<E: de::Error>(name: &'static str) -> Result<Self, E> {
        Err(E::missing_field(name))
    }
}

/// A JSON object key: borrowed from the body, or owned when it was written with escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// An optional time as providers send it (ISO 8601 / RFC 3339), read to the same instant and
/// with the same errors as chrono's own `Deserialize`, which goes through its relaxed parser
/// (about 300 ns a time). The strict RFC 3339 form every documented example uses is tried
/// first (about 40 ns); anything else falls back to the relaxed parser.
#[derive(Debug, Default)]
pub(crate) struct Time(pub(crate) Option<DateTime<Utc>>);

impl From<Time> for Option<DateTime<Utc>> {
    fn from(time: Time) -> Self {
        time.0
    }
}

/// Reads a time written in any form chrono's `DateTime<Utc>` parser accepts.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| text.parse())
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // chrono's wording, so a refusal reads as it did.
                f.write_str("an RFC 3339 formatted date and time string")
            }
            fn visit_none<E: de::Error>(self) -> Result<Time, E> {
                Ok(Time(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Time, E> {
                Ok(Time(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Time, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Time, E> {
                parse_time(text).map(|t| Time(Some(t))).map_err(E::custom)
            }
        }
        deserializer.deserialize_option(TimeVisitor)
    }
}

/// Declares a payload struct whose fields are read from the JSON names given beside them,
/// plus `extra`: the fields not in the documentation, kept as sent. Fields of type `Option` or
/// `Vec` may be left out; any other field is required. `as Wire` after a field's type reads it
/// through `Wire` (which converts `Into` the field's type).
///
/// ```text
/// payload! {
///     /// The documented payload.
///     pub struct Payload {
///         /// Call id.
///         "callId" => pub call_id: String,
///         /// Recording file URL.
///         "recordingUri" => pub recording_uri: Option<String>,
///     }
/// }
/// ```
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $key:literal => pub $field:ident: $ty:ty $(as $wire:ty)?,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            /// Fields not in the documentation, kept as sent.
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct FieldsVisitor;
                impl<'de> serde::de::Visitor<'de> for FieldsVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        $( let mut $field: Option<$ty> = None; )*
                        let mut extra = serde_json::Map::new();
                        while let Some($crate::payload::Key(key)) = map.next_key()? {
                            match &*key {
                                $(
                                    $key => {
                                        if $field.is_some() {
                                            return Err(serde::de::Error::duplicate_field($key));
                                        }
                                        $field = Some($crate::payload::payload!(@read map $ty $(as $wire)?));
                                    }
                                )*
                                _ => {
                                    let value = map.next_value()?;
                                    extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok($name {
                            $(
                                $field: match $field {
                                    Some(value) => value,
                                    None => $crate::payload::Absent::absent($key)?,
                                },
                            )*
                            extra,
                        })
                    }
                }
                deserializer.deserialize_map(FieldsVisitor)
            }
        }
    };
    (@read $map:ident $ty:ty) => { $map.next_value::<$ty>()? };
    (@read $map:ident $ty:ty as $wire:ty) => { $map.next_value::<$wire>()?.into() };
}

pub(crate) use payload;

#[cfg(test)]
mod tests {
    use serde_json::json;

    payload! {
        /// A payload for the tests.
        pub struct Sample {
            /// Required.
            "callId" => pub call_id: String,
            /// Optional.
            "type" => pub kind: Option<i64>,
            /// A list that may be left out.
            "items" => pub items: Vec<u8>,
        }
    }

    fn read(body: &str) -> Result<Sample, String> {
        serde_json::from_str(body).map_err(|e| e.to_string())
    }

    #[test]
    fn documented_fields_are_typed_and_the_rest_kept_as_sent() {
        let s = read(r#"{"callId":"c","type":2,"items":[1],"x":{"y":[1e200,null]},"z":"a"}"#)
            .expect("reads");
        assert_eq!(
            (s.call_id.as_str(), s.kind, s.items),
            ("c", Some(2), vec![1])
        );
        assert_eq!(
            serde_json::Value::Object(s.extra),
            json!({"x": {"y": [1e200, null]}, "z": "a"})
        );
    }

    #[test]
    fn optional_and_list_fields_may_be_absent_or_null() {
        let s = read(r#"{"callId":"c","type":null}"#).expect("reads");
        assert_eq!((s.kind, s.items.len(), s.extra.len()), (None, 0, 0));
    }

    #[test]
    fn escaped_keys_are_the_same_fields() {
        let s = read(r#"{"call\u0049d":"c","\u0078":1}"#).expect("reads");
        assert_eq!(s.call_id, "c");
        assert_eq!(s.extra.get("x"), Some(&json!(1)));
    }

    #[test]
    fn times_read_as_chrono_reads_them() {
        for text in [
            "2019-08-24T14:15:22.123Z",
            "2019-08-24t14:15:22z",
            "2019-08-24 14:15:22+03:00",
            "2019-08-24T14:15:22.123456789-05:30",
            "2016-12-31T23:59:60Z",
            "2019-08-24T14:15:22 +03:00",
            "2019-08-24T14:15:22+0300",
            "2019-08-24T14:15:22",
            "2019-08-24",
            "2019-13-01T00:00:00Z",
            "2019-02-30T00:00:00Z",
            "2019-08-24T14:15:22.Z",
            " 2019-08-24T14:15:22Z",
            "",
            "string",
        ] {
            let chrono = text.parse::<chrono::DateTime<chrono::Utc>>();
            assert_eq!(super::parse_time(text), chrono, "{text:?}");
            let json = serde_json::to_string(text).expect("json");
            let ours = serde_json::from_str::<super::Time>(&json).map(|t| t.0);
            let theirs = serde_json::from_str::<Option<chrono::DateTime<chrono::Utc>>>(&json);
            assert_eq!(
                ours.map_err(|e| e.to_string()),
                theirs.map_err(|e| e.to_string()),
                "{text:?}"
            );
        }
        for json in ["null", "5", "true", "{}"] {
            let ours = serde_json::from_str::<super::Time>(json).map(|t| t.0);
            let theirs = serde_json::from_str::<Option<chrono::DateTime<chrono::Utc>>>(json);
            assert_eq!(
                ours.map_err(|e| e.to_string()),
                theirs.map_err(|e| e.to_string()),
                "{json}"
            );
        }
    }

    #[test]
    fn refusals_match_the_derive() {
        let missing = read(r#"{"type":1}"#).expect_err("refused");
        assert!(missing.starts_with("missing field `callId`"), "{missing}");
        let twice = read(r#"{"callId":"a","callId":"b"}"#).expect_err("refused");
        assert!(twice.starts_with("duplicate field `callId`"), "{twice}");
        let wrong = read(r#"{"callId":"a","type":"x"}"#).expect_err("refused");
        assert!(wrong.starts_with("invalid type"), "{wrong}");
        let not_object = read(r#""callId""#).expect_err("refused");
        assert!(not_object.starts_with("invalid type"), "{not_object}");
        let unknown_twice = read(r#"{"callId":"a","x":1,"x":2}"#).expect("reads");
        assert_eq!(unknown_twice.extra.get("x"), Some(&json!(2)));
    }
}
