//! The worker's sending side: one queued [`SendJob`] → at most one Graph API call Meta may have
//! accepted, however often SQS delivers the job and whatever fails (the state machine is in
//! [`crate::domain::outbound`]).
//!
//! - The claim comes first and names its attempt; a duplicate delivery that finds another
//!   attempt's fresh claim goes back to the queue until that claim lapses (it is never acked).
//! - Meta accepted: the wamid is recorded; if the store is down, the outcome goes on the queue
//!   as a `send-outcome` job (recorded later, never sent again).
//! - Meta clearly did not take it (no connection, 429, throughput codes, expired token): the
//!   claim is released and the job retried with backoff; when the queue's receives are exhausted
//!   the message is `failed` with the last error, so its fate is always known.
//! - No answer after the request was written, or an answer that does not prove a refusal (a 5xx,
//!   131000, 2): `unknown`. A status webhook carrying the message id (`biz_opaque_callback_data`)
//!   resolves it; so does a status recorded before the resend (`linked_wamid`); failing both, the
//!   job comes back after the reconciliation window and the message is resent once.
//! - Permanent refusals (131026, 131047, 132000-family, 100, …): `failed` with Meta's error —
//!   unless an earlier attempt's outcome was unknown (the refusal is of the resend, or of a retry
//!   after it): Meta may have the first copy, so the message stays `unknown` (with the refusal as
//!   its last error) until a status webhook tells. The same for retries exhausted after a resend.
//! - A release that the table refuses after a send that never reached Meta (or after a claim whose
//!   answer was lost) goes on the queue as a `send-outcome` (`released`), like an answer the table
//!   refused: the worker knew nothing was sent, and the store must learn it, or the message would
//!   end `unknown` without ever going out. If the queue refuses too, the table gets one more try
//!   while there is time; only the table refusing twice and the queue once leaves it `unknown`.
//! - With a bus: `message.unknown` after each write that makes an outcome unknown, and
//!   `message.resolved` after each that settles one ([`announce`](Sending::announce)).

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Done;
use super::record_error::RecordError;
use crate::domain::events::{self as bus, BusEvent, Resolution, ResolvedBy, ResolvedSend, UnknownCause, UnknownSend};
use crate::domain::graph_error::{FailureClass, GraphError, retry_delay_seconds};
use crate::domain::ids::{AttemptId, MessageId, Wamid};
use crate::domain::outbound::{self, Answer, Origin, OutboundStatus, SendJob, SendOutcome, SendRecord, StoredError};
use crate::domain::records::{BusinessNumbers, InboundRecord};
use crate::metrics::{self, Metric};
use crate::ports::{
    Claim, ClaimTerms, EventPublisher, NewOutbound, OutboundStore, Pace, Paced, Queue, SendFailure, StateWrite,
    StoreError, WhatsAppSender, WriteOutcome,
};
use crate::publishing::Publishing;
use crate::sends::SendMachine;

/// Spaces sends evenly: at most `per_second` per instance.
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// This caller's slot: when it may send.
    pub async fn slot(&self) -> Instant {
        let mut next = self.next.lock().await;
        let slot = (*next).max(Instant::now());
        *next = slot + self.interval;
        slot
    }

    /// This caller's slot if it comes no later than `latest`; else `None`, and nothing is taken (a
    /// slot taken and not used would push every later caller further out: with a low rate, a
    /// batch would give back more and more records each invocation).
    pub async fn slot_by(&self, latest: Instant) -> Option<Instant> {
        let mut next = self.next.lock().await;
        let slot = (*next).max(Instant::now());
        if slot > latest {
            return None;
        }
        *next = slot + self.interval;
        Some(slot)
    }
}

/// The timing of the send path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPolicy {
    pub terms: ClaimTerms,
    /// The most a Graph API call may take (the client's timeout).
    pub graph_timeout: Duration,
    /// The most one store or queue call may take (the SDK's operation timeout).
    pub store_timeout: Duration,
    /// The send queue's `maxReceiveCount`: on the last receive a message that still cannot be
    /// sent is failed (with its last error) instead of being left to the dead-letter queue.
    pub max_receives: u32,
    /// Mark-as-read is best effort and bounded by this.
    pub mark_read_timeout: Duration,
    /// Per-recipient pacing; `None`: off.
    pub pace: Option<Pace>,
}

impl SendPolicy {
    /// What a send needs before it may start: claim, the Graph call, and recording the outcome
    /// (or queueing it), each at its bound.
    pub fn send_budget(&self) -> Duration {
        self.graph_timeout + self.store_timeout * 3
    }
}

pub struct Sending<O, W, Q, E> {
    pub store: O,
    pub graph: W,
    /// The send queue: auto-replies and deferred outcomes go here.
    pub queue: Q,
    pub limiter: RateLimiter,
    pub policy: SendPolicy,
    /// The business numbers it sends from: a job without `from` goes out from the first.
    pub numbers: BusinessNumbers,
    pub auto_reply_text: Option<String>,
    /// Mark every inbound message as read (best effort: a failure is logged, never retried).
    pub mark_as_read: bool,
    /// The event bus (`message.unknown`, `message.resolved`); `None`: no events.
    pub events: Option<Publishing<E>>,
    /// `TYPING_INDICATOR=true`: the read receipt also shows "typing…" (the owner's application answers).
    pub typing_indicator: bool,
}

