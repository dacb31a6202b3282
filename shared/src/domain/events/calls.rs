//! `call.received`, `call.ended` and `call.status`: WhatsApp voice calls, once recorded.

use serde_json::{Map, Value};

use super::{BusEvent, event_id, optional};
use crate::domain::records::{CallRecord, CallStep};

pub const CALL_RECEIVED: &str = "call.received";
pub const CALL_ENDED: &str = "call.ended";
pub const CALL_STATUS: &str = "call.status";

/// The event of a recorded call step; `policy` is what the bundle does with a ringing call
/// (`reject` or `ignore`), on `call.received` only.
pub fn call_event(call: &CallRecord, policy: Option<&str>) -> BusEvent {
    let detail_type = match call.step {
        CallStep::Connect => CALL_RECEIVED,
        CallStep::Terminate => CALL_ENDED,
        CallStep::Status(_) => CALL_STATUS,
    };
    let mut detail = Map::new();
    detail.insert("call_id".into(), Value::from(call.call_id.as_str()));
    detail.insert("phone_number_id".into(), optional(call.phone_number_id.as_deref()));
    detail.insert("from".into(), optional(call.from.as_deref()));
    detail.insert("to".into(), optional(call.to.as_deref()));
    detail.insert("direction".into(), optional(call.direction.as_deref()));
    detail.insert("timestamp".into(), call.timestamp.map_or(Value::Null, Value::from));
    detail.insert("received_at".into(), Value::from(call.received.at.to_rfc3339()));
    match &call.step {
        CallStep::Connect => {
            detail.insert("policy".into(), optional(policy));
        }
        CallStep::Terminate => {
            detail.insert("status".into(), optional(call.status.as_deref()));
            detail.insert("duration".into(), call.duration.map_or(Value::Null, Value::from));
            detail.insert("start_time".into(), call.start_time.map_or(Value::Null, Value::from));
            detail.insert("end_time".into(), call.end_time.map_or(Value::Null, Value::from));
        }
        CallStep::Status(status) => {
            detail.insert("status".into(), Value::from(status.as_str()));
        }
    }
    let step = call.step.key();
    BusEvent::new(detail_type, event_id(&[detail_type, &call.call_id, &step]), detail)
}
