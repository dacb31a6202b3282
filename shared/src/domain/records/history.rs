//! Planning the `history` field: each chunk's past messages as imported records (the customer's as
//! inbound, the business's as outbound like an echo), never touching the 24-hour window; and the
//! chunk itself, recorded once and announced as `history.progress`.

use serde_json::json;

use super::{EchoRecord, InboundRecord, Plan, Received, raw_event};
use crate::domain::ids::{ContactId, PhoneNumberId, Wamid};
use crate::domain::webhook::{HISTORY_DECLINED, HISTORY_FIELD, HistoryChunk, HistoryValue, MetaError};

/// One chunk of the shared history: recorded as a raw event (its metadata and counts, not its
/// messages, which are recorded one by one), announced once.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryChunkRecord {
    pub phone_number_id: Option<PhoneNumberId>,
    pub phase: Option<i64>,
    pub chunk_order: Option<i64>,
    pub progress: Option<i64>,
    pub threads: usize,
    pub messages: usize,
    /// The owner declined to share the history (Meta's error 2593109).
    pub declined: bool,
    pub errors: Vec<MetaError>,
    /// The chunk's record in the table (field `history`), keyed by its content's digest.
    pub event: super::RawEventRecord,
}

/// Every message and the chunk record of a `history` change.
pub(super) fn plan_history(plan: &mut Plan, entry_id: &str, value: &HistoryValue, received: &Received) {
    let business = value.metadata.display_phone_number.as_deref();
    let phone_number_id = value.metadata.phone_number_id.clone();
    for chunk in &value.history {
        let mut messages = 0;
        for thread in &chunk.threads {
            let customer = thread.id.clone().filter(|id| !id.is_empty());
            for message in &thread.messages {
                let Some(wamid) = message.message.id.clone().filter(|id| !id.is_empty()).map(Wamid::new) else {
                    continue;
                };
                messages += 1;
                let from_business = message.to.is_some() || message.message.from.as_deref() == business;
                if from_business {
                    let to = message.to.clone().or_else(|| customer.clone());
                    if let Some(mut echo) = EchoRecord::of(&value.metadata, message, received) {
                        echo.to = echo.to.or(to.map(ContactId::Phone));
                        echo.imported = true;
                        echo.history_status = message.history_status().map(str::to_owned);
                        plan.echoes.push(echo);
                    }
                } else {
                    let inbound = &message.message;
                    plan.inbound.push(InboundRecord {
                        wamid,
                        phone_number_id: phone_number_id.clone(),
                        display_phone_number: value.metadata.display_phone_number.clone(),
                        wa_id: inbound.from.clone().or_else(|| customer.clone()),
                        user_id: inbound.from_user_id.clone(),
                        profile_name: None,
                        username: None,
                        kind: inbound.kind.clone(),
                        timestamp: inbound.timestamp,
                        content: inbound.content(),
                        context_message_id: inbound.context.as_ref().and_then(|c| c.id.clone()),
                        errors: inbound.errors.clone(),
                        raw: serde_json::to_value(message).unwrap_or_default().to_string(),
                        received: received.clone(),
                        imported: true,
                    });
                }
            }
        }
        plan.history
            .push(chunk_record(entry_id, value, chunk, messages, received));
    }
}

fn chunk_record(
    entry_id: &str,
    value: &HistoryValue,
    chunk: &HistoryChunk,
    messages: usize,
    received: &Received,
) -> HistoryChunkRecord {
    let declined = chunk.errors.iter().any(|error| error.code == Some(HISTORY_DECLINED));
    let summary = json!({
        "metadata": {
            "phase": chunk.metadata.phase,
            "chunk_order": chunk.metadata.chunk_order,
            "progress": chunk.metadata.progress,
        },
        "threads": chunk.threads.len(),
        "messages": messages,
        "errors": chunk.errors,
        // What makes a chunk this chunk: the ids of its messages (so the same chunk redelivered is
        // the same record, and another chunk with the same metadata is not).
        "wamids": chunk.threads.iter().flat_map(|t| t.messages.iter().filter_map(|m| m.message.id.clone())).collect::<Vec<_>>(),
    });
    let phone_number_id = value.metadata.phone_number_id.as_deref();
    HistoryChunkRecord {
        phone_number_id: value.metadata.phone_number_id.clone(),
        phase: chunk.metadata.phase,
        chunk_order: chunk.metadata.chunk_order,
        progress: chunk.metadata.progress,
        threads: chunk.threads.len(),
        messages,
        declined,
        errors: chunk.errors.clone(),
        event: raw_event(HISTORY_FIELD, entry_id, phone_number_id, &summary, received),
    }
}
