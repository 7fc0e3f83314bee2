//! The table and bucket layout: key names, item keys, stream, and how to create them.
//! `docs/records.md` explains the layout.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use callvault_records::{Normalized, Provider};

use crate::StoreError;

/// Partition key attribute name.
pub const PARTITION_KEY: &str = "pk";
/// Sort key attribute name.
pub const SORT_KEY: &str = "sk";
/// What the table's stream carries (the recording copier reads new images).
pub const STREAM_VIEW_TYPE: StreamViewType = StreamViewType::NewImage;
/// Default table name for local development and tests.
pub const DEFAULT_TABLE: &str = "callvault";
/// Default bucket name for local development and tests.
pub const DEFAULT_BUCKET: &str = "callvault-archive";
/// Attribute present (`true`) on records with files waiting to be archived; the copier's
/// stream filter selects on it.
pub const FILES_PENDING: &str = "files_pending";
/// Sort-key prefix of a delivery's event entry, under its record's partition.
pub const EVENT_PREFIX: &str = "EVENT#";

/// The `(pk, sk)` of the item holding a normalized record.
pub fn record_key(record: &Normalized) -> (String, String) {
    match record {
        Normalized::Call(c) => call_key(c.provider, &c.provider_call_id),
        Normalized::Message(m) => (
            conversation_pk(m.provider, &m.conversation_id),
            format!("MSG#{}", m.message_id),
        ),
        Normalized::Contact(c) => (
            format!("CONTACT#{}#{}", c.provider, c.provider_contact_id),
            "CONTACT".into(),
        ),
    }
}

/// The `(pk, sk)` of a call record.
pub fn call_key(provider: Provider, provider_call_id: &str) -> (String, String) {
    (format!("CALL#{provider}#{provider_call_id}"), "CALL".into())
}

/// The partition holding a conversation's messages.
pub fn conversation_pk(provider: Provider, conversation_id: &str) -> String {
    format!("CONV#{provider}#{conversation_id}")
}

/// The partition of one provider's rejected deliveries on one day (`YYYY-MM-DD`).
pub fn rejected_pk(provider: Provider, day: &str) -> String {
    format!("REJECTED#{provider}#{day}")
}

/// Creates the table exactly as the infrastructure template declares it (on-demand, stream).
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
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_key(PARTITION_KEY).map_err(StoreError::sdk)?)
        .attribute_definitions(string_key(SORT_KEY).map_err(StoreError::sdk)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash).map_err(StoreError::sdk)?)
        .key_schema(key(SORT_KEY, KeyType::Range).map_err(StoreError::sdk)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(STREAM_VIEW_TYPE)
                .build()
                .map_err(StoreError::sdk)?,
        )
        .send()
        .await
        .map_err(StoreError::sdk)?;
    Ok(())
}

/// Creates the archive bucket.
pub async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), StoreError> {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(StoreError::sdk)?;
    Ok(())
}
