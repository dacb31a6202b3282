//! One small trait per outside capability. The handlers depend on these; the
//! AWS adapters in [`crate::adapters`] implement them.

use std::future::Future;

pub use crate::domain::email::Email;
use crate::domain::records::{ContactActivity, InboundRecord, RawEventRecord, StatusRecord};

/// Whether a failure may go away on a retry (throttling, timeouts, 5xx) or never will.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue did not accept the message: {0}")]
    Unavailable(String),
}

/// A message for the queue: its body and string attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    pub attributes: Vec<(String, String)>,
}

/// Durable hand-off to the worker.
pub trait Queue: Send + Sync {
    /// Resolves once the queue has durably stored the message; returns its id.
    fn send(&self, message: QueueMessage) -> impl Future<Output = Result<String, QueueError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the blob store is unavailable: {0}")]
    Unavailable(String),
    #[error("no object at {bucket}/{key}")]
    NotFound { bucket: String, key: String },
}

impl Transient for BlobError {
    fn is_transient(&self) -> bool {
        matches!(self, BlobError::Unavailable(_))
    }
}

/// Object storage for payloads too large for the queue (the claim check).
pub trait BlobStore: Send + Sync {
    /// The bucket new objects go to.
    fn bucket(&self) -> &str;
    fn put(&self, key: &str, bytes: Vec<u8>) -> impl Future<Output = Result<(), BlobError>> + Send;
    fn get(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Vec<u8>, BlobError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, service errors: retry later.
    #[error("the message store is unavailable: {0}")]
    Unavailable(String),
    /// The store refused the item itself (too large, invalid): retrying cannot help.
    #[error("the message store rejected the item: {0}")]
    Rejected(String),
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether a conditional write changed the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write took effect.
    Applied,
    /// Its condition said the store already knows better (a duplicate, an older event): nothing changed
    /// beyond what is always safe to merge.
    Superseded,
}

/// The table of messages, statuses, contacts and raw events.
pub trait MessageStore: Send + Sync {
    /// Stores an inbound message once (keyed by wamid).
    fn record_inbound(&self, record: &InboundRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Moves the contact's last inbound time forward (never back).
    fn record_contact_activity(
        &self,
        activity: &ContactActivity,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Applies a status webhook: timestamps always merge, the status only ever moves up in rank.
    fn record_status(&self, status: &StatusRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Stores an event of another kind raw, once.
    fn record_event(&self, event: &RawEventRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Throttling, timeouts, service errors.
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
    /// The service refused the message (unverified sender, sandbox recipient, bad address).
    #[error("the mail service rejected the message: {0}")]
    Rejected(String),
}

/// Sends email (SES in production).
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, MailError>> + Send;
}

/// Records of Meta's verification calls: captured codes and recordings.
pub trait VerificationStore: Send + Sync {
    /// Stores a captured code once per call and code; `Superseded` when Twilio repeated the webhook.
    fn record_code(
        &self,
        code: &crate::domain::verification::CapturedCode,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Records what happened to the email about a code.
    fn record_email_outcome(
        &self,
        call_sid: &str,
        item: &str,
        outcome: &crate::domain::verification::EmailOutcome,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores a recording (or its transcription) once.
    fn record_recording(
        &self,
        recording: &crate::domain::verification::Recording,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
}

/// Hands a failed queue record back to SQS for a later try (its visibility timeout).
pub trait Redelivery: Send + Sync {
    fn retry_after(&self, receipt_handle: &str, seconds: u32) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The WhatsApp Cloud API.
pub trait WhatsAppSender: Send + Sync {
    /// Sends one message (the exact Graph API body); Meta's answer or its error.
    fn send(
        &self,
        payload: &serde_json::Value,
    ) -> impl Future<
        Output = Result<crate::domain::graph_response::SendAccepted, crate::domain::graph_error::GraphError>,
    > + Send;
    /// Marks an inbound message as read (blue ticks).
    fn mark_read(&self, wamid: &str)
    -> impl Future<Output = Result<(), crate::domain::graph_error::GraphError>> + Send;
}

/// A message the send API accepted, to be stored as `queued`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbound {
    pub message_id: String,
    pub to: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub fingerprint: String,
    /// Why it exists: `api` or `auto-reply`.
    pub origin: String,
}

/// What creating an outbound message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    /// The id exists already (a retried request); its body fingerprint.
    Exists {
        fingerprint: Option<String>,
    },
}

/// What claiming a message for sending found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This worker may send it now.
    Claimed { attempts: u32 },
    /// Sent (or failed for good) already: a duplicate queue record.
    AlreadyDone { status: String },
    /// Another worker holds a fresh claim on it.
    InFlight,
    /// No such message.
    Missing,
}

/// Meta's error as stored on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

/// Outbound messages.
pub trait OutboundStore: Send + Sync {
    fn create_outbound(&self, message: &NewOutbound) -> impl Future<Output = Result<Created, StoreError>> + Send;
    /// Takes the message for sending, unless it is done or another worker's claim is fresher than `lease_seconds`.
    fn claim(&self, message_id: &str, lease_seconds: i64) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Gives the claim back after a transient failure.
    fn release(&self, message_id: &str, error: &StoredError) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Meta accepted it: record the wamid on the message and on its status item.
    fn mark_accepted(
        &self,
        message_id: &str,
        to: &str,
        kind: &str,
        wamid: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// It can never be sent.
    fn mark_failed(&self, message_id: &str, error: &StoredError)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The message as the send API shows it, by bundle id or wamid.
    fn view(&self, id: &str) -> impl Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send;
    /// Epoch seconds of the contact's last inbound message.
    fn last_inbound_at(&self, contact: &str) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
}
