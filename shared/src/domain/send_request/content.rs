//! The content object of each message type (the member named by `type`), typed, and checked
//! against Meta's documented limits. Every refusal names the field (`interactive.action.buttons[3]`).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ValidationError;

/// Text body (characters).
pub const MAX_TEXT_BODY_CHARS: usize = 4096;
/// Media caption (characters).
pub const MAX_CAPTION_CHARS: usize = 1024;
/// Template name (characters).
pub const MAX_TEMPLATE_NAME_CHARS: usize = 512;
/// A template button's `index` (Meta: 0 to 9).
pub const MAX_TEMPLATE_BUTTON_INDEX: u64 = 9;
/// A `text` parameter of a template header (characters).
pub const MAX_TEMPLATE_HEADER_TEXT_CHARS: usize = 60;
/// A `text` parameter of a template body (characters).
pub const MAX_TEMPLATE_BODY_TEXT_CHARS: usize = 32_768;
/// Interactive body text (characters).
pub const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;
/// Interactive header text (characters).
pub const MAX_HEADER_TEXT_CHARS: usize = 60;
/// Interactive footer text (characters).
pub const MAX_FOOTER_TEXT_CHARS: usize = 60;
/// Reply buttons of one message.
pub const MAX_REPLY_BUTTONS: usize = 3;
/// A reply button's title (characters).
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
/// A reply button's id (characters).
pub const MAX_BUTTON_ID_CHARS: usize = 256;
/// The list's button text (characters).
pub const MAX_LIST_BUTTON_CHARS: usize = 20;
/// Sections of a list.
pub const MAX_LIST_SECTIONS: usize = 10;
/// Rows of a list, all sections together.
pub const MAX_LIST_ROWS: usize = 10;
/// A list section's title (characters).
pub const MAX_SECTION_TITLE_CHARS: usize = 24;
/// A list row's id (characters).
pub const MAX_ROW_ID_CHARS: usize = 200;
/// A list row's title (characters).
pub const MAX_ROW_TITLE_CHARS: usize = 24;
/// A list row's description (characters).
pub const MAX_ROW_DESCRIPTION_CHARS: usize = 72;
/// A call-to-action URL button's text (characters).
pub const MAX_CTA_DISPLAY_TEXT_CHARS: usize = 20;
/// A flow message's button text (characters).
pub const MAX_FLOW_CTA_CHARS: usize = 30;
/// A reaction: one emoji, which may be a sequence of several code points (a family, a flag
/// with a skin tone…); more than this many is not one emoji.
pub const MAX_EMOJI_CHARS: usize = 12;

/// Meta's message types (the `type` value, also the key of the content object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    T::deserialize(value).map_err(|error| ValidationError::new(field, error.to_string()))
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

// ---------------------------------------------------------------- text

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Text {
    pub body: String,
    #[serde(default)]
    pub preview_url: Option<bool>,
}

impl Text {
    fn checked(self) -> Result<Self, ValidationError> {
        required_text(&self.body, "text.body", MAX_TEXT_BODY_CHARS)?;
        Ok(self)
    }
}

// ---------------------------------------------------------------- media

/// A media reference: exactly one of `link` (https) or `id` (an uploaded media id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Media {
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    /// Not allowed on audio and sticker.
    #[serde(default)]
    pub caption: Option<String>,
    /// Document only.
    #[serde(default)]
    pub filename: Option<String>,
}

impl Media {
    fn checked(self, kind: MessageKind) -> Result<Self, ValidationError> {
        let name = kind.as_str();
        check_media_reference(&self, name)?;
        let field = |f: &str| format!("{name}.{f}");
        if let Some(caption) = &self.caption {
            if matches!(kind, MessageKind::Audio | MessageKind::Sticker) {
                return Err(ValidationError::new(
                    field("caption"),
                    format!("is not allowed on {name} messages"),
                ));
            }
            at_most(caption, &field("caption"), MAX_CAPTION_CHARS)?;
        }
        if let Some(filename) = &self.filename {
            if kind != MessageKind::Document {
                return Err(ValidationError::new(
                    field("filename"),
                    "is only allowed on document messages",
                ));
            }
            if filename.trim().is_empty() {
                return Err(ValidationError::new(field("filename"), "must not be blank when given"));
            }
        }
        Ok(self)
    }
}

