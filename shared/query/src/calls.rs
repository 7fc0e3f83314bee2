//! Calls: one call with its delivery history, and lists by time, number, agent, contact or
//! file state.

use std::collections::BTreeMap;

use callvault_records::{CallRecord, CallStatus, Normalized, Provider};
use callvault_store::files::Files;
use callvault_store::index::{CallSummary, Summary};
use callvault_store::schema::{
    agent_pk, call_pk, calls_pk, contact_pk, Index, BY_AGENT, BY_CONTACT, BY_FILE_STATE,
    BY_FROM_NUMBER, BY_PROVIDER_TIME, BY_TO_NUMBER, CALL_SK, CONFLICTS, SUMMARY,
};
use callvault_store::timestamp;
use callvault_store::{Item, StoreError, Stored};
use callvault_verify::Scope;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::input::FileState;
use crate::paged::{Filter, ListQuery, Order, Page, SortRange, Source};
use crate::{QueryError, Reader};

/// What to list calls by. Every field narrows the list; the most selective one chooses the
/// index (phone number, then agent, then contact, then file state, else time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Only this provider's calls.
    pub provider: Option<Provider>,
    /// Calls at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Calls before this time.
    pub until: Option<DateTime<Utc>>,
    /// Calls from or to this number (E.164).
    pub phone: Option<String>,
    /// Calls of this agent id.
    pub agent: Option<String>,
    /// Calls of this contact id.
    pub contact: Option<String>,
    /// Calls with this status.
    pub status: Option<CallStatus>,
    /// Calls with a file copy in this state.
    pub file_state: Option<FileState>,
}

/// One delivery applied to a record, as kept in its event entry (the body itself is not
/// included; `body_s3_uri` points at it when it was kept in S3). A body is kept once
/// however many times it arrived: a delivery's identity is its body's SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryEvent {
    /// The provider's own id of the delivery it first came with, where the provider sends one
    /// (Voki's `X-Voki-Delivery`); empty otherwise.
    pub delivery_id: String,
    /// The provider's event type.
    pub event_type: String,
    /// The webhook that received it.
    pub webhook: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// How it was authenticated.
    pub authentication: String,
    /// SHA-256 of the raw body.
    pub body_sha256: String,
    /// Where the raw body is, when it was too large to keep inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_s3_uri: Option<String>,
    /// Request headers kept with it (secrets removed).
    pub headers: BTreeMap<String, String>,
    /// The record fields in which this body differs from what the record keeps (the merge
    /// rules of docs/records.md decide which value stands); empty for most deliveries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// A call with its bookkeeping and delivery history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallDetail {
    /// The normalized record.
    pub record: CallRecord,
    /// Archive state of its files.
    pub files: Files,
    /// When its first delivery was received.
    pub received_at: String,
    /// When a delivery or the copier last changed it.
    pub updated_at: String,
    /// Changes applied so far.
    pub version: u64,
    /// How its first delivery was authenticated.
    pub authentication: String,
    /// The secrets that authenticated its deliveries, for scoped providers (Hatif):
    /// `channel:<channel id>` or `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How many deliveries were applied to it.
    pub delivery_count: u64,
    /// The deliveries merged into it, oldest first.
    pub events: Vec<DeliveryEvent>,
}

