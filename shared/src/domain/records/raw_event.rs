//! Raw events: every webhook change the bundle keeps as Meta sent it (nothing dropped), keyed by its
//! field, entry and digest.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Received;
use crate::domain::ids::PhoneNumberId;

/// Anything else Meta sent (template status, account, quality, name updates, alerts,
/// change-level errors, messages without an id), stored raw so nothing is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEventRecord {
    pub field: String,
    pub entry_id: String,
    pub phone_number_id: Option<PhoneNumberId>,
    /// The event as JSON.
    pub payload: String,
    /// SHA-256 of `field`, `entry_id` and `payload`: the same event redelivered has the same digest.
    pub digest: String,
    pub received: Received,
    /// The webhook entry's `time` (epoch seconds), when Meta sent one.
    pub entry_time: Option<i64>,
    /// Where the payload went when it was too large for a table item ([`MAX_INLINE_EVENT_PAYLOAD`]):
    /// `payload` is then empty and the item holds this pointer instead.
    pub payload_pointer: Option<crate::domain::envelope::S3Pointer>,
}

/// The largest raw event payload stored in its table item: DynamoDB's item limit is 400 KB,
/// names and every other attribute included. A larger payload goes to the payload bucket.
pub const MAX_INLINE_EVENT_PAYLOAD: usize = 350 * 1024;

impl RawEventRecord {
    /// The payload bucket's key for this event when it is offloaded: one per event (its digest),
    /// so a redelivery writes the same object again.
    pub fn blob_key(&self) -> String {
        let safe = |text: &str| -> String {
            text.chars()
                .take(64)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "events/{}/{}/{}.json",
            safe(&self.field),
            safe(&self.entry_id),
            self.digest
        )
    }

    /// The same event with its payload moved to `pointer`.
    pub fn offloaded_to(&self, pointer: crate::domain::envelope::S3Pointer) -> Self {
        Self {
            payload: String::new(),
            payload_pointer: Some(pointer),
            ..self.clone()
        }
    }
}

// ------------------------------------------------------------------ echoes
//

/// The raw event of `value` (its digest: field, entry id and payload).
pub(super) fn raw_event(
    field: &str,
    entry_id: &str,
    phone_number_id: Option<&str>,
    value: &Value,
    received: &Received,
) -> RawEventRecord {
    let payload = value.to_string();
    let mut hasher = Sha256::new();
    for part in [field, entry_id, &payload] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    RawEventRecord {
        field: field.to_owned(),
        entry_id: entry_id.to_owned(),
        phone_number_id: phone_number_id.map(PhoneNumberId::new),
        digest: hex::encode(hasher.finalize()),
        payload,
        received: received.clone(),
        entry_time: None,
        payload_pointer: None,
    }
}
