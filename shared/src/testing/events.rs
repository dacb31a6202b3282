//! [`EventPublisher`] in memory. Operations: `put_events` (the whole call: `Transient`/`Permanent` fail it,
//! `AppliedThenTransient` takes the entries and reports a failure) and `put_event_entry` (consulted once
//! per entry: a fault rejects that entry alone, a partial failure). [`FakeEventBus::refuse_containing`]
//! refuses every entry whose detail holds a text, call after call, until [`FakeEventBus::stop_refusing`].

use super::{Faults, Shared, Step};
use crate::domain::events::{BusEvent, MAX_CALL_BYTES, MAX_ENTRIES_PER_CALL};
use crate::ports::{EventPublisher, FailedEntry, PublishError};

#[derive(Debug, Clone, Default)]
pub struct FakeEventBus {
    pub faults: Faults,
    published: Shared<Vec<BusEvent>>,
    /// Entry counts of the calls, in order.
    calls: Shared<Vec<usize>>,
    /// Entries whose detail (its JSON) holds one of these are refused (a partial failure).
    refusing: Shared<Vec<String>>,
}

impl FakeEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event the bus took, in order (a resent one again).
    pub fn published(&self) -> Vec<BusEvent> {
        self.published.lock().clone()
    }

    /// The number of entries of each call.
    pub fn calls(&self) -> Vec<usize> {
        self.calls.lock().clone()
    }

    /// From now on every entry whose detail JSON contains `text` is refused (`ThrottlingException`).
    pub fn refuse_containing(&self, text: &str) -> &Self {
        self.refusing.lock().push(text.to_owned());
        self
    }

    /// Entries are no longer refused by their content.
    pub fn stop_refusing(&self) {
        self.refusing.lock().clear();
    }
}

impl EventPublisher for FakeEventBus {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<FailedEntry>, PublishError> {
        self.calls.lock().push(events.len());
        let size: usize = events.iter().map(BusEvent::size).sum();
        if events.is_empty() || events.len() > MAX_ENTRIES_PER_CALL || size >= MAX_CALL_BYTES {
            return Err(PublishError::Unavailable(format!(
                "ValidationException: {} entries, {size} bytes",
                events.len()
            )));
        }
        let step = self.faults.step("put_events").await;
        if let Step::Fail(fault) = step {
            return Err(PublishError::Unavailable(format!("injected {fault:?}")));
        }
        let mut failed = Vec::new();
        for (index, event) in events.iter().enumerate() {
            let refused = self
                .refusing
                .lock()
                .iter()
                .any(|text| event.detail_json.contains(text.as_str()));
            if self.faults.check("put_event_entry").await.is_some() || refused {
                failed.push(FailedEntry {
                    index,
                    code: "ThrottlingException".to_owned(),
                    message: "injected".to_owned(),
                });
            } else {
                self.published.lock().push(event.clone());
            }
        }
        match step {
            Step::ApplyThenFail => Err(PublishError::Unavailable("injected: the answer was lost".to_owned())),
            _ => Ok(failed),
        }
    }
}
