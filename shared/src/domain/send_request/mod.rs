//! The send API's request body, in either of its two shapes, its validation, and the Graph API
//! body it becomes.
//!
//! Parse, don't validate: the body can only become a [`ValidSendRequest`] through
//! [`ValidSendRequest::parse`], which types the content of its `type` ([`Content`]) and checks it
//! against Meta's documented limits; only a valid request has a Graph payload.
//!
//! - **Meta's shape** (a body with `messaging_product`): Meta's own message object, as every Meta
//!   sample and SDK writes it: `messaging_product`, `recipient_type`?, `to` or `recipient`, `type`
//!   (default `text`), the type's object, `context`?, `biz_opaque_callback_data`?. It is sent as
//!   given (every field kept), with `to` normalized and the bundle's `from` removed. Without
//!   `messaging_product` (as people paste Meta's samples), a body whose type's content is an object
//!   under the type's key is this shape too, and the product is added.
//! - **The short shape**, flat and tagged by `type`:
//!   `{"to":"050-437-0045","type":"text","body":"Hello","context_message_id":"wamid..."}`; fields
//!   it does not know are ignored. `interactive` and `contacts` take Meta's object under their key.
//!
//! Both may name `from` (the business phone number id to send from). `to` wins over `recipient`.

pub mod content;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};
use thiserror::Error;

pub use self::content::{Content, MessageKind};
use super::phone::{self, PhoneError};
use crate::domain::ids::ContactId;

/// `biz_opaque_callback_data` limit (bytes).
pub const MAX_BIZ_OPAQUE_BYTES: usize = 512;
/// A business-scoped user id's length limit (characters).
pub const MAX_USER_ID_CHARS: usize = 128;

/// A rejected request: which field, and why. Display: `"{field}: {message}"`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Field path, e.g. `to`, `text.body`, `template.components[1].type`, `image.link`.
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<PhoneError> for ValidationError {
    fn from(err: PhoneError) -> Self {
        Self::new("to", err.to_string())
    }
}

/// Which of the two documented request shapes a body was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The flat form (`{"to", "type": "text", "body"}`).
    Short,
    /// Meta's own message object (`messaging_product`, `type`, `text: {body}`…).
    Meta,
}

/// A business-scoped user id as Meta writes them (`US.13491208655302741918`, a parent id
/// `US.ENT.…`): letters, digits, `.`, `_`, `-`, with at least one `.`.
pub fn parse_user_id(id: &str) -> Result<ContactId, ValidationError> {
    let id = id.trim();
    let shaped = !id.is_empty()
        && id.chars().count() <= MAX_USER_ID_CHARS
        && id.contains('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !shaped {
        return Err(ValidationError::new(
            "recipient",
            format!(
                "must be a business-scoped user id such as \"US.13491208655302741918\" \
                 (letters, digits, '.', '_', '-'; at most {MAX_USER_ID_CHARS})"
            ),
        ));
    }
    Ok(ContactId::User(id.to_owned()))
}

/// A request that passed every check Meta enforces (so a bad request gets a 400 here, not a
/// failed send later).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSendRequest {
    shape: Shape,
    kind: MessageKind,
    content: Content,
    /// The content object as it is sent (the caller's in Meta's shape, built from the flat fields
    /// in the short one).
    content_value: Value,
    to: Option<String>,
    recipient: Option<String>,
    from: Option<String>,
    context_message_id: Option<String>,
    biz_opaque_callback_data: Option<String>,
    /// Meta's shape: the caller's object, `from` removed.
    original: Option<Map<String, Value>>,
}

/// An optional string member; any other JSON type is refused, naming it.
fn string_field(root: &Map<String, Value>, key: &str) -> Result<Option<String>, ValidationError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ValidationError::new(key, "must be a string")),
    }
}

/// Which shape `root` is written in: Meta's when it names `messaging_product`, or when its type's
/// content is an object under the type's key (`"text": {"body": "hi"}`, Meta's message object without
/// the product, as most people paste it); else the short shape. `interactive` and `contacts` take
/// Meta's object in both shapes, so only `messaging_product` tells those apart.
fn shape_of(root: &Map<String, Value>) -> Shape {
    if root.contains_key("messaging_product") {
        return Shape::Meta;
    }
    let kind = match root.get("type") {
        Some(Value::String(kind)) => MessageKind::parse(kind),
        // Meta's default type.
        None => Some(MessageKind::Text),
        Some(_) => None,
    };
    match kind {
        Some(MessageKind::Interactive | MessageKind::Contacts) | None => Shape::Short,
        Some(kind) if matches!(root.get(kind.as_str()), Some(Value::Object(_))) => Shape::Meta,
        Some(_) => Shape::Short,
    }
}

