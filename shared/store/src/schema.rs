//! The table and bucket layout: key names, stream, and how to create them.
//!
//! One table holds every item; items are told apart by key prefixes:
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | call record | `CALL#<provider>#<provider call id>` | `CALL` |
//! | rejected delivery (kept raw) | `REJECTED#<provider>#<sha256 of body>` | `REJECTED` |

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};

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

/// Partition key of a call record.
pub fn call_pk(provider: callvault_records::Provider, provider_call_id: &str) -> String {
    format!("CALL#{provider}#{provider_call_id}")
}

/// Sort key of a call record.
pub const CALL_SK: &str = "CALL";

/// Creates the table exactly as the infrastructure template declares it (on-demand, stream).
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), crate::StoreError> {
    let string_key = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_key(PARTITION_KEY).map_err(crate::StoreError::sdk)?)
        .attribute_definitions(string_key(SORT_KEY).map_err(crate::StoreError::sdk)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash).map_err(crate::StoreError::sdk)?)
        .key_schema(key(SORT_KEY, KeyType::Range).map_err(crate::StoreError::sdk)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(STREAM_VIEW_TYPE)
                .build()
                .map_err(crate::StoreError::sdk)?,
        )
        .send()
        .await
        .map_err(crate::StoreError::sdk)?;
    Ok(())
}

/// Creates the archive bucket.
pub async fn create_bucket(
    client: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<(), crate::StoreError> {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(crate::StoreError::sdk)?;
    Ok(())
}
