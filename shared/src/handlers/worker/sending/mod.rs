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
use tokio::time::Instant;

use super::Done;
use super::record_error::RecordError;
use crate::domain::events::{self as bus, BusEvent, Resolution, ResolvedBy, ResolvedSend, UnknownCause, UnknownSend};
use crate::domain::graph_error::{FailureClass, GraphError, retry_delay_seconds};
use crate::domain::ids::{AttemptId, MessageId, PhoneNumberId, Wamid};
use crate::domain::outbound::{self, Answer, Origin, OutboundStatus, SendJob, SendOutcome, SendRecord, StoredError};
use crate::domain::records::{BusinessNumbers, InboundRecord};
use crate::metrics::{self, Metric};
use crate::ports::{
    Claim, ClaimTerms, EventPublisher, NewOutbound, OutboundStore, Pace, Paced, Queue, SendFailure, Sent, StateWrite,
    StoreError, WhatsAppSender, WriteOutcome,
};
use crate::publishing::Publishing;
use crate::sends::SendMachine;

mod announce;
mod calls;
mod inbound;
mod limiter;
mod outcomes;

pub use limiter::RateLimiter;

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
    /// What a WhatsApp call to the business number gets (`CALLS_POLICY`).
    pub calls_policy: crate::domain::records::CallsPolicy,
    /// The text a rejected caller gets (`CALLS_REPLY_TEXT`), through this send path.
    pub calls_reply: Option<crate::domain::records::CallsReply>,
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

/// Meta's error as the message keeps it; an answer that said nothing (a 504 with an empty body) keeps
/// what it was (`graph api: http 504`), so the message's `last_error` is never an empty object.
fn stored(error: &GraphError) -> StoredError {
    let said_nothing = error.code.is_none() && error.title.is_none() && error.message.is_none();
    StoredError {
        code: error.code,
        title: error.title.clone(),
        message: error
            .message
            .clone()
            .or_else(|| said_nothing.then(|| error.to_string())),
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
    pub(super) async fn store_call<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.policy.store_timeout, call, store_timeout).await
    }

    /// One message onto the send queue, bounded like every other AWS call of the worker.
    pub(super) async fn queue_call(
        &self,
        message: crate::ports::QueueMessage,
    ) -> Result<String, crate::ports::QueueError> {
        bounded(self.policy.store_timeout, self.queue.send(message), || {
            crate::ports::QueueError::Unavailable("no answer within the call's time budget".to_owned())
        })
        .await
    }

    /// The business number a message goes out from: the one named, else the default.
    pub(super) fn sender_of<'a>(&'a self, named: Option<&'a PhoneNumberId>) -> &'a str {
        named
            .map(PhoneNumberId::as_str)
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
    pub(super) async fn requeue_exhausted(
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

    pub(super) async fn send_once(
        &self,
        record: &SqsMessage,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Done, RecordError> {
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
        let attempt = outbound::new_attempt(&job.message_id);
        // The recipient's pacing slot and the claim together: one round trip before the Graph call
        // instead of two. Taking no slot writes nothing, and a claim taken when there was no slot is
        // given back below (rare: a recipient past its burst); a slot taken for a message that turns
        // out not to be ours to send is spent, as it was when pacing came first.
        // (Boxed: the two futures side by side would make every send's future, and the stack a debug
        // build polls it with, much larger.)
        let (no_slot_for, claimed) = Box::pin(async {
            futures_util::join!(
                self.pace_wait(&job),
                self.store_call(self.store.claim(&job.message_id, &attempt, self.policy.terms))
            )
        })
        .await;
        let claimed = match claimed {
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
            Claim::Claimed { .. } if let Some(seconds) = no_slot_for => {
                let attempt = Attempt {
                    job: &job,
                    id: attempt,
                    resends: 0,
                    request_id,
                    deadline,
                };
                return Box::pin(self.paced(&attempt, seconds)).await;
            }
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
                        kind: job.kind,
                        from: Some(self.sender_of(job.from.as_ref())),
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
        let from = self.sender_of(job.from.as_ref());
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

    /// How long the job's recipient has no send slot for (`None`: send now). Pacing is a courtesy
    /// to Meta's pair limit (131056 is retried anyway): when the table cannot say, it sends.
    async fn pace_wait(&self, job: &SendJob) -> Option<u32> {
        let pace = self.policy.pace?;
        match self.store_call(self.store.pace(&job.to, pace)).await {
            Ok(Paced::Go) => None,
            Ok(Paced::Wait { seconds }) => Some(seconds),
            Err(error) => {
                tracing::warn!(error = %error, "pacing unavailable: sending unpaced");
                None
            }
        }
    }

    /// Waits for the recipient's send slot through SQS, never by sleeping: the claim taken beside
    /// the pacing is given back, and the job goes back on the queue with the delay (a new copy, so
    /// the wait costs none of its receives).
    async fn paced(&self, attempt: &Attempt<'_>, seconds: u32) -> Result<Done, RecordError> {
        let job = attempt.job;
        let reason = note(&format!("paced: no send slot for the recipient for {seconds} s"));
        let retry = || RecordError::retry_in("paced for the recipient; the delayed copy was not queued", seconds);
        match self
            .store_call(self.store.release(&job.message_id, &attempt.id, &reason))
            .await
        {
            Ok(write) => {
                self.resolved_not_sent(&job.message_id, &attempt.id, write, attempt.request_id)
                    .await;
            }
            Err(store_error) => return self.defer_release(attempt, &reason, store_error, retry).await,
        }
        let mut delayed = job.queue_message(attempt.request_id);
        delayed.delay_seconds = seconds.min(900);
        self.queue_call(delayed).await.map_err(|_| retry())?;
        tracing::info!(
            outcome = "paced",
            wait_seconds = seconds,
            "send paced for its recipient"
        );
        Ok(Done::Paced)
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
