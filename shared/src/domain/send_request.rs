//! The send API's request body, its validation, and the Graph API body it becomes.
//!
//! Parse, don't validate: the body is deserialized into a [`SendRequestBody`], which can only
//! become a [`ValidSendRequest`] through `TryFrom`; only a valid request has a Graph payload.
//!
//! The request is flat and tagged by `type`, for example
//! `{"to":"050-437-0045","type":"text","body":"Hello","context_message_id":"wamid..."}`.
//! Fields this code does not know are ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use thiserror::Error;

use super::phone::PhoneError;

/// Text body limit (characters).
pub const MAX_TEXT_BODY_CHARS: usize = 4096;
/// Media caption limit (characters).
pub const MAX_CAPTION_CHARS: usize = 1024;
/// Template name limit (characters).
pub const MAX_TEMPLATE_NAME_CHARS: usize = 512;
/// `biz_opaque_callback_data` limit (bytes).
pub const MAX_BIZ_OPAQUE_BYTES: usize = 512;

/// One message to send, as the caller wrote it (not yet checked).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SendRequestBody {
    /// The recipient as given by the caller; normalize it with [`crate::phone::normalize`].
    pub to: String,
    #[serde(flatten)]
    pub message: MessageBody,
    /// The wamid this message replies to (sent as `context.message_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_message_id: Option<String>,
    /// Returned by Meta in the status webhooks of this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
}

/// The message content, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MessageBody {
    Text {
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview_url: Option<bool>,
    },
    Template {
        name: String,
        language: String,
        /// Meta's component objects, passed through unchanged
        /// (header with image/document/video `link` or `id`, body parameters, buttons…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        components: Option<Vec<Value>>,
    },
    Image(Media),
    Document(Media),
    Audio(Media),
    Video(Media),
    Sticker(Media),
}

/// A media reference: exactly one of `link` (https) or `id` (an uploaded media id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Media {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Not allowed on audio and sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Document only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

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

impl MessageBody {
    /// Meta's `type` value, which is also the key of the content object.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Template { .. } => "template",
            Self::Image(_) => "image",
            Self::Document(_) => "document",
            Self::Audio(_) => "audio",
            Self::Video(_) => "video",
            Self::Sticker(_) => "sticker",
        }
    }

    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Self::Text { body, .. } => validate_text(body),
            Self::Template {
                name,
                language,
                components,
            } => validate_template(name, language, components.as_deref()),
            Self::Image(m) | Self::Document(m) | Self::Audio(m) | Self::Video(m) | Self::Sticker(m) => {
                validate_media(self.kind(), m)
            }
        }
    }

    /// The content object placed under the `type` key.
    fn content(&self) -> Value {
        match self {
            Self::Text { body, preview_url } => {
                let mut text = Map::new();
                text.insert("body".into(), json!(body));
                if let Some(preview) = preview_url {
                    text.insert("preview_url".into(), json!(preview));
                }
                Value::Object(text)
            }
            Self::Template {
                name,
                language,
                components,
            } => {
                let mut template = Map::new();
                template.insert("name".into(), json!(name));
                template.insert("language".into(), json!({ "code": language }));
                if let Some(components) = components {
                    template.insert("components".into(), json!(components));
                }
                Value::Object(template)
            }
            Self::Image(m) | Self::Document(m) | Self::Audio(m) | Self::Video(m) | Self::Sticker(m) => {
                let mut media = Map::new();
                let fields = [
                    ("link", &m.link),
                    ("id", &m.id),
                    ("caption", &m.caption),
                    ("filename", &m.filename),
                ];
                for (key, value) in fields {
                    if let Some(value) = value {
                        media.insert(key.into(), json!(value));
                    }
                }
                Value::Object(media)
            }
        }
    }
}

/// A request that passed every check Meta enforces (so a bad request gets a 400 here, not a
/// failed send later). Reached only through `TryFrom<SendRequestBody>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSendRequest(SendRequestBody);

impl TryFrom<SendRequestBody> for ValidSendRequest {
    type Error = ValidationError;

    /// The recipient is only checked for presence: normalize it with [`crate::domain::phone::normalize`]
    /// (its error converts into a `to` [`ValidationError`]).
    fn try_from(body: SendRequestBody) -> Result<Self, ValidationError> {
        body.validate()?;
        Ok(Self(body))
    }
}

