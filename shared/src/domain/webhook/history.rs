//! The `history` webhook field: the WhatsApp Business app's past conversations, shared once when a
//! number joins the Cloud API in coexistence (`…/webhooks/reference/history`). Chunks of threads,
//! each a customer's messages in both directions, in three phases (day 0–1, 1–90, 90–180); or, when
//! the owner declined to share, `errors` (code 2593109).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{EchoMessage, MetaError, Metadata};

/// The webhook field of the shared history.
pub const HISTORY_FIELD: &str = "history";

/// Meta's error code when the owner declined to share the chat history.
pub const HISTORY_DECLINED: i64 = 2_593_109;

/// `value` of a `history` change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryValue {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub history: Vec<HistoryChunk>,
}

/// One chunk: where it stands in the sync, and its threads (or why there are none).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryChunk {
    #[serde(default)]
    pub metadata: ChunkMetadata,
    #[serde(default)]
    pub threads: Vec<HistoryThread>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
}

/// `phase` (0–2), `chunk_order` (chunks may arrive out of order) and `progress` (100: done), as
/// numbers or numeric strings (both are seen).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkMetadata {
    #[serde(default, deserialize_with = "number")]
    pub phase: Option<i64>,
    #[serde(default, deserialize_with = "number")]
    pub chunk_order: Option<i64>,
    #[serde(default, deserialize_with = "number")]
    pub progress: Option<i64>,
}

/// A customer's past messages: `id` is the customer's phone number; a message `from` the business
/// (it carries `to`) is one the business sent, any other one the customer's.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryThread {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub messages: Vec<EchoMessage>,
}

impl EchoMessage {
    /// `history_context.status` of an imported message (`READ`, `DELIVERED`, `PLAYED`, …).
    pub fn history_status(&self) -> Option<&str> {
        self.message.extra.get("history_context")?.get("status")?.as_str()
    }
}

fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    })
}