/// Exactly one of `link` (https) or `id`; `path` names the media object.
fn check_media_reference(media: &Media, path: &str) -> Result<(), ValidationError> {
    let field = |f: &str| format!("{path}.{f}");
    match (&media.link, &media.id) {
        (None, None) => Err(ValidationError::new(field("link"), "one of link or id is required")),
        (Some(_), Some(_)) => Err(ValidationError::new(field("id"), "give either link or id, not both")),
        (Some(link), None) if !is_https_url(link) => {
            Err(ValidationError::new(field("link"), "must be an https:// URL"))
        }
        (None, Some(id)) if id.is_empty() || id.chars().any(char::is_whitespace) => Err(ValidationError::new(
            field("id"),
            "must be a non-empty media id without spaces",
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- template

/// A template send. Components stay Meta's objects (sent as given); each is checked here.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub components: Vec<TemplateComponent>,
}

/// One template component, by kind, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateComponent {
    pub kind: ComponentKind,
    /// Buttons only.
    pub sub_type: Option<String>,
    /// Buttons only: 0 to 9.
    pub index: Option<u64>,
    pub parameters: Vec<TemplateParameter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Header,
    Body,
    Button,
    Carousel,
    LimitedTimeOffer,
}

const COMPONENT_KINDS: [(&str, ComponentKind); 5] = [
    ("header", ComponentKind::Header),
    ("body", ComponentKind::Body),
    ("button", ComponentKind::Button),
    ("carousel", ComponentKind::Carousel),
    ("limited_time_offer", ComponentKind::LimitedTimeOffer),
];

/// Template button sub-types Meta documents for sends.
const BUTTON_SUB_TYPES: [&str; 8] = [
    "quick_reply",
    "url",
    "copy_code",
    "flow",
    "catalog",
    "mpm",
    "voice_call",
    "order_details",
];

/// A parameter's `type` and the member it requires (named like the type unless shown).
const PARAMETER_TYPES: [&str; 12] = [
    "text",
    "currency",
    "date_time",
    "image",
    "document",
    "video",
    "location",
    "payload",
    "coupon_code",
    "action",
    "limited_time_offer",
    "product",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateParameter {
    pub kind: String,
}

impl Template {
    fn parse(value: &Value) -> Result<Self, ValidationError> {
        let Some(object) = value.as_object() else {
            return Err(ValidationError::new("template", "must be an object"));
        };
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            None => return Err(ValidationError::new("template.name", "is required")),
            Some(_) => return Err(ValidationError::new("template.name", "must be a string")),
        };
        check_template_name(&name)?;
        let language = match object.get("language") {
            Some(Value::Object(language)) => match language.get("code") {
                Some(Value::String(code)) => code.clone(),
                _ => return Err(ValidationError::new("template.language.code", "is required")),
            },
            None => {
                return Err(ValidationError::new(
                    "template.language",
                    "is required (a code such as \"en_US\" or \"he\")",
                ));
            }
            Some(_) => {
                return Err(ValidationError::new(
                    "template.language",
                    "must be an object {\"code\": \"en_US\"} (or, in the short shape, the code itself)",
                ));
            }
        };
        check_language(&language)?;
        let components = match object.get("components") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| TemplateComponent::parse(item, &format!("template.components[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ValidationError::new("template.components", "must be an array")),
        };
        Ok(Self {
            name,
            language,
            components,
        })
    }

    /// The number of body parameters (what a known template's `{{n}}` count is checked against).
    pub fn body_parameter_count(&self) -> usize {
        self.components
            .iter()
            .filter(|c| c.kind == ComponentKind::Body)
            .map(|c| c.parameters.len())
            .sum()
    }
}

fn check_template_name(name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::new("template.name", "is required"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ValidationError::new(
            "template.name",
            "may contain only lowercase letters, digits and underscores",
        ));
    }
    if chars(name) > MAX_TEMPLATE_NAME_CHARS {
        return Err(ValidationError::new(
            "template.name",
            format!("must be at most {MAX_TEMPLATE_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_language(language: &str) -> Result<(), ValidationError> {
    if language.is_empty() {
        return Err(ValidationError::new(
            "template.language",
            "is required (a code such as \"en_US\" or \"he\")",
        ));
    }
    if !language.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
        return Err(ValidationError::new(
            "template.language",
            "must be a language code such as \"en_US\" or \"he\" (letters and underscores)",
        ));
    }
    Ok(())
}

impl TemplateComponent {
    fn parse(value: &Value, path: &str) -> Result<Self, ValidationError> {
        let Some(object) = value.as_object() else {
            return Err(ValidationError::new(path, "must be an object"));
        };
        let field = |f: &str| format!("{path}.{f}");
        let kind_text = object.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind_text.is_empty() {
            return Err(ValidationError::new(
                field("type"),
                "is required (header, body, button, carousel or limited_time_offer)",
            ));
        }
        let Some(kind) = COMPONENT_KINDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(kind_text))
            .map(|(_, kind)| *kind)
        else {
            return Err(ValidationError::new(
                field("type"),
                format!("unknown component type {kind_text:?}: header, body, button, carousel or limited_time_offer"),
            ));
        };
        let mut sub_type = None;
        let mut index = None;
        if kind == ComponentKind::Button {
            let sub = object.get("sub_type").and_then(Value::as_str).unwrap_or_default();
            if !BUTTON_SUB_TYPES.iter().any(|s| s.eq_ignore_ascii_case(sub)) {
                return Err(ValidationError::new(
                    field("sub_type"),
                    format!("is required for a button: one of {}", BUTTON_SUB_TYPES.join(", ")),
                ));
            }
            sub_type = Some(sub.to_ascii_lowercase());
            let at = match object.get("index") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            match at {
                Some(i) if i <= MAX_TEMPLATE_BUTTON_INDEX => index = Some(i),
                _ => {
                    return Err(ValidationError::new(
                        field("index"),
                        format!("is required for a button: 0 to {MAX_TEMPLATE_BUTTON_INDEX}"),
                    ));
                }
            }
        }
        if kind == ComponentKind::Carousel {
            match object.get("cards") {
                Some(Value::Array(cards)) if !cards.is_empty() => {
                    for (i, card) in cards.iter().enumerate() {
                        let card_path = field(&format!("cards[{i}]"));
                        match card.get("components") {
                            Some(Value::Array(inner)) => {
                                for (j, component) in inner.iter().enumerate() {
                                    Self::parse(component, &format!("{card_path}.components[{j}]"))?;
                                }
                            }
                            _ => return Err(ValidationError::new(format!("{card_path}.components"), "is required")),
                        }
                    }
                }
                _ => {
                    return Err(ValidationError::new(
                        field("cards"),
                        "a carousel needs at least one card",
                    ));
                }
            }
        }
        let parameters = match object.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| TemplateParameter::parse(item, kind, &field(&format!("parameters[{i}]"))))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ValidationError::new(field("parameters"), "must be an array")),
        };
        Ok(Self {
            kind,
            sub_type,
            index,
            parameters,
        })
    }
}

impl TemplateParameter {
    fn parse(value: &Value, component: ComponentKind, path: &str) -> Result<Self, ValidationError> {
        let Some(object) = value.as_object() else {
            return Err(ValidationError::new(path, "must be an object"));
        };
        let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
        if !PARAMETER_TYPES.contains(&kind) {
            return Err(ValidationError::new(
                format!("{path}.type"),
                format!("is required: one of {}", PARAMETER_TYPES.join(", ")),
            ));
        }
        let member = format!("{path}.{kind}");
        let Some(content) = object.get(kind) else {
            return Err(ValidationError::new(
                member,
                format!("is required for a {kind} parameter"),
            ));
        };
        match kind {
            "text" | "payload" | "coupon_code" => {
                let Some(text) = content.as_str() else {
                    return Err(ValidationError::new(member, "must be a string"));
                };
                if kind == "text" {
                    let max = if component == ComponentKind::Header {
                        MAX_TEMPLATE_HEADER_TEXT_CHARS
                    } else {
                        MAX_TEMPLATE_BODY_TEXT_CHARS
                    };
                    required_text(text, &member, max)?;
                } else if text.is_empty() {
                    return Err(ValidationError::new(member, "must not be empty"));
                }
            }
            "image" | "document" | "video" => {
                let media: Media = typed(content, &member)?;
                check_media_reference(&media, &member)?;
            }
            "currency" => {
                for key in ["fallback_value", "code", "amount_1000"] {
                    if content.get(key).is_none() {
                        return Err(ValidationError::new(format!("{member}.{key}"), "is required"));
                    }
                }
            }
            "date_time" => {
                if content.get("fallback_value").is_none() {
                    return Err(ValidationError::new(format!("{member}.fallback_value"), "is required"));
                }
            }
            "location" => {
                typed::<Location>(content, &member)?.checked(&member)?;
            }
            _ => {
                if !content.is_object() {
                    return Err(ValidationError::new(member, "must be an object"));
                }
            }
        }
        Ok(Self { kind: kind.to_owned() })
    }
}

// ---------------------------------------------------------------- reaction

/// A reaction to a message; an empty `emoji` removes the reaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reaction {
    pub message_id: String,
    pub emoji: String,
}

