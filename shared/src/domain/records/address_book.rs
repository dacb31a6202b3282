//! Planning the `smb_app_state_sync` field: each change to the WhatsApp Business app's address book
//! kept on the contact it names (its name there, or that it was removed), the newest change winning.

use super::{Plan, Received};
use crate::domain::ids::PhoneNumberId;
use crate::domain::webhook::StateSyncValue;

/// What the owner's address book says of a contact now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBookRecord {
    /// The contact's phone number (digits), the key of its contact item.
    pub contact: String,
    pub phone_number_id: Option<PhoneNumberId>,
    /// `true`: added or edited (`add`); `false`: removed (`remove`).
    pub saved: bool,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    /// When the change was made (Meta's timestamp, else when it arrived), epoch seconds: an older
    /// change never overwrites a newer one.
    pub at: i64,
    pub received: Received,
}

pub(super) fn plan_address_book(plan: &mut Plan, value: &StateSyncValue, received: &Received) {
    for item in &value.state_sync {
        let Some(contact) = item.contact.as_ref() else {
            continue;
        };
        let Some(number) = contact.phone_number.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
            continue;
        };
        let saved = match (item.kind.as_str(), item.action.as_str()) {
            ("contact", "add") => true,
            ("contact", "remove") => false,
            // Another kind of state, or an action Meta may add later: kept in the raw event only.
            _ => continue,
        };
        plan.address_book.push(AddressBookRecord {
            contact: number.trim_start_matches('+').to_owned(),
            phone_number_id: value.metadata.phone_number_id.clone(),
            saved,
            full_name: contact.full_name.clone().filter(|_| saved),
            first_name: contact.first_name.clone().filter(|_| saved),
            at: item
                .metadata
                .as_ref()
                .and_then(|m| m.timestamp)
                .unwrap_or_else(|| received.at.timestamp()),
            received: received.clone(),
        });
    }
}
