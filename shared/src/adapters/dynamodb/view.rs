//! How a message's items read back: the send API's view of a send (its `OUT#` record and its
//! wamid's `MSG#` item merged) and an inbound message's file. Shared by the single-message read
//! ([`super::outbound`]) and the history pages ([`super::conversation`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{attribute_to_json, text_of};
use crate::domain::history::MediaView;
use crate::domain::outbound::machine::merged_status;
use crate::domain::outbound::{History, OutboundStatus, OutboundView};

type Attributes = HashMap<String, AttributeValue>;

/// The send API's view of a message: the bundle's record and Meta's statuses merged,
/// the status being whichever ranks higher.
pub(super) fn outbound_view(outbound: Option<&Attributes>, message: Option<&Attributes>) -> OutboundView {
    let field = |name: &str| {
        message
            .and_then(|m| text_of(m, name))
            .or_else(|| outbound.and_then(|o| text_of(o, name)))
    };
    let from_outbound = |name: &str| outbound.and_then(|o| text_of(o, name));
    let rank = |item: Option<&Attributes>| {
        item.and_then(|i| text_of(i, "status_rank"))
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let own = from_outbound("status").and_then(|name| OutboundStatus::parse(&name));
    let meta = message.and_then(|m| Some((u8::try_from(rank(Some(m))).ok()?, text_of(m, "status")?)));
    let status = match own {
        Some(own) => Some(merged_status(
            own,
            meta.as_ref().map(|(rank, status)| (*rank, status.as_str())),
        )),
        None => meta.map(|(_, status)| status),
    };
    let errors = message
        .and_then(|m| m.get("errors"))
        .or_else(|| outbound.and_then(|o| o.get("errors")))
        .map(attribute_to_json)
        .unwrap_or(serde_json::Value::Array(Vec::new()));
    let callback_data = from_outbound("payload")
        .and_then(|payload| serde_json::from_str::<serde_json::Value>(&payload).ok())
        .and_then(|payload| payload.get("biz_opaque_callback_data")?.as_str().map(str::to_owned));
    OutboundView {
        id: from_outbound("message_id").or_else(|| field("message_id")),
        wamid: field("wamid"),
        direction: field("direction"),
        to: from_outbound("to").or_else(|| field("recipient_id")),
        kind: field("type"),
        status,
        origin: from_outbound("origin").or_else(|| field("origin")),
        history: History {
            queued: field("queued_at"),
            accepted: field("accepted_at"),
            unknown: from_outbound("unknown_at"),
            sent: field("sent_at"),
            delivered: field("delivered_at"),
            read: field("read_at"),
            failed: field("failed_at"),
        },
        errors,
        last_error: outbound.and_then(|o| o.get("last_error")).map(attribute_to_json),
        attempts: from_outbound("attempts").and_then(|n| n.parse::<i64>().ok()),
        updated_at: field("updated_at"),
        callback_data,
        resends: from_outbound("resends").and_then(|n| n.parse::<i64>().ok()),
        media: message.and_then(media_of),
        pricing: message.and_then(|m| m.get("pricing")).map(attribute_to_json),
    }
}

/// The stored media facts of a message item, if it is a media message.
pub(super) fn media_of(item: &Attributes) -> Option<MediaView> {
    let field = |name: &str| text_of(item, name);
    let media = MediaView {
        id: field("media_id"),
        mime_type: field("media_mime_type"),
        sha256: field("media_sha256"),
        s3_key: field("media_s3_key"),
        url: None,
        url_expires_at: None,
        error: field("media_error"),
    };
    (media.id.is_some() || media.s3_key.is_some() || media.error.is_some()).then_some(media)
}
