//! How much the store writes: DynamoDB's item size as DynamoDB counts it, and the limits the
//! store keeps to so that a write is never refused for its size.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Unstorable;
use crate::item::Item;

/// DynamoDB's item size limit (400 KB).
pub const DYNAMODB_ITEM_LIMIT: usize = 400 * 1024;
/// Largest item the store writes: DynamoDB's limit less room for the copier to record the
/// outcome of each file later (size, digest, times, an error) without ever crossing it.
pub const MAX_ITEM_BYTES: usize = DYNAMODB_ITEM_LIMIT - 16 * 1024;
/// Raw bodies up to this size stay in their event item; larger ones go to S3. One S3 PUT costs
/// about as much as 4 KB of DynamoDB writes, so this is where S3 becomes the cheaper place.
pub const RAW_INLINE_LIMIT: usize = 4 * 1024;
/// Records whose JSON is larger than this keep their inline transcript in S3 only (in the
/// raw delivery), with a pointer in the record, so a record write stays under ~9 WCU.
pub const RECORD_INLINE_LIMIT: usize = 8 * 1024;
/// Request headers kept with a delivery, in bytes of names and values: the rest is dropped
/// (Function URLs already cap headers; this keeps an event item small whatever arrives).
pub const MAX_KEPT_HEADER_BYTES: usize = 16 * 1024;
/// Delivery ids and body digests a record remembers (its latest deliveries); the full
/// history is in its event items, and `delivery_count` counts them all.
pub const RECENT_DELIVERIES: usize = 10;
/// Longest text a record's `summary` (projected into the list indexes) carries per field.
pub const MAX_SUMMARY_TEXT: usize = 128;

/// The size DynamoDB counts for an item: attribute names plus values (strings and binaries
/// by length, numbers by significant digits, maps and lists with their overhead).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // At most one byte per two significant digits, plus one.
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Refuses an item over [`MAX_ITEM_BYTES`].
pub(crate) fn check(item: &Item) -> Result<(), Unstorable> {
    let bytes = item_size(item);
    if bytes > MAX_ITEM_BYTES {
        return Err(Unstorable::ItemTooLarge {
            bytes,
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(())
}

/// `text` cut to at most [`MAX_SUMMARY_TEXT`] characters.
pub(crate) fn summary_text(text: &str) -> String {
    text.chars().take(MAX_SUMMARY_TEXT).collect()
}

/// The headers worth keeping, in order, until [`MAX_KEPT_HEADER_BYTES`] is reached.
pub fn bounded_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut total = 0;
    headers
        .into_iter()
        .take_while(|(name, value)| {
            total += name.len() + value.len();
            total <= MAX_KEPT_HEADER_BYTES
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::s;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let mut item = Item::new();
        item.insert("pk".into(), s("CALL#x"));
        assert_eq!(item_size(&item), 2 + 6);
        item.insert("n".into(), AttributeValue::N("12345".into()));
        assert_eq!(item_size(&item), 8 + 1 + 4);
        item.insert(
            "m".into(),
            AttributeValue::M([("ab".to_owned(), s("xyz"))].into()),
        );
        assert_eq!(item_size(&item), 13 + 1 + 3 + (2 + 3 + 1));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![AttributeValue::Bool(true)]),
        );
        assert_eq!(item_size(&item), 23 + 1 + 3 + 2);
    }

    #[test]
    fn large_items_are_refused_before_sending() {
        let mut item = Item::new();
        item.insert("v".into(), s("x".repeat(MAX_ITEM_BYTES)));
        assert!(matches!(check(&item), Err(Unstorable::ItemTooLarge { .. })));
        item.insert("v".into(), s("x".repeat(MAX_ITEM_BYTES - 1)));
        assert_eq!(check(&item), Ok(()));
    }

    #[test]
    fn kept_headers_are_bounded() {
        let headers = (0..100)
            .map(|i| (format!("x-h{i}"), "v".repeat(1000)))
            .collect();
        let kept = bounded_headers(headers);
        assert!(kept.len() < 20 && !kept.is_empty());
        assert!(
            kept.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() <= MAX_KEPT_HEADER_BYTES
        );
    }
}
