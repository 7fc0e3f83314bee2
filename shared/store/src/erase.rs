//! Erasing one person's data everywhere the store put it: find what names them, plan its
//! removal (a typed [`ErasePlan`], what a dry run shows), and apply the plan, leaving an
//! [`ErasureReceipt`] with counts and no personal data. `docs/records.md` (Erasure) explains
//! what is looked at and the order of the work.
//!
//! A [`Selector`] names the person: a phone number (both number indexes), a contact or an
//! agent id (per provider), or one call. The plan holds, for every matching record: the
//! record item, its delivery events, each event's raw body in the bucket (every version;
//! a body another item outside the plan still has as its body stays, as
//! [`crate::expiry`] decides), every version of its archived files; and the kept deliveries
//! and spooled deliveries whose body names the person (read since [`EraseRequest::kept_since`]
//! and over every version in the spool).
//!
//! [`ErasePlan::steps`] orders the work so that an interrupted erase can be run again and
//! reaches the same end state: bucket objects first, then kept deliveries, then events, and
//! each record last (its index entries, which find it, go with it). Every step is
//! idempotent: a key without versions or an item already gone is nothing to do.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_records::{to_e164, Country, Provider};
use callvault_verify::Scope;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use thiserror::Error;

use crate::error::Service;
use crate::expiry::file_keys;
use crate::item::{get_s, s, Item};
use crate::record_store::dynamodb;
use crate::schema::{
    agent_pk, call_key, call_pk, contact_pk, events_prefix, rejected_pk, Index, BY_AGENT,
    BY_CONTACT, BY_FROM_NUMBER, BY_TO_NUMBER, CALL_SK, ERASURE_PK, PARTITION_KEY, SORT_KEY,
};
use crate::size::item_size;
use crate::spool::SPOOL_PREFIX;
use crate::{RecordStore, SpooledDelivery, StoreError};

/// How many days back kept deliveries are read when the store keeps them forever (a store
/// with a kept-delivery retention reads that many days, plus [`EXPIRY_LAG_DAYS`]).
pub const KEPT_LOOKBACK_DAYS: u32 = 365;
/// Days an expired item may stay in the table before DynamoDB deletes it.
pub const EXPIRY_LAG_DAYS: u32 = 2;
/// The principal recorded on a receipt when the caller's identity is not known.
pub const UNKNOWN_PRINCIPAL: &str = "unknown";

/// Why an erase could not be planned or applied.
#[derive(Debug, Error)]
pub enum EraseError {
    /// A selector's id or number is empty.
    #[error("the {0} to erase is empty: give the value to look for")]
    EmptySelector(&'static str),
    /// Reading or deleting failed; running the same erase again continues where it stopped.
    #[error("erasing stopped (run the same erase again to finish it)")]
    Store(#[from] StoreError),
}

/// Whose data to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Calls from or to this number, and kept or spooled deliveries naming it in any format.
    Phone {
        /// The number in E.164 (the form the number indexes hold).
        e164: String,
        /// The country numbers written without their country code are read in, when known.
        country: Option<Country>,
    },
    /// Calls of one contact (and the contact's own record).
    Contact {
        /// Only this provider's contact (else every provider's with this id).
        provider: Option<Provider>,
        /// The provider's contact id.
        id: String,
    },
    /// Calls of one agent.
    Agent {
        /// Only this provider's agent (else every provider's with this id).
        provider: Option<Provider>,
        /// The provider's agent id.
        id: String,
    },
    /// One call.
    Call {
        /// Its provider.
        provider: Provider,
        /// The provider's call id.
        call_id: String,
        /// Only the record of this scope (else every scope's).
        scope: Option<Scope>,
    },
}

/// Which kind of selector an erase was asked with: what a receipt records (never its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectorKind {
    /// A phone number.
    Phone,
    /// A contact id.
    Contact,
    /// An agent id.
    Agent,
    /// One call.
    Call,
}

impl SelectorKind {
    /// The kind's name, as receipts and outputs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Contact => "contact",
            Self::Agent => "agent",
            Self::Call => "call",
        }
    }
}

