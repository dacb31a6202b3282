//! `text`: the message body.

use serde::Deserialize;

use super::required_text;
use crate::domain::send_request::ValidationError;

/// Text body (characters).
pub const MAX_TEXT_BODY_CHARS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Text {
    pub body: String,
    #[serde(default)]
    pub preview_url: Option<bool>,
}

impl Text {
    pub(super) fn checked(self) -> Result<Self, ValidationError> {
        required_text(&self.body, "text.body", MAX_TEXT_BODY_CHARS)?;
        Ok(self)
    }
}
