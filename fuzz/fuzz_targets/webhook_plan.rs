//! The webhook payload as the worker reads it: parse, every change's typed value and message
//! content, and the plan of writes (under a filter that serves all numbers and one that serves one),
//! and the typed events of the template and account health fields.
#![no_main]

use bridge::domain::events;
use bridge::domain::records::{self, PhoneNumberFilter, Received};
use bridge::domain::webhook::WebhookPayload;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<WebhookPayload>(data) else {
        return;
    };
    for change in payload.entry.iter().flat_map(|entry| &entry.changes) {
        if let Some(Ok(value)) = change.messages_value() {
            for message in &value.messages {
                let _ = message.content();
            }
            for status in &value.statuses {
                let _ = status.errors.iter().map(|error| error.details()).count();
            }
        }
    }
    let received = Received {
        at: Utc.timestamp_opt(1_800_000_000, 0).single().unwrap_or_default(),
        request_id: "fuzz".to_owned(),
    };
    let all = records::plan(&payload, &PhoneNumberFilter::default(), &received);
    let one = records::plan(
        &payload,
        &PhoneNumberFilter::new(["106540352242922".to_owned()]),
        &received,
    );
    // A filter can only move changes from the writes to the foreign list, never add writes.
    assert!(one.writes() <= all.writes());
    // Every inbound record has a wamid (it is the table's key).
    for inbound in &all.inbound {
        assert!(
            !inbound.wamid.as_str().is_empty(),
            "an inbound record without a wamid was planned"
        );
    }
    for status in &all.statuses {
        assert!(!status.wamid.as_str().is_empty(), "a status without a wamid was planned");
    }
    // A template status is keyed by its WABA, name and language: none may be empty.
    for template in &all.template_statuses {
        assert!(
            !template.waba_id.is_empty() && !template.name.is_empty() && !template.language.is_empty(),
            "a template status without its key was planned"
        );
    }
    // Every raw event is still recorded; a health field's typed event, when built, names its WABA.
    for event in &all.events {
        if let Some(typed) = events::health_event(event) {
            assert_eq!(typed.detail["waba_id"], event.entry_id.as_str());
        }
    }
});
