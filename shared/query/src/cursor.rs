//! Opaque page cursors: where each source of a list query stopped, bound to the query that
//! produced them so that a cursor cannot be replayed against other filters.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::InputError;

/// How far one source of a list query has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Position {
    /// Nothing read yet.
    Start,
    /// Continue after the item with these key attributes.
    After(BTreeMap<String, String>),
    /// Nothing left.
    Done,
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    /// Fingerprint of the query.
    q: String,
    /// One position per source.
    p: Vec<Position>,
}

/// A short fingerprint of a query's description.
pub(crate) fn fingerprint(description: &str) -> String {
    hex::encode(&Sha256::digest(description.as_bytes())[..8])
}

/// Encodes the positions of a query's sources as an opaque, URL-safe string.
pub(crate) fn encode(fingerprint: &str, positions: &[Position]) -> String {
    let encoded = Encoded {
        q: fingerprint.to_owned(),
        p: positions.to_vec(),
    };
    // Serializing plain strings and maps cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&encoded).unwrap_or_default())
}

/// Decodes a cursor for the query with `fingerprint` and `sources` sources.
pub(crate) fn decode(
    cursor: &str,
    fingerprint: &str,
    sources: usize,
) -> Result<Vec<Position>, InputError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| InputError::Cursor)?;
    let encoded: Encoded = serde_json::from_slice(&bytes).map_err(|_| InputError::Cursor)?;
    if encoded.q != fingerprint || encoded.p.len() != sources {
        return Err(InputError::Cursor);
    }
    Ok(encoded.p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_bound_to_its_query() {
        let positions = vec![
            Position::Start,
            Position::After(BTreeMap::from([("pk".into(), "CALL#voki#1".into())])),
            Position::Done,
        ];
        let fp = fingerprint("calls by time");
        let cursor = encode(&fp, &positions);
        assert!(cursor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode(&cursor, &fp, 3), Ok(positions));
        assert_eq!(
            decode(&cursor, &fingerprint("other"), 3),
            Err(InputError::Cursor)
        );
        assert_eq!(decode(&cursor, &fp, 2), Err(InputError::Cursor));
        assert_eq!(decode("not a cursor!", &fp, 3), Err(InputError::Cursor));
        assert_eq!(decode("e30", &fp, 3), Err(InputError::Cursor));
    }
}
