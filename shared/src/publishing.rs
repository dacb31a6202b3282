//! Publishing events on the bus, after the writes they describe succeeded: in `PutEvents` calls of at
//! most 10 entries under 256 KB, the entries of a partial failure resent, and — if some are still
//! refused — an error, on which the caller fails its record so that SQS delivers it again (nothing
//! dropped). The worker publishes the events of all the records of a batch together
//! ([`Publishing::publish_batch`]): each event belongs to its record, and a refused entry fails only the
//! record it belongs to. Used by the worker and the Twilio functions alike, below both.

use std::time::Duration;

use crate::domain::events::{BusEvent, batches};
use crate::metrics::{self, Metric};
use crate::ports::{EventPublisher, FailedEntry, PublishError};

/// The bus and how hard one record tries it.
#[derive(Debug, Clone)]
pub struct Publishing<E> {
    pub bus: E,
    /// The waits before each resend of the entries that failed (their count: the resends).
    pub resend_after: Vec<Duration>,
    /// Whether `verification.code_captured` carries the code (`EVENTS_INCLUDE_VERIFICATION_CODE`).
    pub include_verification_code: bool,
}

impl<E> Publishing<E> {
    /// Two resends, 100 ms and 400 ms after the failure.
    pub fn new(bus: E) -> Self {
        Self {
            bus,
            resend_after: vec![Duration::from_millis(100), Duration::from_millis(400)],
            include_verification_code: false,
        }
    }
}

/// An event and its owner: the index of the record (of a batch) whose writes it describes.
pub type Owned = (usize, BusEvent);

impl<E: EventPublisher> Publishing<E> {
    /// Publishes every event (at least once); an error when some could not be, even after the resends.
    pub async fn publish(&self, events: Vec<BusEvent>) -> Result<usize, PublishError> {
        let owned = events.into_iter().map(|event| (0, event)).collect();
        self.publish_batch(owned, 1).await.pop().unwrap_or(Ok(0))
    }

    /// Publishes the events of `owners` records together (each event tagged with its record's index, below
    /// `owners`), in as few calls as the limits allow, and resends the refused entries of all of them
    /// together. Answers one result per record, in order: how many of its events were published, or why
    /// some were not (after the resends) — a refused entry, or a call that failed, fails only the records
    /// whose events it carried. A record without events answers `Ok(0)`.
    ///
    /// `EventsPublished` counts the events of the records whose events all went, `EventsFailed` the
    /// entries still refused: the figures publishing each record on its own would give.
    pub async fn publish_batch(&self, events: Vec<Owned>, owners: usize) -> Vec<Result<usize, PublishError>> {
        let mut totals = vec![0usize; owners];
        for (owner, _) in &events {
            if let Some(total) = totals.get_mut(*owner) {
                *total += 1;
            }
        }
        let mut reasons: Vec<String> = vec![String::new(); owners];
        let mut pending = events;
        let mut waits = self.resend_after.iter();
        while !pending.is_empty() {
            pending = self.try_once(pending, &mut reasons).await;
            if pending.is_empty() {
                break;
            }
            let Some(wait) = waits.next() else {
                break;
            };
            tracing::warn!(
                failed = pending.len(),
                reason = pending
                    .first()
                    .and_then(|(owner, _)| reasons.get(*owner))
                    .map_or("", String::as_str),
                "events not taken by the bus; resending"
            );
            tokio::time::sleep(*wait).await;
        }
        let mut refused = vec![0usize; owners];
        for (owner, _) in &pending {
            if let Some(count) = refused.get_mut(*owner) {
                *count += 1;
            }
        }
        metrics::count(Metric::EventsFailed, pending.len() as u64);
        let mut published = 0;
        let results = totals
            .into_iter()
            .zip(refused)
            .zip(reasons)
            .map(|((total, refused), reason)| {
                if refused == 0 {
                    published += total;
                    Ok(total)
                } else {
                    Err(PublishError::Unavailable(format!(
                        "event bus: {refused} of {total} events not published ({reason})"
                    )))
                }
            })
            .collect();
        metrics::count(Metric::EventsPublished, published as u64);
        results
    }