impl SendRequestBody {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.to.trim().is_empty() {
            return Err(ValidationError::new("to", "is required"));
        }
        self.message.validate()?;
        if let Some(id) = &self.context_message_id
            && id.trim().is_empty()
        {
            return Err(ValidationError::new(
                "context_message_id",
                "must not be empty when given",
            ));
        }
        if let Some(data) = &self.biz_opaque_callback_data
            && data.len() > MAX_BIZ_OPAQUE_BYTES
        {
            return Err(ValidationError::new(
                "biz_opaque_callback_data",
                format!("must be at most {MAX_BIZ_OPAQUE_BYTES} bytes, got {}", data.len()),
            ));
        }
        Ok(())
    }
}

impl ValidSendRequest {
    /// The recipient as given (normalize it before use).
    pub fn to(&self) -> &str {
        &self.0.to
    }

    pub fn message(&self) -> &MessageBody {
        &self.0.message
    }

    /// The body to POST to `/{phone-number-id}/messages`, to `normalized_to`.
    pub fn graph_payload(&self, normalized_to: &str) -> Value {
        let request = &self.0;
        let kind = request.message.kind();
        let mut root = Map::new();
        root.insert("messaging_product".into(), json!("whatsapp"));
        root.insert("recipient_type".into(), json!("individual"));
        root.insert("to".into(), json!(normalized_to));
        root.insert("type".into(), json!(kind));
        root.insert(kind.into(), request.message.content());
        if let Some(id) = &request.context_message_id {
            root.insert("context".into(), json!({ "message_id": id }));
        }
        if let Some(data) = &request.biz_opaque_callback_data {
            root.insert("biz_opaque_callback_data".into(), json!(data));
        }
        Value::Object(root)
    }
}

fn validate_text(body: &str) -> Result<(), ValidationError> {
    if body.trim().is_empty() {
        return Err(ValidationError::new("text.body", "is required and must not be blank"));
    }
    let chars = body.chars().count();
    if chars > MAX_TEXT_BODY_CHARS {
        return Err(ValidationError::new(
            "text.body",
            format!("must be at most {MAX_TEXT_BODY_CHARS} characters, got {chars}"),
        ));
    }
    Ok(())
}

fn validate_template(name: &str, language: &str, components: Option<&[Value]>) -> Result<(), ValidationError> {
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
    if name.chars().count() > MAX_TEMPLATE_NAME_CHARS {
        return Err(ValidationError::new(
            "template.name",
            format!("must be at most {MAX_TEMPLATE_NAME_CHARS} characters"),
        ));
    }
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
    for (i, component) in components.unwrap_or_default().iter().enumerate() {
        let Some(object) = component.as_object() else {
            return Err(ValidationError::new(
                format!("template.components[{i}]"),
                "must be an object",
            ));
        };
        let has_type = object
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty());
        if !has_type {
            return Err(ValidationError::new(
                format!("template.components[{i}].type"),
                "is required (header, body, button…)",
            ));
        }
    }
    Ok(())
}

fn validate_media(kind: &str, media: &Media) -> Result<(), ValidationError> {
    let field = |name: &str| format!("{kind}.{name}");
    match (&media.link, &media.id) {
        (None, None) => return Err(ValidationError::new(field("link"), "one of link or id is required")),
        (Some(_), Some(_)) => {
            return Err(ValidationError::new(field("id"), "give either link or id, not both"));
        }
        (Some(link), None) => {
            if !is_https_url(link) {
                return Err(ValidationError::new(field("link"), "must be an https:// URL"));
            }
        }
        (None, Some(id)) => {
            if id.is_empty() || id.chars().any(char::is_whitespace) {
                return Err(ValidationError::new(
                    field("id"),
                    "must be a non-empty media id without spaces",
                ));
            }
        }
    }
    if let Some(caption) = &media.caption {
        if matches!(kind, "audio" | "sticker") {
            return Err(ValidationError::new(
                field("caption"),
                format!("is not allowed on {kind} messages"),
            ));
        }
        let chars = caption.chars().count();
        if chars > MAX_CAPTION_CHARS {
            return Err(ValidationError::new(
                field("caption"),
                format!("must be at most {MAX_CAPTION_CHARS} characters, got {chars}"),
            ));
        }
    }
    if let Some(filename) = &media.filename {
        if kind != "document" {
            return Err(ValidationError::new(
                field("filename"),
                "is only allowed on document messages",
            ));
        }
        if filename.trim().is_empty() {
            return Err(ValidationError::new(field("filename"), "must not be blank when given"));
        }
    }
    Ok(())
}

