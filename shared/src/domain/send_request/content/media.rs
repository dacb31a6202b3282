//! `image`, `audio`, `video`, `document`, `sticker`: a media reference, by link or by id.

use serde::Deserialize;

use super::{MessageKind, at_most, is_https_url};
use crate::domain::send_request::ValidationError;

/// Media caption (characters).
pub const MAX_CAPTION_CHARS: usize = 1024;

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
    pub(super) fn checked(self, kind: MessageKind) -> Result<Self, ValidationError> {
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
pub(super) fn check_media_reference(media: &Media, path: &str) -> Result<(), ValidationError> {
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
