//! Provider payloads read in one pass: documented fields typed, every other field kept as sent.
//!
//! serde's `#[serde(flatten)]` would keep the other fields too, but it first buffers the whole
//! object into an intermediate tree and then reads each field out of it again; on the hot path
//! that second pass cost more than verifying and normalizing together. [`payload!`] declares
//! the struct and a map visitor that reads each value once, straight into its field or into
//! `extra`. What it accepts and refuses is what the derive with `flatten` did: a missing required
//! field is "missing field `x`", a documented field given twice is "duplicate field `x`", an
//! undocumented field given twice keeps its last value.

use std::borrow::Cow;
use std::fmt;

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

/// Declares a payload struct whose fields are read from the JSON names given beside them,
/// plus `extra`: the fields not in the documentation, kept as sent. Fields of type `Option` or
/// `Vec` may be left out; any other field is required.
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
                $key:literal => pub $field:ident: $ty:ty,
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
                                        $field = Some(map.next_value()?);
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
