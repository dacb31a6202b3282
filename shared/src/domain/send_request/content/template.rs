//! `template`: a template send, its components and their parameters (sent as given, each checked).

use serde_json::Value;

use super::location::Location;
use super::media::{Media, check_media_reference};
use super::{chars, required_text, typed};
use crate::domain::send_request::ValidationError;

/// Template name (characters).
pub const MAX_TEMPLATE_NAME_CHARS: usize = 512;
/// A template button's `index` (Meta: 0 to 9).
pub const MAX_TEMPLATE_BUTTON_INDEX: u64 = 9;
/// A `text` parameter of a template header (characters).
pub const MAX_TEMPLATE_HEADER_TEXT_CHARS: usize = 60;
/// A `text` parameter of a template body (characters).
pub const MAX_TEMPLATE_BODY_TEXT_CHARS: usize = 32_768;

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
    pub(super) fn parse(value: &Value) -> Result<Self, ValidationError> {
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