/// `https://` (scheme case-insensitive) followed by a host, and no whitespace anywhere.
fn is_https_url(link: &str) -> bool {
    const SCHEME: &str = "https://";
    let has_scheme = link.get(..SCHEME.len()).is_some_and(|s| s.eq_ignore_ascii_case(SCHEME));
    let rest = link.get(SCHEME.len()..).unwrap_or_default();
    has_scheme && !rest.is_empty() && !rest.starts_with('/') && !link.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Value) -> SendRequestBody {
        serde_json::from_value(value).expect("valid request JSON")
    }

    fn valid(request: SendRequestBody) -> ValidSendRequest {
        ValidSendRequest::try_from(request).expect("a valid request")
    }

    fn check(request: SendRequestBody) -> Result<(), ValidationError> {
        ValidSendRequest::try_from(request).map(drop)
    }

    fn media(link: Option<&str>, id: Option<&str>, caption: Option<&str>, filename: Option<&str>) -> Media {
        Media {
            link: link.map(Into::into),
            id: id.map(Into::into),
            caption: caption.map(Into::into),
            filename: filename.map(Into::into),
        }
    }

    fn request(message: MessageBody) -> SendRequestBody {
        SendRequestBody {
            to: "972504370045".into(),
            message,
            context_message_id: None,
            biz_opaque_callback_data: None,
        }
    }

    fn text(body: &str) -> MessageBody {
        MessageBody::Text {
            body: body.into(),
            preview_url: None,
        }
    }

    fn template(name: &str, language: &str, components: Option<Vec<Value>>) -> MessageBody {
        MessageBody::Template {
            name: name.into(),
            language: language.into(),
            components,
        }
    }

    fn seed_components() -> Value {
        json!([
            {
                "type": "header",
                "parameters": [{
                    "type": "image",
                    "image": { "link": "https://api-invy.dvirlabs.com/uploads/1d32b5fbab0f494cae443b4188a83ca3.jpg" }
                }]
            },
            { "type": "body", "parameters": [{ "type": "text", "text": "איילה חורב" }] },
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{ "type": "text", "text": "f3122a7d-1d7c-4cc1-955d-1c6b7358bd25" }]
            }
        ])
    }

    #[test]
    fn deserializes_flat_tagged_requests_and_ignores_unknown_fields() {
        let req = parse(json!({
            "to": "050-437-0045", "type": "text", "body": "hi", "preview_url": true,
            "context_message_id": "wamid.IN", "biz_opaque_callback_data": "job-7", "unknown": {"x": 1}
        }));
        assert_eq!(
            req,
            SendRequestBody {
                to: "050-437-0045".into(),
                message: MessageBody::Text {
                    body: "hi".into(),
                    preview_url: Some(true)
                },
                context_message_id: Some("wamid.IN".into()),
                biz_opaque_callback_data: Some("job-7".into()),
            }
        );

        let req = parse(json!({"to": "1", "type": "document", "id": "123", "filename": "a.pdf", "extra": 1}));
        assert_eq!(
            req.message,
            MessageBody::Document(media(None, Some("123"), None, Some("a.pdf")))
        );

        let req = parse(json!({"to": "1", "type": "template", "name": "hello_world", "language": "en_US"}));
        assert_eq!(req.message, template("hello_world", "en_US", None));
    }

    #[test]
    fn rejects_unknown_or_missing_type_and_missing_fields() {
        let bad = [
            json!({"to": "1", "body": "hi"}),
            json!({"to": "1", "type": "location", "latitude": 1.0}),
            json!({"to": "1", "type": "text"}),
            json!({"type": "text", "body": "hi"}),
            json!({"to": "1", "type": "template", "name": "x"}),
            json!({"to": "1", "type": "text", "body": "hi", "preview_url": "yes"}),
        ];
        for value in bad {
            assert!(
                serde_json::from_value::<SendRequestBody>(value.clone()).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn serializes_back_to_the_same_flat_shape() {
        let value = json!({
            "to": "972504370045", "type": "image", "link": "https://x.test/a.jpg", "caption": "c",
            "context_message_id": "wamid.IN"
        });
        let req = parse(value.clone());
        assert_eq!(serde_json::to_value(&req).expect("serializes"), value);
    }

    #[test]
    fn graph_payload_text() {
        let req = request(text("Hello"));
        assert_eq!(
            valid(req.clone()).graph_payload("972504370045"),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972504370045",
                "type": "text", "text": { "body": "Hello" }
            })
        );

        let req = request(MessageBody::Text {
            body: "see https://x.test".into(),
            preview_url: Some(false),
        });
        assert_eq!(
            valid(req.clone()).graph_payload("972504370045"),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972504370045",
                "type": "text", "text": { "body": "see https://x.test", "preview_url": false }
            })
        );
    }

    #[test]
    fn graph_payload_reply_and_callback_data() {
        let mut req = request(MessageBody::Text {
            body: "Thanks".into(),
            preview_url: Some(true),
        });
        req.context_message_id = Some("wamid.HBgLOTcy".into());
        req.biz_opaque_callback_data = Some("campaign-42".into());
        assert_eq!(
            valid(req.clone()).graph_payload("972504370045"),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972504370045",
                "type": "text", "text": { "body": "Thanks", "preview_url": true },
                "context": { "message_id": "wamid.HBgLOTcy" },
                "biz_opaque_callback_data": "campaign-42"
            })
        );
    }

    #[test]
    fn graph_payload_seed_template_with_image_header_body_params_and_url_button() {
        let req = parse(json!({
            "to": "0504370045", "type": "template", "name": "hina_invitation", "language": "he",
            "components": seed_components()
        }));
        assert_eq!(
            valid(req).graph_payload("972504370045"),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972504370045",
                "type": "template",
                "template": { "name": "hina_invitation", "language": { "code": "he" }, "components": seed_components() }
            })
        );
    }

    #[test]
    fn graph_payload_template_without_components() {
        let req = request(template("hello_world", "en_US", None));
        assert_eq!(
            valid(req.clone()).graph_payload("14155550123"),
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "14155550123",
                "type": "template", "template": { "name": "hello_world", "language": { "code": "en_US" } }
            })
        );
    }

    #[test]
    fn graph_payload_media_types() {
        let cases = [
            (
                MessageBody::Image(media(Some("https://x.test/a.jpg"), None, Some("A photo"), None)),
                json!({ "type": "image", "image": { "link": "https://x.test/a.jpg", "caption": "A photo" } }),
            ),
            (
                MessageBody::Image(media(None, Some("1037543291543636"), None, None)),
                json!({ "type": "image", "image": { "id": "1037543291543636" } }),
            ),
            (
                MessageBody::Document(media(Some("https://x.test/r.pdf"), None, Some("Report"), Some("r.pdf"))),
                json!({
                    "type": "document",
                    "document": { "link": "https://x.test/r.pdf", "caption": "Report", "filename": "r.pdf" }
                }),
            ),
            (
                MessageBody::Audio(media(None, Some("555"), None, None)),
                json!({ "type": "audio", "audio": { "id": "555" } }),
            ),
            (
                MessageBody::Video(media(Some("https://x.test/v.mp4"), None, Some("Clip"), None)),
                json!({ "type": "video", "video": { "link": "https://x.test/v.mp4", "caption": "Clip" } }),
            ),
            (
                MessageBody::Sticker(media(Some("https://x.test/s.webp"), None, None, None)),
                json!({ "type": "sticker", "sticker": { "link": "https://x.test/s.webp" } }),
            ),
        ];
        for (message, tail) in cases {
            let req = request(message);
            assert_eq!(check(req.clone()), Ok(()), "{req:?}");
            let mut expected = json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972504370045"
            });
            if let (Some(expected), Some(tail)) = (expected.as_object_mut(), tail.as_object()) {
                expected.extend(tail.clone());
            }
            assert_eq!(valid(req.clone()).graph_payload("972504370045"), expected);
        }
    }

    #[test]
    fn validation_accepts_good_requests() {
        let long_ok = "x".repeat(MAX_TEXT_BODY_CHARS);
        let hebrew_ok = "א".repeat(MAX_TEXT_BODY_CHARS);
        let caption_ok = "c".repeat(MAX_CAPTION_CHARS);
        let cases = [
            text("hi"),
            text(&long_ok),
            text(&hebrew_ok),
            template("hello_world", "en_US", None),
            template("order_2", "he", Some(vec![json!({"type": "body", "parameters": []})])),
            MessageBody::Image(media(Some("HTTPS://x.test/a.jpg"), None, Some(&caption_ok), None)),
            MessageBody::Document(media(None, Some("42"), None, Some("a.pdf"))),
            MessageBody::Audio(media(Some("https://x.test/a.ogg"), None, None, None)),
        ];
        for message in cases {
            assert_eq!(check(request(message.clone())), Ok(()), "{message:?}");
        }
    }

    #[test]
    fn validation_rejects_with_field_paths() {
        let too_long = "x".repeat(MAX_TEXT_BODY_CHARS + 1);
        let caption_too_long = "c".repeat(MAX_CAPTION_CHARS + 1);
        let name_too_long = "a".repeat(MAX_TEMPLATE_NAME_CHARS + 1);
        let cases: Vec<(MessageBody, &str)> = vec![
            (text(""), "text.body"),
            (text(" \n "), "text.body"),
            (text(&too_long), "text.body"),
            (template("", "en", None), "template.name"),
            (template("Hello", "en", None), "template.name"),
            (template("hello-world", "en", None), "template.name"),
            (template("hello world", "en", None), "template.name"),
            (template(&name_too_long, "en", None), "template.name"),
            (template("hello", "", None), "template.language"),
            (template("hello", "en US", None), "template.language"),
            (
                template("hello", "en", Some(vec![json!("body")])),
                "template.components[0]",
            ),
            (
                template(
                    "hello",
                    "en",
                    Some(vec![json!({"type": "body"}), json!({"parameters": []})]),
                ),
                "template.components[1].type",
            ),
            (MessageBody::Image(media(None, None, None, None)), "image.link"),
            (
                MessageBody::Image(media(Some("https://x.test/a"), Some("1"), None, None)),
                "image.id",
            ),
            (
                MessageBody::Image(media(Some("http://x.test/a.jpg"), None, None, None)),
                "image.link",
            ),
            (
                MessageBody::Image(media(Some("ftp://x.test/a.jpg"), None, None, None)),
                "image.link",
            ),
            (
                MessageBody::Image(media(Some("https://"), None, None, None)),
                "image.link",
            ),
            (
                MessageBody::Image(media(Some("https:///a.jpg"), None, None, None)),
                "image.link",
            ),
            (
                MessageBody::Image(media(Some("https://x.test/a b.jpg"), None, None, None)),
                "image.link",
            ),
            (MessageBody::Image(media(Some(""), None, None, None)), "image.link"),
            (MessageBody::Video(media(None, Some(""), None, None)), "video.id"),
            (
                MessageBody::Image(media(Some("https://x.test/a"), None, Some(&caption_too_long), None)),
                "image.caption",
            ),
            (
                MessageBody::Audio(media(None, Some("1"), Some("no"), None)),
                "audio.caption",
            ),
            (
                MessageBody::Sticker(media(None, Some("1"), Some("no"), None)),
                "sticker.caption",
            ),
            (
                MessageBody::Image(media(None, Some("1"), None, Some("a.jpg"))),
                "image.filename",
            ),
            (
                MessageBody::Video(media(None, Some("1"), None, Some("v.mp4"))),
                "video.filename",
            ),
            (
                MessageBody::Document(media(None, Some("1"), None, Some(" "))),
                "document.filename",
            ),
        ];
        for (message, field) in cases {
            let err = check(request(message.clone())).expect_err("must be rejected");
            assert_eq!(err.field, field, "{message:?}: {err}");
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn validation_rejects_envelope_fields() {
        let mut req = request(text("hi"));
        req.to = "  ".into();
        assert_eq!(check(req.clone()).map_err(|e| e.field), Err("to".into()));

        let mut req = request(text("hi"));
        req.context_message_id = Some(String::new());
        assert_eq!(
            check(req.clone()).map_err(|e| e.field),
            Err("context_message_id".into())
        );

        let mut req = request(text("hi"));
        req.biz_opaque_callback_data = Some("b".repeat(MAX_BIZ_OPAQUE_BYTES + 1));
        assert_eq!(
            check(req.clone()).map_err(|e| e.field),
            Err("biz_opaque_callback_data".into())
        );
        req.biz_opaque_callback_data = Some("b".repeat(MAX_BIZ_OPAQUE_BYTES));
        assert_eq!(check(req), Ok(()));
    }

    #[test]
    fn phone_errors_become_to_validation_errors() {
        let err = ValidationError::from(PhoneError::MissingCountryCode);
        assert_eq!(err.field, "to");
        assert!(err.to_string().starts_with("to: "));
    }
}
