//! Helpers for order-independent merging of records built from several deliveries.

use serde::Serialize;
use serde_json::{Map, Value};

/// The first value that is present.
pub(crate) fn first<T>(a: Option<T>, b: Option<T>) -> Option<T> {
    a.or(b)
}

/// The greater of two values by their JSON text: a fixed choice that does not depend on
/// which arrived first.
pub(crate) fn greater<T: Serialize>(a: T, b: T) -> T {
    let text = |v: &T| serde_json::to_string(v).unwrap_or_default();
    if text(&a) >= text(&b) {
        a
    } else {
        b
    }
}

/// How the two records of a merge relate: one of a later stage, whose values are preferred
/// (`hi`), or two of the same stage (`tie`), where a field both give different values is
/// settled by [`greater`], so any arrival order gives the same record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Merge {
    /// Whether both records are of the same stage.
    pub tie: bool,
}

impl Merge {
    /// `hi`'s value if present (at a tie, the greater of two different ones), else `lo`'s.
    pub(crate) fn pick<T: Serialize + PartialEq>(self, hi: Option<T>, lo: Option<T>) -> Option<T> {
        match (hi, lo) {
            (Some(a), Some(b)) if self.tie && a != b => Some(greater(a, b)),
            (a, b) => a.or(b),
        }
    }

    /// The union of two maps of free-form values; a key both have keeps `hi`'s value (at a
    /// tie, the greater of two different ones).
    pub(crate) fn union(
        self,
        mut hi: Map<String, Value>,
        lo: Map<String, Value>,
    ) -> Map<String, Value> {
        for (k, v) in lo {
            match hi.get_mut(&k) {
                Some(kept) if self.tie && *kept != v => *kept = greater(kept.take(), v),
                Some(_) => {}
                None => {
                    hi.insert(k, v);
                }
            }
        }
        hi
    }
}

/// The earlier of two optional instants (or whichever is present).
pub(crate) fn earliest<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
