//! Helpers for order-independent merging of records built from several deliveries.

use serde_json::{Map, Value};

/// The first value that is present.
pub(crate) fn first<T>(a: Option<T>, b: Option<T>) -> Option<T> {
    a.or(b)
}

/// Union of two extras maps; keys already present keep their value.
pub(crate) fn union_extras(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in b {
        a.entry(k).or_insert(v);
    }
    a
}