impl Selector {
    /// Which kind of selector this is.
    pub fn kind(&self) -> SelectorKind {
        match self {
            Self::Phone { .. } => SelectorKind::Phone,
            Self::Contact { .. } => SelectorKind::Contact,
            Self::Agent { .. } => SelectorKind::Agent,
            Self::Call { .. } => SelectorKind::Call,
        }
    }

    fn check(&self) -> Result<(), EraseError> {
        let (value, what) = match self {
            Self::Phone { e164, .. } => (e164, "phone number"),
            Self::Contact { id, .. } => (id, "contact id"),
            Self::Agent { id, .. } => (id, "agent id"),
            Self::Call { call_id, .. } => (call_id, "call id"),
        };
        if value.trim().is_empty() {
            return Err(EraseError::EmptySelector(what));
        }
        Ok(())
    }

    /// Whether a delivery body names the person: for a phone number, any run of digits
    /// (with the usual separators) that is the number in E.164, its digits, or the number
    /// written nationally in the selector's country; for an id, a JSON string or number
    /// equal to it (in a body that is not JSON, the id as a whole word).
    pub fn names(&self, body: &[u8]) -> bool {
        let text = String::from_utf8_lossy(body);
        match self {
            Self::Phone { e164, country } => phone_runs(&text).any(|run| {
                let digits: String = run.chars().filter(char::is_ascii_digit).collect();
                let wanted = e164.trim_start_matches('+');
                digits == wanted
                    || digits.strip_prefix("00") == Some(wanted)
                    || to_e164(run, None).as_deref() == Some(e164)
                    || country.is_some_and(|c| to_e164(run, Some(c)).as_deref() == Some(e164))
            }),
            Self::Contact { id, .. } | Self::Agent { id, .. } | Self::Call { call_id: id, .. } => {
                match serde_json::from_slice::<serde_json::Value>(body) {
                    Ok(value) => json_names(&value, id),
                    Err(_) => text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                        .any(|word| word == id),
                }
            }
        }
    }
}

/// Runs of characters that can write a phone number (digits and separators), with at least
/// six digits.
fn phone_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_digit() || " -().+/".contains(c)))
        .map(str::trim)
        .filter(|run| run.chars().filter(char::is_ascii_digit).count() >= 6)
}

fn json_names(value: &serde_json::Value, id: &str) -> bool {
    use serde_json::Value;
    match value {
        Value::String(v) => v == id,
        Value::Number(n) => n.to_string() == id,
        Value::Array(values) => values.iter().any(|v| json_names(v, id)),
        Value::Object(map) => map.values().any(|v| json_names(v, id)),
        _ => false,
    }
}

/// An erase to plan: who, and how far back kept deliveries are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseRequest {
    /// Whose data.
    pub selector: Selector,
    /// The first day whose kept deliveries are read ([`RecordStore::kept_lookback`]).
    pub kept_since: NaiveDate,
}

/// What kind of table item a plan removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A kept delivery naming the person.
    Kept,
    /// A delivery event of a matching record.
    Event,
    /// A matching record (a call, or a contact's own record).
    Record,
}

/// What kind of bucket object a plan removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// An archived file of a record (recording, transcript, media).
    File,
    /// A raw body under `raw/` (an event's or a kept delivery's).
    Body,
    /// A spooled delivery naming the person.
    Spooled,
}

/// A table item a plan removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedItem {
    /// What it is.
    pub kind: ItemKind,
    /// Its partition key.
    pub pk: String,
    /// Its sort key.
    pub sk: String,
    /// Its size as DynamoDB counts it.
    pub bytes: u64,
}

/// A bucket key a plan removes, every version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedObject {
    /// What it is.
    pub kind: ObjectKind,
    /// Its key.
    pub key: String,
    /// Its versions and delete markers.
    pub versions: usize,
    /// The bytes of its versions.
    pub bytes: u64,
}

/// One unit of an erase's work ([`ErasePlan::steps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraseStep {
    /// Delete every version of a bucket key.
    Object(PlannedObject),
    /// Delete a table item.
    Item(PlannedItem),
}

/// How much an erase removes (or removed): what a receipt records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseCounts {
    /// Record items.
    pub records: u64,
    /// Delivery event items.
    pub events: u64,
    /// Kept delivery items.
    pub kept: u64,
    /// Spooled deliveries (bucket keys).
    pub spooled: u64,
    /// Bucket keys (files, raw bodies and spooled deliveries).
    pub objects: u64,
    /// Object versions and delete markers over those keys.
    pub versions: u64,
    /// Bytes of items and object versions.
    pub bytes: u64,
}

