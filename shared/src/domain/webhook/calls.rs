//! The `calls` webhook field (Meta's Calling API): a WhatsApp voice call to (or from) the business
//! number. A user-initiated call arrives as `connect` (with the caller's SDP offer), then
//! `terminate` (`status`, `duration`, start and end); a business-initiated one also reports
//! `statuses[]` (`RINGING`, `ACCEPTED`, `REJECTED`).

use serde::Deserialize;

use super::{Metadata, epoch_seconds};

/// The webhook field of calls.
pub const CALLS_FIELD: &str = "calls";

/// `value` of a `calls` change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallsValue {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub calls: Vec<CallEvent>,
    #[serde(default)]
    pub statuses: Vec<CallStatus>,
}

/// One `calls[]` entry: `event` `connect` or `terminate`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallEvent {
    /// The call id (`wacid.…`).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub event: String,
    /// `USER_INITIATED` or `BUSINESS_INITIATED`.
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub timestamp: Option<i64>,
    /// A terminated call's outcome (`COMPLETED`, `FAILED`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// Seconds, for a terminated call.
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub end_time: Option<i64>,
}

/// One `statuses[]` entry of a business-initiated call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallStatus {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub recipient_id: Option<String>,
}
