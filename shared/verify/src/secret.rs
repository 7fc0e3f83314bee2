use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::SecretConfigError;

/// A webhook secret or shared token. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct Secret {
    bytes: Box<[u8]>,
    /// HMAC-SHA256 keyed with `bytes`, made once: each signature check clones it rather than
    /// hashing the key's two padded blocks again.
    keyed: Hmac<Sha256>,
}

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into().into_boxed_slice();
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { bytes, keyed }
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// A fresh HMAC-SHA256 computation keyed with this secret.
    pub(crate) fn hmac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The public name of a secret (for example `2026-11`), safe to log and store: it tells which
/// secret authenticated a delivery during a rotation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretId(String);

impl SecretId {
    /// Names a secret.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secrets active at one time for one key: more than one during a rotation. Never empty.
#[derive(Debug, Clone)]
pub struct SecretSet {
    entries: Vec<(SecretId, Secret)>,
}

impl SecretSet {
    /// Builds a set from `(id, secret)` pairs; `name` labels the set in errors.
    pub fn new(
        name: &str,
        entries: impl IntoIterator<Item = (SecretId, Secret)>,
    ) -> Result<Self, SecretConfigError> {
        let entries: Vec<_> = entries.into_iter().collect();
        if entries.is_empty() {
            return Err(SecretConfigError::Empty(name.to_owned()));
        }
        if let Some((id, _)) = entries.iter().find(|(_, s)| s.expose().is_empty()) {
            return Err(SecretConfigError::EmptySecret(id.to_string()));
        }
        Ok(Self { entries })
    }

    /// A set of one secret, for tests and tools.
    pub fn single(id: &str, secret: impl Into<Vec<u8>>) -> Self {
        Self {
            entries: vec![(SecretId::new(id), Secret::new(secret))],
        }
    }

    /// The active secrets, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = (&SecretId, &Secret)> {
        self.entries.iter().map(|(id, s)| (id, s))
    }
}

/// Whose secrets authenticated a delivery: those of the key its body names (a Hatif
/// channel), whichever set that key was checked with (its own under `channels`, or the
/// default set while it has none), or, for a body naming no key, the default set.
///
/// Records built from deliveries of different scopes never merge, so a holder of one
/// channel's secret (or of the default one) cannot write into another channel's records. A
/// key's scope does not change when it gets secrets of its own, so its deliveries before and
/// after stay one record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// A body naming no key, checked with the default secrets (`secrets`).
    Default,
    /// A body naming this key, checked with the key's secrets (`channels.<key>`), or with the
    /// default ones while the key has none.
    Channel(String),
}

impl fmt::Display for Scope {
    /// `default` or `channel:<key>`: the form stored with deliveries and records, and used in
    /// their keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Channel(key) => write!(f, "channel:{key}"),
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    /// Parses the stored form written by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("channel", key)) if !key.is_empty() => Ok(Self::Channel(key.to_owned())),
            None if s == "default" => Ok(Self::Default),
            _ => Err(format!("not a secret scope: {s}")),
        }
    }
}

/// Secrets of one provider: an optional default set, and sets per key (a Hatif `channelId`).
///
/// Loaded from JSON of this shape (the same document locally and in Secrets Manager):
/// `{"secrets": {"<id>": "<value>", ...}, "channels": {"<key>": {"<id>": "<value>"}}}`.
/// Both members are optional but at least one secret must be configured.
#[derive(Debug, Clone)]
pub struct Keyring {
    default: Option<SecretSet>,
    by_key: BTreeMap<String, SecretSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringDoc {
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    channels: BTreeMap<String, BTreeMap<String, String>>,
}

fn to_set(name: &str, map: BTreeMap<String, String>) -> Result<SecretSet, SecretConfigError> {
    SecretSet::new(
        name,
        map.into_iter()
            .map(|(id, value)| (SecretId::new(id), Secret::new(value))),
    )
}

/// Describes a JSON error in a secrets document without quoting the document: serde_json's
/// own messages quote the offending value (`invalid type: string "..."`), which would copy a
/// secret into the start-up error and the logs. Field names are kept: they are not secret and
/// tell which part of the shape is wrong.
fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", err.line(), err.column());
    match err.classify() {
        Category::Eof => format!("truncated JSON at {at}"),
        Category::Syntax | Category::Io => format!("not valid JSON at {at}"),
        Category::Data => {
            let message = err.to_string();
            let names_a_field = ["unknown field `", "duplicate field `"]
                .iter()
                .any(|prefix| message.starts_with(prefix));
            match message.split_once(" at line ") {
                Some((what, _)) if names_a_field => format!("{what} at {at}"),
                _ => format!("wrong type or value at {at}"),
            }
        }
    }
}

