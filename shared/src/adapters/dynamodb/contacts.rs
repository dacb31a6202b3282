//! The contacts list: each contact item in the `by_contact` index under [`CONTACTS_INDEX_PK`], its
//! sort key its last activity (see [`super::keys`]). [`DynamoMessageStore::touch_contact`] moves it
//! forward (`record_contact_activity`, `record_echo`, `create_outbound` call it); [`ContactList`]
//! reads a page newest first (one `Query` of the index) and each contact's windows (one `Query` of
//! its partition, `WINDOW#` items).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoMessageStore;
use super::item::{Update, number, string, text_of};
use super::keys::{BY_CONTACT_INDEX, CONTACT_SK, CONTACTS_INDEX_PK, contact_pk};
use crate::adapters::describe;
use crate::domain::contacts::{ContactSummary, ContactTouch, ContactsPage, LastMessage, Window, index_sort};
use crate::domain::history::Position;
use crate::domain::ids::ContactId;
use crate::ports::{ContactList, StoreError, WriteOutcome};

type Attributes = HashMap<String, AttributeValue>;

const WINDOW_PREFIX: &str = "WINDOW#";

impl DynamoMessageStore {
    /// Moves the contact's entry of the contacts list to `touch`'s time, with what it said; an older
    /// activity than the one it shows changes nothing (`Superseded`).
    pub(super) async fn touch_contact(&self, touch: &ContactTouch) -> Result<WriteOutcome, StoreError> {
        if touch.key.is_empty() {
            return Ok(WriteOutcome::Superseded);
        }
        let id_field = match ContactId::from_key(touch.key.as_str()) {
            ContactId::Phone(_) => "wa_id",
            ContactId::User(_) => "user_id",
        };
        let mut update = Update::default();
        update
            .set_if_absent("item_type", string("contact"))
            .set_if_absent(id_field, string(&touch.key))
            .set("gsi1pk", string(CONTACTS_INDEX_PK))
            .set("gsi1sk", string(index_sort(touch.at_ms, &touch.key)))
            .set("activity_at", number(touch.at_ms))
            .set("last_direction", string(touch.direction))
            .set("last_type", string(&touch.kind))
            .set("last_preview", string(&touch.preview))
            .set("last_id", string(&touch.id));
        let newer = Some((
            "attribute_not_exists(activity_at) OR activity_at < :touched_at",
            vec![(":touched_at", number(touch.at_ms))],
        ));
        self.update(contact_pk(&touch.key), CONTACT_SK, update, newer).await
    }

    /// The `WINDOW#` items of one contact's partition.
    async fn windows(&self, key: &str) -> Result<Vec<Window>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :contact AND begins_with(sk, :window)")
            .expression_attribute_values(":contact", string(contact_pk(key)))
            .expression_attribute_values(":window", string(WINDOW_PREFIX))
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                Some(Window {
                    phone_number_id: text_of(item, "phone_number_id")?,
                    last_inbound_at: whole(item, "last_inbound_at")?,
                })
            })
            .collect())
    }
}

impl ContactList for DynamoMessageStore {
    async fn contacts(&self, limit: u32, after: Option<&Position>) -> Result<ContactsPage, StoreError> {
        let asked = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CONTACT_INDEX)
            .expression_attribute_values(":contacts", string(CONTACTS_INDEX_PK))
            .scan_index_forward(false)
            // One more than asked: when it comes back there is a next page.
            .limit(asked);
        query = match after {
            Some(after) => query
                .key_condition_expression("gsi1pk = :contacts AND gsi1sk < :after")
                .expression_attribute_values(":after", string(&after.sort)),
            None => query.key_condition_expression("gsi1pk = :contacts"),
        };
        let output = query
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        let mut items = output.items.unwrap_or_default();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit || output.last_evaluated_key.is_some_and(|key| !key.is_empty());
        items.truncate(limit);
        let next = if more { items.last().and_then(position) } else { None };
        let mut contacts = Vec::with_capacity(items.len());
        for item in &items {
            let Some(key) = text_of(item, "pk").and_then(|pk| pk.strip_prefix("CONTACT#").map(str::to_owned)) else {
                continue;
            };
            let windows = self.windows(&key).await?;
            contacts.push(summary(item, key, windows));
        }
        Ok(ContactsPage { contacts, next })
    }
}

fn whole(item: &Attributes, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn position(item: &Attributes) -> Option<Position> {
    Some(Position {
        sort: text_of(item, "gsi1sk")?,
        pk: text_of(item, "pk")?,
        sk: text_of(item, "sk")?,
    })
}

fn summary(item: &Attributes, key: String, windows: Vec<Window>) -> ContactSummary {
    let field = |name: &str| text_of(item, name);
    let at_ms = whole(item, "activity_at").unwrap_or_default();
    ContactSummary {
        wa_id: field("wa_id"),
        user_id: field("user_id"),
        name: field("profile_name").or_else(|| field("app_contact_full_name")),
        username: field("username"),
        last: LastMessage {
            direction: field("last_direction").unwrap_or_default(),
            kind: field("last_type").unwrap_or_default(),
            preview: field("last_preview").unwrap_or_default(),
            timestamp: chrono::DateTime::from_timestamp_millis(at_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            id: field("last_id").unwrap_or_default(),
        },
        last_inbound_at: whole(item, "last_inbound_at"),
        windows,
        key,
    }
}
