//! A Meta webhook record: its claim check resolved, its payload planned into writes
//! ([`crate::domain::records::plan`]), the writes applied concurrently and bounded, and the events
//! and media jobs the writes that took effect call for (the events published by the caller, with the
//! batch's).

use super::*;
use crate::domain::health::{self, TemplateStatus};

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E>
where
    S: MessageStore + OutboundStore + TemplateStatusStore,
    B: BlobStore + MediaSink,
    R: Redelivery,
    W: WhatsAppSender + MediaSource,
    Q: Queue,
    E: EventPublisher,
{
    pub(super) async fn process_webhook(&self, record: &SqsMessage, labelled: bool) -> Result<Staged, RecordError> {
        let body = record
            .body
            .as_deref()
            .ok_or_else(|| RecordError::Permanent("empty body".to_owned()))?;
        let bytes = claim_check::resolve(&self.blobs, body)
            .await
            .map_err(|error| RecordError::from_failure("offloaded payload", error))?;
        let payload: WebhookPayload = serde_json::from_slice(&bytes)
            .map_err(|error| RecordError::Permanent(format!("not a webhook payload: {error}")))?;
        // A record without its kind is only taken for a webhook if it looks like one: a send
        // job that lost its attributes must not be acknowledged as an empty webhook.
        if !labelled && payload.object.is_empty() && payload.entry.is_empty() {
            return Err(RecordError::Permanent(
                "no kind attribute and not a webhook payload (no object, no entry)".to_owned(),
            ));
        }
        let received = received(record);
        let plan = records::plan(&payload, &self.phone_numbers, &received);
        for foreign in &plan.foreign {
            tracing::info!(
                phone_number_id = foreign.phone_number_id,
                field = foreign.field,
                entry_id = foreign.entry_id,
                "change for a phone number this deployment does not serve: acknowledged, not processed"
            );
        }
        let (mut summary, events, jobs) = self.apply(&plan, sending::receive_count(record) > 1).await?;
        // Media messages get their `message.received` from their media job, once the media is kept (or
        // failed for good). The job is queued after the message is recorded; if it cannot be, the record
        // fails and its redelivery queues it again.
        if let Some(media) = &self.media
            && !jobs.is_empty()
        {
            let queued = join_all(
                jobs.iter()
                    .map(|job| media.queue.send(job.queue_message(&received.request_id))),
            )
            .await;
            for result in queued {
                result.map_err(|error| RecordError::retry_in(format!("media job not queued: {error}"), 5))?;
            }
            summary.media_jobs = jobs.len();
        }
        // A ringing call is answered by policy once it is recorded (before the events: the caller
        // is waiting); a reject that did not reach Meta fails the record, which comes back in seconds.
        if let Some(sending) = &self.sending {
            for call in &plan.calls {
                sending.answer_call(call, &received.request_id).await?;
            }
        }
        let wamids = plan
            .inbound
            .iter()
            .map(|record| record.wamid.to_string())
            .chain(plan.echoes.iter().map(|echo| format!("{}:echo", echo.wamid)))
            .chain(
                plan.statuses
                    .iter()
                    .map(|status| format!("{}:{}", status.wamid, status.status_name)),
            )
            .collect();
        // The events are published by the caller, only after every write they describe succeeded (with
        // the other records' of the batch); if they are refused the record fails (SQS redelivers it: the
        // writes are idempotent and the events keep their ids). The read receipts and auto-replies follow.
        Ok(Staged {
            summary,
            wamids,
            events,
            // Never for the shared history's messages: the past gets no read receipt and no reply.
            after_inbound: self.sending.is_some().then(|| {
                let live = plan.inbound.into_iter().filter(|inbound| !inbound.imported).collect();
                (live, received.request_id)
            }),
        })
    }

    /// Every write of the plan, at most [`MAX_CONCURRENT_WRITES`] at a time. Each is
    /// idempotent, so a retry of the whole record after a partial failure converges. Also the events
    /// the writes call for (when a bus is configured): a write that took effect publishes its event; on a
    /// redelivery of the record (`redelivered`), so does one that found its effect already there (the
    /// first delivery may have failed to publish), with the same event id.
    pub(super) async fn apply(
        &self,
        plan: &Plan,
        redelivered: bool,
    ) -> Result<(RecordSummary, Vec<BusEvent>, Vec<MediaJob>), RecordError> {
        let writes = plan
            .inbound
            .iter()
            .map(Write::Inbound)
            .chain(plan.echoes.iter().map(Write::Echo))
            .chain(plan.history.iter().map(Write::History))
            .chain(plan.address_book.iter().map(Write::AddressBook))
            .chain(plan.links.iter().map(Write::Identity))
            .chain(plan.calls.iter().map(Write::Call))
            .chain(plan.contacts.iter().map(Write::Contact))
            .chain(plan.statuses.iter().map(Write::Status))
            .chain(
                plan.statuses
                    .iter()
                    .filter_map(|status| Some(Write::Link(status, status.sent_by_bundle()?))),
            )
            .chain(plan.events.iter().map(Write::Event))
            .chain(plan.template_statuses.iter().map(Write::Template));
        let publishing = self.events.is_some();
        let limit = self.write_timeout();
        let results: Vec<(WriteKind, Result<WriteOutcome, StoreError>)> = stream::iter(writes)
            .map(|write| async move {
                // Each write bounded like every other AWS call of the worker: one that hangs fails the
                // record within seconds (and it comes back soon), not at the invocation's timeout.
                let kind = write_kind(&write);
                let bounded = tokio::time::timeout(limit, async move {
                    match write {
                        Write::Inbound(record) => (WriteKind::Inbound(record), self.store.record_inbound(record).await),
                        Write::Echo(echo) => (WriteKind::Echo(echo), self.store.record_echo(echo).await),
                        Write::History(chunk) => (WriteKind::History(chunk), self.record_event(&chunk.event).await),
                        Write::AddressBook(entry) => (WriteKind::Contact, self.store.record_address_book(entry).await),
                        Write::Identity(link) => (WriteKind::Contact, self.store.record_link(link).await),
                        Write::Call(call) => (WriteKind::Call(call), self.store.record_call(call).await),
                        Write::Contact(activity) => {
                            (WriteKind::Contact, self.store.record_contact_activity(activity).await)
                        }
                        Write::Status(status) => match self.store.record_status(status).await {
                            Ok(written) => {
                                let outcome = written.write.outcome();
                                (WriteKind::Status(status, written.write, written.pricing), Ok(outcome))
                            }
                            Err(error) => (WriteKind::Status(status, StatusWrite::Stale, None), Err(error)),
                        },
                        Write::Link(status, message_id) => {
                            let wamid = status.wamid.clone();
                            match self.store.mark_accepted(&message_id, None, None, Some(&wamid)).await {
                                Ok(write) => {
                                    // Redelivered and found done: was it this status that resolved an unknown
                                    // outcome? (The first delivery may have failed to publish.)
                                    let resolved = match write {
                                        StateWrite::Superseded if redelivered && publishing => {
                                            self.resolved_earlier(&message_id, &wamid).await
                                        }
                                        _ => write.resolves_unknown().then(|| {
                                            let StateWrite::Applied { resends, .. } = write else {
                                                return 0;
                                            };
                                            resends
                                        }),
                                    };
                                    (WriteKind::Link(status, message_id, resolved), Ok(write.outcome()))
                                }
                                Err(error) => (WriteKind::Link(status, message_id, None), Err(error)),
                            }
                        }
                        Write::Event(event) => (WriteKind::Event(event), self.record_event(event).await),
                        Write::Template(status) => {
                            (WriteKind::Template, self.store.record_template_status(status).await)
                        }
                    }
                });
                bounded.await.unwrap_or_else(|_| {
                    (
                        kind,
                        Err(StoreError::Unavailable(
                            "no answer within the call's time budget".to_owned(),
                        )),
                    )
                })
            })
            .buffer_unordered(MAX_CONCURRENT_WRITES)
            .collect()
            .await;
        let mut summary = RecordSummary {
            foreign_changes: plan.foreign.len(),
            ..RecordSummary::default()
        };
        let mut permanent = None;
        let mut events = Vec::new();
        let mut jobs = Vec::new();
        for (kind, result) in results {
            if let Ok(outcome) = &result {
                let publish = *outcome == WriteOutcome::Applied || redelivered;
                match &kind {
                    // The shared history's messages are kept, not announced: one `history.progress` a chunk.
                    WriteKind::Inbound(record) if publish && !record.imported => {
                        let event = publishing.then(|| bus::message_received(record, None));
                        let job = self
                            .media
                            .as_ref()
                            .and_then(|_| MediaJob::for_record(record, event.as_ref().map(|e| e.detail.clone())));
                        match (job, event) {
                            (Some(job), _) => jobs.push(job),
                            (None, Some(event)) => events.push(event),
                            (None, None) => {}
                        }
                    }
                    _ if !publishing => {}
                    WriteKind::Echo(echo) if publish && !echo.imported => events.push(bus::message_echo(echo)),
                    WriteKind::History(chunk) if publish => events.push(bus::history_progress(chunk)),
                    WriteKind::Call(call) if publish => {
                        let policy = self.sending.as_ref().map(|sending| sending.calls_policy.as_str());
                        events.push(bus::call_event(call, policy));
                    }
                    // A redelivered record publishes the statuses its first delivery may have advanced and
                    // failed to publish: still current, or overtaken since by a higher one. Same event ids.
                    WriteKind::Status(status, write, pricing)
                        if *write == StatusWrite::Advanced
                            || (redelivered && matches!(write, StatusWrite::Current | StatusWrite::Overtaken)) =>
                    {
                        events.push(bus::message_status(status, pricing.as_ref()));
                    }
                    // A health field's typed event beside its raw one (a consumer of either keeps working).
                    WriteKind::Event(event) if publish => {
                        events.push(bus::raw_field(event));
                        events.extend(bus::health_event(event));
                    }
                    WriteKind::Link(status, message_id, Some(resends)) => {
                        events.push(resolved_by_status(status, message_id, *resends));
                    }
                    _ => {}
                }
            }
            match (kind, result) {
                (WriteKind::Inbound(_), Ok(WriteOutcome::Applied)) => {
                    summary.inbound_new += 1;
                    metrics::count(Metric::MessagesReceived, 1);
                }
                (WriteKind::Inbound(_), Ok(WriteOutcome::Superseded)) => summary.inbound_duplicate += 1,
                (WriteKind::Echo(_), Ok(WriteOutcome::Applied)) => summary.echoes_new += 1,
                (WriteKind::Echo(_), Ok(WriteOutcome::Superseded)) => summary.echoes_duplicate += 1,
                (WriteKind::History(_) | WriteKind::Call(_), Ok(_)) => summary.events += 1,
                (WriteKind::Status(status, ..), Ok(WriteOutcome::Applied)) => {
                    summary.statuses_applied += 1;
                    count_status(status);
                }
                (WriteKind::Status(..), Ok(WriteOutcome::Superseded)) => summary.statuses_merged += 1,
                (WriteKind::Link(..), Ok(WriteOutcome::Applied)) => {
                    summary.sends_linked += 1;
                    metrics::count(Metric::MessagesResolved, 1);
                }
                (WriteKind::Link(..) | WriteKind::Contact | WriteKind::Template, Ok(_)) => {}
                (WriteKind::Event(event), Ok(outcome)) => {
                    summary.events += 1;
                    if outcome == WriteOutcome::Applied {
                        count_health(event);
                    }
                }
                // A throttled write makes the whole record transient, even if another was rejected. It
                // comes back in seconds, not at the visibility timeout: a status's acceptance of an
                // unknown send is what keeps it from being resent.
                (_, Err(error)) if error.is_transient() => {
                    return Err(RecordError::retry_in(
                        format!("store: {error}"),
                        WEBHOOK_WRITE_RETRY_SECONDS,
                    ));
                }
                (_, Err(error)) => permanent = Some(RecordError::store(error)),
            }
        }
        permanent.map_or(Ok((summary, events, jobs)), Err)
    }
}

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E>
where
    S: MessageStore + OutboundStore,
    B: BlobStore,
{
    /// The bound of one store write of a webhook record: the send path's (its store timeout), else
    /// the worker's bound on every AWS call.
    pub(super) fn write_timeout(&self) -> std::time::Duration {
        self.sending
            .as_ref()
            .map_or(WORKER_AWS_CALL_TIMEOUT, |sending| sending.policy.store_timeout)
    }

    /// Whether a send already accepted as `wamid` had been unknown (its resends, if so): a redelivered
    /// status webhook then publishes its `message.resolved` again (same id). One read, only then.
    pub(super) async fn resolved_earlier(&self, message_id: &MessageId, wamid: &Wamid) -> Option<u32> {
        let view = self.store.view(message_id.as_str()).await.ok()??;
        let was_unknown = view.history.unknown.is_some() && view.wamid.as_deref() == Some(wamid.as_str());
        was_unknown.then(|| view.resends.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
    }

    /// Records a raw event; one too large for a table item goes to the payload bucket first (the
    /// claim check's store, under `events/`), and its item points there.
    pub(super) async fn record_event(&self, event: &RawEventRecord) -> Result<WriteOutcome, StoreError> {
        if event.payload.len() <= records::MAX_INLINE_EVENT_PAYLOAD {
            return self.store.record_event(event).await;
        }
        if self.blobs.bucket().is_empty() {
            return Err(StoreError::Rejected(format!(
                "a {}-byte {} event needs the payload bucket, and PAYLOAD_BUCKET is not set",
                event.payload.len(),
                event.field
            )));
        }
        let pointer = S3Pointer {
            bucket: self.blobs.bucket().to_owned(),
            key: event.blob_key(),
        };
        self.blobs
            .put(&pointer.key, event.payload.as_bytes().to_vec())
            .await
            .map_err(|error| match error {
                BlobError::Unavailable(reason) => StoreError::Unavailable(format!("payload bucket: {reason}")),
                other => StoreError::Rejected(format!("payload bucket: {other}")),
            })?;
        tracing::info!(
            field = event.field,
            bytes = event.payload.len(),
            offloaded_to = pointer.key,
            "raw event too large for an item: payload in the bucket"
        );
        self.store.record_event(&event.offloaded_to(pointer)).await
    }
}

/// How soon a webhook record whose write failed transiently comes back (jittered).
pub const WEBHOOK_WRITE_RETRY_SECONDS: u32 = 5;

/// Writes of one record in flight at once: enough to hide latency, few enough that a
/// payload with thousands of messages does not flood the table or the connection pool.
pub const MAX_CONCURRENT_WRITES: usize = 16;

enum Write<'a> {
    Inbound(&'a InboundRecord),
    Echo(&'a EchoRecord),
    History(&'a HistoryChunkRecord),
    AddressBook(&'a AddressBookRecord),
    /// Two ids of one customer.
    Identity(&'a IdentityLink),
    Call(&'a CallRecord),
    Contact(&'a ContactActivity),
    Status(&'a StatusRecord),
    /// A status carrying the bundle's message id: ties the send to its wamid.
    Link(&'a StatusRecord, MessageId),
    Event(&'a RawEventRecord),
    /// A template status the send API reads before sending it.
    Template(&'a TemplateStatus),
}

#[derive(Clone)]
enum WriteKind<'a> {
    Inbound(&'a InboundRecord),
    Echo(&'a EchoRecord),
    History(&'a HistoryChunkRecord),
    Call(&'a CallRecord),
    Contact,
    /// The status, what it did, and the pricing its message holds after it (for its event).
    Status(&'a StatusRecord, StatusWrite, Option<serde_json::Value>),
    /// `Some(resends)`: the link resolved the send's unknown outcome (its resends then).
    Link(&'a StatusRecord, MessageId, Option<u32>),
    Event(&'a RawEventRecord),
    Template,
}

/// What a write is, before it ran (a write that did not answer in time is reported as this).
fn write_kind<'a>(write: &Write<'a>) -> WriteKind<'a> {
    match write {
        Write::Inbound(record) => WriteKind::Inbound(record),
        Write::Echo(echo) => WriteKind::Echo(echo),
        Write::History(chunk) => WriteKind::History(chunk),
        Write::AddressBook(_) | Write::Identity(_) => WriteKind::Contact,
        Write::Call(call) => WriteKind::Call(call),
        Write::Contact(_) => WriteKind::Contact,
        Write::Status(status) => WriteKind::Status(status, StatusWrite::Stale, None),
        Write::Link(status, message_id) => WriteKind::Link(status, message_id.clone(), None),
        Write::Event(event) => WriteKind::Event(event),
        Write::Template(_) => WriteKind::Template,
    }
}

/// Counts a template Meta now refuses sends of, and a business number whose standing dropped (once per
/// webhook: a redelivery finds its raw event recorded).
fn count_health(event: &RawEventRecord) {
    let value = || serde_json::from_str::<serde_json::Value>(&event.payload).unwrap_or_default();
    match event.field.as_str() {
        health::TEMPLATE_STATUS_FIELD => {
            if let Some(status) = health::refused_status(&value()) {
                metrics::count_by(Metric::TemplatesRefused, "Status", status, 1);
            }
        }
        health::NUMBER_QUALITY_FIELD => {
            let value = value();
            if health::number_quality_dropped(&value) {
                let event = value.get("event").and_then(serde_json::Value::as_str).unwrap_or("none");
                metrics::count_by(Metric::NumberQualityDropped, "Event", event.to_owned(), 1);
            }
        }
        _ => {}
    }
}

/// `message.resolved` for a status webhook that tied a send whose outcome was unknown to its wamid.
fn resolved_by_status(status: &StatusRecord, message_id: &MessageId, resends: u32) -> BusEvent {
    let failed = status.status == Some(DeliveryStatus::Failed);
    bus::message_resolved(&bus::ResolvedSend {
        message_id,
        resolution: if failed {
            bus::Resolution::Failed
        } else {
            bus::Resolution::Accepted
        },
        resolved_by: bus::ResolvedBy::StatusWebhook,
        wamid: Some(status.wamid.as_str()),
        status: Some(&status.status_name),
        resent: resends >= 1,
        errors: &status.errors,
        attempt: None,
    })
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
