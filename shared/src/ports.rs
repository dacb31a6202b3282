//! One small trait per outside capability. The handlers depend on these; the
//! AWS adapters in [`crate::adapters`] implement them.

use std::future::Future;

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

/// A plain-text email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
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
