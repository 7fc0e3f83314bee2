//! Provider text made safe to show: on a terminal, in a CSV file or on a page. Control
//! characters and bidirectional overrides become visible `\u{..}` escapes.

/// Whether `c` could hide or reorder text around it: a control character (escape
/// sequences, carriage returns, ...) or a bidirectional override or isolate.
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escaped(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hazard(c) && !keep(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` safe for a terminal or a page: control characters (escape sequences, carriage
/// returns, ...) and bidirectional overrides written as `\u{..}` escapes, so provider text
/// cannot move the cursor, recolour it, or reorder what is around it.
pub fn printable(text: &str) -> String {
    escaped(text, |_| false)
}

/// As [`printable`], keeping line breaks and tabs (text of several lines).
pub fn printable_text(text: &str) -> String {
    escaped(text, |c| c == '\n' || c == '\t')
}
