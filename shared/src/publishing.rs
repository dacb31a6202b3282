//! Publishing the events of a record on the bus, after the writes they describe succeeded: in
//! `PutEvents` calls of at most 10 entries under 256 KB, the entries of a partial failure resent, and —
//! if some are still refused — an error, on which the caller fails its record so that SQS delivers it
//! again (nothing dropped). Used by the worker and the Twilio functions alike, below both.

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

impl<E: EventPublisher> Publishing<E> {
    /// Publishes every event (at least once); an error when some could not be, even after the resends.
    pub async fn publish(&self, events: Vec<BusEvent>) -> Result<usize, PublishError> {
        let total = events.len();
        let mut pending = events;
        let mut waits = self.resend_after.iter();
        loop {
            if pending.is_empty() {
                metrics::count(Metric::EventsPublished, total as u64);
                return Ok(total);
            }
            let (failed, reason) = self.try_once(&pending).await;
            pending = failed;
            if pending.is_empty() {
                continue;
            }
            let Some(wait) = waits.next() else {
                metrics::count(Metric::EventsFailed, pending.len() as u64);
                return Err(PublishError::Unavailable(format!(
                    "event bus: {} of {total} events not published ({reason})",
                    pending.len()
                )));
            };
            tracing::warn!(failed = pending.len(), reason, "events not taken by the bus; resending");
            tokio::time::sleep(*wait).await;
        }
    }

    /// One pass over the events: the ones the bus did not take, and why (the last reason).
    async fn try_once(&self, events: &[BusEvent]) -> (Vec<BusEvent>, String) {
        let mut failed = Vec::new();
        let mut reason = String::new();
        for call in batches(events) {
            match self.bus.put_events(call).await {
                Ok(refused) => {
                    for FailedEntry { index, code, message } in refused {
                        if let Some(event) = call.get(index) {
                            failed.push(event.clone());
                            reason = format!("{code}: {message}");
                        }
                    }
                }
                Err(error) => {
                    failed.extend(call.iter().cloned());
                    reason = error.to_string();
                }
            }
        }
        (failed, reason)
    }
}
