//! Messages this bundle sends: ids, the send state machine, the queued jobs, and what the
//! send API shows.
//!
//! ```text
//! queued ──claim──▶ sending ──Meta 2xx──▶ accepted ──status webhooks──▶ sent / delivered / read
//!   ▲                 │ │ └──Meta refuses for good / receives exhausted──▶ failed
//!   └──transient──────┘ └──no answer after the request was written, stale claim──▶ unknown
//! unknown ──a status webhook carries its id (biz_opaque_callback_data)──▶ accepted (wamid linked)
//! unknown ──no status within the reconciliation window──▶ sending (resent once, `resends = 1`)
//! ```
//! Every transition is a conditional write in the store, from one table ([`machine`]); the claim
//! names its attempt, so only the holder of a claim may release it, fail it or mark it unknown.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub mod machine;

pub use machine::{ClaimDecision, SendRecord, decide_claim};

use super::envelope::{Envelope, EventKind, QueueMessage};
use super::ids::{AttemptId, ContactId, MessageId, PhoneNumberId, Wamid};
use super::send_request::MessageKind;

/// The state of a message on the bundle's own record (Meta's later statuses live on the
/// wamid's item and are merged into the view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboundStatus {
    Queued,
    /// Claimed by one attempt, which is calling Meta.
    Sending,
    /// Meta accepted it (a wamid, or a 2xx whose body was lost: the wamid comes with its statuses).
    Accepted,
    /// Meta may or may not have it; reconciled by its status webhooks or, failing those, resent once.
    Unknown,
    Failed,
}

impl OutboundStatus {
    pub const ALL: [OutboundStatus; 5] = [
        OutboundStatus::Queued,
        OutboundStatus::Sending,
        OutboundStatus::Accepted,
        OutboundStatus::Unknown,
        OutboundStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboundStatus::Queued => "queued",
            OutboundStatus::Sending => "sending",
            OutboundStatus::Accepted => "accepted",
            OutboundStatus::Unknown => "unknown",
            OutboundStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Where the message's fate is settled on the bundle's side: nothing more will be sent.
    pub fn is_settled(self) -> bool {
        matches!(self, OutboundStatus::Accepted | OutboundStatus::Failed)
    }
}

/// Why a message exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `POST /messages`.
    Api,
    /// `AUTO_REPLY_TEXT`, answering an inbound message.
    AutoReply,
    /// `CALLS_REPLY_TEXT`, answering a rejected WhatsApp call.
    CallReply,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::AutoReply => "auto-reply",
            Origin::CallReply => "call-reply",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Origin::Api, Origin::AutoReply, Origin::CallReply]
            .into_iter()
            .find(|origin| origin.as_str() == name)
    }
}

/// The queue body of a send: everything the worker needs, so it sends without a read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "JobOnTheQueue")]
pub struct SendJob {
    pub message_id: MessageId,
    /// The recipient: a phone number or a business-scoped user id.
    pub to: ContactId,
    /// The business number it goes out from; `None` (a job queued before several numbers
    /// existed): the deployment's default number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PhoneNumberId>,
    /// The message type, as the payload declares it.
    pub kind: MessageKind,
    /// The exact Graph API request body.
    pub payload: Value,
    /// How many fresh copies replaced a copy of this job whose every receive bounced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requeued: u32,
}

/// A [`SendJob`] as the queue may carry it: jobs queued before `kind` was written name their
/// type only in the payload.
#[derive(Deserialize)]
struct JobOnTheQueue {
    message_id: MessageId,
    to: ContactId,
    #[serde(default)]
    from: Option<PhoneNumberId>,
    #[serde(default)]
    kind: Option<MessageKind>,
    payload: Value,
    #[serde(default)]
    requeued: u32,
}

impl TryFrom<JobOnTheQueue> for SendJob {
    type Error = &'static str;

    fn try_from(job: JobOnTheQueue) -> Result<Self, Self::Error> {
        let declared = || {
            job.payload
                .get("type")
                .and_then(Value::as_str)
                .and_then(MessageKind::parse)
        };
        let kind = job
            .kind
            .or_else(declared)
            .ok_or("a send job names its message type (kind, or the payload's type)")?;
        Ok(SendJob {
            message_id: job.message_id,
            to: job.to,
            from: job.from,
            kind,
            payload: job.payload,
            requeued: job.requeued,
        })
    }
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

impl SendJob {
    /// The Graph API body as it goes out: the caller's, with the bundle's message id as
    /// `biz_opaque_callback_data`, which Meta echoes in every status webhook of the message,
    /// so a status ties back to this message even when the send's answer was lost.
    pub fn outgoing_payload(&self) -> Value {
        let mut payload = self.payload.clone();
        if let Some(object) = payload.as_object_mut() {
            object.insert(
                "biz_opaque_callback_data".to_owned(),
                Value::String(self.message_id.as_str().to_owned()),
            );
        }
        payload
    }

