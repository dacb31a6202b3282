//! [`ConversationStore`]: a contact's conversation from the `by_contact` index (see [`super::keys`]),
//! newest first. One `Query` per page, plus one `BatchGetItem` for the Meta statuses of the sends
//! on it (a send's `OUT#` item is listed; its `MSG#<wamid>` item holds `sent`/`delivered`/`read`).
//! The index is eventually consistent: a message shows a moment after it is written.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde_json::{Map, Value, json};

use super::DynamoMessageStore;
use super::item::{attribute_to_json, string, text_of};
use super::keys::{ALIAS_PREFIX, BY_CONTACT_INDEX, CONTACT_SK, MESSAGE_SK, contact_pk, conversation_pk, message_pk};

/// How many ids of one customer a conversation gathers at most.
const MAX_LINKED_IDS: usize = 8;
use super::view::{media_of, outbound_view};
use crate::adapters::describe;
use crate::domain::history::{ConversationEntry, ConversationPage, Position};
use crate::ports::{ConversationStore, StoreError};

type Attributes = HashMap<String, AttributeValue>;

/// Tries of a `BatchGetItem` whose keys DynamoDB left unprocessed (throttling).
const BATCH_TRIES: usize = 3;

impl ConversationStore for DynamoMessageStore {
    async fn conversation(
        &self,
        contact: &str,
        limit: u32,
        after: Option<&Position>,
    ) -> Result<ConversationPage, StoreError> {
        // The customer's every id (a number, a user id, an earlier number…), then each id's newest
        // entries older than `after`, merged: the page is the newest `limit` of them all.
        let keys = self.linked_keys(contact).await?;
        let asked = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let mut items = Vec::new();
        let mut more = false;
        for key in &keys {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_CONTACT_INDEX)
                .expression_attribute_values(":contact", string(conversation_pk(key)))
                .scan_index_forward(false)
                // One more than asked: when it comes back there is a next page, else this is the
                // last (no empty page after a full one).
                .limit(asked);
            query = match after {
                // Sort keys are unique (`<time>#<id>`): strictly older than the last one shown.
                Some(after) => query
                    .key_condition_expression("gsi1pk = :contact AND gsi1sk < :after")
                    .expression_attribute_values(":after", string(&after.sort)),
                None => query.key_condition_expression("gsi1pk = :contact"),
            };
            let output = query
                .send()
                .await
                .map_err(|error| StoreError::Unavailable(describe(&error)))?;
            more |= output.last_evaluated_key.is_some_and(|key| !key.is_empty());
            items.extend(output.items.unwrap_or_default());
        }
        let order = |item: &Attributes| (text_of(item, "gsi1sk"), text_of(item, "pk"), text_of(item, "sk"));
        items.sort_by_key(|item| std::cmp::Reverse(order(item)));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        more |= items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().and_then(position) } else { None };

        let wamids: Vec<String> = items
            .iter()
            .filter(|item| text_of(item, "item_type").as_deref() == Some("outbound"))
            .filter_map(|item| text_of(item, "wamid"))
            .collect();
        let statuses = self.messages_by_wamid(wamids).await?;
        let entries = items
            .iter()
            .map(|item| {
                let message = text_of(item, "wamid").and_then(|wamid| statuses.get(&wamid));
                entry(item, message)
            })
            .collect();
        Ok(ConversationPage { entries, next })
    }
}