/// Every item and object an erase removes, found by [`RecordStore::plan_erase`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasePlan {
    /// The kind of selector asked.
    pub selector: SelectorKind,
    /// Table items, in the order they go.
    pub items: Vec<PlannedItem>,
    /// Bucket keys, each with every version.
    pub objects: Vec<PlannedObject>,
    /// Raw bodies of matching events left in place because an item outside the plan (an
    /// older kept delivery not read, another record) still has them as its body.
    pub shared_bodies: Vec<String>,
}

impl ErasePlan {
    /// How much the plan removes.
    pub fn counts(&self) -> EraseCounts {
        let items = |kind| self.items.iter().filter(|i| i.kind == kind).count() as u64;
        EraseCounts {
            records: items(ItemKind::Record),
            events: items(ItemKind::Event),
            kept: items(ItemKind::Kept),
            spooled: self
                .objects
                .iter()
                .filter(|o| o.kind == ObjectKind::Spooled)
                .count() as u64,
            objects: self.objects.len() as u64,
            versions: self.objects.iter().map(|o| o.versions as u64).sum(),
            bytes: self.items.iter().map(|i| i.bytes).sum::<u64>()
                + self.objects.iter().map(|o| o.bytes).sum::<u64>(),
        }
    }

    /// Whether there is nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.objects.is_empty()
    }

    /// The work in the order it is done: every bucket key first (files, bodies, spooled
    /// deliveries), then kept deliveries, then events, then records last, so that what
    /// finds the rest (a record through its index entries, an event through its record, a
    /// kept delivery through its body) goes after what it finds.
    pub fn steps(&self) -> Vec<EraseStep> {
        let mut items = self.items.clone();
        items.sort_by(|a, b| (a.kind, &a.pk, &a.sk).cmp(&(b.kind, &b.pk, &b.sk)));
        self.objects
            .iter()
            .cloned()
            .map(EraseStep::Object)
            .chain(items.into_iter().map(EraseStep::Item))
            .collect()
    }
}

/// The record of one applied erase: what was asked (the selector's kind, never its value),
/// when, by whom, and how much went. Stored under [`ERASURE_PK`], without an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    /// Its id (its sort key: the time, then a short digest).
    pub id: String,
    /// The kind of selector asked.
    pub selector: SelectorKind,
    /// When the erase finished.
    pub erased_at: DateTime<Utc>,
    /// The AWS principal (ARN) that ran it, or [`UNKNOWN_PRINCIPAL`].
    pub principal: String,
    /// What went.
    pub counts: EraseCounts,
}

impl RecordStore {
    /// The first day whose kept deliveries an erase reads by default: as many days back as
    /// kept deliveries are kept (plus [`EXPIRY_LAG_DAYS`]), or [`KEPT_LOOKBACK_DAYS`] when
    /// this store keeps them forever or was not told.
    pub fn kept_lookback(&self, today: NaiveDate) -> NaiveDate {
        let days = self
            .retention()
            .and_then(|r| r.kept_days)
            .map_or(KEPT_LOOKBACK_DAYS, |d| d + EXPIRY_LAG_DAYS);
        today - chrono::Days::new(u64::from(days))
    }

