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
            .page(self.store.dynamodb(), self.store.table(), limit, cursor)
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

/// A message with its bookkeeping: the archive state of its media, and its scope.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MessageDetail {
    /// The message.
    pub record: MessageRecord,
    /// Archive state of its media.
    pub files: callvault_store::files::Files,
    /// The secrets that authenticated it (`channel:<id>` or `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The most messages [`Reader::conversation`] reads.
pub const MAX_CONVERSATION: usize = 2000;

impl Reader {
    /// A whole conversation (at most [`MAX_CONVERSATION`] messages) with each message's media
    /// state, in creation order (messages without a creation time last): one read of the
    /// conversation's partition.
    pub async fn conversation(
        &self,
        provider: Provider,
        conversation_id: &str,
    ) -> Result<Vec<MessageDetail>, QueryError> {
        let mut messages: Vec<MessageDetail> = self
            .store
            .records(&conversation_pk(provider, conversation_id), "MSG#")
            .await?
            .into_iter()
            .filter_map(|(_, stored)| match stored.record {
                Normalized::Message(record) => Some(MessageDetail {
                    record,
                    files: stored.files,
                    scope: stored.scope.map(|s| s.to_string()),
                }),
                _ => None,
            })
            .take(MAX_CONVERSATION)
            .collect();
        messages.sort_by(|a, b| {
            let key = |m: &MessageDetail| {
                (
                    m.record.created_at.is_none(),
                    m.record.created_at,
                    m.record.message_id.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        Ok(messages)
    }
}
