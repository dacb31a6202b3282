//! The conversation listing and the inbound media view of [`MemoryStore`], by the DynamoDB
//! adapter's rules.

use super::{MemoryStore, MessageItem};
use crate::domain::history::{ConversationEntry, ConversationPage, MediaView, Position};
use crate::domain::media::StoredMedia;
use crate::domain::outbound::machine::merged_status;
use crate::domain::records::BUSINESS_APP_ORIGIN;
use crate::domain::webhook::Content;
use crate::ports::{ConversationStore, StoreError};

impl MemoryStore {
    /// What the worker's media job records: where an inbound message's bytes are (or why not).
    pub fn set_media(&self, wamid: &str, s3_key: Option<&str>, error: Option<&str>) {
        let mut tables = self.tables();
        let item = tables.messages.entry(wamid.to_owned()).or_default();
        item.media = match (s3_key, error) {
            (Some(key), _) => Some(StoredMedia::Kept {
                bucket: String::new(),
                key: key.to_owned(),
                mime_type: String::new(),
                sha256: String::new(),
                size: 0,
            }),
            (None, Some(error)) => Some(StoredMedia::Failed {
                error: error.to_owned(),
            }),
            (None, None) => None,
        };
    }
}

fn time_text(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An inbound message's file, as the DynamoDB adapter reads it back.
pub(super) fn media_of(message: &MessageItem) -> Option<MediaView> {
    let from_record = message.inbound.as_ref().and_then(|record| match &record.content {
        Content::Media { media, .. } => Some(media),
        _ => None,
    });
    if from_record.is_none() && message.media.is_none() {
        return None;
    }
    let (s3_key, error) = match &message.media {
        Some(StoredMedia::Kept { key, .. }) => (Some(key.clone()), None),
        Some(StoredMedia::Failed { error }) => (None, Some(error.clone())),
        None => (None, None),
    };
    Some(MediaView {
        id: from_record.and_then(|media| media.id.clone()),
        mime_type: from_record.and_then(|media| media.mime_type.clone()),
        sha256: from_record.and_then(|media| media.sha256.clone()),
        s3_key,
        url: None,
        url_expires_at: None,
        error,
    })
}

/// What a message says, as the DynamoDB adapter reads it back (the text, or the media's caption).
fn shown(content: &Content) -> serde_json::Value {
    match content {
        Content::Text { body } => serde_json::json!({ "body": body }),
        Content::Media { media, .. } => match &media.caption {
            Some(caption) => serde_json::json!({ "caption": caption }),
            None => serde_json::json!({}),
        },
        _ => serde_json::json!({}),
    }
}

/// The DynamoDB adapter's listing rules, over the tables: every inbound message and every send of
/// the contact, and each message Meta reported a status of that no send of the bundle is linked to.
impl ConversationStore for MemoryStore {
    async fn conversation(
        &self,
        contact: &str,
        limit: u32,
        after: Option<&Position>,
    ) -> Result<ConversationPage, StoreError> {
        self.call("conversation", |tables, _| {
            // As the table: the customer's every id, through the links (at most 8).
            let mut keys = vec![contact.to_owned()];
            let mut next = 0;
            while next < keys.len() && keys.len() < 8 {
                for other in tables.aliases.get(&keys[next]).into_iter().flatten() {
                    if !keys.contains(other) && keys.len() < 8 {
                        keys.push(other.clone());
                    }
                }
                next += 1;
            }
            let ours = |key: &str| keys.iter().any(|k| k == key);
            let mut listed: Vec<(Position, ConversationEntry)> = Vec::new();
            for item in tables.outbound.values().filter(|item| ours(item.message.to.key())) {
                let id = item.message.message_id.as_str();
                let queued = item.history.get("queued").copied().unwrap_or_default();
                let message = item
                    .wamid
                    .as_ref()
                    .and_then(|wamid| tables.messages.get(wamid.as_str()));
                let status = merged_status(item.status, message.and_then(|m| Some((m.rank?, m.status.as_deref()?))));
                let content = match item.message.payload.get("text").and_then(|text| text.get("body")) {
                    Some(body) => serde_json::json!({ "body": body }),
                    None => serde_json::json!({}),
                };
                let position = Position {
                    sort: format!("{}#{id}", time_text(queued)),
                    pk: format!("OUT#{id}"),
                    sk: "OUT".to_owned(),
                };
                listed.push((
                    position,
                    ConversationEntry {
                        direction: "outbound".to_owned(),
                        id: Some(id.to_owned()),
                        wamid: item.wamid.as_ref().map(|w| w.as_str().to_owned()),
                        phone_number_id: item.message.from.as_ref().map(ToString::to_string),
                        kind: Some(item.message.kind.as_str().to_owned()),
                        timestamp: time_text(queued),
                        status: Some(status),
                        origin: Some(item.message.origin.as_str().to_owned()),
                        imported: None,
                        content,
                        media: None,
                        errors: serde_json::to_value(item.errors.iter().collect::<Vec<_>>()).unwrap_or_default(),
                        pricing: message.and_then(|m| m.pricing.clone()),
                    },
                ));
            }
            for (wamid, message) in &tables.messages {
                let (direction, at, phone_number_id, kind, content) = match &message.inbound {
                    Some(record) if record.contact_key().is_some_and(ours) => (
                        "inbound",
                        record.timestamp.unwrap_or_else(|| record.received.at.timestamp()),
                        record.phone_number_id.as_ref().map(ToString::to_string),
                        Some(record.kind.clone()),
                        shown(&record.content),
                    ),
                    None if message.message_id.is_none() && message.contact.as_deref().is_some_and(ours) => (
                        "outbound",
                        message.listed_at.unwrap_or_default(),
                        message
                            .echo
                            .as_ref()
                            .and_then(|echo| echo.phone_number_id.as_ref().map(ToString::to_string)),
                        message.kind.clone(),
                        message
                            .echo
                            .as_ref()
                            .map_or_else(|| serde_json::json!({}), |echo| shown(&echo.content)),
                    ),
                    _ => continue,
                };
                let position = Position {
                    sort: format!("{}#{wamid}", time_text(at)),
                    pk: format!("MSG#{wamid}"),
                    sk: "MSG".to_owned(),
                };
                listed.push((
                    position,
                    ConversationEntry {
                        direction: direction.to_owned(),
                        id: None,
                        wamid: Some(wamid.clone()),
                        phone_number_id,
                        kind,
                        timestamp: time_text(at),
                        status: message.status.clone(),
                        origin: message.echo.as_ref().map(|_| BUSINESS_APP_ORIGIN.to_owned()),
                        imported: (message.inbound.as_ref().is_some_and(|record| record.imported)
                            || message.echo.as_ref().is_some_and(|echo| echo.imported))
                        .then_some(true),
                        content,
                        media: media_of(message),
                        errors: serde_json::Value::Array(Vec::new()),
                        pricing: message.pricing.clone(),
                    },
                ));
            }
            // Newest first, ties in the index's order (sort key, then the table key), after `after`.
            let order = |p: &Position| (p.sort.clone(), p.pk.clone(), p.sk.clone());
            listed.sort_by_key(|b| std::cmp::Reverse(order(&b.0)));
            let listed: Vec<_> = listed
                .into_iter()
                .filter(|(position, _)| after.is_none_or(|after| order(position) < order(after)))
                .collect();
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let next = if listed.len() > limit {
                listed
                    .get(limit.saturating_sub(1))
                    .map(|(position, _)| position.clone())
            } else {
                None
            };
            ConversationPage {
                entries: listed.into_iter().take(limit).map(|(_, entry)| entry).collect(),
                next,
            }
        })
        .await
    }
}
