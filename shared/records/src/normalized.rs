use serde::{Deserialize, Serialize};

use crate::{CallRecord, ContactRecord, MessageRecord};

/// What one delivery normalizes into.
// One value per delivery, moved a few times and never held in bulk: boxing the call variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Normalized {
    /// A call record.
    Call(CallRecord),
    /// A WhatsApp message record.
    Message(MessageRecord),
    /// A contact record.
    Contact(ContactRecord),
}

impl Normalized {
    /// `call`, `message` or `contact`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Call(_) => "call",
            Self::Message(_) => "message",
            Self::Contact(_) => "contact",
        }
    }

    /// The provider the record came from.
    pub fn provider(&self) -> crate::Provider {
        match self {
            Self::Call(r) => r.provider,
            Self::Message(r) => r.provider,
            Self::Contact(r) => r.provider,
        }
    }

    /// Merges a record built from another delivery for the same entity. Records of different
    /// kinds never share a key, so a kind mismatch keeps `self`.
    pub fn merge(self, other: Self) -> Self {
        match (self, other) {
            (Self::Call(a), Self::Call(b)) => Self::Call(a.merge(b)),
            (Self::Message(a), Self::Message(b)) => Self::Message(a.merge(b)),
            (Self::Contact(a), Self::Contact(b)) => Self::Contact(a.merge(b)),
            (a, _) => a,
        }
    }
}
