//! One small trait per outside capability. The handlers depend on these; the
//! AWS adapters in [`crate::adapters`] implement them.

mod blocking;
mod codes;
mod coexistence;
mod outbound;
mod usage;

use std::future::Future;

pub use blocking::{BlockAction, BlockFailure, Blocklist};
pub use codes::CodeLog;
pub use coexistence::{CoexistenceLedger, SyncRequested};
pub use outbound::{Claim, ClaimTerms, Created, LapsedClaim, Moved, NewOutbound, OutboundStore, Sent};
pub use usage::{StatusWritten, UsageStore};

pub use crate::domain::email::Email;
use crate::domain::ids::{CallSid, Wamid};
pub use crate::domain::outbound::StoredError;
pub use crate::domain::outbound::machine::StateWrite;
pub use crate::domain::pacing::{Pace, Paced};
use crate::domain::records::EchoRecord;
use crate::domain::records::{
    AddressBookRecord, CallRecord, ContactActivity, IdentityLink, InboundRecord, RawEventRecord, StatusRecord,
};
pub use crate::domain::write::WriteOutcome;

/// Whether a failure may go away on a retry (throttling, timeouts, 5xx) or never will.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue did not accept the message: {0}")]
    Unavailable(String),
}

pub use crate::domain::envelope::QueueMessage;

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

/// What a status webhook did to its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusWrite {
    /// The status moved the message forward (its first status, or a higher rank).
    Advanced,
    /// The message already has exactly this status: this webhook, or the same status before it, moved it
    /// there (a redelivery); nothing changed now.
    Current,
    /// The message has a status of higher rank (or another of equal rank), or the status is outside the
    /// ranked life cycle: only timestamps and facts merged.
    Stale,
    /// As `Stale`, but this very delivery (its request id) advanced the message to this status
    /// before a higher one arrived: its event was due then (and may not have been published).
    Overtaken,
}

impl StatusWrite {
    pub fn outcome(self) -> WriteOutcome {
        match self {
            StatusWrite::Advanced => WriteOutcome::Applied,
            StatusWrite::Current | StatusWrite::Stale | StatusWrite::Overtaken => WriteOutcome::Superseded,
        }
    }
}