fn string_of(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn event_of(item: &Item) -> DeliveryEvent {
    DeliveryEvent {
        delivery_id: string_of(item, "delivery_id"),
        event_type: string_of(item, "event_type"),
        webhook: string_of(item, "webhook"),
        received_at: string_of(item, "received_at"),
        authentication: string_of(item, "authentication"),
        body_sha256: string_of(item, "body_sha256"),
        body_s3_uri: item.get("body_s3_uri").and_then(|v| v.as_s().ok()).cloned(),
        headers: item
            .get("headers")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
        conflicts: item
            .get(CONFLICTS)
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
    }
}

/// Reads the projected summary of a call item.
pub(crate) fn summary_of(item: &Item) -> Result<Summary, QueryError> {
    let value = item
        .get(SUMMARY)
        .cloned()
        .ok_or_else(|| StoreError::Corrupt("index item without summary".into()))?;
    Ok(serde_dynamo::from_attribute_value(value).map_err(StoreError::from)?)
}

/// The sort-key range of `[since, until)` on `time_sk` (`<time>#...` keys: a key at exactly
/// `since` sorts after `since`, one at exactly `until` after `until`).
pub(crate) fn time_range(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> SortRange {
    SortRange {
        from: since.map(timestamp),
        to: until.map(timestamp),
    }
}

impl CallFilter {
    fn providers(&self) -> Vec<Provider> {
        match self.provider {
            Some(p) => vec![p],
            None => Provider::ALL.to_vec(),
        }
    }

    fn per_provider(&self, index: Index, partition: impl Fn(Provider) -> String) -> Vec<Source> {
        self.providers()
            .into_iter()
            .map(|p| Source {
                index,
                partition: partition(p),
            })
            .collect()
    }

    /// The index partitions and filter that answer this filter.
    pub(crate) fn list_query(&self) -> ListQuery {
        let mut filter = Filter::default();
        let sources = if let Some(phone) = &self.phone {
            if let Some(p) = self.provider {
                filter.equals("provider", p.as_str());
            }
            self.filter_agent(&mut filter);
            self.filter_contact(&mut filter);
            self.filter_file_state(&mut filter);
            [BY_FROM_NUMBER, BY_TO_NUMBER]
                .into_iter()
                .map(|index| Source {
                    index,
                    partition: phone.clone(),
                })
                .collect()
        } else if let Some(agent) = &self.agent {
            self.filter_contact(&mut filter);
            self.filter_file_state(&mut filter);
            self.per_provider(BY_AGENT, |p| agent_pk(p, agent))
        } else if let Some(contact) = &self.contact {
            self.filter_file_state(&mut filter);
            self.per_provider(BY_CONTACT, |p| contact_pk(p, contact))
        } else if let Some(state) = self.file_state {
            filter.equals("kind", "call");
            if let Some(p) = self.provider {
                filter.equals("provider", p.as_str());
            }
            vec![Source {
                index: BY_FILE_STATE,
                partition: state.as_str().to_owned(),
            }]
        } else {
            self.per_provider(BY_PROVIDER_TIME, calls_pk)
        };
        if let Some(status) = self.status {
            filter.equals("summary.status", status_name(status));
        }
        ListQuery {
            sources,
            range: time_range(self.since, self.until),
            filter,
            order: Order::Descending,
        }
    }

    fn filter_agent(&self, filter: &mut Filter) {
        if let Some(agent) = &self.agent {
            filter.equals("summary.agent_id", agent);
        }
    }

    fn filter_contact(&self, filter: &mut Filter) {
        if let Some(contact) = &self.contact {
            filter.equals("summary.contact_id", contact);
        }
    }

    fn filter_file_state(&self, filter: &mut Filter) {
        if let Some(state) = self.file_state {
            filter.equals("summary.file_state", state.as_str());
        }
    }
}

/// The stored name of a status (`in_progress`, ...).
fn status_name(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Unknown => "unknown",
        CallStatus::Queued => "queued",
        CallStatus::Assigned => "assigned",
        CallStatus::InProgress => "in_progress",
        CallStatus::Completed => "completed",
        CallStatus::Voicemail => "voicemail",
        CallStatus::Missed => "missed",
        CallStatus::Failed => "failed",
    }
}

impl Reader {
    /// Calls matching `filter`, newest first, `limit` per page.
    pub async fn calls(
        &self,
        filter: &CallFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<CallSummary>, QueryError> {
        let page = filter
            .list_query()
            .page(self.store.dynamodb(), self.store.table(), limit, cursor)
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for item in &page.items {
            if let Summary::Call(call) = summary_of(item)? {
                items.push(call);
            }
        }
        Ok(Page {
            items,
            cursor: page.cursor,
        })
    }

    /// The stored record of one call, its bookkeeping and its sort key, without its delivery
    /// history. A call id
    /// delivered under several secret scopes (Hatif channels) is several records: `scope`
    /// names one, and is needed only then.
    pub async fn stored_call(
        &self,
        provider: Provider,
        call_id: &str,
        scope: Option<&Scope>,
    ) -> Result<(CallRecord, Stored, String), QueryError> {
        let not_found = || QueryError::NotFound(format!("call {provider}/{call_id}"));
        let mut records = self
            .store
            .records(&call_pk(provider, call_id), CALL_SK)
            .await?;
        if let Some(scope) = scope {
            records.retain(|(_, stored)| stored.scope.as_ref() == Some(scope));
        }
        let (sk, stored) = match records.len() {
            0 => return Err(not_found()),
            1 => records.remove(0),
            _ => {
                return Err(QueryError::Ambiguous {
                    id: format!("{provider}/{call_id}"),
                    scopes: records
                        .iter()
                        .filter_map(|(_, s)| s.scope.as_ref().map(ToString::to_string))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        match &stored.record {
            Normalized::Call(record) => Ok((record.clone(), stored, sk)),
            _ => Err(not_found()),
        }
    }

    /// One call with its delivery history. A call id delivered under several secret scopes
    /// (Hatif channels) is several records: `scope` names one, and is needed only then.
    pub async fn call(
        &self,
        provider: Provider,
        call_id: &str,
        scope: Option<&Scope>,
    ) -> Result<CallDetail, QueryError> {
        let (record, stored, sk) = self.stored_call(provider, call_id, scope).await?;
        let pk = call_pk(provider, call_id);
        let mut events: Vec<DeliveryEvent> = self
            .store
            .events(&pk, &sk)
            .await?
            .iter()
            .map(event_of)
            .collect();
        events.sort_by(|a, b| {
            (&a.received_at, &a.body_sha256).cmp(&(&b.received_at, &b.body_sha256))
        });
        Ok(CallDetail {
            record,
            files: stored.files,
            received_at: stored.received_at,
            updated_at: stored.updated_at,
            version: stored.version,
            authentication: stored.authentication,
            scope: stored.scope.map(|s| s.to_string()),
            delivery_count: stored.history.count,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_selective_filter_chooses_the_index() {
        let by = |f: CallFilter| {
            let q = f.list_query();
            (
                q.sources.iter().map(|s| s.index.name).collect::<Vec<_>>(),
                q.sources
                    .iter()
                    .map(|s| s.partition.clone())
                    .collect::<Vec<_>>(),
            )
        };
        let (indexes, partitions) = by(CallFilter::default());
        assert_eq!(indexes, vec!["by_provider_time"; 4]);
        assert_eq!(partitions[0], "CALLS#hatif");

        let (indexes, partitions) = by(CallFilter {
            phone: Some("+14155552671".into()),
            agent: Some("a1".into()),
            ..Default::default()
        });
        assert_eq!(indexes, ["by_from_number", "by_to_number"]);
        assert_eq!(partitions, ["+14155552671", "+14155552671"]);

        let (indexes, partitions) = by(CallFilter {
            provider: Some(Provider::Voki),
            agent: Some("a1".into()),
            contact: Some("c1".into()),
            ..Default::default()
        });
        assert_eq!(indexes, ["by_agent"]);
        assert_eq!(partitions, ["AGENT#voki#a1"]);

        let (indexes, _) = by(CallFilter {
            contact: Some("c1".into()),
            ..Default::default()
        });
        assert_eq!(indexes, vec!["by_contact"; 4]);

        let (indexes, partitions) = by(CallFilter {
            file_state: Some(FileState::Failed),
            ..Default::default()
        });
        assert_eq!(indexes, ["by_file_state"]);
        assert_eq!(partitions, ["failed"]);
    }

    #[test]
    fn status_names_match_the_stored_form() {
        for status in [
            CallStatus::Unknown,
            CallStatus::Queued,
            CallStatus::Assigned,
            CallStatus::InProgress,
            CallStatus::Completed,
            CallStatus::Voicemail,
            CallStatus::Missed,
            CallStatus::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(status).ok(),
                Some(serde_json::Value::String(status_name(status).into()))
            );
        }
    }
}
