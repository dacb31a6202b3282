//! The SQS-triggered worker: records every inbound message, status and other event of each
//! queued webhook in the message store, and sends the queued messages (see [`sending`]).
//!
//! It reads two queues: webhooks (the ingestion queue) and send jobs (the send queue, whose
//! event source caps concurrency at the number's throughput tier). Records of a batch are
//! processed concurrently, and the events of its webhook records published together once their
//! writes are done ([`batch`]). A record that fails is reported in `batchItemFailures` so only it
//! is retried, after the delay its failure asks for (the record's visibility is set so); one
//! that can never be processed (not a webhook payload, its offloaded body gone) is retried
//! until the queue's redrive limit moves it to the dead-letter queue, with a log line saying
//! why each time.

mod batch;
mod done;
pub mod media;
pub mod record_error;
pub mod sending;
#[cfg(test)]
mod tests;
mod webhook;

use std::hash::{BuildHasher, Hasher};
use std::time::Instant as StdInstant;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;
use tracing::Instrument;

pub use self::done::Done;
pub use self::media::Media;
pub use self::record_error::RecordError;
use self::sending::Sending;
pub use self::webhook::{MAX_CONCURRENT_WRITES, WEBHOOK_WRITE_RETRY_SECONDS};

/// Every AWS call of the worker is bounded by this, so a record's claim, Graph call and
/// outcome fit in the invocation whatever the table does (see [`sending::SendPolicy::send_budget`]).
pub const WORKER_AWS_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);
use crate::claim_check;
use crate::domain::envelope::{ATTR_KIND, ATTR_RECEIVED_AT, ATTR_REQUEST_ID, EventKind, S3Pointer};
use crate::domain::events::{self as bus, BusEvent};
use crate::domain::ids::{MessageId, Wamid};
use crate::domain::media::MediaJob;
use crate::domain::records::{
    self, ContactActivity, InboundRecord, PhoneNumberFilter, Plan, RawEventRecord, Received, StatusRecord,
};
use crate::domain::records::{AddressBookRecord, CallRecord, EchoRecord, HistoryChunkRecord, IdentityLink};
use crate::domain::status::DeliveryStatus;
use crate::domain::webhook::WebhookPayload;
use crate::metrics::{self, Metric};
use crate::ports::{
    BlobError, BlobStore, EventPublisher, MediaSink, MediaSource, MessageStore, OutboundStore, Queue, Redelivery,
    StateWrite, StatusWrite, StoreError, TemplateStatusStore, Transient, WhatsAppSender, WriteOutcome,
};
pub use crate::publishing::Publishing;
use crate::sends::SendMachine;

/// What one record wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub inbound_new: usize,
    pub inbound_duplicate: usize,
    /// Messages the business sent from the WhatsApp Business app, recorded now or found recorded.
    pub echoes_new: usize,
    pub echoes_duplicate: usize,
    pub statuses_applied: usize,
    pub statuses_merged: usize,
    /// Sends tied to their wamid by a status carrying the bundle's message id.
    pub sends_linked: usize,
    pub events: usize,
    pub foreign_changes: usize,
    /// What each send job of the record came to.
    pub sends: Vec<Done>,
    /// Events published on the bus.
    pub published: usize,
    /// Media jobs queued (one per new media message, when media is kept).
    pub media_jobs: usize,
    /// What an `inbound-media` record came to.
    pub media: Vec<Done>,
}

impl RecordSummary {
    /// Whether the record's line is worth INFO: it recorded a new message (or echo), linked a send to its
    /// wamid, queued or kept media, wrote another field's event or a foreign change, or a send job
    /// came to anything but `accepted` (whose own INFO line, `send`, names the wamid). A record
    /// that only moved statuses forward or met a duplicate logs at DEBUG; failures log at WARN/ERROR
    /// either way. (`make cost`: INFO bytes per message, docs/cost.md.)
    pub fn worth_info(&self) -> bool {
        self.inbound_new > 0
            || self.echoes_new > 0
            || self.sends_linked > 0
            || self.events > 0
            || self.foreign_changes > 0
            || self.media_jobs > 0
            || !self.media.is_empty()
            || self.sends.iter().any(|done| *done != Done::Accepted)
    }
}

