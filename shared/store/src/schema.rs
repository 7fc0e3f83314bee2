//! The table and bucket layout: key names, item keys, stream, and how to create them.
//! `docs/records.md` explains the layout.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use callvault_records::{Normalized, Provider};
use callvault_verify::Scope;
use sha2::Digest;

use crate::error::Service;
use crate::StoreError;

/// Partition key attribute name.
pub const PARTITION_KEY: &str = "pk";
/// Sort key attribute name.
pub const SORT_KEY: &str = "sk";
/// What the table's stream carries: the copier reads new images (a record with files due)
/// and old images (what an expired record or delivery event left in the bucket).
pub const STREAM_VIEW_TYPE: StreamViewType = StreamViewType::NewAndOldImages;
/// The table's time-to-live attribute: when an item expires, epoch seconds
/// ([`crate::retention::Retention`]); an item without it is kept forever.
pub const EXPIRES_AT: &str = "expires_at";
/// Default table name for local development and tests.
pub const DEFAULT_TABLE: &str = "callvault";
/// Default bucket name for local development and tests.
pub const DEFAULT_BUCKET: &str = "callvault-archive";
/// Attribute present (`true`) on records with a file due for the copier now; the copier's
/// stream filter selects on it.
pub const FILES_PENDING: &str = "files_pending";
/// Index sort key of records with a file waiting for the copier (due now or later): the
/// earliest time one is due, RFC 3339 ms ([`crate::files::add_file_attributes`]).
pub const FILES_DUE_AT: &str = "files_due_at";
/// Index key of records with a file waiting for the copier: their due shard
/// ([`due_pk`]).
pub const FILES_DUE_PK: &str = "files_due_pk";
/// How many partitions the due index spreads records over ([`due_pk`]); the sweep queries
/// each in turn.
pub const DUE_SHARDS: u32 = 4;
/// Sort-key prefix of a delivery's event entry, under its record's partition:
/// `EVENT#<record sk>#<sha256 of the body>` (see [`event_sk`]).
pub const EVENT_PREFIX: &str = "EVENT#";
/// Event attribute: the record fields in which a delivery's body differs from what its
/// record keeps (a string set; absent when there is none).
pub const CONFLICTS: &str = "conflicts";
/// Sort key (or, for scoped records, sort-key prefix) of call record items.
pub const CALL_SK: &str = "CALL";
/// Key prefix of raw bodies kept in the archive bucket (content-addressed, see [`raw_key`]).
pub const RAW_PREFIX: &str = "raw/";

/// Partition of erasure receipts ([`crate::erase::ErasureReceipt`]), keyed by the time of
/// each erase: they name no person and never expire.
pub const ERASURE_PK: &str = "ERASURE";

/// Index key: a provider's call partition (`CALLS#<provider>`).
pub const CALLS_PK: &str = "calls_pk";
/// Index sort key of calls (and messages in the file-state index):
/// `<time, RFC 3339 ms>#<provider>#<id>`.
pub const TIME_SK: &str = "time_sk";
/// Index key: the calling number in E.164.
pub const FROM_NUMBER: &str = "from_number";
/// Index key: the called number in E.164.
pub const TO_NUMBER: &str = "to_number";
/// Index key: `AGENT#<provider>#<agent id>`.
pub const AGENT_PK: &str = "agent_pk";
/// Index key: `CONTACT#<provider>#<contact id>`.
pub const CONTACT_PK: &str = "contact_pk";
/// Index key of records with a file copy pending or failed: `pending` or `failed`.
pub const FILE_STATE: &str = "file_state";
/// Index key: a message's conversation partition (same value as its `pk`).
pub const CONVERSATION_PK: &str = "conversation_pk";
/// Index sort key of messages: `<created, RFC 3339 ms>#<message id>`.
pub const MESSAGE_SK: &str = "message_sk";
/// The projected short form of a record ([`crate::index::Summary`]).
pub const SUMMARY: &str = "summary";

/// One global secondary index of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// Index name.
    pub name: &'static str,
    /// Partition key attribute.
    pub hash: &'static str,
    /// Sort key attribute.
    pub range: &'static str,
    /// Non-key attributes projected into the index; none: the keys only.
    pub projected: &'static [&'static str],
}

impl Index {
    /// How the index projects: `KEYS_ONLY` when it projects no other attribute, else
    /// `INCLUDE` (with [`Index::projected`]).
    pub fn projection_type(&self) -> ProjectionType {
        if self.projected.is_empty() {
            ProjectionType::KeysOnly
        } else {
            ProjectionType::Include
        }
    }
}

const SUMMARY_PROJECTION: &[&str] = &["kind", "provider", SUMMARY];

