//! The `smb_app_state_sync` webhook field: contacts the owner added, edited or removed in the
//! WhatsApp Business app's address book (`…/webhooks/reference/smb_app_state_sync`), once when the
//! sync is requested after onboarding and at every change after.

use serde::Deserialize;

use super::Metadata;

/// The webhook field of the address book's changes.
pub const STATE_SYNC_FIELD: &str = "smb_app_state_sync";

/// `value` of an `smb_app_state_sync` change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateSyncValue {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub state_sync: Vec<StateSyncItem>,
}

/// One change: `type` `contact`, `action` `add` (added or edited) or `remove`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateSyncItem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub contact: Option<AppContact>,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub metadata: Option<StateSyncMetadata>,
}

/// The contact as the owner's address book has it (names absent on a removal).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppContact {
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateSyncMetadata {
    #[serde(default, deserialize_with = "super::epoch_seconds")]
    pub timestamp: Option<i64>,
}
