//! `callvault secrets`: connect a provider and rotate its secret, in the Secrets Manager
//! secret the functions read. The functions pick a change up by themselves: a delivery signed
//! with a secret they do not hold yet makes them read the secret again (at once, at most every
//! 30 s), and a delivery arriving 5 minutes or more after their last read makes them read it
//! again in the background (so a removed secret stops working from the first read after 5
//! minutes). Values are shown only when created, never listed.
//!
//! A Hatif channel's first secret of its own does not lock the channel out: until then the
//! default secrets checked its deliveries, and Hatif goes on signing them with the one it
//! holds until told to switch, so `add` (and `rotate`) carry the default secrets over into the
//! channel's set, named `default:<id>` ([`CARRIED_PREFIX`]), for the operator to remove once
//! Hatif uses the new secret.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_secretsmanager::Client;
use callvault_catalog::Webhook;
use callvault_records::Provider;
use callvault_verify::{Keyring, Secret, SharedToken};
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// A provider's secrets document, as the functions read it (see the README).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    /// The default secrets, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Hatif's per-channel secrets: channel id, then id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, BTreeMap<String, String>>,
}

/// How a default secret carried over into a channel's own set is named: `default:<id>`.
pub const CARRIED_PREFIX: &str = "default:";

/// One secret as listed: where it applies and its id (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// The provider.
    pub provider: Provider,
    /// `default`, or `channel:<id>`.
    pub scope: String,
    /// The secret's id.
    pub id: String,
}

/// What `secrets add` (or `rotate`) created: the value to paste, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    /// The provider.
    pub provider: Provider,
    /// `default`, or `channel:<id>`.
    pub scope: String,
    /// The new secret's id.
    pub id: String,
    /// The new secret (or token).
    pub value: String,
    /// Ids still active beside it (to remove once the provider uses the new one).
    pub others: Vec<String>,
    /// The default secrets carried over into the channel's set with this, its first secret
    /// of its own (`default:<id>`): the channel keeps accepting them until they are removed.
    pub carried_over: Vec<String>,
    /// Where each webhook of the provider takes it, with the URL to give it.
    pub paste: Vec<Paste>,
}

/// One webhook's connection instructions.
#[derive(Debug, Clone, Serialize)]
pub struct Paste {
    /// The webhook.
    pub webhook: String,
    /// Where it goes.
    pub place: String,
    /// The URL to give the provider (post-call: with the token).
    pub url: Option<String>,
}

impl Doc {
    fn set(&mut self, channel: Option<&str>) -> &mut BTreeMap<String, String> {
        match channel {
            Some(c) => self.channels.entry(c.to_owned()).or_default(),
            None => &mut self.secrets,
        }
    }

    /// Every secret's scope and id.
    pub fn listed(&self, provider: Provider) -> Vec<Listed> {
        let default = self.secrets.keys().map(|id| (scope_name(None), id));
        let channels = self
            .channels
            .iter()
            .flat_map(|(c, set)| set.keys().map(move |id| (scope_name(Some(c)), id)));
        default
            .chain(channels)
            .map(|(scope, id)| Listed {
                provider,
                scope,
                id: id.clone(),
            })
            .collect()
    }

    /// Adds `value` under `id` (for `channel`, or the default secrets); refuses an id in use.
    pub fn add(&mut self, channel: Option<&str>, id: &str, value: &str) -> anyhow::Result<()> {
        if id.trim().is_empty() || value.is_empty() {
            return Err(CliError::Usage("a secret needs an id and a value".into()).into());
        }
        let set = self.set(channel);
        if set.contains_key(id) {
            return Err(CliError::Usage(format!(
                "a secret with id {id} exists already{}: pick another --id",
                scope_text(channel)
            ))
            .into());
        }
        set.insert(id.to_owned(), value.to_owned());
        Ok(())
    }

