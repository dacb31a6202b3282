//! A message's content as the table keeps it: the attributes `record_inbound` and `record_echo`
//! write, and the conversation reads back (`conversation::inbound_content`).

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{json, string};
use crate::domain::webhook::Content;

/// What a message says, as the attributes the conversation reads back (`conversation::inbound_content`).
pub(super) fn content_attributes(content: &Content) -> Vec<(&'static str, AttributeValue)> {
    let text = |value: &Option<String>| value.as_deref().map(string);
    let decimal = |value: Option<f64>| value.map(|v| AttributeValue::N(v.to_string()));
    let attributes = match content {
        Content::Text { body } => vec![("text_body", Some(string(body)))],
        Content::Media { media, .. } => vec![
            ("media_id", text(&media.id)),
            ("media_mime_type", text(&media.mime_type)),
            ("media_sha256", text(&media.sha256)),
            ("caption", text(&media.caption)),
            ("filename", text(&media.filename)),
        ],
        Content::Location(location) => vec![
            ("latitude", decimal(location.latitude)),
            ("longitude", decimal(location.longitude)),
            ("location_name", text(&location.name)),
            ("location_address", text(&location.address)),
        ],
        Content::Reply(reply) => vec![
            ("reply_kind", Some(string(&reply.kind))),
            ("reply_id", text(&reply.id)),
            ("reply_title", text(&reply.title)),
        ],
        Content::Reaction(reaction) => vec![
            ("reaction_message_id", text(&reaction.message_id)),
            ("reaction_emoji", text(&reaction.emoji)),
        ],
        Content::Contacts(value) | Content::Order(value) | Content::System(value) | Content::Other(value) => {
            vec![("content", (!value.is_null()).then(|| json(value)))]
        }
    };
    attributes
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}
