//! The events the bundle publishes on its event bus (Amazon EventBridge): one [`BusEvent`] per inbound
//! message, per status that moved a message forward, and per other webhook field. Pure: built from the
//! records the worker has just written. Every event carries a deterministic `event_id` (the same webhook
//! delivered twice gives the same id) and `schema_version`; the JSON Schemas under `schemas/` describe
//! each `detail-type`.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ids::{ContactId, MessageId};
use super::records::{
    BUSINESS_APP_ORIGIN, EchoRecord, HistoryChunkRecord, InboundRecord, RawEventRecord, StatusRecord,
};
use super::webhook::{Content, MetaError};

mod calls;
mod health;
mod sends;

pub use calls::{CALL_ENDED, CALL_RECEIVED, CALL_STATUS, call_event};
pub use health::{ACCOUNT_UPDATE, NUMBER_QUALITY, TEMPLATE_CATEGORY, TEMPLATE_QUALITY, TEMPLATE_STATUS, health_event};
pub use sends::{Resolution, ResolvedBy, ResolvedSend, UnknownCause, UnknownSend, message_resolved, message_unknown};

/// The `source` of every event.
pub const SOURCE: &str = "whatsapp-bridge";
/// The `schema_version` of the details built here.
pub const SCHEMA_VERSION: u64 = 1;
/// `PutEvents` takes at most this many entries per call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// `PutEvents` takes entries whose sizes add up to less than this (AWS's calculation, [`BusEvent::size`]).
pub const MAX_CALL_BYTES: usize = 256 * 1024;
/// A detail larger than this has its bulky part left out (see [`raw_field`]), so that an entry always fits.
const MAX_DETAIL_BYTES: usize = 200 * 1024;

pub const MESSAGE_RECEIVED: &str = "message.received";
pub const MESSAGE_ECHO: &str = "message.echo";
pub const HISTORY_PROGRESS: &str = "history.progress";
pub const MESSAGE_STATUS: &str = "message.status";
pub const MESSAGE_UNKNOWN: &str = "message.unknown";
pub const MESSAGE_RESOLVED: &str = "message.resolved";
pub const VERIFICATION_CODE_CAPTURED: &str = "verification.code_captured";

/// One event for the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    pub detail_type: String,
    /// The detail, a JSON object (it holds `event_id`).
    pub detail: Value,
    /// The detail serialized, as sent.
    pub detail_json: String,
    pub event_id: String,
}

impl BusEvent {
    fn new(detail_type: impl Into<String>, event_id: String, mut detail: Map<String, Value>) -> Self {
        detail.insert("event_id".to_owned(), Value::from(event_id.clone()));
        detail.insert("schema_version".to_owned(), Value::from(SCHEMA_VERSION));
        let detail = Value::Object(detail);
        Self {
            detail_type: detail_type.into(),
            detail_json: detail.to_string(),
            detail,
            event_id,
        }
    }

    /// The entry's size as AWS counts it: `Source`, `DetailType` and `Detail` in UTF-8 bytes, plus 14
    /// for `Time`.
    pub fn size(&self) -> usize {
        SOURCE.len() + self.detail_type.len() + self.detail_json.len() + 14
    }
}

/// Events in a queue body (a `publish-events` job: events the bus refused after the write they
/// describe, published from the queue with the same ids).
pub fn to_queue_body(events: &[BusEvent]) -> String {
    Value::Array(
        events
            .iter()
            .map(|event| json!({ "detail_type": event.detail_type, "detail": event.detail }))
            .collect(),
    )
    .to_string()
}

/// The `publish-events` job of these events, for the send queue.
pub fn publish_job(events: &[BusEvent], request_id: &str) -> super::envelope::QueueMessage {
    super::outbound::labelled(
        super::envelope::EventKind::PublishEvents,
        to_queue_body(events),
        request_id,
    )
}

/// The events of a `publish-events` job's body.
pub fn from_queue_body(body: &str) -> Result<Vec<BusEvent>, String> {
    let items: Vec<Value> = serde_json::from_str(body).map_err(|error| format!("not a list of events: {error}"))?;
    items
        .into_iter()
        .map(|item| {
            let detail_type = item
                .get("detail_type")
                .and_then(Value::as_str)
                .ok_or("an event without detail_type")?;
            let detail = item
                .get("detail")
                .and_then(Value::as_object)
                .ok_or("an event without detail")?;
            let event_id = detail
                .get("event_id")
                .and_then(Value::as_str)
                .ok_or("an event without event_id")?;
            Ok(BusEvent {
                detail_type: detail_type.to_owned(),
                event_id: event_id.to_owned(),
                detail_json: Value::Object(detail.clone()).to_string(),
                detail: Value::Object(detail.clone()),
            })
        })
        .collect::<Result<Vec<_>, &str>>()
        .map_err(str::to_owned)
}

