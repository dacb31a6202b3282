//! A batch's events published together: in calls of up to ten entries across its records, a refused
//! entry failing only the record it belongs to, an outage failing every record with events (their writes
//! kept, the redelivery publishing the same ids), the read receipts and auto-replies after the events.

use std::collections::BTreeSet;

use super::*;
use crate::domain::events::BusEvent;

/// One webhook with `n` `sent` statuses of messages `wamid.<prefix>0` ..: `n` `message.status` events.
fn statuses_webhook(prefix: &str, n: usize) -> String {
    let statuses: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("wamid.{prefix}{i}"), "status": "sent", "timestamp": "1800000100",
            "recipient_id": "972504370045"})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"}, "statuses": statuses}}]}]})
    .to_string()
}

fn webhook(id: &str, body: &str, receive_count: u32) -> aws_lambda_events::event::sqs::SqsMessage {
    record(id, Some("meta-webhook"), body, receive_count, EVENTS_QUEUE_ARN)
}

/// The ids of the records the batch reported failed, sorted.
async fn failed(worker: &TestWorker, records: Vec<aws_lambda_events::event::sqs::SqsMessage>) -> Vec<String> {
    let mut ids: Vec<String> = worker
        .handle(event(records), deadline())
        .await
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect();
    ids.sort();
    ids
}

fn wamids(events: &[BusEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| event.detail["wamid"].as_str().map(str::to_owned))
        .collect()
}

/// Ten inbound webhooks: `r0` .. `r9`, messages `wamid.<prefix>0` ..
fn inbound_batch(prefix: &str, receive_count: u32) -> Vec<aws_lambda_events::event::sqs::SqsMessage> {
    (0..10)
        .map(|i| {
            let body = inbound_webhook(&format!("wamid.{prefix}{i}"), &format!("97250000010{i}"));
            webhook(&format!("r{i}"), &body, receive_count)
        })
        .collect()
}

#[tokio::test]
async fn a_batch_publishes_its_records_events_together_in_calls_of_ten() {
    let (worker, _fakes, bus) = publishing_worker();
    // SQS's largest batch: ten records, one to three events each (20 in all).
    let counts = [1, 2, 3, 1, 2, 3, 1, 2, 3, 2];
    let records: Vec<_> = (0..10)
        .map(|i| webhook(&format!("r{i}"), &statuses_webhook(&format!("S{i}x"), counts[i]), 1))
        .collect();
    assert!(failed(&worker, records).await.is_empty());
    assert_eq!(bus.calls(), [10, 10], "20 events: two calls, not one per record");
    let published = wamids(&of_type(&bus, "message.status"));
    assert_eq!(published.len(), 20);
    assert_eq!(published.iter().collect::<BTreeSet<_>>().len(), 20, "none twice");

    // Ten inbound messages, one event each: one call.
    assert!(failed(&worker, inbound_batch("ONE", 1)).await.is_empty());
    assert_eq!(bus.calls(), [10, 10, 10]);
    assert_eq!(of_type(&bus, "message.received").len(), 10);
}

#[tokio::test]
async fn an_entry_the_bus_refuses_fails_only_the_record_it_belongs_to() {
    let (worker, fakes, bus) = publishing_worker();
    // Three records of four events each: calls of 10 and 2. The bus refuses one event of r1 (in the
    // first call) every time, and the 2nd entry of the second call (r2's) once.
    let records: Vec<_> = (0..3)
        .map(|i| webhook(&format!("r{i}"), &statuses_webhook(&format!("E{i}x"), 4), 1))
        .collect();
    bus.refuse_containing("wamid.E1x2");
    bus.faults.fail_after("put_event_entry", 11, Fault::Transient);
    assert_eq!(failed(&worker, records.clone()).await, ["r1"]);
    assert_eq!(
        bus.calls(),
        [10, 2, 2, 1],
        "then the refused entries of both records resent together"
    );
    // r0's and r2's events all published once; r1's others were taken, its refused one never.
    let published = wamids(&of_type(&bus, "message.status"));
    for i in 0..4 {
        assert!(published.contains(&format!("wamid.E0x{i}")));
        assert!(published.contains(&format!("wamid.E2x{i}")));
    }
    assert!(!published.contains(&"wamid.E1x2".to_owned()));
    assert_eq!(published.len(), 11);
    // Every write kept, the failed record's included.
    for i in 0..3 {
        for j in 0..4 {
            assert!(fakes.store.tables().messages.contains_key(&format!("wamid.E{i}x{j}")));
        }
    }

    // SQS delivers r1 again once the bus takes it: its four events, the same ids.
    bus.stop_refusing();
    let first_ids: Vec<String> = bus.published().iter().map(|e| e.event_id.to_string()).collect();
    assert!(
        failed(&worker, vec![webhook("r1", &records[1].body.clone().unwrap(), 2)])
            .await
            .is_empty()
    );
    let again: Vec<BusEvent> = bus.published().split_off(first_ids.len());
    assert_eq!(again.len(), 4);
    let refused_id = again
        .iter()
        .find(|e| e.detail["wamid"] == "wamid.E1x2")
        .map(|e| e.event_id.to_string())
        .unwrap();
    assert!(!first_ids.contains(&refused_id), "published for the first time");
    assert_eq!(
        again
            .iter()
            .filter(|e| first_ids.contains(&e.event_id.to_string()))
            .count(),
        3,
        "the three taken before come again with their ids (at least once)"
    );
}