    /// When `channel` has no secrets of its own yet, copies the default secrets into its set
    /// under `default:<id>` ([`CARRIED_PREFIX`]): they checked its deliveries until now, and
    /// the provider keeps signing with them until it is told to switch. Returns the ids given
    /// (none when the channel has secrets already, or there are no default ones).
    pub fn carry_over_defaults(&mut self, channel: &str) -> Vec<String> {
        if self.channels.contains_key(channel) || self.secrets.is_empty() {
            return Vec::new();
        }
        let carried: BTreeMap<String, String> = self
            .secrets
            .iter()
            .map(|(id, value)| (format!("{CARRIED_PREFIX}{id}"), value.clone()))
            .collect();
        let ids = carried.keys().cloned().collect();
        self.channels.insert(channel.to_owned(), carried);
        ids
    }

    /// Removes secret `id`; refuses to leave no secret at all (the functions would refuse
    /// every delivery, and not start).
    pub fn remove(&mut self, channel: Option<&str>, id: &str) -> anyhow::Result<()> {
        let mut after = self.clone();
        let set = after.set(channel);
        if set.remove(id).is_none() {
            return Err(CliError::NotFound(format!(
                "no secret with id {id}{} (`callvault secrets list` names them)",
                scope_text(channel)
            ))
            .into());
        }
        if let Some(c) = channel.filter(|_| set.is_empty()) {
            after.channels.remove(c);
        }
        if after.secrets.is_empty() && after.channels.is_empty() {
            return Err(CliError::Usage(format!(
                "{id} is the last secret: add its successor first (`callvault secrets rotate`)"
            ))
            .into());
        }
        *self = after;
        Ok(())
    }

    /// The document as the functions read it, checked the way they check it.
    pub fn to_json(&self) -> anyhow::Result<String> {
        let json = serde_json::to_string(self)?;
        Keyring::from_json(&json).context("the secrets would not be a valid configuration")?;
        Ok(json)
    }
}

/// The scope a secret of `channel` (or a default secret) is listed under: `default`, or
/// `channel:<id>`.
pub fn scope_name(channel: Option<&str>) -> String {
    channel.map_or("default".into(), |c| format!("channel:{c}"))
}

fn scope_text(channel: Option<&str>) -> String {
    channel
        .map(|c| format!(" for channel {c}"))
        .unwrap_or_default()
}

/// A new secret: 32 random bytes, hex (URL-safe, so a token can go in a query string).
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// An id for a new secret: today's date, with a suffix if taken.
pub fn new_id(taken: &BTreeMap<String, String>) -> String {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    std::iter::once(today.clone())
        .chain((2..).map(|n| format!("{today}-{n}")))
        .find(|id| !taken.contains_key(id))
        .unwrap_or(today)
}

/// Reads a provider's secrets document (empty while the secret has no value yet, as the
/// template creates it).
pub async fn read(client: &Client, secret_id: &str) -> anyhow::Result<Doc> {
    let out = match client.get_secret_value().secret_id(secret_id).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
                && client
                    .describe_secret()
                    .secret_id(secret_id)
                    .send()
                    .await
                    .is_ok() =>
        {
            return Ok(Doc::default())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Err(CliError::NotFound(format!(
                "no secret {secret_id}: is the stack's provider enabled?"
            ))
            .into())
        }
        Err(e) => return Err(CliError::aws(format!("reading secret {secret_id}"), e).into()),
    };
    let json = out.secret_string.unwrap_or_default();
    if json.trim().is_empty() {
        return Ok(Doc::default());
    }
    // Values are never quoted in errors.
    serde_json::from_str(&json).map_err(|e| {
        anyhow::anyhow!(
            "secret {secret_id} is not a secrets document (line {} column {})",
            e.line(),
            e.column()
        )
    })
}

/// Writes a provider's secrets document as the secret's new current value.
pub async fn write(client: &Client, secret_id: &str, doc: &Doc) -> anyhow::Result<()> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(doc.to_json()?)
        .send()
        .await
        .map_err(|e| CliError::aws(format!("writing secret {secret_id}"), e))?;
    Ok(())
}