impl DynamoMessageStore {
    /// `contact` and every id linked to it, transitively (at most [`MAX_LINKED_IDS`]): the user id
    /// its contact item names, and the ids its `ALIAS#` items name (`MessageStore::record_link`).
    async fn linked_keys(&self, contact: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = vec![contact.to_owned()];
        let mut next = 0;
        while next < keys.len() && keys.len() < MAX_LINKED_IDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :contact")
                .expression_attribute_values(":contact", string(contact_pk(&keys[next])))
                .send()
                .await
                .map_err(|error| StoreError::Unavailable(describe(&error)))?;
            next += 1;
            for item in output.items.unwrap_or_default() {
                let linked = match text_of(&item, "sk").as_deref() {
                    Some(CONTACT_SK) => vec![text_of(&item, "user_id"), text_of(&item, "wa_id")],
                    Some(sk) if sk.starts_with(ALIAS_PREFIX) => vec![text_of(&item, "alias")],
                    _ => Vec::new(),
                };
                for key in linked.into_iter().flatten() {
                    if !key.is_empty() && !keys.contains(&key) && keys.len() < MAX_LINKED_IDS {
                        keys.push(key);
                    }
                }
            }
        }
        Ok(keys)
    }

    /// The `MSG#` items of these wamids (at most a page's, ≤ 100: one call), by wamid.
    async fn messages_by_wamid(&self, mut wamids: Vec<String>) -> Result<HashMap<String, Attributes>, StoreError> {
        wamids.sort();
        wamids.dedup();
        let mut found = HashMap::new();
        if wamids.is_empty() {
            return Ok(found);
        }
        let keys = wamids
            .iter()
            .map(|wamid| {
                HashMap::from([
                    ("pk".to_owned(), string(message_pk(wamid))),
                    ("sk".to_owned(), string(MESSAGE_SK)),
                ])
            })
            .collect();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|error| StoreError::Rejected(error.to_string()))?,
        );
        for _ in 0..BATCH_TRIES {
            let Some(request) = pending.take() else { break };
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|error| StoreError::Unavailable(describe(&error)))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                if let Some(wamid) = text_of(&item, "wamid") {
                    found.insert(wamid, item);
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .filter(|rest| !rest.keys.is_empty());
        }
        if pending.is_some() {
            return Err(StoreError::Unavailable(
                "the statuses of a history page stayed unprocessed".to_owned(),
            ));
        }
        Ok(found)
    }
}

/// Where an item sits in the index (its own keys: the projection is `ALL`).
fn position(item: &Attributes) -> Option<Position> {
    Some(Position {
        sort: text_of(item, "gsi1sk")?,
        pk: text_of(item, "pk")?,
        sk: text_of(item, "sk")?,
    })
}

/// One conversation entry: a send's `OUT#` item (with its wamid's `MSG#` item), an inbound
/// message's `MSG#` item, or the `MSG#` item of a message sent outside the bundle.
fn entry(item: &Attributes, message: Option<&Attributes>) -> ConversationEntry {
    let field = |name: &str| text_of(item, name);
    let timestamp = field("gsi1sk")
        .and_then(|sort| sort.split_once('#').map(|(time, _)| time.to_owned()))
        .unwrap_or_default();
    if field("item_type").as_deref() == Some("outbound") {
        let view = outbound_view(Some(item), message);
        let payload = field("payload").and_then(|payload| serde_json::from_str::<Value>(&payload).ok());
        return ConversationEntry {
            direction: "outbound".to_owned(),
            id: view.id,
            wamid: view.wamid,
            phone_number_id: field("from").or_else(|| message.and_then(|m| text_of(m, "phone_number_id"))),
            kind: view.kind,
            timestamp,
            status: view.status,
            origin: view.origin,
            imported: None,
            content: payload.as_ref().map_or_else(|| json!({}), outbound_content),
            media: None,
            errors: view.errors,
            pricing: view.pricing,
        };
    }
    let inbound = field("direction").as_deref() == Some("inbound");
    ConversationEntry {
        direction: if inbound { "inbound" } else { "outbound" }.to_owned(),
        id: field("message_id"),
        wamid: field("wamid"),
        phone_number_id: field("phone_number_id"),
        kind: field("type"),
        timestamp,
        status: field("status"),
        origin: field("origin"),
        imported: matches!(item.get("imported"), Some(AttributeValue::Bool(true))).then_some(true),
        content: inbound_content(item),
        media: media_of(item),
        errors: item
            .get("errors")
            .map_or_else(|| Value::Array(Vec::new()), attribute_to_json),
        pricing: item.get("pricing").map(attribute_to_json),
    }
}