#[tokio::test]
async fn a_bus_outage_fails_every_record_with_events_keeps_their_writes_and_the_redelivery_republishes() {
    let (worker, fakes, bus) = publishing_worker();
    // Recorded before: its webhook delivered again (a new queue message) calls for no event.
    assert!(deliver(&worker, "old", &inbound_webhook("wamid.OLD", "972500000200"), 1).await);
    let before = bus.calls().len();
    let mut records = inbound_batch("OUT", 1);
    records.truncate(4);
    records.push(webhook("dup", &inbound_webhook("wamid.OLD", "972500000200"), 1));
    // The call and its two resends all fail.
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    assert_eq!(
        failed(&worker, records.clone()).await,
        ["r0", "r1", "r2", "r3"],
        "the duplicate succeeds"
    );
    assert_eq!(bus.calls()[before..], [4, 4, 4], "one call of four, resent twice");
    assert_eq!(of_type(&bus, "message.received").len(), 1, "only the first delivery's");
    for i in 0..4 {
        assert!(
            fakes.store.tables().messages.contains_key(&format!("wamid.OUT{i}")),
            "the writes are kept"
        );
    }

    // SQS delivers the four again: found recorded, published now; and again: the same ids.
    let again: Vec<_> = records[..4]
        .iter()
        .map(|r| webhook(r.message_id.as_deref().unwrap(), r.body.as_deref().unwrap(), 2))
        .collect();
    for _ in 0..2 {
        assert!(failed(&worker, again.clone()).await.is_empty());
    }
    let received: Vec<BusEvent> = of_type(&bus, "message.received").split_off(1);
    assert_eq!(received.len(), 8);
    assert_eq!(
        received
            .iter()
            .map(|e| e.event_id.to_string())
            .collect::<BTreeSet<_>>()
            .len(),
        4,
        "each message's event twice, with one id"
    );
    assert_eq!(fakes.store.tables().messages.len(), 5, "no write doubled");
}

#[tokio::test]
async fn a_record_whose_events_were_refused_gets_its_auto_reply_on_the_delivery_that_publishes_them() {
    let (worker, fakes) = worker(Some("Thanks, we will answer soon."), false);
    let bus = FakeEventBus::new();
    let mut publishing = super::super::Publishing::new(bus.clone());
    publishing.resend_after = vec![Duration::from_millis(1)];
    let worker = worker.with_events(publishing);
    let mut records = inbound_batch("AR", 1);
    records.truncate(3);
    bus.refuse_containing("wamid.AR1");
    assert_eq!(failed(&worker, records.clone()).await, ["r1"]);
    let queued = fakes.queue.take_sent();
    assert_eq!(queued.len(), 2, "the auto-replies of r0 and r2 only");
    assert!(fakes.store.outbound(&outbound::auto_reply_id("wamid.AR1")).is_none());
    bus.stop_refusing();
    assert!(
        failed(&worker, vec![webhook("r1", records[1].body.as_deref().unwrap(), 2)])
            .await
            .is_empty()
    );
    assert_eq!(fakes.queue.take_sent().len(), 1);
    assert!(fakes.store.outbound(&outbound::auto_reply_id("wamid.AR1")).is_some());
}

#[tokio::test]
async fn publish_events_jobs_of_a_batch_go_out_together_and_fail_alone() {
    let (worker, _fakes, bus) = publishing_worker();
    // A job's body as the send path queues it: three events of its own.
    let job = |prefix: &str| {
        let events: Vec<Value> = (0..3)
            .map(|i| {
                json!({"detail_type": "message.status", "detail": {"event_id": format!("{prefix}{i}"),
                    "wamid": format!("wamid.{prefix}{i}"), "status": "sent"}})
            })
            .collect();
        Value::Array(events).to_string()
    };
    let records = vec![
        record("p0", Some("publish-events"), &job("J0x"), 1, SEND_QUEUE_ARN),
        record("p1", Some("publish-events"), &job("J1x"), 1, SEND_QUEUE_ARN),
    ];
    bus.refuse_containing("wamid.J1x0");
    assert_eq!(failed(&worker, records).await, ["p1"]);
    assert_eq!(bus.calls(), [6, 1, 1]);
    assert_eq!(of_type(&bus, "message.status").len(), 5);
}