/// The webhooks that read `provider`'s secret, with where each takes it and the URL to give
/// (post-call: with the new token).
pub fn paste(
    provider: Provider,
    value: &str,
    url_of: impl Fn(Webhook) -> Option<String>,
) -> Vec<Paste> {
    Webhook::ALL
        .into_iter()
        .filter(|w| w.provider() == provider)
        .map(|w| Paste {
            webhook: w.name().to_owned(),
            place: w.where_to_paste().to_owned(),
            url: url_of(w).map(|url| match w.auth() {
                callvault_catalog::Auth::Token => {
                    format!("{url}?{}", SharedToken::query(&Secret::new(value)))
                }
                _ => url,
            }),
        })
        .collect()
}

/// The one webhook whose secret stands for `provider`'s (Hatif's two share one).
pub fn webhook_of(provider: Provider) -> Webhook {
    Webhook::ALL
        .into_iter()
        .find(|w| w.provider() == provider)
        .unwrap_or(Webhook::VoiceInfra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_change_without_losing_the_last_secret() {
        let mut doc: Doc =
            serde_json::from_str(r#"{"secrets":{"a":"x"},"channels":{"c1":{"b":"y"}}}"#)
                .expect("doc");
        doc.add(None, "n", "z").expect("added");
        assert!(doc.add(None, "n", "w").is_err(), "ids are unique");
        doc.add(Some("c2"), "m", "v").expect("a new channel");
        doc.remove(Some("c2"), "m").expect("removed");
        assert!(!doc.channels.contains_key("c2"), "an emptied channel goes");
        doc.remove(None, "a").expect("removed");
        doc.remove(None, "n").expect("the channel still has one");
        let err = doc.remove(Some("c1"), "b").expect_err("the last one");
        assert!(err.to_string().contains("last secret"), "{err}");
        let listed: Vec<_> = doc
            .listed(Provider::Hatif)
            .into_iter()
            .map(|l| (l.scope, l.id))
            .collect();
        assert_eq!(listed, [("channel:c1".to_owned(), "b".to_owned())]);
        assert!(doc.to_json().is_ok());
    }

    /// A channel checked with the default secrets until now keeps accepting them when it gets
    /// its first secret of its own; later secrets carry nothing over.
    #[test]
    fn a_channels_first_secret_carries_the_default_ones_over() {
        let mut doc: Doc =
            serde_json::from_str(r#"{"secrets":{"a":"x","b":"y"},"channels":{"c1":{"k":"z"}}}"#)
                .expect("doc");
        assert_eq!(doc.carry_over_defaults("c1"), Vec::<String>::new());
        assert_eq!(doc.carry_over_defaults("c2"), ["default:a", "default:b"]);
        doc.add(Some("c2"), "own", "w").expect("added");
        let keyring = Keyring::from_json(&doc.to_json().expect("valid")).expect("keyring");
        let ids: Vec<_> = keyring
            .for_key(Some("c2"))
            .expect("c2")
            .iter()
            .map(|(id, _)| id.to_string())
            .collect();
        assert_eq!(ids, ["default:a", "default:b", "own"]);
        assert_eq!(doc.carry_over_defaults("c2"), Vec::<String>::new());
        doc.remove(Some("c2"), "default:a")
            .expect("removed like any other");
        let mut none: Doc = serde_json::from_str(r#"{"channels":{"c1":{"k":"z"}}}"#).expect("doc");
        assert_eq!(none.carry_over_defaults("c3"), Vec::<String>::new());
        assert!(!none.channels.contains_key("c3"));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let (a, b) = (generate().expect("a"), generate().expect("b"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let taken: BTreeMap<String, String> = [(
            chrono::Utc::now().format("%Y-%m-%d").to_string(),
            String::new(),
        )]
        .into();
        assert!(new_id(&taken).ends_with("-2"));
        let paste = paste(Provider::PostCall, &a, |_| {
            Some("https://pc.example/".into())
        });
        assert_eq!(
            paste[0].url.as_deref(),
            Some(format!("https://pc.example/?token={a}").as_str())
        );
    }
}
