//! The send path's events (`message.unknown`, `message.resolved`): built from the writes that call
//! for them, published on the bus, else queued, else the record fails and its redelivery announces.

use super::*;

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    pub(super) fn unknown_event(
        &self,
        attempt: &Attempt<'_>,
        cause: UnknownCause,
        error: Option<&StoredError>,
    ) -> BusEvent {
        let job = attempt.job;
        bus::message_unknown(&UnknownSend {
            message_id: &job.message_id,
            attempt: &attempt.id,
            to: &job.to,
            kind: job.kind,
            from: Some(self.sender_of(job.from.as_ref())),
            cause,
            will_resend: attempt.resends == 0 && cause != UnknownCause::RefusedAfterResend,
            error,
        })
    }

    /// A release that moved the message out of `unknown` (its lapsed claim was this attempt's, which
    /// never reached Meta) resolves it, if no earlier copy is in doubt.
    pub(super) async fn resolved_not_sent(
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
    pub(super) fn resolved_failed_event(
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

    pub(super) async fn publish_or_queue(&self, events: Vec<BusEvent>, request_id: &str) -> bool {
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
    pub(super) fn settled_event(&self, job: &SendJob, record: &SendRecord) -> Option<BusEvent> {
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
                    kind: job.kind,
                    from: Some(self.sender_of(job.from.as_ref())),
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

    /// An acceptance that settled an unknown outcome (the resend's, or the first copy's answer
    /// recorded late) resolves it.
    pub(super) fn resolved_accepted_event(
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
}