/// A deterministic id: the same parts always give the same 32 hex characters.
pub fn event_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let mut id = hex::encode(hasher.finalize());
    id.truncate(32);
    id
}

/// The inbound media's fate, for the `media` member of `message.received`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOutcome {
    /// Kept in the payload bucket.
    Stored { bucket: String, key: String, size: u64 },
    /// Could not be fetched, ever (the reason, without secrets).
    Failed { error: String },
}

/// `message.received` for an inbound message, with the fate of its media when it has some and it was
/// fetched (or failed for good).
pub fn message_received(record: &InboundRecord, outcome: Option<&MediaOutcome>) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("wamid".into(), Value::from(record.wamid.as_str()));
    detail.insert("phone_number_id".into(), optional(record.phone_number_id.as_deref()));
    detail.insert(
        "display_phone_number".into(),
        optional(record.display_phone_number.as_deref()),
    );
    detail.insert(
        "contact".into(),
        json!({
            "wa_id": record.wa_id,
            "user_id": record.user_id,
            "profile_name": record.profile_name,
            "username": record.username,
        }),
    );
    detail.insert("type".into(), Value::from(record.kind.as_str()));
    detail.insert("timestamp".into(), record.timestamp.map_or(Value::Null, Value::from));
    detail.insert("received_at".into(), Value::from(record.received.at.to_rfc3339()));
    add_content(
        &mut detail,
        record.context_message_id.as_deref(),
        &record.content,
        &record.errors,
        outcome,
    );
    BusEvent::new(
        MESSAGE_RECEIVED,
        event_id(&[MESSAGE_RECEIVED, record.wamid.as_str()]),
        detail,
    )
}

/// What a message says, under the members `message.received` and `message.echo` share: `context`,
/// the content by type (`text`, `media` with its fate when known, `location`, `reply`, `reaction`,
/// or `content`), and Meta's `errors`.
fn add_content(
    detail: &mut Map<String, Value>,
    context_message_id: Option<&str>,
    content: &Content,
    errors: &[MetaError],
    outcome: Option<&MediaOutcome>,
) {
    if let Some(context) = context_message_id {
        detail.insert("context".into(), json!({ "message_id": context }));
    }
    match content {
        Content::Text { body } => {
            detail.insert("text".into(), json!({ "body": body }));
        }
        Content::Media { media: meta, .. } => {
            let mut media = Map::new();
            media.insert("id".into(), optional(meta.id.as_deref()));
            media.insert("mime_type".into(), optional(meta.mime_type.as_deref()));
            media.insert("sha256".into(), optional(meta.sha256.as_deref()));
            if let Some(caption) = &meta.caption {
                media.insert("caption".into(), Value::from(caption.as_str()));
            }
            if let Some(filename) = &meta.filename {
                media.insert("filename".into(), Value::from(filename.as_str()));
            }
            if let Some(outcome) = outcome {
                add_media_outcome(&mut media, outcome);
            }
            detail.insert("media".into(), Value::Object(media));
        }
        Content::Location(location) => {
            detail.insert(
                "location".into(),
                json!({
                    "latitude": location.latitude,
                    "longitude": location.longitude,
                    "name": location.name,
                    "address": location.address,
                }),
            );
        }
        Content::Reply(reply) => {
            detail.insert(
                "reply".into(),
                json!({ "kind": reply.kind, "id": reply.id, "title": reply.title }),
            );
        }
        Content::Reaction(reaction) => {
            detail.insert(
                "reaction".into(),
                json!({ "message_id": reaction.message_id, "emoji": reaction.emoji }),
            );
        }
        Content::Contacts(value) | Content::Order(value) | Content::System(value) | Content::Other(value) => {
            detail.insert("content".into(), value.clone());
        }
    }
    if !errors.is_empty() {
        detail.insert("errors".into(), self::errors(errors));
    }
}