/// One attempt at a job: what every outcome needs to know.
struct Attempt<'a> {
    job: &'a SendJob,
    id: AttemptId,
    /// The message's resends, this attempt's included: ≥ 1 means an earlier outcome was unknown.
    resends: u32,
    request_id: &'a str,
    /// The invocation's.
    deadline: Instant,
}

fn stored(error: &GraphError) -> StoredError {
    StoredError {
        code: error.code,
        title: error.title.clone(),
        message: error.message.clone(),
        details: error.details.clone(),
    }
}

fn note(reason: &str) -> StoredError {
    StoredError {
        message: Some(reason.to_owned()),
        ..StoredError::default()
    }
}

/// A store or queue call bounded by `limit`: past it the call counts as unavailable.
async fn bounded<T, E>(
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
    unavailable: impl FnOnce() -> E,
) -> Result<T, E> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(unavailable()))
}

fn store_timeout() -> StoreError {
    StoreError::Unavailable("no answer within the call's time budget".to_owned())
}

pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    async fn store_call<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        bounded(self.policy.store_timeout, call, store_timeout).await
    }

    /// One message onto the send queue, bounded like every other AWS call of the worker.
    async fn queue_call(&self, message: crate::ports::QueueMessage) -> Result<String, crate::ports::QueueError> {
        bounded(self.policy.store_timeout, self.queue.send(message), || {
            crate::ports::QueueError::Unavailable("no answer within the call's time budget".to_owned())
        })
        .await
    }

    /// The business number a message goes out from: the one named, else the default.
    fn sender_of<'a>(&'a self, named: Option<&'a str>) -> &'a str {
        named
            .filter(|id| !id.is_empty())
            .or(self.numbers.default_number())
            .unwrap_or_default()
    }

    /// Handles one `send-message` record; a short description of what happened. A job that would
    /// go back to the queue on its last receive (another attempt's claim, an unknown outcome
    /// waiting for its window, too little time, the table down) is never left to the dead-letter
    /// queue while its message is unsettled: a fresh copy takes its place (its receives start
    /// again), at most [`MAX_REQUEUES`] times; after that a message still `queued` is failed with
    /// the reason, so its fate is always recorded.
    pub async fn send(&self, record: &SqsMessage, request_id: &str, deadline: Instant) -> Result<Done, RecordError> {
        let outcome = Box::pin(self.send_once(record, request_id, deadline)).await;
        match outcome {
            Err(RecordError::Transient {
                reason,
                retry_in_seconds,
            }) if receive_count(record) >= self.policy.max_receives => {
                Box::pin(self.requeue_exhausted(record, reason, retry_in_seconds, request_id)).await
            }
            other => other,
        }
    }

    /// The job's last receive ended in a bounce: a fresh copy on the queue, or (past
    /// [`MAX_REQUEUES`]) the message's fate recorded.
    async fn requeue_exhausted(
        &self,
        record: &SqsMessage,
        reason: String,
        retry_in_seconds: Option<u32>,
        request_id: &str,
    ) -> Result<Done, RecordError> {
        let bounced = || RecordError::Transient {
            reason: reason.clone(),
            retry_in_seconds,
        };
        let body = record.body.as_deref().unwrap_or_default();
        let Ok(mut job) = serde_json::from_str::<SendJob>(body) else {
            return Err(bounced());
        };
        if job.requeued >= MAX_REQUEUES {
            let error = note(&format!("not sent: every delivery of the job bounced ({reason})"));
            match self.store_call(self.store.abandon(&job.message_id, &error)).await {
                Ok(StateWrite::Applied { .. }) => {
                    metrics::count_by(Metric::MessagesFailed, "ErrorCode", "bounced".to_owned(), 1);
                    tracing::error!(outcome = "failed", reason, "send job bounced on every delivery: failed");
                    return Ok(Done::FailedBounced);
                }
                // Not queued: claimed, unknown or settled, each of which moves on by itself
                // (a lease lapses, a window ends): another copy.
                Ok(StateWrite::Superseded) => {}
                Err(error) => return Err(RecordError::store(error)),
            }
        }
        job.requeued += 1;
        let mut copy = job.queue_message(request_id);
        copy.delay_seconds = retry_in_seconds.unwrap_or(30).min(900);
        match self.queue_call(copy).await {
            Ok(_) => {
                tracing::warn!(
                    outcome = "requeued",
                    reason,
                    requeued = job.requeued,
                    "send job bounced on its last receive: a fresh copy is queued"
                );
                Ok(Done::Requeued)
            }
            Err(_) => Err(bounced()),
        }
    }

    async fn send_once(&self, record: &SqsMessage, request_id: &str, deadline: Instant) -> Result<Done, RecordError> {
        let body = record.body.as_deref().unwrap_or_default();
        let job: SendJob =
            serde_json::from_str(body).map_err(|error| RecordError::Permanent(format!("not a send job: {error}")))?;
        tracing::Span::current().record("message_id", job.message_id.as_str());
        // Nothing starts that could not finish inside this invocation: a killed invocation
        // would leave a claim to lapse, and its message unknown.
        if deadline.saturating_duration_since(Instant::now()) < self.policy.send_budget() {
            return Err(RecordError::retry_in(
                "too little time left in this invocation to send",
                1,
            ));
        }
        if let Some(delayed) = self.paced(&job, request_id).await? {
            return Ok(delayed);
        }
        let attempt = outbound::new_attempt(&job.message_id);
        let claimed = match self
            .store_call(self.store.claim(&job.message_id, &attempt, self.policy.terms))
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                // The claim may have been written although its answer was lost. This attempt never
                // called Meta: give it back, or its claim would lapse to `unknown` and count as a copy
                // Meta may have. (A release of a claim that was not written changes nothing.)
                let lost = note("the claim's answer was lost; nothing was sent");
                let failed = RecordError::store(error);
                if let Err(release_error) = self
                    .store_call(self.store.release(&job.message_id, &attempt, &lost))
                    .await
                {
                    // As any release of a send that never reached Meta: through the queue, or the
                    // written claim would lapse to `unknown` although nothing was sent.
                    let attempt = Attempt {
                        job: &job,
                        id: attempt,
                        resends: 0,
                        request_id,
                        deadline,
                    };
                    return Box::pin(self.defer_release(&attempt, &lost, release_error, || failed.clone())).await;
                }
                return Err(failed);
            }
        };
        let (resend, resends) = match claimed {
            Claim::Claimed { resend, resends, .. } => (resend, resends),
            // A redelivered job of a settled message: if its settling write called for an event, the
            // event is published again (its id is the same): the attempt that wrote it may have died,
            // or found the bus and the queue down, before it announced it.
            Claim::Settled { record } => {
                if let Some(event) = self.settled_event(&job, &record)
                    && !self.announce(vec![event], request_id).await
                {
                    return Err(unannounced());
                }
                return Ok(Done::DuplicateJobIgnored);
            }
            // Due for its resend, but a status had named it: accepted, never sent again.
            Claim::Linked { wamid, resends } => {
                metrics::count(Metric::MessagesResolved, 1);
                tracing::info!(
                    wamid = wamid.as_str(),
                    outcome = "resolved_by_status",
                    "unknown outcome resolved by a status recorded before its resend"
                );
                let event = bus::message_resolved(&ResolvedSend {
                    message_id: &job.message_id,
                    resolution: Resolution::Accepted,
                    resolved_by: ResolvedBy::StatusWebhook,
                    wamid: Some(wamid.as_str()),
                    status: None,
                    resent: resends >= 1,
                    errors: &[],
                    attempt: None,
                });
                if !self.announce(vec![event], request_id).await {
                    return Err(unannounced());
                }
                return Ok(Done::ResolvedByStatus);
            }
            Claim::InFlight {
                lease_remaining_seconds,
            } => {
                return Err(RecordError::retry_in(
                    "another attempt holds the message: back when its claim lapses",
                    lease_remaining_seconds.saturating_add(1),
                ));
            }
            Claim::Unknown {
                reconcile_in_seconds,
                lapsed,
                record,
            } => {
                // This call lapsed a claim (`claim_lapsed`), or the outcome was already unknown: its
                // `message.unknown` again (same id), in case the attempt that made it unknown could not
                // announce it.
                let (attempt, cause, resends) = match (&lapsed, &record) {
                    (Some(lapsed), _) => (Some(&lapsed.attempt), UnknownCause::ClaimLapsed, lapsed.resends),
                    (None, Some(record)) => (record.attempt.as_ref(), UnknownCause::NoAnswer, record.resends),
                    (None, None) => (None, UnknownCause::NoAnswer, 0),
                };
                if let Some(attempt) = attempt {
                    let event = bus::message_unknown(&UnknownSend {
                        message_id: &job.message_id,
                        attempt,
                        to: &job.to,
                        kind: job.kind(),
                        from: Some(self.sender_of(job.from.as_deref())),
                        cause,
                        will_resend: resends == 0,
                        error: None,
                    });
                    if !self.announce(vec![event], request_id).await {
                        return Err(unannounced());
                    }
                }
                return Err(RecordError::retry_in(
                    "outcome unknown: waiting for its status webhooks before the one resend",
                    reconcile_in_seconds.saturating_add(1),
                ));
            }
            Claim::Missing => return Err(RecordError::Permanent(format!("no message {}", job.message_id))),
        };
        if resend {
            metrics::count(Metric::MessagesResent, 1);
            tracing::warn!(
                outcome = "resend",
                "no status arrived for an unknown outcome: sending once more"
            );
        }
        let attempt = Attempt {
            job: &job,
            id: attempt,
            resends,
            request_id,
            deadline,
        };
        let latest_start = deadline
            .checked_sub(self.policy.send_budget())
            .unwrap_or_else(Instant::now);
        let Some(slot) = self.limiter.slot_by(latest_start).await else {
            return self
                .give_back(&attempt, &note("rate limit slot too late for this invocation"), 1)
                .await;
        };
        tokio::time::sleep_until(slot).await;
        let from = self.sender_of(job.from.as_deref());
        let answer = tokio::time::timeout(
            self.policy.graph_timeout,
            self.graph.send(from, &job.outgoing_payload()),
        )
        .await
        .unwrap_or_else(|_| Err(SendFailure::Ambiguous("no answer within the send budget".to_owned())));
        // Recording the outcome is boxed: its future (store, queue and bus calls, nested) would make
        // every send's future, and the stack its poll needs in a debug build, much larger.
        Box::pin(async {
            match answer {
                Ok(accepted) => self.record_accepted(&attempt, accepted.wamid).await,
                Err(SendFailure::Ambiguous(reason)) => self.unknown(&attempt, &reason, &note(&reason)).await,
                Err(SendFailure::NotSent(reason)) => {
                    let error = GraphError::network();
                    self.retry_or_fail(&attempt, &note(&reason), receive_count(record), &error)
                        .await
                }
                Err(SendFailure::Refused(error)) => self.refused(&attempt, record, *error).await,
            }
        })
        .await
    }

    /// Waits for the recipient's send slot through SQS, never by sleeping: the job goes back on
    /// the queue with the delay (a new copy, so the wait costs none of its receives).
    async fn paced(&self, job: &SendJob, request_id: &str) -> Result<Option<Done>, RecordError> {
        let Some(pace) = self.policy.pace else {
            return Ok(None);
        };
        let seconds = match self.store_call(self.store.pace(&job.to, pace)).await {
            Ok(Paced::Go) => return Ok(None),
            Ok(Paced::Wait { seconds }) => seconds,
            // Pacing is a courtesy to Meta's pair limit (131056 is retried anyway): send.
            Err(error) => {
                tracing::warn!(error = %error, "pacing unavailable: sending unpaced");
                return Ok(None);
            }
        };
        let mut delayed = job.queue_message(request_id);
        delayed.delay_seconds = seconds.min(900);
        self.queue_call(delayed)
            .await
            .map_err(|_| RecordError::retry_in("paced for the recipient; the delayed copy was not queued", seconds))?;
        tracing::info!(
            outcome = "paced",
            wait_seconds = seconds,
            "send paced for its recipient"
        );
        Ok(Some(Done::Paced))
    }

    async fn refused(
        &self,
        attempt: &Attempt<'_>,
        record: &SqsMessage,
        error: GraphError,
    ) -> Result<Done, RecordError> {
        match error.class() {
            FailureClass::Transient { .. } => {
                self.retry_or_fail(attempt, &stored(&error), receive_count(record), &error)
                    .await
            }
            FailureClass::ExpiredToken => {
                metrics::count(Metric::AccessTokenExpired, 1);
                tracing::error!(
                    alert = "whatsapp_access_token_expired",
                    code = error.code,
                    "the WhatsApp access token is expired or invalid: sends are retried until it is replaced"
                );
                // A rotated token is picked up here; the retry then goes out with it.
                self.graph.refresh_token().await;
                self.retry_or_fail(attempt, &stored(&error), receive_count(record), &error)
                    .await
            }
            // Written, and Meta may have taken it (5xx, 131000, 2): reconciled, never resent blindly.
            // Meta answered after the request was written (a 5xx, 131000): it may have the message.
            FailureClass::Ambiguous => self.unknown(attempt, &error.to_string(), &stored(&error)).await,
            FailureClass::Permanent if attempt.resends >= 1 => {
                self.unknown_after_refusal(attempt, &stored(&error), "refused after an unknown outcome")
                    .await
            }
            FailureClass::Permanent => {
                count_failed(&error);
                tracing::warn!(outcome = "failed", error = %error, "send");
                self.settle(attempt, Answer::Failed(stored(&error)), Done::FailedPermanently)
                    .await
            }
        }
    }

    /// Meta refused this attempt for good (or its retries ran out), but an earlier attempt's
    /// outcome was unknown: Meta may have that copy, so `failed` would be a guess. The message stays
    /// `unknown` with the refusal as its last error (it has had its one resend: nothing more is
    /// sent), until a status webhook of the first copy tells.
    async fn unknown_after_refusal(
        &self,
        attempt: &Attempt<'_>,
        error: &StoredError,
        reason: &'static str,
    ) -> Result<Done, RecordError> {
        metrics::count(Metric::MessagesUnknown, 1);
        tracing::warn!(
            outcome = "unknown",
            reason,
            code = error.code,
            "send refused, but an earlier copy may be with Meta: unknown until a status tells"
        );
        let job = attempt.job;
        let window = self.policy.terms.reconcile_after_seconds;
        match self
            .store_call(self.store.mark_unknown(&job.message_id, &attempt.id, error, window))
            .await
        {
            Ok(WriteOutcome::Applied) => {
                let event = self.unknown_event(attempt, UnknownCause::RefusedAfterResend, Some(error));
                if !self.announce(vec![event], attempt.request_id).await {
                    return Err(unannounced());
                }
                Ok(Done::UnknownAfterRefusal)
            }
            Ok(WriteOutcome::Superseded) => Ok(Done::UnknownAfterRefusalSuperseded),
            // The claim stays ours and lapses: the message becomes unknown all the same.
            Err(error) => Err(RecordError::retry_in(
                format!("{reason}, not recorded: {error}"),
                self.policy.terms.lease_seconds.saturating_add(1),
            )),
        }
    }

    fn unknown_event(&self, attempt: &Attempt<'_>, cause: UnknownCause, error: Option<&StoredError>) -> BusEvent {
        let job = attempt.job;
        bus::message_unknown(&UnknownSend {
            message_id: &job.message_id,
            attempt: &attempt.id,
            to: &job.to,
            kind: job.kind(),
            from: Some(self.sender_of(job.from.as_deref())),
            cause,
            will_resend: attempt.resends == 0 && cause != UnknownCause::RefusedAfterResend,
            error,
        })
    }

    /// Meta clearly does not have the message: back to `queued` and retried, unless this was the
    /// queue's last receive, where it is failed with this error.
    async fn retry_or_fail(
        &self,
        attempt: &Attempt<'_>,
        error: &StoredError,
        receive_count: u32,
        graph_error: &GraphError,
    ) -> Result<Done, RecordError> {
        if receive_count >= self.policy.max_receives {
            if attempt.resends >= 1 {
                return self
                    .unknown_after_refusal(attempt, error, "retries exhausted after an unknown outcome")
                    .await;
            }
            count_failed(graph_error);
            tracing::error!(outcome = "failed", receive_count, error = ?error, "send retries exhausted");
            return self
                .settle(attempt, Answer::Failed(error.clone()), Done::FailedRetriesExhausted)
                .await;
        }
        let delay = retry_delay_seconds(graph_error, receive_count);
        self.give_back(attempt, error, delay).await
    }

    /// Meta does not have this attempt's copy: the claim goes back (`queued`) and the job is
    /// retried in `delay` s. If the table refuses the release, the release goes on the queue as a
    /// `send-outcome` and is recorded from there: the store must not be left believing this
    /// attempt may have posted (its claim would lapse to `unknown`, and the message might never go).
    async fn give_back(&self, attempt: &Attempt<'_>, error: &StoredError, delay: u32) -> Result<Done, RecordError> {
        let job = attempt.job;
        let retry = || {
            RecordError::retry_in(
                format!(
                    "not sent ({}): retry in {delay} s",
                    error.message.as_deref().unwrap_or("refused")
                ),
                delay,
            )
        };
        match self
            .store_call(self.store.release(&job.message_id, &attempt.id, error))
            .await
        {
            Ok(write) => {
                self.resolved_not_sent(&job.message_id, &attempt.id, write, attempt.request_id)
                    .await;
                Err(retry())
            }
            // Rare, and its futures large: boxed, so that every send's future does not carry them.
            Err(store_error) => Box::pin(self.defer_release(attempt, error, store_error, retry)).await,
        }
    }

    /// The table refused the release of a send that never reached Meta: the release goes on the
    /// queue (recorded from there), else to the table once more if there is time.
    async fn defer_release(
        &self,
        attempt: &Attempt<'_>,
        error: &StoredError,
        store_error: StoreError,
        retry: impl Fn() -> RecordError,
    ) -> Result<Done, RecordError> {
        let job = attempt.job;

        let deferred = SendOutcome {
            message_id: job.message_id.clone(),
            attempt: attempt.id.clone(),
            to: job.to.clone(),
            kind: job.kind().to_owned(),
            answer: Answer::Released(error.clone()),
        };
        match self.queue_call(deferred.queue_message(attempt.request_id)).await {
            Ok(_) => {
                tracing::warn!(
                    outcome = "release_queued",
                    error = %store_error,
                    "not sent, and the table refused the release: the release is queued"
                );
                Err(retry())
            }
            // Neither: once more on the table if there is time; else the claim lapses to
            // unknown (the one hole left: table and queue refusing together, twice).
            Err(queue_error) => {
                let time_left = attempt.deadline.saturating_duration_since(Instant::now());
                if time_left > self.policy.store_timeout
                    && let Ok(write) = self
                        .store_call(self.store.release(&job.message_id, &attempt.id, error))
                        .await
                {
                    self.resolved_not_sent(&job.message_id, &attempt.id, write, attempt.request_id)
                        .await;
                    return Err(retry());
                }
                Err(RecordError::transient(format!(
                    "not sent, and the release was not recorded: {store_error}; {queue_error}"
                )))
            }
        }
    }

    /// A release that moved the message out of `unknown` (its lapsed claim was this attempt's, which
    /// never reached Meta) resolves it, if no earlier copy is in doubt.
    async fn resolved_not_sent(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        write: StateWrite,
        request_id: &str,
    ) {
        if let StateWrite::Applied {
            from: OutboundStatus::Unknown,
            resends: 0,
        } = write
        {
            let event = bus::message_resolved(&ResolvedSend {
                message_id,
                resolution: Resolution::NotSent,
                resolved_by: ResolvedBy::SendAnswer,
                wamid: None,
                status: None,
                resent: false,
                errors: &[],
                attempt: Some(attempt),
            });
            self.announce(vec![event], request_id).await;
        }
    }

    /// A refusal recorded after this attempt's claim had lapsed to `unknown` resolves it: Meta
    /// refused the only copy.
    fn resolved_failed_event(
        &self,
        message_id: &MessageId,
        error: &StoredError,
        write: StateWrite,
    ) -> Option<BusEvent> {
        let StateWrite::Applied {
            from: OutboundStatus::Unknown,
            resends,
        } = write
        else {
            return None;
        };
        let errors = [crate::domain::webhook::MetaError {
            code: error.code,
            title: error.title.clone(),
            message: error.message.clone(),
            ..Default::default()
        }];
        Some(bus::message_resolved(&ResolvedSend {
            message_id,
            resolution: Resolution::Failed,
            resolved_by: ResolvedBy::SendAnswer,
            wamid: None,
            status: None,
            resent: resends >= 1,
            errors: &errors,
            attempt: None,
        }))
    }

    /// Publishes the events of a write that just succeeded. If the bus refuses them they go on the
    /// send queue as a `publish-events` job (the same ids), published from there. False when the
    /// queue refused too: the caller then fails its record, whose redelivery finds the write done
    /// and announces its events again (the claim's `Settled`/`Unknown` record, or an outcome's
    /// transition found already applied).
    pub async fn announce(&self, events: Vec<BusEvent>, request_id: &str) -> bool {
        if self.events.is_none() {
            return true;
        }
        // Boxed: the bus and queue clients' futures are large, and this sits deep in the send paths.
        Box::pin(self.publish_or_queue(events, request_id)).await
    }

    async fn publish_or_queue(&self, events: Vec<BusEvent>, request_id: &str) -> bool {
        let Some(publishing) = &self.events else {
            return true;
        };
        let Err(error) = publishing.publish(events.clone()).await else {
            return true;
        };
        match self.queue_call(bus::publish_job(&events, request_id)).await {
            Ok(_) => {
                tracing::warn!(error = %error, events = events.len(), "events queued for publishing");
                true
            }
            Err(queue_error) => {
                metrics::count(Metric::EventsFailed, events.len() as u64);
                tracing::error!(error = %error, queue_error = %queue_error, events = events.len(),
                    "events neither published nor queued: the record comes back to announce them");
                false
            }
        }
    }

    /// The event a settled message's settling write called for, from its record: `message.resolved`
    /// when it settled an unknown outcome (it moved out of `unknown`, or after a resend);
    /// `message.unknown` when it stays unknown after its one resend. Its id is the original's.
    fn settled_event(&self, job: &SendJob, record: &SendRecord) -> Option<BusEvent> {
        let from_unknown = record.moved_from == Some(OutboundStatus::Unknown);
        let resent = record.resends >= 1;
        let resolution = match record.status {
            // Accepted by a status webhook: that record announced it (and retries until it has).
            OutboundStatus::Accepted if record.accepted_by.is_none() => return None,
            OutboundStatus::Accepted if from_unknown || resent => Resolution::Accepted,
            OutboundStatus::Failed if from_unknown || resent => Resolution::Failed,
            OutboundStatus::Unknown if resent => {
                let attempt = record.attempt.as_ref()?;
                return Some(bus::message_unknown(&UnknownSend {
                    message_id: &job.message_id,
                    attempt,
                    to: &job.to,
                    kind: job.kind(),
                    from: Some(self.sender_of(job.from.as_deref())),
                    cause: UnknownCause::RefusedAfterResend,
                    will_resend: false,
                    error: None,
                }));
            }
            _ => return None,
        };
        // Accepted by the send path: by the resend's answer, or by a status recorded before the
        // resend (`Claim::Linked`, moved from `unknown`); failed: by an attempt's definite answer.
        let resolved_by = if from_unknown && resolution == Resolution::Accepted {
            ResolvedBy::StatusWebhook
        } else {
            ResolvedBy::SendAnswer
        };
        Some(bus::message_resolved(&ResolvedSend {
            message_id: &job.message_id,
            resolution,
            resolved_by,
            wamid: record.wamid.as_ref().map(Wamid::as_str),
            status: None,
            resent,
            errors: &[],
            attempt: None,
        }))
    }

    /// Meta may have it: never send blindly again. The job comes back after the reconciliation
    /// window; by then a status webhook has usually resolved it.
    async fn unknown(&self, attempt: &Attempt<'_>, reason: &str, error: &StoredError) -> Result<Done, RecordError> {
        let job = attempt.job;
        metrics::count(Metric::MessagesUnknown, 1);
        tracing::warn!(
            outcome = "unknown",
            reason,
            "send outcome unknown: reconciling by status webhooks"
        );
        let window = self.policy.terms.reconcile_after_seconds;
        match self
            .store_call(self.store.mark_unknown(&job.message_id, &attempt.id, error, window))
            .await
        {
            Ok(written) => {
                if written == WriteOutcome::Applied {
                    let event = self.unknown_event(attempt, UnknownCause::NoAnswer, None);
                    if !self.announce(vec![event], attempt.request_id).await {
                        return Err(unannounced());
                    }
                }
                Err(RecordError::retry_in(
                    format!("outcome unknown ({reason}): reconciled in {window} s"),
                    window.saturating_add(1),
                ))
            }
            // The claim stays ours and lapses; the next delivery then finds it unknown.
            Err(error) => Err(RecordError::retry_in(
                format!("outcome unknown ({reason}), not recorded: {error}"),
                self.policy.terms.lease_seconds.saturating_add(1),
            )),
        }
    }

    async fn record_accepted(&self, attempt: &Attempt<'_>, wamid: Option<Wamid>) -> Result<Done, RecordError> {
        metrics::count(Metric::MessagesAccepted, 1);
        let wamid_text = wamid.as_ref().map_or("-", Wamid::as_str).to_owned();
        tracing::info!(wamid = wamid_text, outcome = "accepted", "send");
        self.settle(attempt, Answer::Accepted(wamid), Done::Accepted).await
    }

    /// An acceptance that settled an unknown outcome (the resend's, or the first copy's answer
    /// recorded late) resolves it.
    fn resolved_accepted_event(
        &self,
        message_id: &MessageId,
        wamid: Option<&Wamid>,
        write: StateWrite,
    ) -> Option<BusEvent> {
        let StateWrite::Applied { resends, .. } = write else {
            return None;
        };
        write.resolves_unknown().then(|| {
            bus::message_resolved(&ResolvedSend {
                message_id,
                resolution: Resolution::Accepted,
                resolved_by: ResolvedBy::SendAnswer,
                wamid: wamid.map(Wamid::as_str),
                status: None,
                resent: resends >= 1,
                errors: &[],
                attempt: None,
            })
        })
    }

    /// Records Meta's definite answer. If the table cannot take it, the answer goes on the queue
    /// (which does not depend on the table) as a `send-outcome` job: it must land, and the
    /// message must never be sent again because a write failed.
    async fn settle(&self, attempt: &Attempt<'_>, outcome: Answer, done: Done) -> Result<Done, RecordError> {
        let job = attempt.job;
        let message_id = &job.message_id;
        let written = self.write_settled(attempt, &outcome).await;
        let store_error = match written {
            Ok(resolved) => {
                if let Some(event) = resolved
                    && !self.announce(vec![event], attempt.request_id).await
                {
                    return Err(unannounced());
                }
                return Ok(done);
            }
            Err(store_error) => store_error,
        };
        let attempt_id = &attempt.id;
        let request_id = attempt.request_id;
        let deferred = SendOutcome {
            message_id: message_id.clone(),
            attempt: attempt_id.clone(),
            to: job.to.clone(),
            kind: job.kind().to_owned(),
            answer: outcome.clone(),
        };
        let queued = self.queue_call(deferred.queue_message(request_id)).await;
        match queued {
            Ok(_) => {
                tracing::warn!(outcome = "outcome_queued", error = %store_error, "send outcome queued: the table refused it");
                Ok(Done::OutcomeQueued)
            }
            // Neither: once more on the table if there is time (as a release); else the claim
            // stays ours and lapses, the message becomes unknown, and its status webhooks
            // (carrying its id) settle it (the table refusing twice and the queue once).
            Err(queue_error) => {
                let time_left = attempt.deadline.saturating_duration_since(Instant::now());
                if time_left > self.policy.store_timeout
                    && let Ok(resolved) = self.write_settled(attempt, &outcome).await
                {
                    if let Some(event) = resolved
                        && !self.announce(vec![event], request_id).await
                    {
                        return Err(unannounced());
                    }
                    return Ok(done);
                }
                Err(RecordError::retry_in(
                    format!("Meta answered but the outcome was not recorded: {store_error}; {queue_error}"),
                    self.policy.terms.lease_seconds.saturating_add(1),
                ))
            }
        }
    }

    /// [`Self::settle`]'s table write: the event it calls for when it resolved an `unknown`.
    async fn write_settled(&self, attempt: &Attempt<'_>, outcome: &Answer) -> Result<Option<BusEvent>, StoreError> {
        let job = attempt.job;
        let message_id = &job.message_id;
        match outcome {
            Answer::Accepted(wamid) => self
                .store_call(self.store.mark_accepted(
                    message_id,
                    Some(&attempt.id),
                    &job.to,
                    job.kind(),
                    wamid.as_ref(),
                ))
                .await
                .map(|write| self.resolved_accepted_event(message_id, wamid.as_ref(), write)),
            Answer::Failed(error) => self
                .store_call(self.store.mark_failed(message_id, &attempt.id, error))
                .await
                .map(|write| self.resolved_failed_event(message_id, error, write)),
            // Releases take their own way (`give_back`); here for completeness: nothing to announce.
            Answer::Released(error) => self
                .store_call(self.store.release(message_id, &attempt.id, error))
                .await
                .map(|_| None),
        }
    }

    /// Handles one `send-outcome` record: records what Meta answered, never calls it.
    pub async fn record_outcome(&self, record: &SqsMessage, request_id: &str) -> Result<Done, RecordError> {
        let body = record.body.as_deref().unwrap_or_default();
        let outcome: SendOutcome = serde_json::from_str(body)
            .map_err(|error| RecordError::Permanent(format!("not a send outcome: {error}")))?;
        tracing::Span::current().record("message_id", outcome.message_id.as_str());
        let (message_id, attempt) = (&outcome.message_id, &outcome.attempt);
        let event = match &outcome.answer {
            Answer::Released(error) => {
                let write = self
                    .store_call(self.store.release(message_id, attempt, error))
                    .await
                    .map_err(RecordError::store)?;
                self.resolved_not_sent(message_id, attempt, write, request_id).await;
                return Ok(Done::ReleaseRecorded);
            }
            Answer::Failed(error) => {
                let write = self
                    .store_call(self.store.mark_failed(message_id, attempt, error))
                    .await
                    .map_err(RecordError::store)?;
                self.resolved_failed_event(message_id, error, write)
            }
            Answer::Accepted(wamid) => {
                let write = self
                    .store_call(self.store.mark_accepted(
                        message_id,
                        Some(attempt),
                        &outcome.to,
                        &outcome.kind,
                        wamid.as_ref(),
                    ))
                    .await
                    .map_err(RecordError::store)?;
                self.resolved_accepted_event(message_id, wamid.as_ref(), write)
            }
        };
        if let Some(event) = event
            && !self.announce(vec![event], request_id).await
        {
            return Err(unannounced());
        }
        Ok(Done::OutcomeRecorded)
    }

    /// After an inbound message is recorded (new or redelivered): the read receipt and the
    /// auto-reply, concurrently; the read receipt is best effort and short.
    pub async fn after_inbound(&self, record: &InboundRecord, request_id: &str) -> Result<(), RecordError> {
        let read = async {
            if !self.mark_as_read {
                return;
            }
            let wamid = Wamid::new(record.wamid.clone());
            // As the number that received it.
            let from = self.sender_of(record.phone_number_id.as_deref());
            let call = self.graph.mark_read(from, &wamid, self.typing_indicator);
            let result = tokio::time::timeout(self.policy.mark_read_timeout, call).await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(wamid = record.wamid, error = %error, "mark as read failed"),
                Err(_) => tracing::warn!(wamid = record.wamid, "mark as read timed out"),
            }
        };
        let (_, reply) = tokio::join!(read, self.auto_reply(record, request_id));
        reply
    }

    async fn auto_reply(&self, record: &InboundRecord, request_id: &str) -> Result<(), RecordError> {
        let Some(text) = &self.auto_reply_text else {
            return Ok(());
        };
        // The phone number when Meta gave one, else the business-scoped user id (`recipient`).
        let (field, to) = match (record.wa_id.as_deref(), record.user_id.as_deref()) {
            (Some(wa_id), _) => ("to", wa_id),
            (None, Some(user_id)) => ("recipient", user_id),
            (None, None) => return Ok(()),
        };
        // One reply per inbound wamid: its id is derived from the wamid, so a redelivered
        // message finds it already there, and the claim sends it once however often it is queued.
        let message_id = outbound::auto_reply_id(&record.wamid);
        let payload = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            field: to,
            "type": "text",
            "text": { "body": text },
            "context": { "message_id": record.wamid },
        });
        self.store_call(self.store.create_outbound(&NewOutbound {
            message_id: message_id.clone(),
            to: to.to_owned(),
            from: record.phone_number_id.clone(),
            kind: "text".to_owned(),
            fingerprint: outbound::fingerprint(&payload),
            payload: payload.clone(),
            origin: Origin::AutoReply,
        }))
        .await
        .map_err(RecordError::store)?;
        let job = SendJob {
            message_id,
            to: to.to_owned(),
            // From the number that received the message.
            from: record.phone_number_id.clone(),
            payload,
            requeued: 0,
        };
        self.queue_call(job.queue_message(request_id))
            .await
            .map_err(|error| RecordError::transient(format!("auto-reply not queued: {error}")))?;
        Ok(())
    }
}

/// A record whose events could be neither published nor queued: it comes back soon to announce them.
fn unannounced() -> RecordError {
    RecordError::retry_in(
        "events neither published nor queued: back to announce them",
        UNANNOUNCED_RETRY_SECONDS,
    )
}

/// How soon a record whose events were neither published nor queued comes back.
pub const UNANNOUNCED_RETRY_SECONDS: u32 = 5;

/// How many fresh copies of a job replace one whose every receive bounced, before a message still
/// `queued` is failed (`SEND_MAX_RECEIVES` × (1 + this) deliveries in all).
pub const MAX_REQUEUES: u32 = 3;

fn count_failed(error: &GraphError) {
    let code = error
        .code
        .map_or_else(|| format!("http_{}", error.http_status), |code| code.to_string());
    metrics::count_by(Metric::MessagesFailed, "ErrorCode", code, 1);
}
