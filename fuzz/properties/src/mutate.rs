//! The inputs of the bounded random run that `make test` gives every target: each one a
//! committed seed or fixture changed by a few random edits, either of its bytes (libFuzzer's
//! kinds: bit flips, byte changes, insertions, deletions, copies, dictionary tokens, splices,
//! truncation) or, for JSON, of its values (one replaced by a value of another type, or
//! removed), so that most inputs still parse and reach the normalizers; now and then random
//! bytes.
//!
//! Input `i` of a run depends only on the run's seed, `i` and the corpus, so any failing input
//! is replayed by its seed and index alone (see this crate's tests).

use serde_json::{Map, Value};

/// Bytes that change how JSON and the signature formats are read.
const INTERESTING: &[u8] = b"\0\x7f\xff\"\\{}[],:-+.0123456789eEtfn \t\r\nx=&%";

/// The random-run inputs for one corpus and dictionary.
#[derive(Debug, Clone, Copy)]
pub struct Mutator<'a> {
    corpus: &'a [Vec<u8>],
    tokens: &'a [Vec<u8>],
}

impl<'a> Mutator<'a> {
    /// A mutator over `corpus` (the inputs it starts from; none means random bytes only) and
    /// `tokens` (dictionary entries it inserts).
    pub fn new(corpus: &'a [Vec<u8>], tokens: &'a [Vec<u8>]) -> Self {
        Self { corpus, tokens }
    }

    /// Input `iteration` of the run seeded with `seed`.
    pub fn input(&self, seed: u64, iteration: u64) -> Vec<u8> {
        let mut rng =
            fastrand::Rng::with_seed(seed ^ iteration.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if self.corpus.is_empty() || rng.u8(..16) == 0 {
            let len = rng.usize(..=256);
            return std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
        }
        let mut data = self.corpus[rng.usize(..self.corpus.len())].clone();
        if rng.bool() {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&data) {
                for _ in 0..rng.usize(1..=3) {
                    edit_value(&mut rng, &mut value);
                }
                return value.to_string().into_bytes();
            }
        }
        for _ in 0..rng.usize(1..=8) {
            self.edit(&mut rng, &mut data);
        }
        data
    }

    /// One random edit of `data`.
    fn edit(&self, rng: &mut fastrand::Rng, data: &mut Vec<u8>) {
        let at = rng.usize(..=data.len());
        match rng.u8(..9) {
            0 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] ^= 1 << rng.u8(..8);
            }
            1 if !data.is_empty() => {
                let i = rng.usize(..data.len());
                data[i] = INTERESTING[rng.usize(..INTERESTING.len())];
            }
            2 => data.insert(at, rng.u8(..)),
            3 if at < data.len() => {
                let end = (at + rng.usize(1..=16)).min(data.len());
                data.drain(at..end);
            }
            4 if at < data.len() => {
                let end = (at + rng.usize(1..=32)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.usize(..=data.len());
                data.splice(to..to, copy);
            }
            5 | 6 if !self.tokens.is_empty() => {
                let token = &self.tokens[rng.usize(..self.tokens.len())];
                // Insert (5) or overwrite as many bytes as the token has (6).
                let end = if rng.bool() {
                    (at + token.len()).min(data.len())
                } else {
                    at
                };
                data.splice(at..end, token.iter().copied());
            }
            7 => {
                let other = &self.corpus[rng.usize(..self.corpus.len())];
                let from = rng.usize(..=other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            _ => data.truncate(at),
        }
    }
}

/// Replaces one value of `value`, chosen at random among all of them, with a value of a random
/// type, or removes it from its object.
fn edit_value(rng: &mut fastrand::Rng, value: &mut Value) {
    let count = count_values(value);
    let mut target = rng.usize(..count);
    let Some(node) = nth_value(value, &mut target) else {
        return;
    };
    *node = match rng.u8(..8) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => Value::from(rng.i64(..)),
        3 => Value::from(rng.f64() * 1e6),
        4 => {
            Value::from(["", "x", "2026-02-20T14:00:00Z", "00:01:05", "+15550100"][rng.usize(..5)])
        }
        5 => Value::Array(vec![node.take()]),
        6 => Value::Object(Map::from_iter([("x".to_owned(), node.take())])),
        _ => Value::String(node.to_string()),
    };
}

/// How many values `value` holds, itself included.
fn count_values(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Object(map) => map.values().map(count_values).sum(),
        _ => 0,
    }
}

/// The value at pre-order index `n` (counted down as the walk goes).
fn nth_value<'v>(value: &'v mut Value, n: &mut usize) -> Option<&'v mut Value> {
    if *n == 0 {
        return Some(value);
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().find_map(|v| nth_value(v, n)),
        Value::Object(map) => map.values_mut().find_map(|v| nth_value(v, n)),
        _ => None,
    }
}

/// The entries of a libFuzzer dictionary (`"value"` or `name="value"` a line, `#` comments,
/// escapes `\\`, `\"` and `\xAB`). A line it cannot read is skipped, as libFuzzer would
/// refuse the file instead; the dictionaries are tested to read whole.
pub fn dictionary(text: &str) -> Vec<Vec<u8>> {
    text.lines().filter_map(entry).collect()
}

/// One dictionary line's value, if it is an entry.
fn entry(line: &str) -> Option<Vec<u8>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let quoted = &line[line.find('"')?..];
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'x' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            escaped => out.push(escaped),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_entries_are_read_with_their_escapes() {
        let text = "# comment\n\n\"plain\"\nkw1=\"a\\\"b\"\n\"\\x41\\\\\"\nnot an entry\n";
        assert_eq!(
            dictionary(text),
            vec![b"plain".to_vec(), b"a\"b".to_vec(), b"A\\".to_vec()]
        );
    }

    #[test]
    fn an_input_depends_only_on_seed_iteration_and_corpus() {
        let corpus = vec![br#"{"callId":"c-1","status":1}"#.to_vec()];
        let tokens = dictionary("\"\\\"callId\\\"\"\n\"null\"\n");
        let mutator = Mutator::new(&corpus, &tokens);
        let run = |seed| (0..200).map(|i| mutator.input(seed, i)).collect::<Vec<_>>();
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        // Edits change the seed most of the time, and some keep it valid JSON.
        let inputs = run(7);
        assert!(inputs.iter().filter(|i| **i != corpus[0]).count() > 150);
        assert!(inputs
            .iter()
            .any(|i| *i != corpus[0] && serde_json::from_slice::<serde_json::Value>(i).is_ok()));
    }

    #[test]
    fn without_a_corpus_inputs_are_random_bytes() {
        let mutator = Mutator::new(&[], &[]);
        let input = mutator.input(1, 0);
        assert!(input.len() <= 256);
        assert_eq!(input, mutator.input(1, 0));
    }
}