impl Reaction {
    fn checked(self) -> Result<Self, ValidationError> {
        if self.message_id.trim().is_empty() {
            return Err(ValidationError::new(
                "reaction.message_id",
                "is required (the wamid reacted to)",
            ));
        }
        let emoji = &self.emoji;
        if chars(emoji) > MAX_EMOJI_CHARS
            || emoji
                .chars()
                .any(|c| c.is_whitespace() || c.is_ascii_alphanumeric() || c.is_control())
        {
            return Err(ValidationError::new(
                "reaction.emoji",
                "must be one emoji, or \"\" to remove the reaction",
            ));
        }
        Ok(self)
    }

    /// An empty emoji: the reaction is removed.
    pub fn is_removal(&self) -> bool {
        self.emoji.is_empty()
    }
}

// ---------------------------------------------------------------- location

/// A number, or a string holding one (Meta's samples write coordinates both ways).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Coordinate {
    Number(f64),
    Text(String),
}

impl Coordinate {
    fn value(&self) -> Option<f64> {
        match self {
            Coordinate::Number(n) => Some(*n),
            Coordinate::Text(text) => text.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Location {
    pub latitude: Coordinate,
    pub longitude: Coordinate,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl Location {
    fn checked(self, path: &str) -> Result<Self, ValidationError> {
        for (name, coordinate, limit) in [
            ("latitude", &self.latitude, 90.0),
            ("longitude", &self.longitude, 180.0),
        ] {
            match coordinate.value() {
                Some(v) if v.is_finite() && (-limit..=limit).contains(&v) => {}
                _ => {
                    return Err(ValidationError::new(
                        format!("{path}.{name}"),
                        format!("must be a number from -{limit} to {limit}"),
                    ));
                }
            }
        }
        Ok(self)
    }
}

// ---------------------------------------------------------------- contacts

/// A contact card; kept as Meta's object, its required parts typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContactCard {
    pub name: ContactName,
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub phones: Option<Vec<Value>>,
    #[serde(default)]
    pub emails: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactName {
    pub formatted_name: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
}

impl ContactCard {
    fn check(&self, path: &str) -> Result<(), ValidationError> {
        required_text(&self.name.formatted_name, &format!("{path}.name.formatted_name"), 1024)?;
        let name = &self.name;
        // Meta: at least one of the optional name parts along with formatted_name.
        let parts = [
            &name.first_name,
            &name.last_name,
            &name.middle_name,
            &name.suffix,
            &name.prefix,
        ];
        if !parts
            .iter()
            .any(|part| part.as_deref().is_some_and(|p| !p.trim().is_empty()))
        {
            return Err(ValidationError::new(
                format!("{path}.name"),
                "needs one of first_name, last_name, middle_name, suffix or prefix besides formatted_name",
            ));
        }
        if let Some(birthday) = &self.birthday {
            let b = birthday.as_bytes();
            let shaped = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
            if !shaped {
                return Err(ValidationError::new(format!("{path}.birthday"), "must be YYYY-MM-DD"));
            }
        }
        for (list, name) in [(&self.phones, "phones"), (&self.emails, "emails")] {
            for (i, item) in list.iter().flatten().enumerate() {
                if !item.is_object() {
                    return Err(ValidationError::new(format!("{path}.{name}[{i}]"), "must be an object"));
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- interactive

/// The interactive message types this bundle sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveKind {
    Button,
    List,
    CtaUrl,
    LocationRequestMessage,
    Flow,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TextObject {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct RawInteractive {
    #[serde(rename = "type")]
    kind: InteractiveKind,
    #[serde(default)]
    header: Option<Value>,
    #[serde(default)]
    body: Option<TextObject>,
    #[serde(default)]
    footer: Option<TextObject>,
    #[serde(default)]
    action: Option<Value>,
}

/// An interactive message's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Text(String),
    /// `image`, `video` or `document`, by link (Meta: no media ids in interactive headers).
    Media(MessageKind, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interactive {
    pub kind: InteractiveKind,
    pub header: Option<Header>,
    pub body: Option<String>,
    pub footer: Option<String>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Buttons(Vec<ReplyButton>),
    List { button: String, sections: Vec<Section> },
    CtaUrl { display_text: String, url: String },
    SendLocation,
    Flow(FlowParameters),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReplyButton {
    #[serde(rename = "type")]
    pub kind: String,
    pub reply: Reply,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reply {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct ButtonAction {
    buttons: Vec<ReplyButton>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct ListAction {
    button: String,
    sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Section {
    #[serde(default)]
    pub title: Option<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Row {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct NamedAction<P> {
    name: String,
    parameters: P,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct CtaUrlParameters {
    display_text: String,
    url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FlowParameters {
    pub flow_message_version: String,
    #[serde(default)]
    pub flow_token: Option<String>,
    #[serde(default)]
    pub flow_id: Option<String>,
    #[serde(default)]
    pub flow_name: Option<String>,
    pub flow_cta: String,
    #[serde(default)]
    pub flow_action: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
}

impl Interactive {
    fn parse(value: &Value) -> Result<Self, ValidationError> {
        let raw: RawInteractive = typed(value, "interactive")?;
        let kind = raw.kind;
        let header = match &raw.header {
            None | Some(Value::Null) => None,
            Some(header) => Some(parse_header(header, kind)?),
        };
        if kind == InteractiveKind::LocationRequestMessage && header.is_some() {
            return Err(ValidationError::new(
                "interactive.header",
                "is not allowed on a location request",
            ));
        }
        let body = match raw.body {
            Some(body) => {
                required_text(&body.text, "interactive.body.text", MAX_INTERACTIVE_BODY_CHARS)?;
                Some(body.text)
            }
            None => return Err(ValidationError::new("interactive.body", "is required")),
        };
        let footer = match raw.footer {
            Some(footer) => {
                if kind == InteractiveKind::LocationRequestMessage {
                    return Err(ValidationError::new(
                        "interactive.footer",
                        "is not allowed on a location request",
                    ));
                }
                required_text(&footer.text, "interactive.footer.text", MAX_FOOTER_TEXT_CHARS)?;
                Some(footer.text)
            }
            None => None,
        };
        let action_value = raw.action.unwrap_or(Value::Null);
        let action = match kind {
            InteractiveKind::Button => {
                let ButtonAction { buttons } = typed(&action_value, "interactive.action")?;
                check_buttons(&buttons)?;
                Action::Buttons(buttons)
            }
            InteractiveKind::List => {
                let ListAction { button, sections } = typed(&action_value, "interactive.action")?;
                required_text(&button, "interactive.action.button", MAX_LIST_BUTTON_CHARS)?;
                check_sections(&sections)?;
                Action::List { button, sections }
            }
            InteractiveKind::CtaUrl => {
                let action: NamedAction<CtaUrlParameters> = typed(&action_value, "interactive.action")?;
                expect_name(&action.name, "cta_url")?;
                let p = action.parameters;
                required_text(
                    &p.display_text,
                    "interactive.action.parameters.display_text",
                    MAX_CTA_DISPLAY_TEXT_CHARS,
                )?;
                let url = &p.url;
                let web = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
                    || url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
                if !web || url.chars().any(char::is_whitespace) {
                    return Err(ValidationError::new(
                        "interactive.action.parameters.url",
                        "must be an http:// or https:// URL",
                    ));
                }
                Action::CtaUrl {
                    display_text: p.display_text,
                    url: p.url,
                }
            }
            InteractiveKind::LocationRequestMessage => {
                let action: NameOnly = typed(&action_value, "interactive.action")?;
                expect_name(&action.name, "send_location")?;
                Action::SendLocation
            }
            InteractiveKind::Flow => {
                let action: NamedAction<FlowParameters> = typed(&action_value, "interactive.action")?;
                expect_name(&action.name, "flow")?;
                let p = action.parameters;
                check_flow(&p)?;
                Action::Flow(p)
            }
        };
        Ok(Self {
            kind,
            header,
            body,
            footer,
            action,
        })
    }
}

fn expect_name(name: &str, expected: &str) -> Result<(), ValidationError> {
    if name != expected {
        return Err(ValidationError::new(
            "interactive.action.name",
            format!("must be \"{expected}\""),
        ));
    }
    Ok(())
}

fn parse_header(header: &Value, kind: InteractiveKind) -> Result<Header, ValidationError> {
    let header_type = header.get("type").and_then(Value::as_str).unwrap_or_default();
    let text_only = matches!(kind, InteractiveKind::List | InteractiveKind::Flow);
    match header_type {
        "text" => {
            let text = header.get("text").and_then(Value::as_str).unwrap_or_default();
            required_text(text, "interactive.header.text", MAX_HEADER_TEXT_CHARS)?;
            Ok(Header::Text(text.to_owned()))
        }
        "image" | "video" | "document" if !text_only => {
            let media_kind = MessageKind::parse(header_type).unwrap_or(MessageKind::Image);
            let path = format!("interactive.header.{header_type}");
            let media: Media = typed(header.get(header_type).unwrap_or(&Value::Null), &path)?;
            if media.id.is_some() {
                return Err(ValidationError::new(
                    format!("{path}.id"),
                    "interactive headers take a link, not a media id",
                ));
            }
            check_media_reference(&media, &path)?;
            Ok(Header::Media(media_kind, media.link.unwrap_or_default()))
        }
        _ if text_only => Err(ValidationError::new(
            "interactive.header.type",
            "must be \"text\" on list and flow messages",
        )),
        _ => Err(ValidationError::new(
            "interactive.header.type",
            "must be text, image, video or document",
        )),
    }
}

fn check_buttons(buttons: &[ReplyButton]) -> Result<(), ValidationError> {
    if buttons.is_empty() || buttons.len() > MAX_REPLY_BUTTONS {
        return Err(ValidationError::new(
            "interactive.action.buttons",
            format!("must have 1 to {MAX_REPLY_BUTTONS} buttons, got {}", buttons.len()),
        ));
    }
    for (i, button) in buttons.iter().enumerate() {
        let path = format!("interactive.action.buttons[{i}]");
        if button.kind != "reply" {
            return Err(ValidationError::new(format!("{path}.type"), "must be \"reply\""));
        }
        required_text(&button.reply.id, &format!("{path}.reply.id"), MAX_BUTTON_ID_CHARS)?;
        required_text(
            &button.reply.title,
            &format!("{path}.reply.title"),
            MAX_BUTTON_TITLE_CHARS,
        )?;
        let earlier = &buttons[..i];
        if earlier.iter().any(|b| b.reply.id == button.reply.id) {
            return Err(ValidationError::new(format!("{path}.reply.id"), "must be unique"));
        }
        if earlier.iter().any(|b| b.reply.title == button.reply.title) {
            return Err(ValidationError::new(format!("{path}.reply.title"), "must be unique"));
        }
    }
    Ok(())
}

fn check_sections(sections: &[Section]) -> Result<(), ValidationError> {
    if sections.is_empty() || sections.len() > MAX_LIST_SECTIONS {
        return Err(ValidationError::new(
            "interactive.action.sections",
            format!("must have 1 to {MAX_LIST_SECTIONS} sections, got {}", sections.len()),
        ));
    }
    let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
    if rows > MAX_LIST_ROWS {
        return Err(ValidationError::new(
            "interactive.action.sections",
            format!("must have at most {MAX_LIST_ROWS} rows in all, got {rows}"),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, section) in sections.iter().enumerate() {
        let path = format!("interactive.action.sections[{i}]");
        match &section.title {
            Some(title) => required_text(title, &format!("{path}.title"), MAX_SECTION_TITLE_CHARS)?,
            None if sections.len() > 1 => {
                return Err(ValidationError::new(
                    format!("{path}.title"),
                    "is required when there is more than one section",
                ));
            }
            None => {}
        }
        if section.rows.is_empty() {
            return Err(ValidationError::new(
                format!("{path}.rows"),
                "must have at least one row",
            ));
        }
        for (j, row) in section.rows.iter().enumerate() {
            let row_path = format!("{path}.rows[{j}]");
            required_text(&row.id, &format!("{row_path}.id"), MAX_ROW_ID_CHARS)?;
            required_text(&row.title, &format!("{row_path}.title"), MAX_ROW_TITLE_CHARS)?;
            if let Some(description) = &row.description {
                at_most(
                    description,
                    &format!("{row_path}.description"),
                    MAX_ROW_DESCRIPTION_CHARS,
                )?;
            }
            if !ids.insert(row.id.as_str()) {
                return Err(ValidationError::new(
                    format!("{row_path}.id"),
                    "must be unique in the list",
                ));
            }
        }
    }
    Ok(())
}

fn check_flow(p: &FlowParameters) -> Result<(), ValidationError> {
    let path = "interactive.action.parameters";
    if p.flow_message_version != "3" {
        return Err(ValidationError::new(
            format!("{path}.flow_message_version"),
            "must be \"3\"",
        ));
    }
    match (&p.flow_id, &p.flow_name) {
        (Some(id), None) if !id.trim().is_empty() => {}
        (None, Some(name)) if !name.trim().is_empty() => {}
        (Some(_), Some(_)) => {
            return Err(ValidationError::new(
                format!("{path}.flow_name"),
                "give either flow_id or flow_name, not both",
            ));
        }
        _ => {
            return Err(ValidationError::new(
                format!("{path}.flow_id"),
                "one of flow_id or flow_name is required",
            ));
        }
    }
    required_text(&p.flow_cta, &format!("{path}.flow_cta"), MAX_FLOW_CTA_CHARS)?;
    if let Some(action) = &p.flow_action
        && !matches!(action.as_str(), "navigate" | "data_exchange")
    {
        return Err(ValidationError::new(
            format!("{path}.flow_action"),
            "must be \"navigate\" or \"data_exchange\"",
        ));
    }
    if let Some(mode) = &p.mode
        && !matches!(mode.as_str(), "draft" | "published")
    {
        return Err(ValidationError::new(
            format!("{path}.mode"),
            "must be \"draft\" or \"published\"",
        ));
    }
    Ok(())
}
