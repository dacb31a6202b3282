//! [`EventPublisher`] on Amazon EventBridge (`PutEvents` on one bus).

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::describe;
use crate::domain::events::{BusEvent, SOURCE};
use crate::ports::{EventPublisher, FailedEntry, PublishError};

#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

impl EventBridgePublisher {
    /// Publishes on `bus_name` (a name or an ARN).
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<FailedEntry>, PublishError> {
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(&event.detail_type)
                    .detail(&event.detail_json)
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| PublishError::Unavailable(describe(&error)))?;
        if output.failed_entry_count == 0 {
            return Ok(Vec::new());
        }
        // The result entries are in the order of the request's; a failed one has an error code.
        let mut failed: Vec<FailedEntry> = output
            .entries()
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| {
                entry.error_code().map(|code| FailedEntry {
                    index,
                    code: code.to_owned(),
                    message: entry.error_message().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        if failed.is_empty() {
            // A failure count without per-entry errors: trust the count, resend everything.
            failed = (0..events.len())
                .map(|index| FailedEntry {
                    index,
                    code: "Unknown".to_owned(),
                    message: format!("{} entries failed", output.failed_entry_count),
                })
                .collect();
        }
        Ok(failed)
    }
}