    /// The queue message of this job, with the same envelope attributes as a webhook.
    pub fn queue_message(&self, request_id: &str) -> QueueMessage {
        queue_message(EventKind::SendMessage, self, request_id)
    }
}

/// Meta's answer to a send, queued when it could not be recorded at once (the store was down
/// right after Meta answered). Recording it later never calls Meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OutcomeOnTheQueue", into = "OutcomeOnTheQueue")]
pub struct SendOutcome {
    pub message_id: MessageId,
    pub attempt: AttemptId,
    pub to: ContactId,
    pub kind: MessageKind,
    pub answer: Answer,
}

/// What the attempt learnt.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Accepted (with its wamid when the answer had one).
    Accepted(Option<Wamid>),
    /// Refused for good with this error.
    Failed(StoredError),
    /// Never reached Meta (this error): the claim goes back, the message is sent later.
    Released(StoredError),
}

/// A [`SendOutcome`] as the queue carries it (the shape queued jobs have always had: one of
/// `failed` and `released`, or neither for an acceptance).
#[derive(Serialize, Deserialize)]
struct OutcomeOnTheQueue {
    message_id: MessageId,
    attempt: AttemptId,
    to: ContactId,
    kind: MessageKind,
    wamid: Option<Wamid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<StoredError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    released: Option<StoredError>,
}

impl TryFrom<OutcomeOnTheQueue> for SendOutcome {
    type Error = &'static str;

    fn try_from(queued: OutcomeOnTheQueue) -> Result<Self, Self::Error> {
        let answer = match (queued.wamid, queued.failed, queued.released) {
            (wamid, None, None) => Answer::Accepted(wamid),
            (None, Some(error), None) => Answer::Failed(error),
            (None, None, Some(error)) => Answer::Released(error),
            _ => return Err("a send outcome is one of accepted (wamid), failed and released"),
        };
        Ok(SendOutcome {
            message_id: queued.message_id,
            attempt: queued.attempt,
            to: queued.to,
            kind: queued.kind,
            answer,
        })
    }
}

impl From<SendOutcome> for OutcomeOnTheQueue {
    fn from(outcome: SendOutcome) -> Self {
        let (wamid, failed, released) = match outcome.answer {
            Answer::Accepted(wamid) => (wamid, None, None),
            Answer::Failed(error) => (None, Some(error), None),
            Answer::Released(error) => (None, None, Some(error)),
        };
        OutcomeOnTheQueue {
            message_id: outcome.message_id,
            attempt: outcome.attempt,
            to: outcome.to,
            kind: outcome.kind,
            wamid,
            failed,
            released,
        }
    }
}

impl SendOutcome {
    pub fn queue_message(&self, request_id: &str) -> QueueMessage {
        queue_message(EventKind::SendOutcome, self, request_id)
    }
}

fn queue_message<T: Serialize>(kind: EventKind, value: &T, request_id: &str) -> QueueMessage {
    // Serializing these plain structs cannot fail.
    labelled(kind, serde_json::to_string(value).unwrap_or_default(), request_id)
}

/// A queue message of `kind` with this body, with the same envelope attributes as a webhook.
pub fn labelled(kind: EventKind, body: String, request_id: &str) -> QueueMessage {
    let envelope = Envelope::new(kind, Utc::now(), request_id, body.as_bytes());
    let attributes = envelope
        .attributes()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    QueueMessage::new(body, attributes)
}

/// A message id derived from an idempotency key: the same key always names the same message.
pub fn id_for_key(scope: &str, key: &str) -> MessageId {
    let digest = Sha256::digest(format!("{scope}\u{0}{key}").as_bytes());
    MessageId::new(format!("msg_{}", &hex::encode(digest)[..24]))
}