    /// Finds everything `request` names and plans its removal, writing nothing.
    pub async fn plan_erase(&self, request: &EraseRequest) -> Result<ErasePlan, EraseError> {
        request.selector.check()?;
        let mut items: BTreeMap<(String, String), PlannedItem> = BTreeMap::new();
        let mut event_images = Vec::new();
        let mut file_keys_found = BTreeSet::new();
        for (pk, sk) in self.matching_records(&request.selector).await? {
            let Some(record) = self.raw_item(&pk, &sk).await? else {
                continue;
            };
            file_keys_found.extend(file_keys(&record)?);
            add_item(&mut items, ItemKind::Record, &record);
            let mut events = self.query_prefix(&pk, &events_prefix(&sk)).await?;
            events.retain(|e| get_s(e, "record_sk") == Some(sk.as_str()));
            for event in events {
                add_item(&mut items, ItemKind::Event, &event);
                event_images.push(event);
            }
        }
        let mut body_keys = BTreeSet::new();
        for kept in self
            .kept_naming(&request.selector, request.kept_since)
            .await?
        {
            if let Some(key) = self.raw_body_key(&kept) {
                body_keys.insert(key);
            }
            add_item(&mut items, ItemKind::Kept, &kept);
        }
        let going = |pk: &str, sk: &str| items.contains_key(&(pk.to_owned(), sk.to_owned()));
        let mut shared_bodies = Vec::new();
        for event in &event_images {
            let Some(key) = self.raw_body_key(event) else {
                continue;
            };
            if body_keys.contains(&key) {
                continue;
            }
            if self.raw_body_shared(event, &key, &going).await? {
                shared_bodies.push(key);
            } else {
                body_keys.insert(key);
            }
        }
        shared_bodies.retain(|k| !body_keys.contains(k));
        shared_bodies.sort();
        shared_bodies.dedup();
        let mut objects = Vec::new();
        for (kind, keys) in [
            (ObjectKind::File, file_keys_found),
            (ObjectKind::Body, body_keys),
        ] {
            for key in keys {
                objects.push(self.planned_object(kind, key).await?);
            }
        }
        for key in self.spooled_naming(&request.selector).await? {
            objects.push(self.planned_object(ObjectKind::Spooled, key).await?);
        }
        Ok(ErasePlan {
            selector: request.selector.kind(),
            items: items.into_values().collect(),
            objects,
            shared_bodies,
        })
    }

    /// Does one step of a plan; returns how many object versions it deleted. Idempotent.
    pub async fn erase_step(&self, step: &EraseStep) -> Result<usize, EraseError> {
        match step {
            EraseStep::Object(object) => Ok(self.delete_every_version(&object.key).await?),
            EraseStep::Item(item) => {
                self.delete_item(&item.pk, &item.sk).await?;
                Ok(0)
            }
        }
    }

    /// Applies `plan` step by step ([`ErasePlan::steps`]) and then stores and returns its
    /// receipt, naming `principal` (an AWS principal ARN, or [`UNKNOWN_PRINCIPAL`]).
    pub async fn apply_erase(
        &self,
        plan: &ErasePlan,
        principal: &str,
    ) -> Result<ErasureReceipt, EraseError> {
        for step in plan.steps() {
            self.erase_step(&step).await?;
        }
        let erased_at = Utc::now();
        let digest = sha2::Sha256::digest(format!(
            "{}#{}#{principal}",
            erased_at.timestamp_nanos_opt().unwrap_or_default(),
            std::process::id()
        ));
        let receipt = ErasureReceipt {
            id: format!(
                "{}#{}",
                crate::timestamp(erased_at),
                &hex::encode(digest)[..8]
            ),
            selector: plan.selector,
            erased_at,
            principal: principal.to_owned(),
            counts: plan.counts(),
        };
        let mut item: Item = serde_dynamo::to_item(&receipt).map_err(StoreError::from)?;
        item.insert(PARTITION_KEY.into(), s(ERASURE_PK));
        item.insert(SORT_KEY.into(), s(&receipt.id));
        item.insert("kind".into(), s("erasure"));
        self.put(item).await?;
        Ok(receipt)
    }

    /// Every erasure receipt, newest first.
    pub async fn erasure_receipts(&self) -> Result<Vec<ErasureReceipt>, StoreError> {
        let mut receipts = self
            .query_prefix(ERASURE_PK, "")
            .await?
            .into_iter()
            .map(|mut item| {
                item.remove(PARTITION_KEY);
                item.remove(SORT_KEY);
                item.remove("kind");
                serde_dynamo::from_item(item).map_err(StoreError::from)
            })
            .collect::<Result<Vec<ErasureReceipt>, _>>()?;
        receipts.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(receipts)
    }

