//! The SQS-triggered worker: records every inbound message, status and other event
//! of each queued webhook in the message store.
//!
//! Records of a batch are processed concurrently. A record that fails is reported in
//! `batchItemFailures` so only it is retried; one that can never be processed (not a
//! webhook payload, its offloaded body gone) is retried until the queue's redrive limit
//! moves it to the dead-letter queue, with a log line saying why each time.

use std::time::Instant;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};

use super::sending::SendJobs;
use crate::claim_check;
use crate::domain::envelope::{ATTR_KIND, ATTR_RECEIVED_AT, ATTR_REQUEST_ID, EventKind};
use crate::domain::records::{
    self, ContactActivity, InboundRecord, PhoneNumberFilter, Plan, RawEventRecord, Received, StatusRecord,
};
use crate::domain::status::DeliveryStatus;
use crate::domain::webhook::WebhookPayload;
use crate::metrics::{self, Metric};
use crate::ports::{BlobStore, MessageStore, StoreError, Transient, WriteOutcome};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// May succeed on a later delivery.
    #[error("transient: {0}")]
    Transient(String),
    /// Will fail the same way every time: the record ends in the dead-letter queue.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl RecordError {
    fn from_failure<E: Transient + std::fmt::Display>(what: &str, error: E) -> Self {
        if error.is_transient() {
            RecordError::Transient(format!("{what}: {error}"))
        } else {
            RecordError::Permanent(format!("{what}: {error}"))
        }
    }
}

/// What one record wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub inbound_new: usize,
    pub inbound_duplicate: usize,
    pub statuses_applied: usize,
    pub statuses_merged: usize,
    pub events: usize,
    pub foreign_changes: usize,
    /// What each send job of the record came to.
    pub sends: Vec<&'static str>,
}

pub struct Worker<S, B, X = ()> {
    pub store: S,
    pub blobs: B,
    pub phone_numbers: PhoneNumberFilter,
    /// Send jobs and auto-replies; `()` when sending is not configured.
    pub sending: X,
}

impl<S: MessageStore, B: BlobStore> Worker<S, B, ()> {
    pub fn new(store: S, blobs: B, phone_numbers: PhoneNumberFilter) -> Self {
        Self {
            store,
            blobs,
            phone_numbers,
            sending: (),
        }
    }
}