/// `Some(n)` for a count worth a field (a zero is left out of the line).
fn nonzero(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}

/// `Some(text)` for a non-empty text (an empty one is left out of the line).
fn nonempty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A succeeded record's line at `$level`: its counts, zeros left out.
macro_rules! recorded {
    ($level:expr, $summary:expr, $wamids:expr, $elapsed_ms:expr) => {
        tracing::event!(
            $level,
            outcome = "recorded",
            wamids = nonempty($wamids.join(",")),
            inbound_new = nonzero($summary.inbound_new),
            inbound_duplicate = nonzero($summary.inbound_duplicate),
            echoes_new = nonzero($summary.echoes_new),
            echoes_duplicate = nonzero($summary.echoes_duplicate),
            statuses_applied = nonzero($summary.statuses_applied),
            statuses_merged = nonzero($summary.statuses_merged),
            sends_linked = nonzero($summary.sends_linked),
            events = nonzero($summary.events),
            foreign_changes = nonzero($summary.foreign_changes),
            sends = nonempty(Done::joined(&$summary.sends)),
            published = nonzero($summary.published),
            media_jobs = nonzero($summary.media_jobs),
            media = nonempty(Done::joined(&$summary.media)),
            elapsed_ms = $elapsed_ms,
            "queue record"
        )
    };
}

