//! What the worker does with Meta's answer to a send: record it (or queue it when the table refuses),
//! release the claim and retry, fail, or mark the outcome unknown; and `send-outcome` jobs.

use super::*;

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    pub(super) async fn refused(
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
    pub(super) async fn unknown_after_refusal(
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

    /// Meta clearly does not have the message: back to `queued` and retried, unless this was the
    /// queue's last receive, where it is failed with this error.
    pub(super) async fn retry_or_fail(
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
    pub(super) async fn give_back(
        &self,
        attempt: &Attempt<'_>,
        error: &StoredError,
        delay: u32,
    ) -> Result<Done, RecordError> {
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
    pub(super) async fn defer_release(
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
            kind: job.kind,
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

    /// Meta may have it: never send blindly again. The job comes back after the reconciliation
    /// window; by then a status webhook has usually resolved it.
    pub(super) async fn unknown(
        &self,
        attempt: &Attempt<'_>,
        reason: &str,
        error: &StoredError,
    ) -> Result<Done, RecordError> {
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

    pub(super) async fn record_accepted(
        &self,
        attempt: &Attempt<'_>,
        wamid: Option<Wamid>,
    ) -> Result<Done, RecordError> {
        metrics::count(Metric::MessagesAccepted, 1);
        let wamid_text = wamid.as_ref().map_or("-", Wamid::as_str).to_owned();
        tracing::info!(wamid = wamid_text, outcome = "accepted", "send");
        self.settle(attempt, Answer::Accepted(wamid), Done::Accepted).await
    }

    /// Records Meta's definite answer. If the table cannot take it, the answer goes on the queue
    /// (which does not depend on the table) as a `send-outcome` job: it must land, and the
    /// message must never be sent again because a write failed.
    pub(super) async fn settle(&self, attempt: &Attempt<'_>, outcome: Answer, done: Done) -> Result<Done, RecordError> {
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
            kind: job.kind,
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
    pub(super) async fn write_settled(
        &self,
        attempt: &Attempt<'_>,
        outcome: &Answer,
    ) -> Result<Option<BusEvent>, StoreError> {
        let job = attempt.job;
        let message_id = &job.message_id;
        match outcome {
            Answer::Accepted(wamid) => self
                .store_call(self.store.mark_accepted(
                    message_id,
                    Some(&attempt.id),
                    Some(Sent {
                        to: &job.to,
                        kind: job.kind,
                    }),
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
                        Some(Sent {
                            to: &outcome.to,
                            kind: outcome.kind,
                        }),
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
}