impl ValidSendRequest {
    /// Parses a request body (JSON) in either shape.
    pub fn parse(body: &[u8]) -> Result<Self, ValidationError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| ValidationError::new("body", format!("not valid JSON: {error}")))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        let Value::Object(mut root) = value else {
            return Err(ValidationError::new("body", "must be a JSON object"));
        };
        let shape = shape_of(&root);
        let from = string_field(&root, "from")?;
        if let Some(from) = &from
            && (from.is_empty() || !from.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ValidationError::new(
                "from",
                "must be a business phone number id (digits)",
            ));
        }
        let to = string_field(&root, "to")?.filter(|to| !to.trim().is_empty());
        let recipient = string_field(&root, "recipient")?.filter(|r| !r.trim().is_empty());
        if to.is_none() && recipient.is_none() {
            return Err(ValidationError::new(
                "to",
                "is required (a phone number; or `recipient`, a business-scoped user id)",
            ));
        }
        let kind_text = match (root.get("type"), shape) {
            (Some(Value::String(kind)), _) => kind.clone(),
            // Meta's default type.
            (None, Shape::Meta) => "text".to_owned(),
            (None, Shape::Short) => return Err(ValidationError::new("type", "is required")),
            (Some(_), _) => return Err(ValidationError::new("type", "must be a string")),
        };
        let kind = MessageKind::parse(&kind_text).ok_or_else(|| {
            let known: Vec<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
            ValidationError::new(
                "type",
                format!("unknown type {kind_text:?}: one of {}", known.join(", ")),
            )
        })?;
        let biz_opaque_callback_data = string_field(&root, "biz_opaque_callback_data")?;
        if let Some(data) = &biz_opaque_callback_data
            && data.len() > MAX_BIZ_OPAQUE_BYTES
        {
            return Err(ValidationError::new(
                "biz_opaque_callback_data",
                format!("must be at most {MAX_BIZ_OPAQUE_BYTES} bytes, got {}", data.len()),
            ));
        }
        let (content_value, context_message_id, original) = match shape {
            Shape::Meta => {
                match root.get("messaging_product") {
                    Some(Value::String(product)) if product == "whatsapp" => {}
                    // Meta's message object as people paste it, without the product: it is WhatsApp.
                    None => {
                        root.insert("messaging_product".to_owned(), json!("whatsapp"));
                    }
                    _ => return Err(ValidationError::new("messaging_product", "must be \"whatsapp\"")),
                }
                match root.get("recipient_type") {
                    None => {}
                    Some(Value::String(kind)) if kind == "individual" => {}
                    Some(_) => return Err(ValidationError::new("recipient_type", "must be \"individual\"")),
                }
                let context = match root.get("context") {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(context)) => match context.get("message_id") {
                        Some(Value::String(id)) => Some(id.clone()),
                        _ => return Err(ValidationError::new("context.message_id", "is required (a wamid)")),
                    },
                    Some(_) => return Err(ValidationError::new("context", "must be an object {\"message_id\"}")),
                };
                let content = root.get(kind.as_str()).cloned().unwrap_or(Value::Null);
                root.remove("from");
                (content, context, Some(root.clone()))
            }
            Shape::Short => {
                let mut context = string_field(&root, "context_message_id")?;
                if context.is_none()
                    && let Some(Value::Object(object)) = root.get("context")
                {
                    context = object.get("message_id").and_then(Value::as_str).map(str::to_owned);
                }
                (content::flat_content(kind, &root), context, None)
            }
        };
        if let Some(id) = &context_message_id
            && id.trim().is_empty()
        {
            let field = if shape == Shape::Meta {
                "context.message_id"
            } else {
                "context_message_id"
            };
            return Err(ValidationError::new(field, "must not be empty when given"));
        }
        let content = Content::parse(kind, &content_value)?;
        Ok(Self {
            shape,
            kind,
            content,
            content_value,
            to,
            recipient,
            from,
            context_message_id,
            biz_opaque_callback_data,
            original,
        })
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    pub fn content(&self) -> &Content {
        &self.content
    }

    /// The business phone number id the caller asked to send from.
    pub fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// The caller's own `biz_opaque_callback_data`.
    pub fn callback_data(&self) -> Option<&str> {
        self.biz_opaque_callback_data.as_deref()
    }

    /// The recipient: `to` normalized (national numbers with `default_country_code`), else the
    /// business-scoped user id in `recipient`. `to` wins when both are given, as at Meta.
    pub fn recipient(&self, default_country_code: Option<&str>) -> Result<ContactId, ValidationError> {
        match (&self.to, &self.recipient) {
            (Some(to), _) => Ok(ContactId::Phone(phone::normalize(to, default_country_code)?)),
            (None, Some(id)) => parse_user_id(id),
            (None, None) => Err(ValidationError::new("to", "is required")),
        }
    }

    /// The body to POST to `/{phone-number-id}/messages`, to `recipient`.
    pub fn graph_payload(&self, recipient: &ContactId) -> Value {
        if let Some(original) = &self.original {
            let mut root = original.clone();
            root.insert(recipient.field().to_owned(), json!(recipient.key()));
            return Value::Object(root);
        }
        let kind = self.kind.as_str();
        let mut root = Map::new();
        root.insert("messaging_product".into(), json!("whatsapp"));
        root.insert("recipient_type".into(), json!("individual"));
        root.insert(recipient.field().into(), json!(recipient.key()));
        root.insert("type".into(), json!(kind));
        root.insert(kind.into(), self.content_value.clone());
        if let Some(id) = &self.context_message_id {
            root.insert("context".into(), json!({ "message_id": id }));
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            root.insert("biz_opaque_callback_data".into(), json!(data));
        }
        Value::Object(root)
    }
}
