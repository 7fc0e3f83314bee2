//! WhatsApp messages of one conversation, in creation order.

use callvault_records::{MessageRecord, Normalized, Provider};
use callvault_store::record_of;
use callvault_store::schema::{conversation_pk, BY_CONVERSATION};

use crate::paged::{Filter, ListQuery, Order, Page, SortRange, Source};
use crate::{QueryError, Reader};

/// The list query of one conversation's messages, oldest first (messages without a creation
/// time last).
pub(crate) fn conversation_query(provider: Provider, conversation_id: &str) -> ListQuery {
    ListQuery {
        sources: vec![Source {
            index: BY_CONVERSATION,
            partition: conversation_pk(provider, conversation_id),
        }],
        range: SortRange::default(),
        filter: Filter::default(),
        order: Order::Ascending,
    }
}

impl Reader {
    /// The messages of one conversation, oldest first, `limit` per page.
    pub async fn messages(
        &self,
        provider: Provider,
        conversation_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, QueryError> {
        let page = conversation_query(provider, conversation_id)
            .page(&self.ddb, &self.table, limit, cursor)
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for item in &page.items {
            if let Normalized::Message(m) = record_of(item)? {
                items.push(m);
            }
        }
        Ok(Page {
            items,
            cursor: page.cursor,
        })
    }
}
