//! Everything a store holds, as text: every item of the table and every object version of
//! the bucket (a spooled delivery's body decoded), for tests that must show something is
//! nowhere, or that nothing else changed.

use aws_sdk_dynamodb::types::AttributeValue;
use callvault_store::{RecordStore, SpooledDelivery};

/// A store's contents as text, each list sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Every item: its attributes `name=value`, in name order.
    pub items: Vec<String>,
    /// Every object version and delete marker: its key, and its bytes as (lossy) UTF-8 (with
    /// a spooled delivery's body appended; empty for a delete marker).
    pub objects: Vec<(String, String)>,
}

impl Contents {
    /// Items and objects in one list (`item ...`, `object <key> ...`).
    pub fn lines(&self) -> Vec<String> {
        let mut all: Vec<String> = self.items.iter().map(|i| format!("item {i}")).collect();
        all.extend(self.objects.iter().map(|(k, t)| format!("object {k} {t}")));
        all.sort();
        all
    }
}

/// Reads everything `store`'s table and bucket hold.
pub async fn contents(store: &RecordStore) -> anyhow::Result<Contents> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .dynamodb()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items() {
            let mut fields: Vec<String> = item
                .iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect();
            fields.sort();
            items.push(fields.join(" "));
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    items.sort();
    let mut objects = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let out = store
            .s3()
            .list_object_versions()
            .bucket(store.bucket())
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await?;
        for version in out.versions() {
            let key = version.key().unwrap_or_default();
            let body = store
                .s3()
                .get_object()
                .bucket(store.bucket())
                .key(key)
                .set_version_id(version.version_id().map(str::to_owned))
                .send()
                .await?
                .body
                .collect()
                .await?
                .into_bytes();
            let mut text = String::from_utf8_lossy(&body).into_owned();
            // A spooled delivery holds its body in base64.
            if let Ok(spooled) = serde_json::from_slice::<SpooledDelivery>(&body) {
                text.push_str(&String::from_utf8_lossy(spooled.verified()?.body()));
            }
            objects.push((key.to_owned(), text));
        }
        for marker in out.delete_markers() {
            objects.push((marker.key().unwrap_or_default().to_owned(), String::new()));
        }
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(str::to_owned);
        version_marker = out.next_version_id_marker().map(str::to_owned);
    }
    objects.sort();
    Ok(Contents { items, objects })
}

/// An attribute as text: binaries as (lossy) UTF-8, maps in key order.
fn render(value: &AttributeValue) -> String {
    match value {
        AttributeValue::B(b) => String::from_utf8_lossy(b.as_ref()).into_owned(),
        AttributeValue::M(map) => {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", render(v)))
                .collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        AttributeValue::L(list) => {
            format!(
                "[{}]",
                list.iter().map(render).collect::<Vec<_>>().join(",")
            )
        }
        other => format!("{other:?}"),
    }
}
