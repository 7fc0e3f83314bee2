//! Voki webhooks: an envelope `{event, timestamp, data}` signed as `sha256=<hex>` in
//! `X-Voki-Signature`; `X-Voki-Delivery` names the delivery (reused on resend).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::payload::{payload, Time};
use crate::storable;
use crate::{
    from_json, optional_id, require_id, Agent, AgentKind, CallRecord, CallStatus, Contact,
    ContactRecord, Invalid, Normalized, ParseError, PhoneNumber, Provider, Unsupported,
};

/// The header carrying Voki's signature.
pub const SIGNATURE_HEADER: &str = "x-voki-signature";
/// The header naming the delivery.
pub const DELIVERY_HEADER: &str = "x-voki-delivery";
/// The header naming the event (informational: the signed body's `event` is used).
pub const EVENT_HEADER: &str = "x-voki-event";

/// The six documented events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Customer joins the queue.
    CallCreated,
    /// Agent accepts the call.
    CallAssigned,
    /// WebRTC connection established.
    CallStarted,
    /// Call ended normally.
    CallCompleted,
    /// Customer left the queue without being served.
    CallMissed,
    /// New customer registered.
    CustomerCreated,
}

impl Event {
    /// Every event, in lifecycle order.
    pub const ALL: [Event; 6] = [
        Self::CallCreated,
        Self::CallAssigned,
        Self::CallStarted,
        Self::CallCompleted,
        Self::CallMissed,
        Self::CustomerCreated,
    ];

    /// The event's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallCreated => "call.created",
            Self::CallAssigned => "call.assigned",
            Self::CallStarted => "call.started",
            Self::CallCompleted => "call.completed",
            Self::CallMissed => "call.missed",
            Self::CustomerCreated => "customer.created",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// The envelope, with `data` left unparsed until the event says what it holds, so the body is
/// parsed once.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(default)]
    timestamp: Time,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A parsed delivery.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Which event.
    pub event: Event,
    /// When the event happened.
    pub timestamp: Option<DateTime<Utc>>,
    /// The event's data.
    pub data: Data,
}

/// The event data, by kind.
#[derive(Debug, Clone)]
pub enum Data {
    /// `call.*` events.
    Call(CallData),
    /// `customer.created`.
    Customer(CustomerData),
}

payload! {
    /// Data of `call.*` events.
    pub struct CallData {
        /// Call id.
        "id" => pub id: String,
        /// Voki's status text.
        "status" => pub status: Option<String>,
        /// Duration in seconds.
        "duration_seconds" => pub duration_seconds: Option<u64>,
        /// Department.
        "department_id" => pub department_id: Option<String>,
        /// Attendant (human agent).
        "attendant_id" => pub attendant_id: Option<String>,
        /// Customer details.
        "customer" => pub customer: Option<CustomerData>,
    }
}

payload! {
    /// A customer, in `call.*` data or as `customer.created` data.
    pub struct CustomerData {
        /// Customer id (required for `customer.created`).
        "id" => pub id: Option<String>,
        /// Name.
        "name" => pub name: Option<String>,
        /// Email.
        "email" => pub email: Option<String>,
        /// Phone.
        "phone" => pub phone: Option<String>,
    }
}

/// Documented sample ids: a delivery carrying one is the dashboard's "Test" payload.
const SAMPLE_IDS: [&str; 1] = ["uuid-da-chamada"];

/// Parses a raw body. An event outside the six documented ones is
/// [`ParseError::Unsupported`]. Ids that end up in storage keys (`data.id`,
/// `data.attendant_id`, `data.customer.id`) are at most [`MAX_ID_BYTES`](crate::MAX_ID_BYTES)
/// bytes.
pub fn parse(body: &[u8]) -> Result<Envelope, ParseError> {
    let raw: RawEnvelope = from_json(body)?;
    let event = Event::from_name(&raw.event).ok_or_else(|| Unsupported::event_type(&raw.event))?;
    let data = raw.data.get();
    // serde also reads a struct from an array (fields by position): `data` is an object.
    if !data.starts_with('{') {
        return Err(Invalid::MemberNotAnObject("data").into());
    }
    let data = if event == Event::CustomerCreated {
        let customer: CustomerData =
            serde_json::from_str(data).map_err(|e| ParseError::from_json(&e))?;
        require_id("data.id", customer.id.as_deref().unwrap_or(""))?;
        Data::Customer(customer)
    } else {
        let call: CallData = serde_json::from_str(data).map_err(|e| ParseError::from_json(&e))?;
        require_id("data.id", &call.id)?;
        optional_id("data.attendant_id", call.attendant_id.as_deref())?;
        optional_id(
            "data.customer.id",
            call.customer.as_ref().and_then(|c| c.id.as_deref()),
        )?;
        Data::Call(call)
    };
    Ok(Envelope {
        event,
        timestamp: raw.timestamp.0,
        data,
    })
}