pub struct Worker<S, B, R, W, Q, E> {
    pub store: S,
    pub blobs: B,
    pub redelivery: R,
    pub phone_numbers: PhoneNumberFilter,
    /// Send jobs, outcomes and auto-replies; `None` when sending is not configured.
    pub sending: Option<Sending<S, W, Q, E>>,
    /// The event bus; `None` when no bus is configured (`EVENT_BUS_NAME` unset).
    pub events: Option<Publishing<E>>,
    /// Inbound media kept in the payload bucket; `None` without an access token or a bucket (media
    /// messages then keep Meta's media id only).
    pub media: Option<Media<W, B, Q>>,
}

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E> {
    /// A worker that records webhooks and sends nothing (no access token configured).
    pub fn recording(store: S, blobs: B, redelivery: R, phone_numbers: PhoneNumberFilter) -> Self {
        Self {
            store,
            blobs,
            redelivery,
            phone_numbers,
            sending: None,
            events: None,
            media: None,
        }
    }

    /// The same worker, keeping inbound media.
    pub fn with_media(mut self, media: Media<W, B, Q>) -> Self {
        self.media = Some(media);
        self
    }

    /// The same worker, publishing on `events` (its send path too).
    pub fn with_events(mut self, events: Publishing<E>) -> Self
    where
        E: Clone,
    {
        if let Some(sending) = self.sending.as_mut() {
            sending.events = Some(events.clone());
        }
        self.events = Some(events);
        self
    }
}

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E>
where
    S: MessageStore + OutboundStore + TemplateStatusStore,
    B: BlobStore + MediaSink,
    R: Redelivery,
    W: WhatsAppSender + MediaSource,
    Q: Queue,
    E: EventPublisher,
{
    /// Every record of the batch, concurrently, each finished before `deadline` (the
    /// invocation's); the failed ones in `batchItemFailures`. The events of the webhook records (and
    /// `publish-events` jobs) are published together once their writes are done (see [`batch`]).
    pub async fn handle(&self, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
        let outcomes = self.process_batch(&event.records, deadline).await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = event
            .records
            .iter()
            .zip(outcomes)
            .filter(|(_, ok)| !ok)
            .map(|(record, _)| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.clone().unwrap_or_default();
                failure
            })
            .collect();
        metrics::flush();
        response
    }

    /// Processes one record on its own (its events published alone) in its own span and writes its log
    /// line; true when it succeeded.
    async fn process_logged(&self, record: &SqsMessage, deadline: Instant) -> bool {
        async {
            let started = StdInstant::now();
            let result = self.process(record, deadline).await;
            self.conclude(record, result, started).await
        }
        .instrument(record_span(record))
        .await
    }

    /// Writes a record's log line (in its span) and, when it failed and asks for a delay, sets its
    /// visibility; true when it succeeded.
    async fn conclude(
        &self,
        record: &SqsMessage,
        result: Result<(RecordSummary, Vec<String>), RecordError>,
        started: StdInstant,
    ) -> bool {
        match result {
            Ok((summary, wamids)) => {
                let elapsed_ms = started.elapsed().as_millis() as u64;
                if summary.worth_info() {
                    recorded!(tracing::Level::INFO, summary, wamids, elapsed_ms);
                } else {
                    recorded!(tracing::Level::DEBUG, summary, wamids, elapsed_ms);
                }
                true
            }
            Err(RecordError::Transient {
                reason,
                retry_in_seconds,
            }) => {
                let retry_in = retry_in_seconds.map(jittered);
                tracing::warn!(outcome = "retry", reason, retry_in, "queue record");
                if let Some(seconds) = retry_in {
                    self.redeliver_in(record, seconds).await;
                }
                false
            }
            Err(RecordError::Permanent(reason)) => {
                tracing::error!(
                    outcome = "unprocessable",
                    reason,
                    "queue record cannot be processed; it goes to the dead-letter queue after the redrive limit"
                );
                false
            }
        }
    }

    async fn redeliver_in(&self, record: &SqsMessage, seconds: u32) {
        let (Some(queue_arn), Some(receipt)) = (record.event_source_arn.as_deref(), record.receipt_handle.as_deref())
        else {
            return;
        };
        // If this fails the record comes back after the queue's visibility timeout instead.
        if let Err(error) = self.redelivery.retry_after(queue_arn, receipt, seconds).await {
            tracing::warn!(error = %error, "could not set the retry delay");
        }
    }

    /// Processes one record on its own: what it wrote and the wamids it touched. Its events are
    /// published alone (a batch publishes its records' together: [`Worker::handle`]).
    pub async fn process(
        &self,
        record: &SqsMessage,
        deadline: Instant,
    ) -> Result<(RecordSummary, Vec<String>), RecordError> {
        let mut staged = self.stage(record, deadline).await?;
        let published = match &self.events {
            Some(publishing) if !staged.events.is_empty() => {
                publishing.publish(std::mem::take(&mut staged.events)).await?
            }
            _ => 0,
        };
        self.finish(staged, published).await
    }

    /// A record up to its events: its writes done, the events they call for not yet published. A send
    /// job, a `send-outcome` job and an `inbound-media` job are done whole here (they publish their own).
    pub(super) async fn stage(&self, record: &SqsMessage, deadline: Instant) -> Result<Staged, RecordError> {
        let kind = attribute(record, ATTR_KIND);
        let sent = match kind.map(|text| (text, EventKind::parse(text))) {
            // Each kind's future boxed: together inline they would need a deep stack to poll (in a
            // debug build, where futures are large).
            Some((_, Some(EventKind::SendMessage))) => {
                let request_id = received(record).request_id;
                Box::pin(self.sending()?.send(record, &request_id, deadline)).await?
            }
            Some((_, Some(EventKind::SendOutcome))) => {
                let request_id = received(record).request_id;
                Box::pin(self.sending()?.record_outcome(record, &request_id)).await?
            }
            Some((_, Some(EventKind::PublishEvents))) => return self.stage_deferred(record),
            Some((_, Some(EventKind::InboundMedia))) => {
                let summary = RecordSummary {
                    media: vec![Box::pin(self.keep_media(record, deadline)).await?],
                    ..RecordSummary::default()
                };
                return Ok(Staged::done(summary));
            }
            Some((text, None)) => return Err(RecordError::Permanent(format!("unknown event kind {text:?}"))),
            Some((_, Some(EventKind::MetaWebhook))) | None => {
                return Box::pin(self.process_webhook(record, kind.is_some())).await;
            }
        };
        Ok(Staged::done(RecordSummary {
            sends: vec![sent],
            ..RecordSummary::default()
        }))
    }

    /// A staged record once its events were published (`published` of them): the read receipts and
    /// auto-replies of its inbound messages, which come after its events (a record whose events were
    /// refused sends them on the delivery that publishes).
    pub(super) async fn finish(
        &self,
        staged: Staged,
        published: usize,
    ) -> Result<(RecordSummary, Vec<String>), RecordError> {
        let Staged {
            mut summary,
            wamids,
            events: _,
            after_inbound,
        } = staged;
        summary.published = published;
        if let (Some(sending), Some((inbound, request_id))) = (&self.sending, after_inbound) {
            let replies = join_all(inbound.iter().map(|record| sending.after_inbound(record, &request_id))).await;
            replies.into_iter().collect::<Result<Vec<()>, RecordError>>()?;
        }
        Ok((summary, wamids))
    }

    /// A `publish-events` job: events the bus refused after their writes, published now (SQS
    /// retries the job until the bus takes them).
    fn stage_deferred(&self, record: &SqsMessage) -> Result<Staged, RecordError> {
        let events = bus::from_queue_body(record.body.as_deref().unwrap_or_default())
            .map_err(|error| RecordError::Permanent(format!("not a publish-events job: {error}")))?;
        if self.events.is_none() {
            tracing::warn!(
                events = events.len(),
                "publish-events job but no event bus configured: dropped"
            );
            return Ok(Staged::done(RecordSummary {
                sends: vec![Done::EventsDroppedNoBus],
                ..RecordSummary::default()
            }));
        }
        Ok(Staged {
            events,
            ..Staged::done(RecordSummary {
                sends: vec![Done::EventsPublished],
                ..RecordSummary::default()
            })
        })
    }

    fn sending(&self) -> Result<&Sending<S, W, Q, E>, RecordError> {
        self.sending.as_ref().ok_or_else(|| {
            RecordError::Permanent("sending is not configured (WHATSAPP_ACCESS_TOKEN is not set)".to_owned())
        })
    }
}