impl<S: MessageStore, B: BlobStore, X: SendJobs> Worker<S, B, X> {
    /// The same worker, also sending.
    pub fn with_sending<Y: SendJobs>(self, sending: Y) -> Worker<S, B, Y> {
        Worker {
            store: self.store,
            blobs: self.blobs,
            phone_numbers: self.phone_numbers,
            sending,
        }
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let outcomes = join_all(event.records.iter().map(|record| self.process_logged(record))).await;
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

    /// Processes one record and writes its log line; true when it succeeded.
    async fn process_logged(&self, record: &SqsMessage) -> bool {
        let started = Instant::now();
        let message_id = record.message_id.as_deref().unwrap_or("-");
        let request_id = attribute(record, ATTR_REQUEST_ID).unwrap_or("-");
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .map(String::as_str)
            .unwrap_or("-");
        match self.process(record).await {
            Ok((summary, wamids)) => {
                tracing::info!(
                    sqs_message_id = message_id,
                    request_id,
                    receive_count,
                    outcome = "recorded",
                    wamids = wamids.join(","),
                    inbound_new = summary.inbound_new,
                    inbound_duplicate = summary.inbound_duplicate,
                    statuses_applied = summary.statuses_applied,
                    statuses_merged = summary.statuses_merged,
                    events = summary.events,
                    foreign_changes = summary.foreign_changes,
                    sends = summary.sends.join(","),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "queue record"
                );
                true
            }
            Err(RecordError::Transient(reason)) => {
                tracing::warn!(
                    sqs_message_id = message_id,
                    request_id,
                    receive_count,
                    outcome = "retry",
                    reason,
                    "queue record"
                );
                false
            }
            Err(RecordError::Permanent(reason)) => {
                tracing::error!(
                    sqs_message_id = message_id,
                    request_id,
                    receive_count,
                    outcome = "unprocessable",
                    reason,
                    "queue record cannot be processed; it goes to the dead-letter queue after the redrive limit"
                );
                false
            }
        }
    }

    /// Processes one record: what it wrote and the wamids it touched.
    pub async fn process(&self, record: &SqsMessage) -> Result<(RecordSummary, Vec<String>), RecordError> {
        match attribute(record, ATTR_KIND).map(|kind| (kind, EventKind::parse(kind))) {
            Some((_, Some(EventKind::SendMessage))) => {
                let outcome = self.sending.send(record).await?;
                let summary = RecordSummary {
                    sends: vec![outcome],
                    ..RecordSummary::default()
                };
                return Ok((summary, Vec::new()));
            }
            Some((kind, None)) => return Err(RecordError::Permanent(format!("unknown event kind {kind:?}"))),
            Some((_, Some(EventKind::MetaWebhook))) | None => {}
        }
        let body = record
            .body
            .as_deref()
            .ok_or_else(|| RecordError::Permanent("empty body".to_owned()))?;
        let bytes = claim_check::resolve(&self.blobs, body)
            .await
            .map_err(|error| RecordError::from_failure("offloaded payload", error))?;
        let payload: WebhookPayload = serde_json::from_slice(&bytes)
            .map_err(|error| RecordError::Permanent(format!("not a webhook payload: {error}")))?;
        let received = received(record);
        let plan = records::plan(&payload, &self.phone_numbers, &received);
        for foreign in &plan.foreign {
            tracing::info!(
                request_id = received.request_id,
                phone_number_id = foreign.phone_number_id,
                field = foreign.field,
                entry_id = foreign.entry_id,
                "change for a phone number this deployment does not serve: acknowledged, not processed"
            );
        }
        let summary = self.apply(&plan).await?;
        for inbound in &plan.inbound {
            self.sending.after_inbound(inbound).await?;
        }
        let wamids = plan
            .inbound
            .iter()
            .map(|record| record.wamid.clone())
            .chain(
                plan.statuses
                    .iter()
                    .map(|status| format!("{}:{}", status.wamid, status.status_name)),
            )
            .collect();
        Ok((summary, wamids))
    }

    /// Every write of the plan, at most [`MAX_CONCURRENT_WRITES`] at a time. Each is
    /// idempotent, so a retry of the whole record after a partial failure converges.
    async fn apply(&self, plan: &Plan) -> Result<RecordSummary, RecordError> {
        let writes = plan
            .inbound
            .iter()
            .map(Write::Inbound)
            .chain(plan.contacts.iter().map(Write::Contact))
            .chain(plan.statuses.iter().map(Write::Status))
            .chain(plan.events.iter().map(Write::Event));
        let results: Vec<(WriteKind, Result<WriteOutcome, StoreError>)> = stream::iter(writes)
            .map(|write| async move {
                match write {
                    Write::Inbound(record) => (WriteKind::Inbound, self.store.record_inbound(record).await),
                    Write::Contact(activity) => {
                        (WriteKind::Contact, self.store.record_contact_activity(activity).await)
                    }
                    Write::Status(status) => (WriteKind::Status(status), self.store.record_status(status).await),
                    Write::Event(event) => (WriteKind::Event, self.store.record_event(event).await),
                }
            })
            .buffer_unordered(MAX_CONCURRENT_WRITES)
            .collect()
            .await;
        let mut summary = RecordSummary {
            foreign_changes: plan.foreign.len(),
            ..RecordSummary::default()
        };
        let mut permanent = None;
        for (kind, result) in results {
            match (kind, result) {
                (WriteKind::Inbound, Ok(WriteOutcome::Applied)) => {
                    summary.inbound_new += 1;
                    metrics::count(Metric::MessagesReceived, 1);
                }
                (WriteKind::Inbound, Ok(WriteOutcome::Superseded)) => summary.inbound_duplicate += 1,
                (WriteKind::Status(status), Ok(WriteOutcome::Applied)) => {
                    summary.statuses_applied += 1;
                    count_status(status);
                }
                (WriteKind::Status(_), Ok(WriteOutcome::Superseded)) => summary.statuses_merged += 1,
                (WriteKind::Event, Ok(_)) => summary.events += 1,
                (WriteKind::Contact, Ok(_)) => {}
                // A throttled write makes the whole record transient, even if another was rejected.
                (_, Err(error)) if error.is_transient() => return Err(RecordError::from_failure("store", error)),
                (_, Err(error)) => permanent = Some(RecordError::from_failure("store", error)),
            }
        }
        permanent.map_or(Ok(summary), Err)
    }
}

/// Writes of one record in flight at once: enough to hide latency, few enough that a
/// payload with thousands of messages does not flood the table or the connection pool.
pub const MAX_CONCURRENT_WRITES: usize = 16;

enum Write<'a> {
    Inbound(&'a InboundRecord),
    Contact(&'a ContactActivity),
    Status(&'a StatusRecord),
    Event(&'a RawEventRecord),
}

#[derive(Clone, Copy)]
enum WriteKind<'a> {
    Inbound,
    Contact,
    Status(&'a StatusRecord),
    Event,
}

/// Counts a status that moved its message forward (a redelivered or out-of-order status
/// that changed nothing is not counted again); failures by Meta's error code.
fn count_status(status: &StatusRecord) {
    match status.status {
        Some(DeliveryStatus::Sent) => metrics::count(Metric::MessagesSent, 1),
        Some(DeliveryStatus::Delivered) => metrics::count(Metric::MessagesDelivered, 1),
        Some(DeliveryStatus::Read) => metrics::count(Metric::MessagesRead, 1),
        Some(DeliveryStatus::Failed) => {
            let code = status
                .errors
                .first()
                .and_then(|error| error.code)
                .map_or_else(|| "none".to_owned(), |code| code.to_string());
            metrics::count_by(Metric::MessagesFailed, "ErrorCode", code, 1);
        }
        Some(DeliveryStatus::Queued | DeliveryStatus::Accepted) | None => {}
    }
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