/// `message.echo` for a message the business sent from the WhatsApp Business app (recorded as an
/// outbound message of the customer's conversation, origin `business_app`).
pub fn message_echo(echo: &EchoRecord) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("wamid".into(), Value::from(echo.wamid.as_str()));
    detail.insert("origin".into(), Value::from(BUSINESS_APP_ORIGIN));
    detail.insert("phone_number_id".into(), optional(echo.phone_number_id.as_deref()));
    detail.insert(
        "display_phone_number".into(),
        optional(echo.display_phone_number.as_deref()),
    );
    let (wa_id, user_id) = match &echo.to {
        Some(ContactId::Phone(number)) => (Some(number.as_str()), None),
        Some(ContactId::User(user)) => (None, Some(user.as_str())),
        None => (None, None),
    };
    detail.insert("contact".into(), json!({ "wa_id": wa_id, "user_id": user_id }));
    detail.insert("type".into(), Value::from(echo.kind.as_str()));
    detail.insert("timestamp".into(), echo.timestamp.map_or(Value::Null, Value::from));
    detail.insert("received_at".into(), Value::from(echo.received.at.to_rfc3339()));
    add_content(
        &mut detail,
        echo.context_message_id.as_deref(),
        &echo.content,
        &echo.errors,
        None,
    );
    BusEvent::new(MESSAGE_ECHO, event_id(&[MESSAGE_ECHO, echo.wamid.as_str()]), detail)
}

/// `history.progress` for a chunk of the WhatsApp Business app's shared history, once its messages
/// were recorded (imported: never announced one by one); `declined` when the owner declined to share.
pub fn history_progress(chunk: &HistoryChunkRecord) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("phone_number_id".into(), optional(chunk.phone_number_id.as_deref()));
    detail.insert("phase".into(), chunk.phase.map_or(Value::Null, Value::from));
    detail.insert("chunk_order".into(), chunk.chunk_order.map_or(Value::Null, Value::from));
    detail.insert("progress".into(), chunk.progress.map_or(Value::Null, Value::from));
    detail.insert("threads".into(), Value::from(chunk.threads));
    detail.insert("messages".into(), Value::from(chunk.messages));
    detail.insert("declined".into(), Value::from(chunk.declined));
    detail.insert("errors".into(), errors(&chunk.errors));
    BusEvent::new(
        HISTORY_PROGRESS,
        event_id(&[HISTORY_PROGRESS, &chunk.event.entry_id, &chunk.event.digest]),
        detail,
    )
}

/// The fate of a message's media in its `media` member: `s3_bucket`, `s3_key` and `size`, or `error`.
pub fn add_media_outcome(media: &mut Map<String, Value>, outcome: &MediaOutcome) {
    match outcome {
        MediaOutcome::Stored { bucket, key, size } => {
            media.insert("s3_bucket".into(), Value::from(bucket.as_str()));
            media.insert("s3_key".into(), Value::from(key.as_str()));
            media.insert("size".into(), Value::from(*size));
        }
        MediaOutcome::Failed { error } => {
            media.insert("error".into(), Value::from(error.as_str()));
        }
    }
}

/// `message.status` for a status that moved its message forward; `message_id` is the bundle's id of the
/// message when it sent it (from `biz_opaque_callback_data`); `pricing` the message's, as its item holds it
/// after the status (the latest status that had one: a `read` carries its `delivered`'s), else the status's.
pub fn message_status(status: &StatusRecord, pricing: Option<&Value>) -> BusEvent {
    let message_id = status
        .biz_opaque_callback_data
        .as_deref()
        .and_then(MessageId::parse)
        .map(|id| id.as_str().to_owned());
    let mut detail = Map::new();
    detail.insert("wamid".into(), Value::from(status.wamid.as_str()));
    detail.insert("message_id".into(), optional(message_id.as_deref()));
    detail.insert("status".into(), Value::from(status.status_name.as_str()));
    detail.insert("timestamp".into(), status.timestamp.map_or(Value::Null, Value::from));
    detail.insert("phone_number_id".into(), optional(status.phone_number_id.as_deref()));
    detail.insert(
        "recipient".into(),
        json!({ "wa_id": status.recipient_id, "user_id": status.recipient_user_id }),
    );
    detail.insert("errors".into(), errors(&status.errors));
    detail.insert(
        "conversation".into(),
        status.conversation.clone().unwrap_or(Value::Null),
    );
    let pricing = pricing.or(status.pricing.as_ref());
    detail.insert("pricing".into(), pricing.cloned().unwrap_or(Value::Null));
    BusEvent::new(
        MESSAGE_STATUS,
        event_id(&[MESSAGE_STATUS, status.wamid.as_str(), &status.status_name]),
        detail,
    )
}

