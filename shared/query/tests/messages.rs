//! Hatif WhatsApp messages, parsed from provider bodies and stored through the record store,
//! list in creation order through the conversation index.

use callvault_query::Reader;
use callvault_records::{hatif, Normalized, Provider};
use callvault_store::{Contribution, Delivery};
use callvault_testkit::Emulator;
use callvault_verify::{Scope, Unverified};
use chrono::Utc;

#[tokio::test]
async fn conversation_messages_list_in_creation_order() -> anyhow::Result<()> {
    let emulator = Emulator::start()?;
    let store = emulator.store("calls", "archive").await?;
    // Message ids sort the other way round from creation times.
    for (id, at) in [
        ("m-a", "2026-11-23T10:05:00Z"),
        ("m-b", "2026-11-23T10:01:00Z"),
        ("m-c", "2026-11-23T10:03:00Z"),
    ] {
        let body = format!(
            r#"{{"conversationId":"conv-1","messageId":"{id}","status":"Sent","creationTime":"{at}"}}"#
        );
        let verified = Unverified::new(body.as_bytes()).accept_unsigned();
        let record = Normalized::Message(hatif::whatsapp::normalize(
            hatif::whatsapp::parse(verified.body())?,
            Utc::now(),
        ));
        let d = Delivery {
            verified: &verified,
            provider: Provider::Hatif,
            webhook: "hatif-whatsapp",
            received_at: Utc::now(),
            headers: vec![],
        };
        let delivery_id = format!("{id}:sent");
        let contribution = Contribution {
            delivery_id: Some(&delivery_id),
            event_type: "message.sent",
            record,
            scope: Some(&Scope::Default),
            transcript_pointer: None,
        };
        store.ingest(&d, contribution).await?;
    }
    let reader = Reader::from_config(&emulator.sdk_config().await, "calls", "archive");
    let page = reader.messages(Provider::Hatif, "conv-1", 2, None).await?;
    let ids: Vec<_> = page.items.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["m-b", "m-c"]);
    let rest = reader
        .messages(Provider::Hatif, "conv-1", 2, page.cursor.as_deref())
        .await?;
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].message_id, "m-a");
    assert!(rest.cursor.is_none());
    assert!(reader
        .messages(Provider::Hatif, "conv-2", 10, None)
        .await?
        .items
        .is_empty());
    Ok(())
}