/// A record processed up to its events (see [`Worker::stage`]).
pub(super) struct Staged {
    pub summary: RecordSummary,
    pub wamids: Vec<String>,
    /// The events its writes call for, not yet published.
    pub events: Vec<BusEvent>,
    /// Its inbound messages and request id, whose read receipts and auto-replies follow the events
    /// (when sending is configured).
    pub after_inbound: Option<(Vec<InboundRecord>, String)>,
}

impl Staged {
    /// A record done whole, nothing left to publish or follow.
    fn done(summary: RecordSummary) -> Self {
        Self {
            summary,
            wamids: Vec::new(),
            events: Vec::new(),
            after_inbound: None,
        }
    }
}

/// A record's span: its ids, receive count and kind, and the message id once known.
fn record_span(record: &SqsMessage) -> tracing::Span {
    tracing::info_span!(
        "queue_record",
        sqs_message_id = record.message_id.as_deref().unwrap_or("-"),
        request_id = attribute(record, ATTR_REQUEST_ID).unwrap_or("-"),
        receive_count = sending::receive_count(record),
        kind = attribute(record, ATTR_KIND).unwrap_or("-"),
        message_id = tracing::field::Empty,
    )
}

/// The invocation's deadline (the Lambda context's, epoch milliseconds) on the monotonic clock.
pub fn deadline_from_epoch_millis(deadline_ms: u64) -> Instant {
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    Instant::now() + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// `seconds` plus up to a fifth more, so that retries failed together do not come back together.
pub fn jittered(seconds: u32) -> u32 {
    let spread = seconds / 5;
    if spread == 0 {
        return seconds;
    }
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    seconds + u32::try_from(random % u64::from(spread + 1)).unwrap_or(0)
}

fn attribute<'a>(record: &'a SqsMessage, name: &str) -> Option<&'a str> {
    record
        .message_attributes
        .get(name)
        .and_then(|value| value.string_value.as_deref())
}

/// When and by which request the payload arrived, from the envelope's attributes,
/// falling back to SQS's own send time and message id.
fn received(record: &SqsMessage) -> Received {
    let at = attribute(record, ATTR_RECEIVED_AT)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .or_else(|| {
            record
                .attributes
                .get("SentTimestamp")
                .and_then(|millis| millis.parse().ok())
                .and_then(DateTime::from_timestamp_millis)
        })
        .unwrap_or_else(Utc::now);
    let request_id = attribute(record, ATTR_REQUEST_ID)
        .map(str::to_owned)
        .or_else(|| record.message_id.clone())
        .unwrap_or_else(|| "-".to_owned());
    Received { at, request_id }
}
