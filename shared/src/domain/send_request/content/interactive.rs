//! `interactive`: reply buttons, lists, call-to-action URLs, location requests and flows.

use serde::Deserialize;
use serde_json::Value;

use super::media::{Media, check_media_reference};
use super::{MessageKind, at_most, required_text, typed};
use crate::domain::send_request::ValidationError;

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
    pub(super) fn parse(value: &Value) -> Result<Self, ValidationError> {
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