    /// The `(pk, sk)` of every record the selector names.
    async fn matching_records(
        &self,
        selector: &Selector,
    ) -> Result<BTreeSet<(String, String)>, StoreError> {
        let providers = |p: &Option<Provider>| p.map_or(Provider::ALL.to_vec(), |p| vec![p]);
        let mut found = BTreeSet::new();
        match selector {
            Selector::Phone { e164, .. } => {
                for index in [BY_FROM_NUMBER, BY_TO_NUMBER] {
                    found.extend(self.index_keys(index, e164).await?);
                }
            }
            Selector::Agent { provider, id } => {
                for p in providers(provider) {
                    found.extend(self.index_keys(BY_AGENT, &agent_pk(p, id)).await?);
                }
            }
            Selector::Contact { provider, id } => {
                for p in providers(provider) {
                    found.extend(self.index_keys(BY_CONTACT, &contact_pk(p, id)).await?);
                    // The contact's own record: `CONTACT#<provider>#<id>`, one per scope.
                    let pk = format!("CONTACT#{p}#{id}");
                    for item in self.query_prefix(&pk, "CONTACT").await? {
                        if let Some(sk) = get_s(&item, SORT_KEY) {
                            found.insert((pk.clone(), sk.to_owned()));
                        }
                    }
                }
            }
            Selector::Call {
                provider,
                call_id,
                scope,
            } => match scope {
                Some(scope) => {
                    found.insert(call_key(*provider, Some(scope), call_id));
                }
                None => {
                    let pk = call_pk(*provider, call_id);
                    for item in self.query_prefix(&pk, CALL_SK).await? {
                        if let Some(sk) = get_s(&item, SORT_KEY) {
                            found.insert((pk.clone(), sk.to_owned()));
                        }
                    }
                }
            },
        }
        Ok(found)
    }