/// A provider's calls, newest first by time.
pub const BY_PROVIDER_TIME: Index = Index {
    name: "by_provider_time",
    hash: CALLS_PK,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// Calls from one number.
pub const BY_FROM_NUMBER: Index = Index {
    name: "by_from_number",
    hash: FROM_NUMBER,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// Calls to one number.
pub const BY_TO_NUMBER: Index = Index {
    name: "by_to_number",
    hash: TO_NUMBER,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// Calls of one agent.
pub const BY_AGENT: Index = Index {
    name: "by_agent",
    hash: AGENT_PK,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// Calls of one contact.
pub const BY_CONTACT: Index = Index {
    name: "by_contact",
    hash: CONTACT_PK,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// Records with a file copy pending or failed (sparse).
pub const BY_FILE_STATE: Index = Index {
    name: "by_file_state",
    hash: FILE_STATE,
    range: TIME_SK,
    projected: SUMMARY_PROJECTION,
};
/// A conversation's messages in creation order.
pub const BY_CONVERSATION: Index = Index {
    name: "by_conversation",
    hash: CONVERSATION_PK,
    range: MESSAGE_SK,
    projected: &["kind", "provider", "record"],
};
/// Records with a file waiting for the copier, by the time one is due (sparse, keys only):
/// the copier's sweep reads only the records due by now, oldest first.
pub const BY_FILES_DUE: Index = Index {
    name: "by_files_due",
    hash: FILES_DUE_PK,
    range: FILES_DUE_AT,
    projected: &[],
};

/// Every secondary index, in the order the template declares them.
pub const INDEXES: [Index; 8] = [
    BY_PROVIDER_TIME,
    BY_FROM_NUMBER,
    BY_TO_NUMBER,
    BY_AGENT,
    BY_CONTACT,
    BY_FILE_STATE,
    BY_CONVERSATION,
    BY_FILES_DUE,
];

/// Every key attribute (table and indexes), each once, in first-use order.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PARTITION_KEY, SORT_KEY];
    for index in INDEXES {
        for name in [index.hash, index.range] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The `calls_pk` value of a provider's calls.
pub fn calls_pk(provider: Provider) -> String {
    format!("CALLS#{provider}")
}

/// The due shard of the record at partition `pk`: a stable function of the key (the first
/// bytes of its SHA-256), so a record stays in one shard.
pub fn due_shard(pk: &str) -> u32 {
    let digest = sha2::Sha256::digest(pk.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % DUE_SHARDS
}

/// The `files_due_pk` value of the record at partition `pk`: `DUE#<shard>` ([`due_shard`]).
pub fn due_pk(pk: &str) -> String {
    due_partition(due_shard(pk))
}

/// The `files_due_pk` value of one shard: `DUE#<shard>`.
pub fn due_partition(shard: u32) -> String {
    format!("DUE#{shard}")
}

/// Every `files_due_pk` value, in shard order: what a sweep queries.
pub fn due_partitions() -> impl Iterator<Item = String> {
    (0..DUE_SHARDS).map(due_partition)
}

/// The `agent_pk` value of one agent.
pub fn agent_pk(provider: Provider, agent_id: &str) -> String {
    format!("AGENT#{provider}#{agent_id}")
}

/// The `contact_pk` value of one contact.
pub fn contact_pk(provider: Provider, contact_id: &str) -> String {
    format!("CONTACT#{provider}#{contact_id}")
}

/// `kind`, or `kind#<scope>` for a scoped record. A channel's key is written as archive keys
/// write ids ([`crate::files::key_segment`]: a Hatif channel id, a UUID, as it is), so a key
/// never holds the `#` that ends the segment: the body chooses the channel it names, and two
/// channels' records must never share a sort key.
fn scoped(kind: &str, scope: Option<&Scope>) -> String {
    match scope {
        Some(Scope::Channel(key)) => {
            format!("{kind}#{}", Scope::Channel(crate::files::key_segment(key)))
        }
        Some(scope) => format!("{kind}#{scope}"),
        None => kind.to_owned(),
    }
}

/// The `(pk, sk)` of the item holding a normalized record. Records of a provider whose
/// secrets are chosen per channel (Hatif) are scoped by the [`Scope`] that authenticated
/// them: the same call id under two scopes is two records in one partition.
pub fn record_key(record: &Normalized, scope: Option<&Scope>) -> (String, String) {
    match record {
        Normalized::Call(c) => call_key(c.provider, scope, &c.provider_call_id),
        Normalized::Message(m) => (
            conversation_pk(m.provider, &m.conversation_id),
            format!("{}#{}", scoped("MSG", scope), m.message_id),
        ),
        Normalized::Contact(c) => (
            format!("CONTACT#{}#{}", c.provider, c.provider_contact_id),
            scoped("CONTACT", scope),
        ),
    }
}

/// The `(pk, sk)` of a call record.
pub fn call_key(
    provider: Provider,
    scope: Option<&Scope>,
    provider_call_id: &str,
) -> (String, String) {
    (call_pk(provider, provider_call_id), scoped(CALL_SK, scope))
}

/// The partition of one call: its record (one per scope) and its delivery events.
pub fn call_pk(provider: Provider, provider_call_id: &str) -> String {
    format!("CALL#{provider}#{provider_call_id}")
}

/// The sort key of the event of the delivery whose body has digest `body_sha256`, applied to
/// the record at `record_sk`: one event per distinct body, whatever delivery ids it came with.
pub fn event_sk(record_sk: &str, body_sha256: &str) -> String {
    format!("{EVENT_PREFIX}{record_sk}#{body_sha256}")
}

/// The sort-key prefix of the events of the record at `record_sk`.
pub fn events_prefix(record_sk: &str) -> String {
    format!("{EVENT_PREFIX}{record_sk}#")
}

/// The bucket key of a raw body kept in S3: `raw/<provider>/<sha256>`, so a body is stored
/// once however often it arrives, and delivery events and kept deliveries share it.
pub fn raw_key(provider: Provider, body_sha256: &str) -> String {
    format!("{RAW_PREFIX}{provider}/{body_sha256}")
}

/// The partition holding a conversation's messages (also its `conversation_pk`).
pub fn conversation_pk(provider: Provider, conversation_id: &str) -> String {
    format!("CONV#{provider}#{conversation_id}")
}

/// The partition of one provider's rejected deliveries on one day (`YYYY-MM-DD`).
pub fn rejected_pk(provider: Provider, day: &str) -> String {
    format!("REJECTED#{provider}#{day}")
}

/// Creates the table exactly as the infrastructure template declares it (on-demand, stream,
/// secondary indexes, time to live on [`EXPIRES_AT`]).
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), StoreError> {
    let string_key = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let built = |e| StoreError::local(Service::DynamoDb, "CreateTable", e);
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PARTITION_KEY, KeyType::Hash).map_err(built)?)
        .key_schema(key(SORT_KEY, KeyType::Range).map_err(built)?);
    for name in key_attributes() {
        create = create.attribute_definitions(string_key(name).map_err(built)?);
    }
    for index in INDEXES {
        let projection = Projection::builder().projection_type(index.projection_type());
        let projection = if index.projected.is_empty() {
            projection
        } else {
            projection.set_non_key_attributes(Some(
                index.projected.iter().map(|a| (*a).to_owned()).collect(),
            ))
        }
        .build();
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash, KeyType::Hash).map_err(built)?)
                .key_schema(key(index.range, KeyType::Range).map_err(built)?)
                .projection(projection)
                .build()
                .map_err(built)?,
        );
    }
    create
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(STREAM_VIEW_TYPE)
                .build()
                .map_err(built)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::request(Service::DynamoDb, "CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(EXPIRES_AT)
                .build()
                .map_err(built)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::request(Service::DynamoDb, "UpdateTimeToLive", e))?;
    Ok(())
}

/// Creates the archive bucket, versioned as the template declares it.
pub async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), StoreError> {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| StoreError::request(Service::S3, "CreateBucket", e))?;
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| StoreError::request(Service::S3, "PutBucketVersioning", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use callvault_records::hatif::whatsapp;

    fn message(conversation: &str, id: &str) -> Normalized {
        let body = serde_json::json!({"conversationId": conversation, "messageId": id});
        let payload = whatsapp::parse(body.to_string().as_bytes()).expect("a message");
        Normalized::Message(whatsapp::normalize(payload, chrono::Utc::now()))
    }

    /// A body names its channel, so a channel id holding `#` could otherwise end the scope
    /// segment early and give another channel's message key.
    #[test]
    fn channel_keys_never_run_into_the_id() {
        let key = |channel: &str, id: &str| {
            record_key(
                &message("conv", id),
                Some(&Scope::Channel(channel.to_owned())),
            )
        };
        assert_ne!(key("c1#m", "x"), key("c1", "m#x"));
        assert_eq!(
            key("5f6d08bc-455a-4532-98b8-19e2cee51160", "m1").1,
            "MSG#channel:5f6d08bc-455a-4532-98b8-19e2cee51160#m1",
            "a channel id (a UUID) as it is"
        );
        assert_eq!(
            record_key(&message("conv", "m1"), Some(&Scope::Default)).1,
            "MSG#default#m1"
        );
    }
}
