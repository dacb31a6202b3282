//! Planning the `calls` field: each call event recorded once (its own item kind, keyed by the
//! call id) and announced as `call.received`, `call.ended` or `call.status`.

use super::{Plan, Received};
use crate::domain::ids::PhoneNumberId;
use crate::domain::webhook::CallsValue;

/// What the bundle does with a WhatsApp call to the business number (`CALLS_POLICY`): a Lambda
/// function cannot carry the call's audio, so it answers by policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallsPolicy {
    /// Rejects it at once through the Calling API, so the caller is not left ringing.
    #[default]
    Reject,
    /// Leaves it ringing (the user's own software answers it, or nobody).
    Ignore,
}

impl CallsPolicy {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "reject" => Some(CallsPolicy::Reject),
            "ignore" => Some(CallsPolicy::Ignore),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallsPolicy::Reject => "reject",
            CallsPolicy::Ignore => "ignore",
        }
    }
}

/// The text a caller gets after a rejected call (`CALLS_REPLY_TEXT`), at most once per caller per
/// `cooldown_seconds` (`CALLS_REPLY_COOLDOWN_SECONDS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsReply {
    pub text: String,
    pub cooldown_seconds: u32,
}

/// What happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStep {
    /// The call reached the business number (`connect`): it rings.
    Connect,
    /// The call ended (`terminate`).
    Terminate,
    /// A business-initiated call's status (`RINGING`, `ACCEPTED`, `REJECTED`, …).
    Status(String),
}

impl CallStep {
    /// The call item's sort key for this step (one item a step).
    pub fn key(&self) -> String {
        match self {
            CallStep::Connect => "connect".to_owned(),
            CallStep::Terminate => "terminate".to_owned(),
            CallStep::Status(status) => format!("status#{}", status.to_ascii_lowercase()),
        }
    }
}

/// One call event to record, keyed by the call id and its step.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Meta's call id (`wacid.…`).
    pub call_id: String,
    pub phone_number_id: Option<PhoneNumberId>,
    pub step: CallStep,
    /// The caller (a user-initiated call) or the number called.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `USER_INITIATED` or `BUSINESS_INITIATED`.
    pub direction: Option<String>,
    /// A terminated call's outcome.
    pub status: Option<String>,
    pub duration: Option<i64>,
    pub timestamp: Option<i64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// The event as JSON.
    pub raw: String,
    pub received: Received,
}

impl CallRecord {
    /// A call the user placed to the business number, now ringing: what the calls policy answers.
    pub fn is_incoming(&self) -> bool {
        self.step == CallStep::Connect && self.direction.as_deref().is_none_or(|d| d == "USER_INITIATED")
    }
}

/// `raw` is the change's `value` as Meta sent it: each event is kept as it came.
pub(super) fn plan_calls(plan: &mut Plan, value: &CallsValue, raw: &serde_json::Value, received: &Received) {
    let raw_of = |list: &str, index: usize| {
        raw.get(list)
            .and_then(|l| l.get(index))
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    let phone_number_id = value.metadata.phone_number_id.clone();
    for (index, call) in value.calls.iter().enumerate() {
        let Some(call_id) = call.id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        let step = match call.event.as_str() {
            "connect" => CallStep::Connect,
            "terminate" => CallStep::Terminate,
            other => CallStep::Status(other.to_owned()),
        };
        plan.calls.push(CallRecord {
            call_id,
            phone_number_id: phone_number_id.clone(),
            step,
            from: call.from.clone(),
            to: call.to.clone(),
            direction: call.direction.clone(),
            status: call.status.clone(),
            duration: call.duration,
            timestamp: call.timestamp,
            start_time: call.start_time,
            end_time: call.end_time,
            raw: raw_of("calls", index),
            received: received.clone(),
        });
    }
    for (index, status) in value.statuses.iter().enumerate() {
        let Some(call_id) = status.id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        plan.calls.push(CallRecord {
            call_id,
            phone_number_id: phone_number_id.clone(),
            step: CallStep::Status(status.status.clone()),
            from: None,
            to: status.recipient_id.clone(),
            direction: Some("BUSINESS_INITIATED".to_owned()),
            status: Some(status.status.clone()),
            duration: None,
            timestamp: status.timestamp,
            start_time: None,
            end_time: None,
            raw: raw_of("statuses", index),
            received: received.clone(),
        });
    }
}