/// The table of messages, statuses, contacts and raw events.
pub trait MessageStore: Send + Sync {
    /// Stores an inbound message once (keyed by wamid).
    fn record_inbound(&self, record: &InboundRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Stores what the business sent from the WhatsApp Business app once (keyed by wamid, with its
    /// statuses however they interleave), in the customer's conversation.
    fn record_echo(&self, echo: &EchoRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Keeps what the WhatsApp Business app's address book says of a contact on its contact item
    /// (never its 24-hour window): `Superseded` when a newer change is already there.
    fn record_address_book(
        &self,
        entry: &AddressBookRecord,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Stores a call event once (keyed by the call id and its step).
    fn record_call(&self, call: &CallRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Records that two ids are one customer's, so that a conversation read by either shows both.
    fn record_link(&self, link: &IdentityLink) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Moves the contact's last inbound time forward (never back).
    fn record_contact_activity(
        &self,
        activity: &ContactActivity,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Applies a status webhook: timestamps always merge, the status only ever moves up in rank; a
    /// status with `pricing` keeps it and counts its message in the month's usage, once
    /// ([`crate::domain::usage`]). Answers with the pricing the message holds after it.
    fn record_status(&self, status: &StatusRecord) -> impl Future<Output = Result<StatusWritten, StoreError>> + Send;
    /// Stores an event of another kind raw, once.
    fn record_event(&self, event: &RawEventRecord) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Records the fate of an inbound message's media on its record: `Superseded` (and nothing changed)
    /// when it already has one kept (a kept object is never replaced by an error).
    fn record_media(
        &self,
        wamid: &str,
        media: &crate::domain::media::StoredMedia,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// The fate recorded for the message's media, if any.
    fn media_of(
        &self,
        wamid: &str,
    ) -> impl Future<Output = Result<Option<crate::domain::media::StoredMedia>, StoreError>> + Send;
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
    /// Claims the email about a stored item (a code or a transcription) for this request:
    /// `Applied` when it was still to send (`email_status = pending`, or `sending` under a claim
    /// older than `lease`: its holder crashed), `Superseded` when it is sent, failed, held by a
    /// live claim, or the item is not there. Only the request that claims it sends it.
    /// `claimant` names this request's claim (fresh per request): a claim whose write was applied
    /// but whose answer was lost is found to be its own on a retry, never taken for another's.
    fn claim_email(
        &self,
        call_sid: &CallSid,
        item: &str,
        claimant: &str,
        lease: std::time::Duration,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Records what happened to the email about a code.
    fn record_email_outcome(
        &self,
        call_sid: &CallSid,
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
    /// `receipt_handle` names the record in the queue it came from (`queue_arn`, the record's
    /// `eventSourceARN`): the worker reads two queues.
    fn retry_after(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        seconds: u32,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// How a send ended when Meta did not clearly accept it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// Meta answered with an error: its classification decides between retrying and failing.
    #[error("{0}")]
    Refused(Box<crate::domain::graph_error::GraphError>),
    /// The request never left (no connection): safe to send again.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request was written but no answer came (timeout, connection lost): Meta may have it.
    #[error("no answer after the request was written: {0}")]
    Ambiguous(String),
}

/// Meta accepted a message. `wamid` is `None` when the 2xx answer's body was lost: the wamid
/// then arrives with the message's status webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub wamid: Option<Wamid>,
}

/// The WhatsApp Cloud API.
pub trait WhatsAppSender: Send + Sync {
    /// Sends one message (the exact Graph API body) from the business number `from` (its id).
    fn send(
        &self,
        from: &str,
        payload: &serde_json::Value,
    ) -> impl Future<Output = Result<Accepted, SendFailure>> + Send;
    /// Marks an inbound message as read (blue ticks), as the business number `from` that received it;
    /// with `typing`, the user also sees "typing…" until the next message or for 25 s (Meta's typing
    /// indicator, the same call with `typing_indicator: {"type": "text"}`).
    fn mark_read(
        &self,
        from: &str,
        wamid: &Wamid,
        typing: bool,
    ) -> impl Future<Output = Result<(), SendFailure>> + Send;
    /// Acts on a WhatsApp call to the business number `from` (Meta's Calling API:
    /// `POST /{phone-number-id}/calls`, `action` `reject`, `terminate`, …).
    fn call_action(
        &self,
        from: &str,
        call_id: &str,
        action: &str,
    ) -> impl Future<Output = Result<(), SendFailure>> + Send;
    /// Meta said the access token is expired or invalid: read it again from where it is kept
    /// (at most once a minute). True when a different token was found.
    fn refresh_token(&self) -> impl Future<Output = bool> + Send;
}

/// A file to upload to Meta: bytes the caller sent, or an object already in the payload bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadSource {
    Bytes(Vec<u8>),
    /// The object at this key of the payload bucket, streamed from S3 to the Graph API.
    Object {
        key: String,
    },
}

/// An object of the payload bucket: its size, `Content-Type` and first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    pub content_type: Option<String>,
    /// Up to [`crate::domain::media_upload::HEAD_BYTES`] leading bytes (a webp's animation flag).
    pub head: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaFailure {
    /// Meta refused the upload (its error, for the answer).
    #[error("{0}")]
    Refused(Box<crate::domain::graph_error::GraphError>),
    /// The Graph API or S3 could not be reached or did not answer in time: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Meta's media upload (`POST /{phone-number-id}/media`) and the payload bucket's objects it
/// may upload from.
pub trait MediaUploader: Send + Sync {
    /// The object at `key` of the payload bucket (`None`: no such object).
    fn object(&self, key: &str) -> impl Future<Output = Result<Option<StoredObject>, MediaFailure>> + Send;
    /// Uploads `source` (of the bare MIME type `mime`, `size` bytes) as the business number `from`:
    /// Meta's media id.
    fn upload(
        &self,
        from: &str,
        mime: &str,
        size: u64,
        source: UploadSource,
    ) -> impl Future<Output = Result<String, MediaFailure>> + Send;
}

/// The WABA's message templates (`GET /{waba-id}/message_templates`).
pub trait TemplateCatalog: Send + Sync {
    /// The WhatsApp Business Account whose templates these are.
    fn waba_id(&self) -> &str;
    /// The template `name` in `language` (`Ok(None)`: the WABA has none); `Err`: it could not be
    /// looked up (the send then goes through, and Meta checks it). `changed_at`: Meta changed the
    /// template's status then (epoch seconds), so what was looked up before it is not trusted.
    fn template(
        &self,
        name: &str,
        language: &str,
        changed_at: Option<i64>,
    ) -> impl Future<Output = Result<Option<crate::domain::templates::TemplateShape>, String>> + Send;
    /// Every template of the WABA, as Meta lists them now (`GET /templates`); `Err`: they could not be read.
    fn list(&self) -> impl Future<Output = Result<Vec<crate::domain::template_list::TemplateListing>, String>> + Send;
}

/// Meta's latest send-deciding status of each template (`message_template_status_update`): the worker
/// records it, the send API reads it before every template send (one read).
pub trait TemplateStatusStore: Send + Sync {
    /// Keeps `status` unless the template holds a later one (by Meta's time): `Superseded` then.
    fn record_template_status(
        &self,
        status: &crate::domain::health::TemplateStatus,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// The status held for the template `name` in `language` of the WABA `waba_id`, if any.
    fn template_status(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> impl Future<Output = Result<Option<crate::domain::health::TemplateStatus>, StoreError>> + Send;
}

/// A capability a function does without: no value of it exists, so an `Option<Absent>` is always
/// `None`. The type a handler's optional port defaults to (no adapter named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {}

impl MediaUploader for Absent {
    async fn object(&self, _key: &str) -> Result<Option<StoredObject>, MediaFailure> {
        match *self {}
    }

    async fn upload(
        &self,
        _from: &str,
        _mime: &str,
        _size: u64,
        _source: UploadSource,
    ) -> Result<String, MediaFailure> {
        match *self {}
    }
}

impl TemplateCatalog for Absent {
    fn waba_id(&self) -> &str {
        match *self {}
    }

    async fn template(
        &self,
        _name: &str,
        _language: &str,
        _changed_at: Option<i64>,
    ) -> Result<Option<crate::domain::templates::TemplateShape>, String> {
        match *self {}
    }

    async fn list(&self) -> Result<Vec<crate::domain::template_list::TemplateListing>, String> {
        match *self {}
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Throttling, timeouts, service errors, or the bus refusing the call: retry later.
    #[error("the event bus is unavailable: {0}")]
    Unavailable(String),
}

/// One entry of a `PutEvents` call that the bus did not take (a partial failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// Its index in the call's entries.
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// The event bus (Amazon EventBridge): `source`, `detail-type` and `detail` of each
/// [`crate::domain::events::BusEvent`].
pub trait EventPublisher: Send + Sync {
    /// One `PutEvents` call: at most 10 entries, together under 256 KB. Answers the entries that failed
    /// (empty when all were taken).
    fn put_events(
        &self,
        events: &[crate::domain::events::BusEvent],
    ) -> impl Future<Output = Result<Vec<FailedEntry>, PublishError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// May work on a later try: no connection, a timeout, 429/5xx, an expired token or download URL, a
    /// download that broke off or did not match Meta's size and SHA-256, the bucket unavailable.
    #[error("media unavailable: {0}")]
    Unavailable(String),
    /// Can never work: Meta refused the media id (a 4xx such as code 100 subcode 33), or the file is
    /// over the size cap.
    #[error("media refused: {0}")]
    Refused(String),
}

impl Transient for MediaError {
    fn is_transient(&self) -> bool {
        matches!(self, MediaError::Unavailable(_))
    }
}

/// A body arriving in chunks (never whole in memory).
pub type ByteChunks =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, MediaError>> + Send + 'static>>;

/// A download under way: its announced length and type, and its bytes.
pub struct MediaDownload {
    /// `Content-Length`, when the server sent one.
    pub content_length: Option<u64>,
    pub chunks: ByteChunks,
}

/// Meta's media endpoints (Graph API): where a media id's bytes are, and the bytes.
pub trait MediaSource: Send + Sync {
    /// `GET /{version}/{media-id}` with the bearer token.
    fn retrieve(
        &self,
        media_id: &str,
    ) -> impl Future<Output = Result<crate::domain::media::MediaInfo, MediaError>> + Send;
    /// The retrieved URL, with the bearer token; the body streams.
    fn download(&self, url: &str) -> impl Future<Output = Result<MediaDownload, MediaError>> + Send;
}

/// Where kept media goes (the payload bucket, under `media/`).
pub trait MediaSink: Send + Sync {
    /// The bucket objects go to.
    fn media_bucket(&self) -> &str;
    /// Streams `length` bytes to `key`. The object exists afterwards only if every byte arrived and the
    /// stream ended without an error (one that fails keeps nothing: no partial object).
    fn put_stream(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        chunks: ByteChunks,
    ) -> impl Future<Output = Result<(), MediaError>> + Send;
}

/// The conversation with a contact, both directions, newest first (`GET /contacts/{contact}/messages`).
pub trait ConversationStore: Send + Sync {
    /// Up to `limit` entries of `contact`'s conversation (the key its messages are stored under,
    /// and every id linked to it: [`MessageStore::record_link`]), older than `after` (the last entry
    /// of the previous page), and where the next page starts.
    fn conversation(
        &self,
        contact: &str,
        limit: u32,
        after: Option<&crate::domain::history::Position>,
    ) -> impl Future<Output = Result<crate::domain::history::ConversationPage, StoreError>> + Send;
}

/// The contacts by last activity (`GET /contacts`): an index the message store keeps as messages arrive.
pub trait ContactList: Send + Sync {
    /// Up to `limit` contacts, newest activity first, older than `after` (the last of the previous
    /// page), each with its windows, and where the next page starts.
    fn contacts(
        &self,
        limit: u32,
        after: Option<&crate::domain::history::Position>,
    ) -> impl Future<Output = Result<crate::domain::contacts::ContactsPage, StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No credentials to sign with (or they could not be loaded): the link is left out.
    #[error("cannot sign a media link: {0}")]
    Unavailable(String),
    /// The key is outside what the API may link (`media/…`).
    #[error("not a media key: {0}")]
    NotMedia(String),
}

/// A short-lived link to a stored media object (an S3 presigned GET).
pub trait MediaLinks: Send + Sync {
    /// A URL that GETs the object `key` for `ttl`, and when it expires (epoch seconds).
    fn link(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<(String, i64), LinkError>> + Send;
}
