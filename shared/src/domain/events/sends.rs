//! The send path's events: `message.unknown` (an attempt whose outcome is unknown) and
//! `message.resolved` (what became of it).

use serde_json::{Map, Value, json};

use super::{BusEvent, MESSAGE_RESOLVED, MESSAGE_UNKNOWN, errors, event_id, optional};
use crate::domain::ids::{AttemptId, ContactId, MessageId};
use crate::domain::outbound::StoredError;
use crate::domain::send_request::MessageKind;
use crate::domain::webhook::MetaError;

/// Why the bundle cannot tell whether Meta has a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCause {
    /// The request was written and no answer came back (timeout, connection lost).
    NoAnswer,
    /// An attempt's claim lapsed: it was killed, or could not record what Meta answered.
    ClaimLapsed,
    /// The one resend was refused, but the first copy's fate was never told: Meta may have it.
    RefusedAfterResend,
}

impl UnknownCause {
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownCause::NoAnswer => "no_answer",
            UnknownCause::ClaimLapsed => "claim_lapsed",
            UnknownCause::RefusedAfterResend => "refused_after_resend",
        }
    }
}

/// A send whose outcome became unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownSend<'a> {
    pub message_id: &'a MessageId,
    /// The attempt whose outcome is unknown.
    pub attempt: &'a AttemptId,
    pub to: &'a ContactId,
    pub kind: MessageKind,
    /// The business number it went out from.
    pub from: Option<&'a str>,
    pub cause: UnknownCause,
    /// Whether the bundle sends it once more if no status resolves it within the window.
    pub will_resend: bool,
    /// Meta's refusal of the resend ([`UnknownCause::RefusedAfterResend`]).
    pub error: Option<&'a StoredError>,
}

/// `message.unknown`, one per attempt whose outcome is unknown.
pub fn message_unknown(send: &UnknownSend<'_>) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("message_id".into(), Value::from(send.message_id.as_str()));
    detail.insert("attempt_id".into(), Value::from(send.attempt.as_str()));
    detail.insert("to".into(), Value::from(send.to.key()));
    detail.insert("type".into(), Value::from(send.kind.as_str()));
    detail.insert("phone_number_id".into(), optional(send.from));
    detail.insert("cause".into(), Value::from(send.cause.as_str()));
    detail.insert("will_resend".into(), Value::from(send.will_resend));
    detail.insert(
        "errors".into(),
        Value::Array(send.error.map(stored_error).into_iter().collect()),
    );
    BusEvent::new(
        MESSAGE_UNKNOWN,
        event_id(&[MESSAGE_UNKNOWN, send.message_id.as_str(), send.attempt.as_str()]),
        detail,
    )
}

/// What became of a message whose outcome was unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Meta has it (a status webhook carrying its id, or the send's own answer).
    Accepted,
    /// Meta had it and reported it failed (a `failed` status webhook carrying its id).
    Failed,
    /// The attempt whose claim lapsed provably never reached Meta: the message is queued again.
    NotSent,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Accepted => "accepted",
            Resolution::Failed => "failed",
            Resolution::NotSent => "not_sent",
        }
    }
}

/// Who told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvedBy {
    StatusWebhook,
    SendAnswer,
}

impl ResolvedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolvedBy::StatusWebhook => "status_webhook",
            ResolvedBy::SendAnswer => "send_answer",
        }
    }
}

/// The resolution of an unknown outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSend<'a> {
    pub message_id: &'a MessageId,
    pub resolution: Resolution,
    pub resolved_by: ResolvedBy,
    pub wamid: Option<&'a str>,
    /// Meta's status that resolved it (`sent`, `delivered`, `read`, `failed`), by a status webhook.
    pub status: Option<&'a str>,
    /// Whether the bundle had sent a second copy (the one resend).
    pub resent: bool,
    /// Meta's errors, of a `failed` status.
    pub errors: &'a [MetaError],
    /// The attempt found not sent ([`Resolution::NotSent`]).
    pub attempt: Option<&'a AttemptId>,
}

/// `message.resolved`: once per message that Meta turned out to have (whoever told first), once per
/// attempt found never sent.
pub fn message_resolved(resolved: &ResolvedSend<'_>) -> BusEvent {
    let mut detail = Map::new();
    detail.insert("message_id".into(), Value::from(resolved.message_id.as_str()));
    detail.insert("resolution".into(), Value::from(resolved.resolution.as_str()));
    detail.insert("resolved_by".into(), Value::from(resolved.resolved_by.as_str()));
    detail.insert("wamid".into(), optional(resolved.wamid));
    detail.insert("status".into(), optional(resolved.status));
    detail.insert("resent".into(), Value::from(resolved.resent));
    detail.insert("errors".into(), errors(resolved.errors));
    let id = match (resolved.resolution, resolved.attempt) {
        (Resolution::NotSent, Some(attempt)) => event_id(&[
            MESSAGE_RESOLVED,
            resolved.message_id.as_str(),
            "not_sent",
            attempt.as_str(),
        ]),
        _ => event_id(&[MESSAGE_RESOLVED, resolved.message_id.as_str(), "taken"]),
    };
    BusEvent::new(MESSAGE_RESOLVED, id, detail)
}

fn stored_error(error: &StoredError) -> Value {
    json!({
        "code": error.code,
        "title": error.title,
        "message": error.message,
        "details": error.details,
    })
}
