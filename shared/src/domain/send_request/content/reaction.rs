//! `reaction`: an emoji on a message, or its removal.

use serde::Deserialize;

use super::chars;
use crate::domain::send_request::ValidationError;

/// A reaction: one emoji, which may be a sequence of several code points (a family, a flag
/// with a skin tone…); more than this many is not one emoji.
pub const MAX_EMOJI_CHARS: usize = 12;

/// A reaction to a message; an empty `emoji` removes the reaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reaction {
    pub message_id: String,
    pub emoji: String,
}

impl Reaction {
    pub(super) fn checked(self) -> Result<Self, ValidationError> {
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
