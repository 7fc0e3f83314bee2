//! Every alarm of `infra/template.yaml` names its runbook, and every runbook of
//! `docs/operations.md` is named by an alarm: an alarm's description ends with
//! `Runbook: docs/operations.md#<anchor>`, and the anchor is one of the `###` headings under
//! that page's `## Runbooks`.

use std::collections::{BTreeMap, BTreeSet};

use callvault_testkit::docs::{headings, Heading};
use callvault_testkit::repo_root;
use callvault_testkit::template::{Template, ALARM};
use serde_json::{json, Value};

/// The page the runbooks are on, from the repository root.
const OPERATIONS: &str = "docs/operations.md";

/// What precedes a runbook's anchor in an alarm's description.
const RUNBOOK_MARK: &str = "Runbook: docs/operations.md#";

/// The anchor of the heading the runbooks are under.
const RUNBOOKS_SECTION: &str = "runbooks";

/// An alarm description's text: a string, or the template of an `Fn::Sub` (whose `${...}` do
/// not reach into the runbook mark).
fn description(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Object(map) => match map.get("Fn::Sub")? {
            Value::String(text) => Some(text),
            Value::Array(parts) => parts.first()?.as_str(),
            _ => None,
        },
        _ => None,
    }
}

/// The runbook anchor a description names: what follows the mark, up to the first character
/// an anchor cannot hold (a sentence's full stop, a space). `None` without the mark.
fn runbook_of(description: &str) -> Option<String> {
    // A folded YAML scalar may break the line anywhere: the mark is read across whitespace.
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let (_, rest) = text.split_once(RUNBOOK_MARK)?;
    Some(
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// The runbooks of a page: the level-3 headings of its `## Runbooks` section.
fn runbooks(page: &str) -> Vec<Heading> {
    let mut inside = false;
    let mut found = Vec::new();
    for heading in headings(page) {
        if heading.level <= 2 {
            inside = heading.level == 2 && heading.anchor == RUNBOOKS_SECTION;
        } else if inside && heading.level == 3 {
            found.push(heading);
        }
    }
    found
}

#[test]
fn every_alarm_names_a_runbook_and_every_runbook_is_named_by_an_alarm() -> anyhow::Result<()> {
    let template = Template::load()?;
    let alarms = template.resources_of_type(ALARM);
    assert!(!alarms.is_empty(), "the template declares alarms");
    let page = std::fs::read_to_string(repo_root().join(OPERATIONS))?;
    let runbooks: BTreeMap<String, usize> = runbooks(&page)
        .into_iter()
        .map(|h| (h.anchor, h.line))
        .collect();
    assert!(
        !runbooks.is_empty(),
        "{OPERATIONS} has ### runbooks under ## Runbooks"
    );

    let mut problems = Vec::new();
    let mut named = BTreeSet::new();
    for alarm in &alarms {
        let resource = template.resource(alarm).unwrap_or_default();
        let anchor = description(&resource["Properties"]["AlarmDescription"]).and_then(runbook_of);
        match anchor {
            None => problems.push(format!(
                "{alarm}: its AlarmDescription does not end with `{RUNBOOK_MARK}<anchor>`"
            )),
            Some(anchor) if !runbooks.contains_key(&anchor) => problems.push(format!(
                "{alarm}: names {OPERATIONS}#{anchor}, which is no runbook heading there"
            )),
            Some(anchor) => {
                named.insert(anchor);
            }
        }
    }
    for (anchor, line) in &runbooks {
        if !named.contains(anchor) {
            problems.push(format!(
                "{OPERATIONS}:{line}: the runbook #{anchor} is named by no alarm of the template"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "alarms and runbooks disagree:\n{}",
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn a_runbook_is_read_from_a_description_as_the_template_writes_it() {
    // A folded scalar (`>-`) keeps the words and joins lines with spaces; `!Sub` is its long
    // form here; the anchor may end the description or a sentence.
    for (value, expected) in [
        (
            json!("Spooled deliveries waiting. Runbook: docs/operations.md#spool-not-draining"),
            Some("spool-not-draining"),
        ),
        (
            json!({"Fn::Sub": "No ${X} delivery for ${H} hours. Runbook:\n  docs/operations.md#provider-silent."}),
            Some("provider-silent"),
        ),
        (
            json!({"Fn::Sub": ["At least ${Share}%. Runbook: docs/operations.md#authentication-failures", {"Share": 20}]}),
            Some("authentication-failures"),
        ),
        (json!("Lambda errors in any function."), None),
        (
            json!({"Fn::Join": ["", ["Runbook: docs/operations.md#x"]]}),
            None,
        ),
        (Value::Null, None),
    ] {
        assert_eq!(
            description(&value).and_then(runbook_of).as_deref(),
            expected,
            "{value}"
        );
    }
}

#[test]
fn runbooks_are_the_level_3_headings_under_runbooks() {
    let page = "# Operations\n\n## Alarms\n\n### Not a runbook\n\n## Runbooks\n\n### Provider silent\n\n#### A detail\n\n### Files failed\n\n## Metrics\n\n### Not one either\n";
    let anchors: Vec<String> = runbooks(page).into_iter().map(|h| h.anchor).collect();
    assert_eq!(anchors, ["provider-silent", "files-failed"]);
}