/// A fresh id, unique across instances (time, a seed and a per-process counter hashed).
pub(crate) fn fresh_digest(seed: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!(
        "{}:{}:{}:{}",
        now.as_nanos(),
        std::process::id(),
        seed,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// A fresh message id.
pub fn new_id(request_id: &str) -> MessageId {
    MessageId::new(format!("msg_{}", &fresh_digest(request_id)[..24]))
}

/// A fresh attempt id: names the holder of one claim.
pub fn new_attempt(message_id: &MessageId) -> AttemptId {
    AttemptId::new(format!("att_{}", &fresh_digest(message_id.as_str())[..16]))
}

/// The id of the auto-reply to an inbound message: one reply per wamid, however often it is redelivered.
pub fn auto_reply_id(inbound_wamid: &str) -> MessageId {
    id_for_key("auto-reply", inbound_wamid)
}

/// The calls reply's id: one per call (`wacid.…`), so a redelivered call webhook finds it.
pub fn call_reply_id(call_id: &str) -> MessageId {
    id_for_key("call-reply", call_id)
}

/// A fingerprint of a request body, to refuse an idempotency key reused for another message.
pub fn fingerprint(payload: &Value) -> String {
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

/// Meta's error as stored on a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Timestamps of a message's life, RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct History {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// A message as `GET /messages/{id}` shows it: the bundle's record and Meta's statuses merged,
/// the status being whichever ranks higher. Field order and names are the API's contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutboundView {
    pub id: Option<String>,
    pub wamid: Option<String>,
    pub direction: Option<String>,
    pub to: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Who sent it: `api`, `auto-reply`, or `business_app` (an echo of the WhatsApp Business app).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub history: History,
    /// Meta's errors (statuses' or the send's), `[]` when none.
    pub errors: Value,
    pub last_error: Option<Value>,
    pub attempts: Option<i64>,
    pub updated_at: Option<String>,
    /// The caller's own `biz_opaque_callback_data` (Meta gets the bundle's id in its place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    /// 1 when the message was sent a second time after an unknown outcome no status resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resends: Option<i64>,
    /// An inbound media message's file, with a presigned link to its bytes once the worker stored them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<super::history::MediaView>,
    /// Meta's per-message pricing of the latest status that had one (`pricing_model`, `category`,
    /// `type`, `billable`), as sent; absent until a status brings it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_keys_are_stable_and_scoped() {
        assert_eq!(id_for_key("api", "order-42"), id_for_key("api", "order-42"));
        assert_ne!(id_for_key("api", "order-42"), id_for_key("api", "order-43"));
        assert_ne!(id_for_key("api", "k"), id_for_key("auto-reply", "k"));
        assert!(MessageId::parse(id_for_key("api", "k").as_str()).is_some());
    }

    #[test]
    fn fresh_ids_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| new_id("req")).collect();
        assert_eq!(ids.len(), 1000);
        let message = new_id("req");
        assert_ne!(new_attempt(&message), new_attempt(&message));
    }

    #[test]
    fn the_job_round_trips_and_goes_out_with_its_id() {
        let job = SendJob {
            message_id: MessageId::new("msg_1"),
            to: ContactId::Phone("972504370045".into()),
            from: None,
            kind: MessageKind::Text,
            payload: serde_json::json!({"messaging_product":"whatsapp","to":"972504370045","type":"text",
                "text":{"body":"hi"},"biz_opaque_callback_data":"the caller's"}),
            requeued: 0,
        };
        let text = serde_json::to_string(&job).expect("serializes");
        assert_eq!(serde_json::from_str::<SendJob>(&text).expect("parses"), job);
        let outgoing = job.outgoing_payload();
        assert_eq!(outgoing["biz_opaque_callback_data"], "msg_1");
        assert_eq!(outgoing["text"]["body"], "hi");
        // A job queued before `kind` was written names its type in the payload only.
        let mut earlier: serde_json::Value = serde_json::from_str(&text).expect("json");
        earlier.as_object_mut().expect("object").remove("kind");
        assert_eq!(serde_json::from_value::<SendJob>(earlier.clone()).expect("parses"), job);
        earlier["payload"]["type"] = "carrier_pigeon".into();
        assert!(serde_json::from_value::<SendJob>(earlier).is_err());
        let message = job.queue_message("req-1");
        assert!(
            message
                .attributes
                .contains(&("kind".to_owned(), "send-message".to_owned()))
        );
    }

    #[test]
    fn a_send_outcome_keeps_its_queue_shape_and_is_one_answer() {
        let queued = r#"{"message_id":"msg_1","attempt":"att_1","to":"972504370045","kind":"text","wamid":null,"released":{"message":"not sent"}}"#;
        let outcome: SendOutcome = serde_json::from_str(queued).expect("parses");
        assert_eq!(
            outcome.answer,
            Answer::Released(StoredError {
                message: Some("not sent".to_owned()),
                ..StoredError::default()
            })
        );
        assert_eq!(serde_json::to_string(&outcome).expect("serializes"), queued);
        let accepted = r#"{"message_id":"msg_1","attempt":"att_1","to":"1","kind":"text","wamid":"wamid.X"}"#;
        let outcome: SendOutcome = serde_json::from_str(accepted).expect("parses");
        assert_eq!(outcome.answer, Answer::Accepted(Some(Wamid::new("wamid.X"))));
        let both =
            r#"{"message_id":"msg_1","attempt":"att_1","to":"1","kind":"text","wamid":null,"failed":{},"released":{}}"#;
        assert!(serde_json::from_str::<SendOutcome>(both).is_err(), "never two answers");
    }

    #[test]
    fn states_and_origins_parse_back() {
        for status in OutboundStatus::ALL {
            assert_eq!(OutboundStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(Origin::parse("auto-reply"), Some(Origin::AutoReply));
        assert_eq!(Origin::parse("x"), None);
    }
}
