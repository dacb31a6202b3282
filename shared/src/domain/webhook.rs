//! Typed WhatsApp Cloud API webhook payloads.
//!
//! Parsing is deliberately lenient: every field Meta may omit is optional, and
//! every object keeps the fields it does not name in `extra`, so nothing Meta
//! sends is lost, including message types this code has never seen.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::domain::ids::PhoneNumberId;

/// The top-level POST body: `{"object": "whatsapp_business_account", "entry": [...]}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhookPayload {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Entry {
    /// The WhatsApp Business Account id.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub changes: Vec<Change>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One change. `value` is kept as JSON: its shape depends on `field`
/// (`messages`, `message_template_status_update`, `account_update`, …).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Change {
    /// The `value` of an `smb_app_state_sync` change (the WhatsApp Business app's address book), typed.
    pub fn state_sync_value(&self) -> Option<Result<StateSyncValue, serde_json::Error>> {
        (self.field == STATE_SYNC_FIELD).then(|| StateSyncValue::deserialize(&self.value))
    }

    /// The `value` of a `history` change (the WhatsApp Business app's past conversations), typed.
    pub fn history_value(&self) -> Option<Result<HistoryValue, serde_json::Error>> {
        (self.field == HISTORY_FIELD).then(|| HistoryValue::deserialize(&self.value))
    }

    /// The `value` of a `messages` change, or of an `smb_message_echoes` one (the same envelope:
    /// `metadata`, and the echoes in `message_echoes[]`), typed. `None` for other fields.
    pub fn messages_value(&self) -> Option<Result<MessagesValue, serde_json::Error>> {
        matches!(self.field.as_str(), "messages" | ECHOES_FIELD).then(|| MessagesValue::deserialize(&self.value))
    }
}

/// The webhook field of the messages the business sent from the WhatsApp Business app (or a
/// linked device) on a number in coexistence with the Cloud API.
pub const ECHOES_FIELD: &str = "smb_message_echoes";

/// `value` of a change with `field == "messages"` (or [`ECHOES_FIELD`]).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MessagesValue {
    #[serde(default)]
    pub messaging_product: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<InboundMessage>,
    #[serde(default)]
    pub statuses: Vec<StatusUpdate>,
    /// What the business sent from the WhatsApp Business app ([`ECHOES_FIELD`]).
    #[serde(default)]
    pub message_echoes: Vec<EchoMessage>,
    /// Errors about the whole change (not tied to one message).
    #[serde(default)]
    pub errors: Vec<MetaError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Metadata {
    #[serde(default)]
    pub display_phone_number: Option<String>,
    #[serde(default)]
    pub phone_number_id: Option<PhoneNumberId>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A sender as listed in `value.contacts[]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Contact {
    #[serde(default)]
    pub wa_id: Option<String>,
    /// Business-scoped user id; may come without any phone number.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    /// The WhatsApp username the user adopted (since 2026), when they have one.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An inbound message. The content object named by `type` is kept in `extra`
/// under its own key (`text`, `image`, `interactive`, …); see [`InboundMessage::content`].
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InboundMessage {
    /// The wamid.
    #[serde(default)]
    pub id: Option<String>,
    /// The sender's phone number (wa_id); absent for some business-scoped users.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub timestamp: Option<i64>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub context: Option<MessageContext>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message the business sent from the WhatsApp Business app: a message object as sent (`from`
/// the business number, `id`, `timestamp`, `type` and the content under it) with its recipient.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EchoMessage {
    /// The customer's phone number.
    #[serde(default)]
    pub to: Option<String>,
    /// The customer's business-scoped user id, for a customer known only by it.
    #[serde(default)]
    pub to_user_id: Option<String>,
    #[serde(flatten)]
    pub message: InboundMessage,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MessageContext {
    #[serde(default)]
    pub from: Option<String>,
    /// The wamid this message replies to.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A delivery status of a message this business sent.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StatusUpdate {
    /// The wamid of the outbound message.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub conversation: Option<Value>,
    #[serde(default)]
    pub pricing: Option<Value>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Meta's error object, in webhooks (`statuses[].errors`, `messages[].errors`, `value.errors`)
/// and in Graph API answers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MetaError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    #[serde(default)]
    pub href: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MetaError {
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref().and_then(|data| data.details.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A media attachment (image, video, audio, document, sticker).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Media {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Location {
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The user's choice in an interactive message, a quick-reply button or a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `button_reply`, `list_reply`, `nfm_reply`, or `button` for template quick replies.
    pub kind: String,
    /// The id (or button payload) the business defined.
    pub id: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub message_id: Option<String>,
    /// Empty or absent when a reaction is removed.
    pub emoji: Option<String>,
}

/// What a message says, by type. Types this code does not know stay [`Content::Other`]
/// and the whole message is stored raw anyway.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text { body: String },
    Media { kind: String, media: Media },
    Location(Location),
    Contacts(Value),
    Reply(Reply),
    Reaction(Reaction),
    Order(Value),
    System(Value),
    Other(Value),
}

impl InboundMessage {
    fn part(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// The content of the message according to its `type`.
    pub fn content(&self) -> Content {
        let part = self.part(&self.kind).cloned().unwrap_or(Value::Null);
        match self.kind.as_str() {
            "text" => match part.get("body").and_then(Value::as_str) {
                Some(body) => Content::Text { body: body.to_owned() },
                None => Content::Other(part),
            },
            "image" | "video" | "audio" | "document" | "sticker" => match serde_json::from_value(part.clone()) {
                Ok(media) => Content::Media {
                    kind: self.kind.clone(),
                    media,
                },
                Err(_) => Content::Other(part),
            },
            "location" => match serde_json::from_value(part.clone()) {
                Ok(location) => Content::Location(location),
                Err(_) => Content::Other(part),
            },
            "contacts" => Content::Contacts(part),
            "interactive" => {
                let reply_kind = part.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
                let reply = part.get(&reply_kind).cloned().unwrap_or(Value::Null);
                Content::Reply(Reply {
                    id: string_at(&reply, "id"),
                    title: string_at(&reply, "title").or_else(|| string_at(&reply, "body")),
                    kind: reply_kind,
                })
            }
            "button" => Content::Reply(Reply {
                kind: "button".to_owned(),
                id: string_at(&part, "payload"),
                title: string_at(&part, "text"),
            }),
            "reaction" => Content::Reaction(Reaction {
                message_id: string_at(&part, "message_id"),
                emoji: string_at(&part, "emoji"),
            }),
            "order" => Content::Order(part),
            "system" => Content::System(part),
            _ => Content::Other(part),
        }
    }
}

fn string_at(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Meta sends epoch seconds as a string ("1669233778"); accept a number too,
/// and treat anything unparseable as absent rather than failing the whole payload.
fn epoch_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    })
}

mod history;
mod state_sync;

pub use history::{ChunkMetadata, HISTORY_DECLINED, HISTORY_FIELD, HistoryChunk, HistoryThread, HistoryValue};
pub use state_sync::{AppContact, STATE_SYNC_FIELD, StateSyncItem, StateSyncMetadata, StateSyncValue};

#[cfg(test)]
mod tests;
