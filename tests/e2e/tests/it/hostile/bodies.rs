//! Authenticated bodies that cannot become records (kept raw with the reason), valid ids with
//! hostile values, and duplicate keys.

use base64::Engine;
use callvault_catalog::Webhook;
use serde_json::{json, Value};

use super::corpus::{auth, valid_body, Corpus, Expect, BODY_SENTINEL};

/// Bodies that are not the webhook's JSON object at all.
pub fn unusable(c: &mut Corpus) -> anyhow::Result<()> {
    let name = format!("{}-{}", c.w.name(), c.run);
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(10_000), close.repeat(10_000));
    c.kept(
        "not JSON",
        format!("<xml>{BODY_SENTINEL} {name}</xml>").into_bytes(),
    )?;
    c.kept(
        "truncated JSON",
        format!("{{\"note\": \"{BODY_SENTINEL} {name}").into_bytes(),
    )?;
    c.kept(
        "JSON array",
        format!("[\"{BODY_SENTINEL}\", \"{name}\"]").into_bytes(),
    )?;
    c.kept(
        "JSON string",
        format!("\"{BODY_SENTINEL} {name}\"").into_bytes(),
    )?;
    c.kept("JSON number", format!("{} ", 42 + name.len()).into_bytes())?;
    c.kept(
        "JSON null",
        format!("null{}", " ".repeat(name.len())).into_bytes(),
    )?;
    c.kept(
        "empty object",
        format!("{{{}}}", " ".repeat(name.len())).into_bytes(),
    )?;
    c.kept(
        "object without the id",
        format!("{{\"note\": \"{BODY_SENTINEL} {name}\"}}").into_bytes(),
    )?;
    c.kept(
        "10,000 nested arrays",
        format!("{} {name}", deep("[", "]")).into_bytes(),
    )?;
    c.kept(
        "10,000 nested objects in a field",
        format!(
            "{{\"note\": \"{name}\", \"deep\": {}1{}}}",
            "{\"a\":".repeat(10_000),
            "}".repeat(10_000)
        )
        .into_bytes(),
    )?;
    // Bytes that are not UTF-8 travel as binary (base64 in the Function URL event): the local
    // emulator, like a text content type would, cannot carry them otherwise.
    c.kept(
        "invalid UTF-8",
        [
            b"{\"note\": \"".as_slice(),
            &[0xff, 0xfe, 0xc3, 0x28],
            name.as_bytes(),
            b"\"}",
        ]
        .concat(),
    )?;
    c.kept(
        "lone UTF-8 continuation bytes",
        [&[0x80, 0x81][..], name.as_bytes()].concat(),
    )?;
    for case in c.cases.iter_mut().rev().take(2) {
        case.headers
            .push(("content-type", "application/octet-stream".to_owned()));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&valid_body(
        c.w,
        &format!("b64-{name}"),
    )?)?);
    c.kept("base64 of a valid body", b64.into_bytes())?;
    c.kept(
        "form-encoded body",
        format!("note={BODY_SENTINEL}&function={name}&id=x").into_bytes(),
    )
}

/// Valid ids with hostile values.
pub fn hostile_values(c: &mut Corpus) -> anyhow::Result<()> {
    let w = c.w;
    // Voki keeps only its documented fields, so the string never reaches the record.
    let huge = if w == Webhook::Voki {
        Expect::Stored
    } else {
        Expect::Kept
    };
    c.changed(
        "huge string in an unknown field",
        |v| v["hostileHuge"] = json!("x".repeat(700_000)),
        huge,
    )?;
    let set_id = |value: Value| {
        move |v: &mut Value| {
            for key in ["call_id", "callId", "messageId"] {
                if v.get(key).is_some() {
                    v[key] = value.clone();
                }
            }
            if v.get("data").is_some() {
                v["data"]["id"] = value.clone();
            }
        }
    };
    c.changed("id of the wrong type", set_id(json!([12345])), Expect::Kept)?;
    c.changed("empty id", set_id(json!("")), Expect::Kept)?;
    c.raw_number("number beyond f64", "1e400", Expect::Kept)?;
    // Floating-point fields (latitude, score) hold these; integer fields refuse them, except
    // Hatif's numeric call status, where an unknown value is kept as `unknown`.
    let float_field = matches!(w, Webhook::HatifWhatsApp | Webhook::PostCall);
    let signed_field = float_field || w == Webhook::HatifCall;
    let stored_if = |yes: bool| if yes { Expect::Stored } else { Expect::Kept };
    c.raw_number(
        "number beyond u64",
        "18446744073709551616",
        stored_if(float_field),
    )?;
    c.raw_number("negative number", "-5", stored_if(signed_field))
}

/// Duplicate keys: an ambiguous known field is refused; a repeated unknown one is harmless
/// (the last value is kept among the extras).
pub fn duplicate_keys(c: &mut Corpus) -> anyhow::Result<()> {
    let key = match c.w {
        Webhook::VoiceInfra => "call_id",
        Webhook::HatifCall | Webhook::PostCall => "callId",
        Webhook::HatifWhatsApp => "messageId",
        Webhook::Voki => "event",
    };
    let (id, body) = c.valid("duplicate id key")?;
    let body = [
        format!("{{\"{key}\": \"other-{id}\", ").as_bytes(),
        &body[1..],
    ]
    .concat();
    let credentials = auth(c.w, &body)?;
    c.push(
        &format!("duplicate {key} key"),
        id,
        body,
        credentials,
        Expect::Kept,
    );
    let (id, body) = c.valid("duplicate unknown keys")?;
    let body = [
        b"{\"hostileDup\": 1, \"hostileDup\": 2, ".as_slice(),
        &body[1..],
    ]
    .concat();
    let credentials = auth(c.w, &body)?;
    c.push(
        "duplicate unknown keys",
        id,
        body,
        credentials,
        Expect::Stored,
    );
    Ok(())
}