fn call_status(event: Event) -> CallStatus {
    match event {
        Event::CallCreated => CallStatus::Queued,
        Event::CallAssigned => CallStatus::Assigned,
        Event::CallStarted => CallStatus::InProgress,
        Event::CallCompleted => CallStatus::Completed,
        Event::CallMissed | Event::CustomerCreated => CallStatus::Missed,
    }
}

/// Normalizes one event into the record it contributes to; records from the events of one
/// call merge into the same final record whatever their order. Numbers DynamoDB cannot store
/// in free-form values are kept as text ([`storable_numbers`](crate::storable_numbers)).
pub fn normalize(envelope: Envelope) -> Normalized {
    match envelope.data {
        Data::Customer(c) => {
            let mut record = ContactRecord {
                provider: Provider::Voki,
                test_delivery: c.id.as_deref().is_some_and(|id| SAMPLE_IDS.contains(&id)),
                provider_contact_id: c.id.unwrap_or_default(),
                name: c.name,
                email: c.email,
                phone: c.phone.as_deref().and_then(PhoneNumber::parse),
                created_at: envelope.timestamp,
                details: c.extra,
            };
            storable::contact(&mut record);
            Normalized::Contact(record)
        }
        Data::Call(d) => {
            let event = envelope.event;
            let mut r = CallRecord::new(Provider::Voki, d.id);
            r.test_delivery = SAMPLE_IDS.contains(&r.provider_call_id.as_str());
            r.status = call_status(event);
            r.provider_status = d.status;
            r.channel_id = d.department_id;
            r.agent = d.attendant_id.map(|id| Agent {
                id,
                name: None,
                kind: AgentKind::Human,
            });
            r.contact = d.customer.and_then(|c| {
                Contact {
                    id: c.id,
                    name: c.name,
                    email: c.email,
                    phone: c.phone.as_deref().and_then(PhoneNumber::parse),
                    details: c.extra,
                }
                .non_empty()
            });
            r.duration_seconds = d.duration_seconds;
            r.extras = d.extra;
            if let Some(at) = envelope.timestamp {
                let stage = event.name().trim_start_matches("call.").to_owned();
                r.stages.insert(stage, at);
                match event {
                    Event::CallCreated => r.started_at = Some(at),
                    Event::CallStarted => r.answered_at = Some(at),
                    Event::CallCompleted | Event::CallMissed => r.ended_at = Some(at),
                    Event::CallAssigned | Event::CustomerCreated => {}
                }
            }
            storable::call(&mut r);
            Normalized::Call(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!("../../../tests/fixtures/voki-call-completed.json");

    fn event(name: &str, at: &str, status: &str, extra: &str) -> CallRecord {
        let body = format!(
            r#"{{"event":"{name}","timestamp":"{at}","data":{{"id":"call-1","status":"{status}","department_id":"dep","customer":{{"name":"Ana","email":"ana@example.com"}}{extra}}}}}"#
        );
        match normalize(parse(body.as_bytes()).expect("parses")) {
            Normalized::Call(r) => r,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn seed_payload_normalizes_every_field() {
        let Normalized::Call(r) = normalize(parse(SEED).expect("seed parses")) else {
            panic!("call")
        };
        assert_eq!(r.provider_call_id, "uuid-da-chamada");
        assert!(r.test_delivery, "the documented sample is a test delivery");
        assert_eq!(r.status, CallStatus::Completed);
        assert_eq!(r.provider_status.as_deref(), Some("completed"));
        assert_eq!(r.duration_seconds, Some(342));
        assert_eq!(r.channel_id.as_deref(), Some("uuid-do-departamento"));
        assert_eq!(
            r.agent.map(|a| (a.id, a.kind)),
            Some(("uuid-do-atendente".into(), AgentKind::Human))
        );
        let c = r.contact.expect("customer");
        assert_eq!(
            (c.name.as_deref(), c.email.as_deref()),
            (Some("Nome do Cliente"), Some("cliente@email.com"))
        );
        assert_eq!(
            r.ended_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-20T14:30:00+00:00")
        );
        assert_eq!(r.stages.len(), 1);
    }

    /// All 24 orderings of the four stages of a completed call give the same record.
    #[test]
    fn every_ordering_of_the_four_stages_gives_the_same_record() {
        let stages = [
            event("call.created", "2026-02-20T14:00:00Z", "waiting", ""),
            event(
                "call.assigned",
                "2026-02-20T14:01:00Z",
                "assigned",
                r#","attendant_id":"att-1""#,
            ),
            event(
                "call.started",
                "2026-02-20T14:02:00Z",
                "in_progress",
                r#","attendant_id":"att-1""#,
            ),
            event(
                "call.completed",
                "2026-02-20T14:07:42Z",
                "completed",
                r#","attendant_id":"att-1","duration_seconds":342"#,
            ),
        ];
        let mut results = Vec::new();
        for order in permutations(4) {
            let merged = order
                .iter()
                .map(|&i| stages[i].clone())
                .reduce(CallRecord::merge)
                .expect("4");
            results.push((order, merged));
        }
        assert_eq!(results.len(), 24);
        let expected = &results[0].1;
        assert_eq!(expected.status, CallStatus::Completed);
        assert_eq!(expected.provider_status.as_deref(), Some("completed"));
        assert_eq!(expected.stages.len(), 4);
        assert_eq!(
            expected.started_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-20T14:00:00+00:00")
        );
        assert_eq!(
            expected.answered_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-20T14:02:00+00:00")
        );
        assert_eq!(
            expected.ended_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-20T14:07:42+00:00")
        );
        assert_eq!(expected.duration_seconds, Some(342));
        assert_eq!(
            expected.agent.as_ref().map(|a| a.id.as_str()),
            Some("att-1")
        );
        for (order, merged) in &results {
            assert_eq!(merged, expected, "ordering {order:?}");
        }
        // A missed call never becomes anything else either.
        let missed = event("call.missed", "2026-02-20T14:03:00Z", "missed", "");
        let late = missed
            .clone()
            .merge(stages[0].clone())
            .merge(stages[1].clone());
        assert_eq!(late.status, CallStatus::Missed);
    }

    /// Heap's algorithm: every ordering of `0..n`.
    pub(crate) fn permutations(n: usize) -> Vec<Vec<usize>> {
        fn go(k: usize, items: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if k <= 1 {
                out.push(items.clone());
                return;
            }
            for i in 0..k {
                go(k - 1, items, out);
                let j = if k.is_multiple_of(2) { i } else { 0 };
                items.swap(j, k - 1);
            }
        }
        let mut out = Vec::new();
        go(n, &mut (0..n).collect(), &mut out);
        out
    }

    #[test]
    fn customer_created_becomes_a_contact() {
        let body = br#"{"event":"customer.created","timestamp":"2026-02-20T14:30:00Z","data":{"id":"cus-1","name":"Ana","email":"a@example.com","phone":"+55 11 91234-5678","tier":"gold"}}"#;
        let Normalized::Contact(c) = normalize(parse(body).expect("parses")) else {
            panic!("contact")
        };
        assert_eq!(c.provider_contact_id, "cus-1");
        assert_eq!(
            c.phone.and_then(|p| p.e164).as_deref(),
            Some("+5511912345678")
        );
        assert_eq!(
            c.details.get("tier"),
            Some(&serde_json::Value::from("gold"))
        );
        assert!(!c.test_delivery);
    }

    #[test]
    fn unknown_events_and_bad_shapes_are_errors() {
        assert!(matches!(
            parse(br#"{"event":"call.exploded","data":{"id":"x"}}"#),
            Err(ParseError::Unsupported(_))
        ));
        assert!(parse(br#"{"event":"call.created","data":{}}"#).is_err());
        assert!(parse(br#"{"event":"customer.created","data":{"name":"x"}}"#).is_err());
        assert!(parse(br#"{"event":"call.created","data":[]}"#).is_err());
        // An array would otherwise fill the fields by position.
        assert!(parse(br#"{"event":"call.created","data":["x"]}"#).is_err());
        assert!(parse(br#"{"event":"call.created","data": ["x"]}"#).is_err());
        assert!(parse(br#"{"event":"call.created","data":null}"#).is_err());
        assert!(parse(br#"{"data":{"id":"x"}}"#).is_err());
    }

    #[test]
    fn key_ids_are_at_most_256_bytes() {
        use crate::testing::check_id_limit;
        for (template, field) in [
            (
                r#"{"event":"call.created","data":{"id":"@ID@"}}"#,
                "data.id",
            ),
            (
                r#"{"event":"call.assigned","data":{"id":"c","attendant_id":"@ID@"}}"#,
                "data.attendant_id",
            ),
            (
                r#"{"event":"call.completed","data":{"id":"c","customer":{"id":"@ID@"}}}"#,
                "data.customer.id",
            ),
            (
                r#"{"event":"customer.created","data":{"id":"@ID@"}}"#,
                "data.id",
            ),
        ] {
            check_id_limit(template, field, parse);
        }
    }

    #[test]
    fn out_of_range_numbers_in_free_form_values_are_kept_as_text() {
        let numbers = crate::testing::UNKNOWN_NUMBERS;
        let body = format!(
            r#"{{"event":"call.completed","data":{{"id":"c",{numbers},"customer":{{"name":"Ana",{numbers}}}}}}}"#
        );
        let Normalized::Call(r) = normalize(parse(body.as_bytes()).expect("parses")) else {
            panic!("call")
        };
        crate::testing::assert_numbers_kept(&r.extras);
        assert_eq!(r.extras.len(), 2);
        let contact = r.contact.expect("customer");
        crate::testing::assert_numbers_kept(&contact.details);

        let body = format!(r#"{{"event":"customer.created","data":{{"id":"cus-1",{numbers}}}}}"#);
        let Normalized::Contact(c) = normalize(parse(body.as_bytes()).expect("parses")) else {
            panic!("contact")
        };
        crate::testing::assert_numbers_kept(&c.details);
        assert_eq!(c.details.len(), 2);
    }
}