    /// The table keys of the items an index holds under `value`.
    async fn index_keys(
        &self,
        index: Index,
        value: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb()
                .query()
                .table_name(self.table())
                .index_name(index.name)
                .key_condition_expression("#h = :h")
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#h", index.hash)
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(":h", s(value))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb("Query"))?;
            for item in out.items() {
                if let (Some(pk), Some(sk)) = (get_s(item, PARTITION_KEY), get_s(item, SORT_KEY)) {
                    keys.push((pk.to_owned(), sk.to_owned()));
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(keys),
            }
        }
    }

    /// The kept deliveries of every provider received from `since` to today whose body
    /// names the person. A kept delivery whose body was in the bucket and has no version
    /// left is included too: only an erase removes a kept delivery's body before the item
    /// (its own, interrupted), and such an item has nothing left to inspect.
    async fn kept_naming(
        &self,
        selector: &Selector,
        since: NaiveDate,
    ) -> Result<Vec<Item>, StoreError> {
        let today = Utc::now().date_naive();
        let mut found = Vec::new();
        for provider in Provider::ALL {
            for day in since.iter_days().take_while(|d| *d <= today) {
                let pk = rejected_pk(provider, &day.format("%Y-%m-%d").to_string());
                for item in self.query_prefix(&pk, "").await? {
                    let body = match item.get("body") {
                        Some(AttributeValue::B(b)) => Some(b.as_ref().to_vec()),
                        _ => match self.raw_body_key(&item) {
                            Some(key) => self.current_body(&key).await?,
                            None => None,
                        },
                    };
                    if body.is_none_or(|b| selector.names(&b)) {
                        found.push(item);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The newest version of `key`'s bytes, `None` when no version is left.
    async fn current_body(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut versions = self.versions(key).await?;
        versions.sort_by_key(|v| std::cmp::Reverse(v.written));
        for version in versions {
            if let Some(bytes) = self.version_bytes(key, &version.id).await? {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// One version's bytes; `None` for a delete marker or a version gone meanwhile.
    async fn version_bytes(&self, key: &str, version: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let out = match self
            .s3()
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .version_id(version)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 404 | 405)) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(StoreError::request(Service::S3, "GetObject", e)),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::local(Service::S3, "GetObject", e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Every spool key (over every version, applied deliveries included) one of whose
    /// versions holds a delivery naming the person.
    async fn spooled_naming(&self, selector: &Selector) -> Result<Vec<String>, StoreError> {
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, version) in self.versions_under(SPOOL_PREFIX).await? {
            // Delete markers (and empty objects) hold no delivery to read.
            if version.bytes > 0 {
                versions.entry(key).or_default().push(version.id);
            }
        }
        let mut found = Vec::new();
        'keys: for (key, ids) in versions {
            for id in ids {
                let Some(bytes) = self.version_bytes(&key, &id).await? else {
                    continue;
                };
                // A spool object that is not a delivery is not this module's to judge.
                let Ok(spooled) = serde_json::from_slice::<SpooledDelivery>(&bytes) else {
                    continue;
                };
                let body = spooled.verified().map(|v| v.body().to_vec());
                if body.is_ok_and(|b| selector.names(&b)) {
                    found.push(key);
                    continue 'keys;
                }
            }
        }
        Ok(found)
    }

    /// A bucket key with its versions counted.
    async fn planned_object(
        &self,
        kind: ObjectKind,
        key: String,
    ) -> Result<PlannedObject, StoreError> {
        let versions = self.versions(&key).await?;
        Ok(PlannedObject {
            kind,
            versions: versions.len(),
            bytes: versions.iter().map(|v| v.bytes).sum(),
            key,
        })
    }
}

fn add_item(items: &mut BTreeMap<(String, String), PlannedItem>, kind: ItemKind, item: &Item) {
    let text = |name| get_s(item, name).unwrap_or_default().to_owned();
    let (pk, sk) = (text(PARTITION_KEY), text(SORT_KEY));
    items.insert(
        (pk.clone(), sk.clone()),
        PlannedItem {
            kind,
            pk,
            sk,
            bytes: item_size(item) as u64,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(e164: &str, country: Option<&str>) -> Selector {
        Selector::Phone {
            e164: e164.into(),
            country: country.map(|c| c.parse().expect("a country")),
        }
    }

    #[test]
    fn a_number_is_found_in_every_common_format() {
        let person = phone("+14155550100", Some("US"));
        for body in [
            r#"{"from":"+14155550100"}"#,
            r#"{"from":"+1 (415) 555-0100"}"#,
            r#"{"caller":"14155550100"}"#,
            r#"{"caller":"(415) 555-0100"}"#,
            r#"{"caller":"001 415 555 0100"}"#,
            "from=415.555.0100&to=x",
        ] {
            assert!(person.names(body.as_bytes()), "{body}");
        }
        for body in [
            r#"{"from":"+14155550199"}"#,
            r#"{"from":"+44 20 7946 0958","id":"4155550"}"#,
        ] {
            assert!(!person.names(body.as_bytes()), "{body}");
        }
        assert!(
            !phone("+14155550100", None).names(br#"{"caller":"(415) 555-0100"}"#),
            "a national number needs the country"
        );
    }

    #[test]
    fn ids_match_whole_values_only() {
        let contact = Selector::Contact {
            provider: None,
            id: "c-42".into(),
        };
        assert!(contact.names(br#"{"contact":{"id":"c-42"}}"#));
        assert!(!contact.names(br#"{"contact":{"id":"c-421"}}"#));
        assert!(contact.names(b"contact=c-42&x=1"));
        let agent = Selector::Agent {
            provider: None,
            id: "17".into(),
        };
        assert!(agent.names(br#"{"agent_id":17}"#));
        assert!(!agent.names(br#"{"agent_id":170}"#));
    }

    #[test]
    fn work_goes_objects_first_and_records_last() {
        let item = |kind, sk: &str| PlannedItem {
            kind,
            pk: "CALL#voki#c1".into(),
            sk: sk.into(),
            bytes: 10,
        };
        let plan = ErasePlan {
            selector: SelectorKind::Phone,
            items: vec![
                item(ItemKind::Record, "CALL"),
                item(ItemKind::Event, "EVENT#CALL#a"),
                item(ItemKind::Kept, "abc"),
            ],
            objects: vec![PlannedObject {
                kind: ObjectKind::File,
                key: "recordings/x".into(),
                versions: 2,
                bytes: 5,
            }],
            shared_bodies: vec![],
        };
        let order: Vec<String> = plan
            .steps()
            .iter()
            .map(|s| match s {
                EraseStep::Object(o) => o.key.clone(),
                EraseStep::Item(i) => i.sk.clone(),
            })
            .collect();
        assert_eq!(order, ["recordings/x", "abc", "EVENT#CALL#a", "CALL"]);
        let counts = plan.counts();
        assert_eq!(
            (
                counts.records,
                counts.events,
                counts.kept,
                counts.versions,
                counts.bytes
            ),
            (1, 1, 1, 2, 35)
        );
    }
}