/// What an inbound message says, from the attributes `record_inbound` wrote.
fn inbound_content(item: &Attributes) -> Value {
    let mut content = Map::new();
    for (attribute, name) in [
        ("text_body", "body"),
        ("caption", "caption"),
        ("filename", "filename"),
        ("reply_kind", "reply_kind"),
        ("reply_id", "reply_id"),
        ("reply_title", "reply_title"),
        ("reaction_message_id", "reaction_message_id"),
        ("reaction_emoji", "emoji"),
        ("latitude", "latitude"),
        ("longitude", "longitude"),
        ("location_name", "name"),
        ("location_address", "address"),
        ("context_message_id", "context_message_id"),
    ] {
        if let Some(value) = item.get(attribute) {
            content.insert(name.to_owned(), attribute_to_json(value));
        }
    }
    if let Some(value) = item.get("content") {
        content.insert("content".to_owned(), attribute_to_json(value));
    }
    Value::Object(content)
}

/// What a send says, from its Graph payload: the text, the template's name and language, the
/// media's caption and link or id, the interactive body, the reaction, the location.
fn outbound_content(payload: &Value) -> Value {
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or_default();
    let part = payload.get(kind).unwrap_or(&Value::Null);
    let pick = |names: &[&str]| {
        let picked: Map<String, Value> = names
            .iter()
            .filter_map(|name| part.get(*name).map(|value| ((*name).to_owned(), value.clone())))
            .collect();
        Value::Object(picked)
    };
    match kind {
        "text" => pick(&["body"]),
        "template" => json!({
            "name": part.get("name"),
            "language": part.pointer("/language/code"),
        }),
        "image" | "video" | "audio" | "document" | "sticker" => pick(&["caption", "filename", "link", "id"]),
        "interactive" => json!({ "body": part.pointer("/body/text") }),
        "reaction" => pick(&["message_id", "emoji"]),
        "location" => pick(&["latitude", "longitude", "name", "address"]),
        _ => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::dynamodb::number;

    #[test]
    fn a_send_shows_its_payload_and_metas_status() {
        let out: Attributes = HashMap::from([
            ("item_type".to_owned(), string("outbound")),
            ("message_id".to_owned(), string("msg_1")),
            ("wamid".to_owned(), string("wamid.S")),
            ("type".to_owned(), string("text")),
            ("from".to_owned(), string("222")),
            ("status".to_owned(), string("accepted")),
            ("status_rank".to_owned(), number(20)),
            ("gsi1sk".to_owned(), string("2026-12-01T10:00:00.000Z#msg_1")),
            (
                "payload".to_owned(),
                string(r#"{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}"#),
            ),
        ]);
        let meta: Attributes = HashMap::from([
            ("status".to_owned(), string("read")),
            ("status_rank".to_owned(), number(50)),
        ]);
        let shown = entry(&out, Some(&meta));
        assert_eq!(shown.direction, "outbound");
        assert_eq!(shown.id.as_deref(), Some("msg_1"));
        assert_eq!(shown.status.as_deref(), Some("read"));
        assert_eq!(shown.timestamp, "2026-12-01T10:00:00.000Z");
        assert_eq!(shown.content, json!({ "body": "hi" }));
        assert_eq!(shown.phone_number_id.as_deref(), Some("222"));
    }

    #[test]
    fn an_inbound_media_message_shows_its_file() {
        let item: Attributes = HashMap::from([
            ("item_type".to_owned(), string("message")),
            ("direction".to_owned(), string("inbound")),
            ("wamid".to_owned(), string("wamid.I")),
            ("type".to_owned(), string("image")),
            ("status".to_owned(), string("received")),
            ("caption".to_owned(), string("look")),
            ("media_id".to_owned(), string("7712")),
            ("media_s3_key".to_owned(), string("media/222/wamid.I/7712")),
            ("gsi1sk".to_owned(), string("2026-12-01T10:00:00Z#wamid.I")),
        ]);
        let shown = entry(&item, None);
        assert_eq!(shown.direction, "inbound");
        assert_eq!(shown.content, json!({ "caption": "look" }));
        let media = shown.media.expect("media");
        assert_eq!(media.s3_key.as_deref(), Some("media/222/wamid.I/7712"));
        assert_eq!(media.id.as_deref(), Some("7712"));
    }
}