impl Keyring {
    /// A keyring with one default set and no per-key sets.
    pub fn with_default(set: SecretSet) -> Self {
        Self {
            default: Some(set),
            by_key: BTreeMap::new(),
        }
    }

    /// Parses the JSON document described on [`Keyring`].
    pub fn from_json(json: &str) -> Result<Self, SecretConfigError> {
        // serde also reads a struct from a JSON array (members by position).
        if json
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('[')
        {
            return Err(SecretConfigError::Json("expected a JSON object".into()));
        }
        let doc: KeyringDoc =
            serde_json::from_str(json).map_err(|e| SecretConfigError::Json(describe(&e)))?;
        let default = if doc.secrets.is_empty() {
            None
        } else {
            Some(to_set("secrets", doc.secrets)?)
        };
        if doc.channels.contains_key("") {
            return Err(SecretConfigError::EmptyKey);
        }
        let by_key = doc
            .channels
            .into_iter()
            .map(|(key, map)| to_set(&format!("channels.{key}"), map).map(|set| (key, set)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        if default.is_none() && by_key.is_empty() {
            return Err(SecretConfigError::Empty("secrets".to_owned()));
        }
        Ok(Self { default, by_key })
    }

    /// The secrets for `key`: its own set if it has one, otherwise the default set.
    pub fn for_key(&self, key: Option<&str>) -> Option<&SecretSet> {
        self.scoped(key).map(|(_, set)| set)
    }

    /// The secrets for `key` (its own set if it has one, otherwise the default set) and the
    /// [`Scope`] of what they verify: [`Scope::Channel`] for any key, whichever set checks it,
    /// so that giving a key secrets of its own does not move its records;
    /// [`Scope::Default`] without a key (an empty key is none).
    pub fn scoped(&self, key: Option<&str>) -> Option<(Scope, &SecretSet)> {
        let key = key.filter(|k| !k.is_empty());
        let set = key
            .and_then(|k| self.by_key.get(k))
            .or(self.default.as_ref())?;
        Some((
            key.map_or(Scope::Default, |k| Scope::Channel(k.to_owned())),
            set,
        ))
    }

    /// Whether `key` has secrets of its own (under `channels`).
    pub fn has_own(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// The keys (Hatif channels) that have secrets of their own.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    /// The default set, used by providers whose secrets are not per key.
    pub fn default_set(&self) -> Option<&SecretSet> {
        self.default.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secret_bytes() {
        let keyring = Keyring::from_json(
            r#"{"secrets":{"a":"hunter2-default"},"channels":{"c1":{"b":"hunter2-channel"}}}"#,
        )
        .expect("valid");
        let shown = format!("{keyring:?} {:?}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn channel_set_wins_and_default_is_fallback() {
        let keyring = Keyring::from_json(r#"{"secrets":{"d":"x"},"channels":{"c1":{"c":"y"}}}"#)
            .expect("valid");
        let ids = |set: &SecretSet| set.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(keyring.for_key(Some("c1")).expect("c1")), ["c"]);
        assert_eq!(ids(keyring.for_key(Some("other")).expect("default")), ["d"]);
        assert_eq!(ids(keyring.for_key(None).expect("default")), ["d"]);
    }

    /// A key's scope is the key, whether its own secrets or the default ones check it: a
    /// channel given secrets of its own keeps its scope (its records stay where they are).
    #[test]
    fn scopes_name_the_key_whichever_set_checks_it() {
        let keyring = Keyring::from_json(r#"{"secrets":{"d":"x"},"channels":{"c1":{"c":"y"}}}"#)
            .expect("valid");
        let scope = |key| keyring.scoped(key).map(|(scope, _)| scope);
        assert_eq!(scope(Some("c1")), Some(Scope::Channel("c1".into())));
        assert_eq!(scope(Some("c2")), Some(Scope::Channel("c2".into())));
        assert_eq!(scope(None), Some(Scope::Default));
        assert_eq!(
            scope(Some("")),
            Some(Scope::Default),
            "an empty key is none"
        );
        assert!(keyring.has_own("c1") && !keyring.has_own("c2"));
        for s in [Scope::Default, Scope::Channel("5f6d:x".into())] {
            assert_eq!(s.to_string().parse::<Scope>(), Ok(s));
        }
        assert!("channel:".parse::<Scope>().is_err());
        assert!("other".parse::<Scope>().is_err());
    }

    #[test]
    fn channels_only_has_no_fallback() {
        let keyring = Keyring::from_json(r#"{"channels":{"c1":{"c":"y"}}}"#).expect("valid");
        assert!(keyring.for_key(Some("c2")).is_none());
        assert!(keyring.for_key(None).is_none());
    }

    #[test]
    fn rejects_empty_and_malformed_configuration() {
        assert_eq!(
            Keyring::from_json("{}").expect_err("empty"),
            SecretConfigError::Empty("secrets".into())
        );
        assert_eq!(
            Keyring::from_json(r#"{"secrets":{"a":""}}"#).expect_err("empty value"),
            SecretConfigError::EmptySecret("a".into())
        );
        assert_eq!(
            Keyring::from_json(r#"{"channels":{"c":{}}}"#).expect_err("empty channel"),
            SecretConfigError::Empty("channels.c".into())
        );
        // An empty channel id would be a set no body can select.
        assert_eq!(
            Keyring::from_json(r#"{"secrets":{"d":"x"},"channels":{"":{"c":"y"}}}"#)
                .expect_err("empty channel id"),
            SecretConfigError::EmptyKey
        );
        let err = Keyring::from_json(r#"{"secret":{"a":"b"}}"#).expect_err("typo");
        assert!(matches!(err, SecretConfigError::Json(_)));
        assert!(!err.to_string().contains('b'.to_string().repeat(2).as_str()));
    }

    /// An array with the members in order (`[{"id": "secret"}]`) used to be accepted as a
    /// keyring with default secrets.
    #[test]
    fn arrays_are_not_keyrings() {
        for json in [r#"[{"a":"s"}]"#, r#" [{"a":"s"},{"c1":{"b":"t"}}]"#] {
            assert_eq!(
                Keyring::from_json(json).expect_err(json),
                SecretConfigError::Json("expected a JSON object".into())
            );
        }
    }

    /// A document of the wrong shape used to be reported with serde_json's message, which
    /// quotes the offending value: a secret, printed in the function's start-up error.
    #[test]
    fn errors_never_quote_a_value() {
        for (json, expected) in [
            (
                r#"{"secrets":"hunter2-secret"}"#,
                "wrong type or value at line 1 column 27",
            ),
            (
                r#"{"channels":{"c1":"hunter2-secret"}}"#,
                "wrong type or value at line 1 column 34",
            ),
            (
                r#"{"secrets":{"a":1234567890}}"#,
                "wrong type or value at line 1 column 26",
            ),
            (r#"["hunter2-secret"]"#, "expected a JSON object"),
            (
                r#"{"secrets":{"a":"hunter2-secret""#,
                "truncated JSON at line 1 column 32",
            ),
            (
                r#"{"secrets":{"a":"hunter2-secret"}x"#,
                "not valid JSON at line 1 column 34",
            ),
            (
                r#"{"secret":{"a":"hunter2-secret"}}"#,
                "unknown field `secret`, expected `secrets` or `channels` at line 1 column 9",
            ),
        ] {
            let err = Keyring::from_json(json).expect_err(json);
            assert_eq!(err, SecretConfigError::Json(expected.into()), "{json}");
            for secret in ["hunter2", "1234567890"] {
                assert!(!err.to_string().contains(secret), "{err}");
            }
        }
    }
}
