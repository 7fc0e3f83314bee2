//! The spool: raw deliveries written to S3 when DynamoDB is unavailable, for providers that
//! never retry (the post-call webhook). `callvault-replay` re-ingests them.

use base64::Engine;
use callvault_records::Provider;
use callvault_verify::{Authentication, Verified};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Delivery, RecordStore, StoreError};

/// Key prefix of spooled deliveries in the archive bucket.
pub const SPOOL_PREFIX: &str = "spool/";

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
            .map_err(|e| StoreError::Corrupt(format!("spooled body: {e}")))?;
        let auth: Authentication = self.authentication.parse().map_err(StoreError::Corrupt)?;
        Ok(Verified::reinstate(body, auth))
    }
}

impl RecordStore {
    /// Writes a delivery to the spool and returns its key.
    pub async fn spool(&self, delivery: &Delivery<'_>) -> Result<String, StoreError> {
        let spooled = SpooledDelivery {
            provider: delivery.provider,
            webhook: delivery.webhook.to_owned(),
            received_at: delivery.received_at,
            authentication: delivery.verified.authentication().to_string(),
            headers: delivery.headers.clone(),
            body_base64: base64::engine::general_purpose::STANDARD.encode(delivery.verified.body()),
        };
        let key = format!(
            "{SPOOL_PREFIX}{}/{}/{}-{}.json",
            delivery.provider,
            delivery.day(),
            delivery.received_at.format("%H%M%S%.3f"),
            &delivery.body_sha256()[..16]
        );
        let json = serde_json::to_vec(&spooled).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put_object(&key, json, "application/json").await?;
        Ok(key)
    }

    /// Keys of every spooled delivery, oldest day first.
    pub async fn spooled_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .s3()
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(SPOOL_PREFIX)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(StoreError::sdk)?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// Reads one spooled delivery.
    pub async fn read_spooled(&self, key: &str) -> Result<SpooledDelivery, StoreError> {
        let bytes = self.get_object(key).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("spooled delivery {key}: {e}")))
    }

    /// Removes a spooled delivery once it has been ingested.
    pub async fn remove_spooled(&self, key: &str) -> Result<(), StoreError> {
        self.s3()
            .delete_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }
}