/// A verification code captured on a call (the Twilio gather or recording callbacks), as
/// `verification.code_captured` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCapture<'a> {
    pub call_sid: &'a str,
    /// The called number (Twilio's `To`): the number being verified.
    pub called: Option<&'a str>,
    /// The caller (Twilio's `From`): Meta's robot.
    pub caller: Option<&'a str>,
    /// `speech`, `dtmf` or `transcription`.
    pub captured_by: &'a str,
    /// Twilio's speech confidence, when spoken.
    pub confidence: Option<f64>,
    /// `sent`, `failed` or `handled_earlier` (a previous delivery of the webhook emailed it).
    pub email: &'a str,
    /// Whether the verification record is in the table.
    pub recorded: bool,
    pub code: &'a str,
}

/// `verification.code_captured`. The code (and what was heard, which spells it) only with
/// `include_code`; the `event_id` is the call SID and capture method's, never the code's (six digits
/// hashed with a known SID would give it away).
pub fn verification_code_captured(capture: &CodeCapture<'_>, include_code: bool) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("call_sid".into(), Value::from(capture.call_sid));
    detail.insert("called_number".into(), optional(capture.called));
    detail.insert("caller".into(), optional(capture.caller));
    detail.insert("captured_by".into(), Value::from(capture.captured_by));
    detail.insert("confidence".into(), capture.confidence.map_or(Value::Null, Value::from));
    detail.insert("email".into(), Value::from(capture.email));
    detail.insert("recorded".into(), Value::from(capture.recorded));
    detail.insert("code_included".into(), Value::from(include_code));
    if include_code {
        detail.insert("code".into(), Value::from(capture.code));
    }
    BusEvent::new(
        VERIFICATION_CODE_CAPTURED,
        event_id(&[VERIFICATION_CODE_CAPTURED, capture.call_sid, capture.captured_by]),
        detail,
    )
}

/// `whatsapp.<field>` for any other webhook field (template status, quality, account updates), its value
/// raw. A value too large for an entry is left out (`value_omitted`: its size); the table keeps it.
pub fn raw_field(event: &RawEventRecord) -> BusEvent {
    let detail_type = format!("whatsapp.{}", field_name(&event.field));
    let value: Value = serde_json::from_str(&event.payload).unwrap_or_else(|_| Value::from(event.payload.as_str()));
    let mut detail = Map::new();
    detail.insert("field".into(), Value::from(event.field.as_str()));
    detail.insert("entry_id".into(), Value::from(event.entry_id.as_str()));
    detail.insert("phone_number_id".into(), optional(event.phone_number_id.as_deref()));
    detail.insert("received_at".into(), Value::from(event.received.at.to_rfc3339()));
    if event.payload.len() > MAX_DETAIL_BYTES {
        detail.insert("value".into(), Value::Null);
        detail.insert("value_omitted".into(), Value::from(event.payload.len()));
    } else {
        detail.insert("value".into(), value);
    }
    let id = event_id(&[&detail_type, &event.entry_id, &event.digest]);
    BusEvent::new(detail_type, id, detail)
}

/// A webhook field as a detail-type suffix: lowercase letters, digits and `_`, at most 64 characters.
pub fn field_name(field: &str) -> String {
    let name: String = field
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .take(64)
        .collect();
    if name.is_empty() { "unknown".to_owned() } else { name }
}

fn optional(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}

fn errors(errors: &[MetaError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|error| {
                json!({
                    "code": error.code,
                    "title": error.title,
                    "message": error.message,
                    "details": error.details(),
                })
            })
            .collect(),
    )
}

/// The events in `PutEvents` calls: at most [`MAX_ENTRIES_PER_CALL`] each, their sizes under
/// [`MAX_CALL_BYTES`] together, in order.
pub fn batches(events: &[BusEvent]) -> Vec<&[BusEvent]> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, event) in events.iter().enumerate() {
        let size = event.size();
        if index > start && (index - start == MAX_ENTRIES_PER_CALL || bytes + size >= MAX_CALL_BYTES) {
            calls.push(&events[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        calls.push(&events[start..]);
    }
    calls
}

#[cfg(test)]
mod tests;
