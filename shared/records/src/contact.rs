use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::merge::{earliest, Merge};
use crate::{PhoneNumber, Provider};

/// A customer registered at a provider (Voki `customer.created`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// Which provider registered the contact.
    pub provider: Provider,
    /// The provider's customer id.
    pub provider_contact_id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// When the provider registered the contact (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// True when the delivery is a provider's test or sample payload.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_delivery: bool,
    /// Any other fields, kept as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

impl ContactRecord {
    /// Combines two deliveries about the same contact in an order-independent way: a field
    /// both give different values keeps the greater by its JSON text, the creation time the
    /// earlier.
    pub fn merge(self, other: Self) -> Self {
        let m = Merge { tie: true };
        Self {
            provider: self.provider,
            provider_contact_id: self.provider_contact_id,
            name: m.pick(self.name, other.name),
            email: m.pick(self.email, other.email),
            phone: m.pick(self.phone, other.phone),
            created_at: earliest(self.created_at, other.created_at),
            test_delivery: self.test_delivery || other.test_delivery,
            details: m.union(self.details, other.details),
        }
    }
}