    /// One pass over the events: the ones the bus did not take (in order), each owner's last reason noted.
    async fn try_once(&self, pending: Vec<Owned>, reasons: &mut [String]) -> Vec<Owned> {
        let (owners, events): (Vec<usize>, Vec<BusEvent>) = pending.into_iter().unzip();
        let mut refused = vec![false; events.len()];
        let mut start = 0;
        for call in batches(&events) {
            let mut refuse = |index: usize, reason: String| {
                if let (Some(flag), Some(owner)) = (refused.get_mut(start + index), owners.get(start + index)) {
                    *flag = true;
                    if let Some(slot) = reasons.get_mut(*owner) {
                        *slot = reason;
                    }
                }
            };
            match self.bus.put_events(call).await {
                Ok(failed) => {
                    for FailedEntry { index, code, message } in failed {
                        if index < call.len() {
                            refuse(index, format!("{code}: {message}"));
                        }
                    }
                }
                Err(error) => {
                    for index in 0..call.len() {
                        refuse(index, error.to_string());
                    }
                }
            }
            start += call.len();
        }
        owners
            .into_iter()
            .zip(events)
            .zip(refused)
            .filter_map(|(owned, refused)| refused.then_some(owned))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::domain::events::from_queue_body;
    use crate::testing::{FakeEventBus, Fault};

    /// `count` events of `owner`, tagged with it.
    fn owned(owner: usize, count: usize) -> Vec<Owned> {
        let body = json!(
            (0..count)
                .map(|n| json!({"detail_type": "message.status",
                "detail": {"event_id": format!("e{owner}x{n}"), "owner": owner}}))
                .collect::<Vec<_>>()
        );
        from_queue_body(&body.to_string())
            .unwrap()
            .into_iter()
            .map(|event| (owner, event))
            .collect()
    }

    fn publishing(bus: &FakeEventBus) -> Publishing<FakeEventBus> {
        let mut publishing = Publishing::new(bus.clone());
        publishing.resend_after = vec![Duration::from_millis(1)];
        publishing
    }

    #[tokio::test]
    async fn a_call_that_fails_fails_only_the_owners_of_its_entries() {
        // Owners 0 (8 events), 1 (4: two in each call), 2 (0), 3 (6): calls of 10 and 8.
        let bus = FakeEventBus::new();
        let events = [owned(0, 8), owned(1, 4), owned(3, 6)].concat();
        // The first call goes; the second fails, and so does its resend.
        bus.faults
            .fail_after("put_events", 1, Fault::Transient)
            .fail_next("put_events", 1, Fault::Transient);
        let results = publishing(&bus).publish_batch(events, 4).await;
        assert_eq!(bus.calls(), [10, 8, 8]);
        assert_eq!(results[0], Ok(8));
        assert!(
            results[1].as_ref().unwrap_err().to_string().contains("2 of 4 events"),
            "{results:?}"
        );
        assert_eq!(results[2], Ok(0), "no events: nothing to refuse");
        assert!(results[3].is_err());
        assert_eq!(bus.published().len(), 10);
    }

    #[tokio::test]
    async fn a_resend_that_goes_clears_its_owners() {
        // Entries of owners 0 and 2 refused once: resent together, then every owner has its events out.
        let bus = FakeEventBus::new();
        let events = [owned(0, 3), owned(1, 3), owned(2, 3)].concat();
        bus.faults
            .fail_after("put_event_entry", 1, Fault::Transient)
            .fail_after("put_event_entry", 6, Fault::Transient);
        let results = publishing(&bus).publish_batch(events, 3).await;
        assert_eq!(bus.calls(), [9, 2]);
        assert_eq!(results, [Ok(3), Ok(3), Ok(3)]);
        assert_eq!(bus.published().len(), 9);
    }

    #[tokio::test]
    async fn one_owners_publish_answers_as_before() {
        let bus = FakeEventBus::new();
        let events: Vec<BusEvent> = owned(0, 12).into_iter().map(|(_, event)| event).collect();
        assert_eq!(publishing(&bus).publish(events.clone()).await, Ok(12));
        assert_eq!(publishing(&bus).publish(Vec::new()).await, Ok(0));
        assert_eq!(bus.calls(), [10, 2], "nothing to publish: no call");
        // Both calls, and both again on the resend.
        bus.faults.fail_next("put_events", 4, Fault::Transient);
        let refused = publishing(&bus).publish(events).await.unwrap_err();
        assert!(
            refused.to_string().contains("12 of 12 events not published"),
            "{refused}"
        );
    }
}
