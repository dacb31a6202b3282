//! The contacts list of [`MemoryStore`], by the DynamoDB adapter's rules (`adapters/dynamodb/contacts.rs`):
//! one entry per contact, moved forward by a newer activity only, read newest first.

use super::{MemoryStore, Tables};
use crate::domain::contacts::{ContactSummary, ContactTouch, ContactsPage, LastMessage, Window, index_sort};
use crate::domain::history::Position;
use crate::domain::ids::ContactId;
use crate::domain::records::ContactActivity;
use crate::ports::{CodeLog, ContactList, StoreError};

/// A contact item's fields the list reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactEntry {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    pub username: Option<String>,
    /// The last activity (`activity_at`, ms) and what it said; `None`: never touched (not listed).
    pub last: Option<(i64, LastMessage)>,
    pub last_inbound_at: Option<i64>,
}

/// The contacts list's entry moved to `touch`, if newer (as the table's condition).
pub(super) fn touch(tables: &mut Tables, touch: &ContactTouch) {
    if touch.key.is_empty() {
        return;
    }
    let entry = tables.contact_index.entry(touch.key.clone()).or_default();
    match ContactId::from_key(touch.key.as_str()) {
        ContactId::Phone(_) => entry.wa_id.get_or_insert_with(|| touch.key.clone()),
        ContactId::User(_) => entry.user_id.get_or_insert_with(|| touch.key.clone()),
    };
    if entry.last.as_ref().is_some_and(|(at, _)| *at >= touch.at_ms) {
        return;
    }
    let timestamp = chrono::DateTime::from_timestamp_millis(touch.at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    entry.last = Some((
        touch.at_ms,
        LastMessage {
            direction: touch.direction.to_owned(),
            kind: touch.kind.clone(),
            preview: touch.preview.clone(),
            timestamp,
            id: touch.id.clone(),
        },
    ));
}

/// What an inbound message newer than the contact's last writes on its item (the condition on
/// `last_inbound_at`): its ids, names and time.
pub(super) fn inbound(tables: &mut Tables, activity: &ContactActivity) {
    let entry = tables.contact_index.entry(activity.key.clone()).or_default();
    if entry.last_inbound_at.is_some_and(|at| at >= activity.last_inbound_at) {
        return;
    }
    entry.last_inbound_at = Some(activity.last_inbound_at);
    for (field, value) in [
        (&mut entry.wa_id, &activity.wa_id),
        (&mut entry.user_id, &activity.user_id),
        (&mut entry.profile_name, &activity.profile_name),
        (&mut entry.username, &activity.username),
    ] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
}

impl ContactList for MemoryStore {
    async fn contacts(&self, limit: u32, after: Option<&Position>) -> Result<ContactsPage, StoreError> {
        self.call("contacts", |tables, _| {
            let mut listed: Vec<(String, &String, &ContactEntry, &LastMessage)> = tables
                .contact_index
                .iter()
                .filter_map(|(key, entry)| {
                    let (at, last) = entry.last.as_ref()?;
                    Some((index_sort(*at, key), key, entry, last))
                })
                .filter(|(sort, ..)| after.is_none_or(|after| *sort < after.sort))
                .collect();
            listed.sort_by(|a, b| b.0.cmp(&a.0));
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let more = listed.len() > limit;
            listed.truncate(limit);
            let next = more.then(|| listed.last()).flatten().map(|(sort, key, ..)| Position {
                sort: sort.clone(),
                pk: format!("CONTACT#{key}"),
                sk: "CONTACT".to_owned(),
            });
            let contacts = listed
                .iter()
                .map(|(_, key, entry, last)| {
                    let mut windows: Vec<Window> = tables
                        .windows
                        .iter()
                        .filter(|((contact, _), _)| contact == *key)
                        .map(|((_, number), at)| Window {
                            phone_number_id: number.clone(),
                            last_inbound_at: *at,
                        })
                        .collect();
                    windows.sort_by(|a, b| a.phone_number_id.cmp(&b.phone_number_id));
                    ContactSummary {
                        key: (*key).clone(),
                        wa_id: entry.wa_id.clone(),
                        user_id: entry.user_id.clone(),
                        name: entry
                            .profile_name
                            .clone()
                            .or_else(|| tables.address_book.get(*key).and_then(|book| book.full_name.clone())),
                        username: entry.username.clone(),
                        last: (*last).clone(),
                        last_inbound_at: entry.last_inbound_at,
                        windows,
                    }
                })
                .collect();
            ContactsPage { contacts, next }
        })
        .await
    }
}

/// The codes, read from the fake verification store it holds.
impl CodeLog for MemoryStore {
    async fn latest_codes(
        &self,
        number: &str,
        limit: usize,
    ) -> Result<Vec<crate::domain::verification::StoredCode>, StoreError> {
        self.verification.latest_codes(number, limit).await
    }
}
