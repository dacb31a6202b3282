//! The content object of each message type (the member named by `type`), typed, and checked
//! against Meta's documented limits. Every refusal names the field (`interactive.action.buttons[3]`).

mod contacts;
mod interactive;
mod location;
mod media;
mod reaction;
mod template;
mod text;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use self::contacts::{ContactCard, ContactName};
pub use self::interactive::{
    Action, FlowParameters, Header, Interactive, InteractiveKind, MAX_BUTTON_ID_CHARS, MAX_BUTTON_TITLE_CHARS,
    MAX_CTA_DISPLAY_TEXT_CHARS, MAX_FLOW_CTA_CHARS, MAX_FOOTER_TEXT_CHARS, MAX_HEADER_TEXT_CHARS,
    MAX_INTERACTIVE_BODY_CHARS, MAX_LIST_BUTTON_CHARS, MAX_LIST_ROWS, MAX_LIST_SECTIONS, MAX_REPLY_BUTTONS,
    MAX_ROW_DESCRIPTION_CHARS, MAX_ROW_ID_CHARS, MAX_ROW_TITLE_CHARS, MAX_SECTION_TITLE_CHARS, Reply, ReplyButton, Row,
    Section, TextObject,
};
pub use self::location::{Coordinate, Location};
pub use self::media::{MAX_CAPTION_CHARS, Media};
pub use self::reaction::{MAX_EMOJI_CHARS, Reaction};
pub use self::template::{
    ComponentKind, MAX_TEMPLATE_BODY_TEXT_CHARS, MAX_TEMPLATE_BUTTON_INDEX, MAX_TEMPLATE_HEADER_TEXT_CHARS,
    MAX_TEMPLATE_NAME_CHARS, Template, TemplateComponent, TemplateParameter,
};
pub use self::text::{MAX_TEXT_BODY_CHARS, Text};
use super::ValidationError;

/// Meta's message types (the `type` value, also the key of the content object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Template,
    Image,
    Audio,
    Video,
    Document,
    Sticker,
    Interactive,
    Reaction,
    Location,
    Contacts,
}

impl MessageKind {
    pub const ALL: [MessageKind; 11] = [
        MessageKind::Text,
        MessageKind::Template,
        MessageKind::Image,
        MessageKind::Audio,
        MessageKind::Video,
        MessageKind::Document,
        MessageKind::Sticker,
        MessageKind::Interactive,
        MessageKind::Reaction,
        MessageKind::Location,
        MessageKind::Contacts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Template => "template",
            MessageKind::Image => "image",
            MessageKind::Audio => "audio",
            MessageKind::Video => "video",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Interactive => "interactive",
            MessageKind::Reaction => "reaction",
            MessageKind::Location => "location",
            MessageKind::Contacts => "contacts",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn is_media(self) -> bool {
        matches!(
            self,
            MessageKind::Image | MessageKind::Audio | MessageKind::Video | MessageKind::Document | MessageKind::Sticker
        )
    }

    /// The fields of the flat (short) request shape that make up this type's content object.
    fn flat_fields(self) -> &'static [&'static str] {
        match self {
            MessageKind::Text => &["body", "preview_url"],
            MessageKind::Template => &["name", "language", "components"],
            MessageKind::Image
            | MessageKind::Audio
            | MessageKind::Video
            | MessageKind::Document
            | MessageKind::Sticker => &["link", "id", "caption", "filename"],
            MessageKind::Reaction => &["message_id", "emoji"],
            MessageKind::Location => &["latitude", "longitude", "name", "address"],
            // Their content is Meta's object (array) under its own key, in both shapes.
            MessageKind::Interactive | MessageKind::Contacts => &[],
        }
    }
}

/// The content object of the short shape, built from its flat fields (`interactive` and
/// `contacts` are given under their own key, as in Meta's shape); a template's `language` may be
/// given as a bare code.
pub fn flat_content(kind: MessageKind, root: &Map<String, Value>) -> Value {
    if matches!(kind, MessageKind::Interactive | MessageKind::Contacts) {
        return root.get(kind.as_str()).cloned().unwrap_or(Value::Null);
    }
    let mut content = Map::new();
    for field in kind.flat_fields() {
        if let Some(value) = root.get(*field) {
            let value = match (kind, *field, value) {
                (MessageKind::Template, "language", Value::String(code)) => serde_json::json!({ "code": code }),
                _ => value.clone(),
            };
            content.insert((*field).to_owned(), value);
        }
    }
    Value::Object(content)
}

/// A message's content, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(Text),
    Template(Template),
    Media(MessageKind, Media),
    Interactive(Interactive),
    Reaction(Reaction),
    Location(Location),
    Contacts(Vec<ContactCard>),
}

impl Content {
    /// Parses and checks the content object of `kind`.
    pub fn parse(kind: MessageKind, value: &Value) -> Result<Self, ValidationError> {
        let name = kind.as_str();
        let content = match kind {
            MessageKind::Text => Content::Text(typed::<Text>(value, name)?.checked()?),
            MessageKind::Template => Content::Template(Template::parse(value)?),
            MessageKind::Interactive => Content::Interactive(Interactive::parse(value)?),
            MessageKind::Reaction => Content::Reaction(typed::<Reaction>(value, name)?.checked()?),
            MessageKind::Location => Content::Location(typed::<Location>(value, name)?.checked(name)?),
            MessageKind::Contacts => {
                let cards = typed::<Vec<ContactCard>>(value, name)?;
                if cards.is_empty() {
                    return Err(ValidationError::new("contacts", "at least one contact is required"));
                }
                for (i, card) in cards.iter().enumerate() {
                    card.check(&format!("contacts[{i}]"))?;
                }
                Content::Contacts(cards)
            }
            media => Content::Media(media, typed::<Media>(value, name)?.checked(media)?),
        };
        Ok(content)
    }
}

/// `value` as `T`; a mismatch names the type's field.
fn typed<T: DeserializeOwned>(value: &Value, field: &str) -> Result<T, ValidationError> {
    if value.is_null() {
        return Err(ValidationError::new(field, "is required"));
    }
    T::deserialize(value).map_err(|error| {
        let text = error.to_string();
        // Name the field that is really missing (`text.body`), not its parent.
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(missing) => ValidationError::new(format!("{field}.{missing}"), "is required"),
            None => ValidationError::new(field, text),
        }
    })
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// `text` present, not blank, at most `max` characters.
fn required_text(text: &str, field: &str, max: usize) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(field, "is required and must not be blank"));
    }
    at_most(text, field, max)
}

fn at_most(text: &str, field: &str, max: usize) -> Result<(), ValidationError> {
    let n = chars(text);
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// `https://` (scheme case-insensitive) followed by a host, and no whitespace anywhere.
pub fn is_https_url(link: &str) -> bool {
    const SCHEME: &str = "https://";
    let has_scheme = link.get(..SCHEME.len()).is_some_and(|s| s.eq_ignore_ascii_case(SCHEME));
    let rest = link.get(SCHEME.len()..).unwrap_or_default();
    has_scheme && !rest.is_empty() && !rest.starts_with('/') && !link.chars().any(char::is_whitespace)
}
