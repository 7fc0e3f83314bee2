//! The spool: authenticated deliveries written to S3 when DynamoDB fails or does not answer
//! in time, so that nothing acknowledged is lost. The spool replayer applies them once
//! DynamoDB is back (see `callvault_webhook::replay`).

use base64::Engine;
use callvault_records::Provider;
use callvault_verify::{Authentication, Scope, Verified};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Service;
use crate::{Delivery, RecordStore, StoreError};

/// Key prefix of spooled deliveries in the archive bucket.
pub const SPOOL_PREFIX: &str = "spool/";

/// The spool prefix of one webhook, `spool/<webhook>/`: the only part of the spool its
/// function writes, and (in AWS) the only one its role may write, so the prefix of a spooled
/// object says which webhook's function wrote it.
pub fn spool_prefix(webhook: &str) -> String {
    format!("{SPOOL_PREFIX}{webhook}/")
}

/// The webhook whose prefix a spool key is under (`spool/<webhook>/...`), if any.
pub fn spooled_by(key: &str) -> Option<&str> {
    key.strip_prefix(SPOOL_PREFIX)?
        .split_once('/')
        .map(|(webhook, _)| webhook)
        .filter(|webhook| !webhook.is_empty())
}

/// A spooled delivery: everything needed to ingest it later as if it had just arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledDelivery {
    /// The provider that sent it.
    pub provider: Provider,
    /// The webhook (function) that received it.
    pub webhook: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// How it was authenticated (`token:<id>`, ...).
    pub authentication: String,
    /// The secrets that authenticated it, for scoped providers (Hatif).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Kept request headers.
    pub headers: Vec<(String, String)>,
    /// The raw body, base64.
    pub body_base64: String,
}

impl SpooledDelivery {
    /// The authenticated body, reinstated from callvault's own storage.
    pub fn verified(&self) -> Result<Verified, StoreError> {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&self.body_base64)
            .map_err(|e| StoreError::malformed("spooled body", e))?;
        let auth: Authentication = self.authentication.parse().map_err(StoreError::Corrupt)?;
        let scope: Option<Scope> = self
            .scope
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(StoreError::Corrupt)?;
        Ok(Verified::reinstate_unchecked(body, auth, scope))
    }
}

impl RecordStore {
    /// Writes a delivery to the spool, under its webhook's prefix ([`spool_prefix`]):
    /// `spool/<webhook>/<YYYY-MM-DD>/<HHMMSS.mmm>-<first 16 hex of the body's SHA-256>.json`.
    /// Returns its key.
    pub async fn spool(&self, delivery: &Delivery<'_>) -> Result<String, StoreError> {
        let spooled = SpooledDelivery {
            provider: delivery.provider,
            webhook: delivery.webhook.to_owned(),
            received_at: delivery.received_at,
            authentication: delivery.verified.authentication().to_string(),
            scope: delivery.verified.scope().map(ToString::to_string),
            headers: delivery.headers.clone(),
            body_base64: base64::engine::general_purpose::STANDARD.encode(delivery.verified.body()),
        };
        let key = format!(
            "{}{}/{}-{}.json",
            spool_prefix(delivery.webhook),
            delivery.day(),
            delivery.received_at.format("%H%M%S%.3f"),
            &delivery.body_sha256()[..16]
        );
        let json = serde_json::to_vec(&spooled)
            .map_err(|e| StoreError::local(Service::S3, "PutObject", e))?;
        self.put_object(&key, json, "application/json").await?;
        Ok(key)
    }

    /// Keys of every spooled delivery, oldest day first.
    pub async fn spooled_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self
            .spooled_objects()
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// How many deliveries wait in the spool, and when the oldest was spooled.
    pub async fn spool_depth(&self) -> Result<(usize, Option<DateTime<Utc>>), StoreError> {
        let objects = self.spooled_objects().await?;
        let oldest = objects.iter().filter_map(|(_, at)| *at).min();
        Ok((objects.len(), oldest))
    }

    /// Every object in the spool, with when it was written.
    pub(crate) async fn spooled_objects(
        &self,
    ) -> Result<Vec<(String, Option<DateTime<Utc>>)>, StoreError> {
        let mut objects = Vec::new();
        let mut pages = self
            .s3()
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(SPOOL_PREFIX)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StoreError::request(Service::S3, "ListObjectsV2", e))?;
            objects.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| {
                        let at = o
                            .last_modified
                            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
                        Some((o.key?, at))
                    }),
            );
        }
        Ok(objects)
    }

    /// Reads one spooled delivery; `None` when it is no longer in the spool (applied and
    /// removed by another replayer).
    pub async fn read_spooled(&self, key: &str) -> Result<Option<SpooledDelivery>, StoreError> {
        let out = match self
            .s3()
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(StoreError::request(Service::S3, "GetObject", e)),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::local(Service::S3, "GetObject", e))?
            .into_bytes();
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::malformed(format!("spooled delivery {key}"), e))
    }

    /// Removes a spooled delivery once it has been applied (or kept).
    pub async fn remove_spooled(&self, key: &str) -> Result<(), StoreError> {
        self.delete_object(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_key_names_the_webhook_that_wrote_it() {
        let key = format!(
            "{}2026-11-27/100000.000-abcd.json",
            spool_prefix("hatif-call")
        );
        assert_eq!(key, "spool/hatif-call/2026-11-27/100000.000-abcd.json");
        assert_eq!(spooled_by(&key), Some("hatif-call"));
        assert_eq!(spooled_by("spool/x.json"), None);
        assert_eq!(spooled_by("spool//x.json"), None);
        assert_eq!(spooled_by("raw/voki/x"), None);
    }
}
