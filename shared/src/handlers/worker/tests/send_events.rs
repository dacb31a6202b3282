//! `message.unknown` and `message.resolved`: published after the write they describe, with ids
//! that a repeat keeps, schema-valid.

use super::*;
use crate::domain::events::BusEvent;
use crate::testing::GraphAnswer;

/// The job through the simulation with a bus; the bus and the simulation.
async fn simulate_publishing(
    key: &str,
    answers: Vec<GraphAnswer>,
    status_delay: Option<i64>,
    prepare: impl FnOnce(&Fakes, &FakeEventBus),
) -> (Sim, FakeEventBus, MessageId) {
    let (worker, fakes, bus) = publishing_worker();
    let job = queued_message(&fakes.store, key).await;
    fakes.graph.script(answers);
    prepare(&fakes, &bus);
    let mut sim = Sim::new(worker, fakes, status_delay);
    sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
    sim.run().await;
    (sim, bus, job.message_id)
}

fn valid(events: &[BusEvent]) {
    for event in events {
        crate::testing::schema::assert_valid(&event.detail_type, &event.detail);
        assert_eq!(event.detail["event_id"], event.event_id.as_str());
    }
}

#[tokio::test]
async fn an_ambiguous_send_publishes_unknown_and_its_status_webhook_resolved() {
    let (sim, bus, message_id) =
        simulate_publishing("ambiguous", vec![GraphAnswer::AcceptThenAmbiguous], Some(30), |_, _| {}).await;
    let unknown = of_type(&bus, "message.unknown");
    assert_eq!(unknown.len(), 1, "{:?}", bus.published());
    valid(&unknown);
    let detail = &unknown[0].detail;
    assert_eq!(detail["message_id"], message_id.as_str());
    assert_eq!(detail["cause"], "no_answer");
    assert_eq!(detail["will_resend"], true);
    assert_eq!(detail["to"], "972504370045");
    assert_eq!(detail["phone_number_id"], FIRST_NUMBER);
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1, "{:?}", bus.published());
    valid(&resolved);
    let detail = &resolved[0].detail;
    assert_eq!(detail["resolution"], "accepted");
    assert_eq!(detail["resolved_by"], "status_webhook");
    assert_eq!(detail["status"], "delivered");
    assert_eq!(detail["wamid"], "wamid.fake1");
    assert_eq!(detail["resent"], false);
    // Later statuses of the message resolve nothing more.
    let later = status_webhook("wamid.fake1", "read", Some(message_id.as_str()));
    assert!(deliver(&sim.worker, "late", &later, 1).await);
    assert_eq!(of_type(&bus, "message.resolved").len(), 1);
    // SQS redelivers the resolving record (its first publish may have failed): the same event again.
    let again = status_webhook("wamid.fake1", "delivered", Some(message_id.as_str()));
    assert!(deliver(&sim.worker, "again", &again, 2).await);
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 2);
    assert_eq!(resolved[1].event_id, resolved[0].event_id);
    assert_eq!(resolved[1].detail, resolved[0].detail);
}

#[tokio::test]
async fn an_unresolved_unknown_resent_and_accepted_is_resolved_by_the_send_answer() {
    let (_, bus, _) = simulate_publishing("resent", vec![GraphAnswer::AcceptThenAmbiguous], None, |_, _| {}).await;
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1, "{:?}", bus.published());
    valid(&resolved);
    assert_eq!(resolved[0].detail["resolution"], "accepted");
    assert_eq!(resolved[0].detail["resolved_by"], "send_answer");
    assert_eq!(resolved[0].detail["resent"], true);
    assert_eq!(resolved[0].detail["wamid"], "wamid.fake2");
}

#[tokio::test]
async fn a_refused_resend_publishes_a_second_unknown_that_will_not_be_resent() {
    let (sim, bus, message_id) = simulate_publishing(
        "refused",
        vec![GraphAnswer::AcceptThenAmbiguous, GraphAnswer::refuse(400, 131026)],
        None,
        |_, _| {},
    )
    .await;
    let unknown = of_type(&bus, "message.unknown");
    assert_eq!(unknown.len(), 2, "{:?}", bus.published());
    valid(&unknown);
    assert_eq!(unknown[0].detail["cause"], "no_answer");
    assert_eq!(unknown[1].detail["cause"], "refused_after_resend");
    assert_eq!(unknown[1].detail["will_resend"], false);
    assert_eq!(unknown[1].detail["errors"][0]["code"], 131026);
    assert_ne!(unknown[0].event_id, unknown[1].event_id, "one per attempt");
    assert!(of_type(&bus, "message.resolved").is_empty());
    // The first copy's status arrives at last: resolved, and it says a second copy was tried.
    let status = status_webhook("wamid.fake1", "sent", Some(message_id.as_str()));
    assert!(deliver(&sim.worker, "s", &status, 1).await);
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1);
    valid(&resolved);
    assert_eq!(resolved[0].detail["resent"], true);
    assert_eq!(resolved[0].detail["status"], "sent");
}

#[tokio::test]
async fn a_lapsed_claim_publishes_unknown_and_a_failed_status_resolves_it_failed() {
    // Meta took it; the table refused the answer twice (its second chance too: each time the acceptance
    // and the wamid's link, written together) and the queue once: the claim lapses to unknown.
    let (sim, bus, _) = simulate_publishing("lapsed", vec![GraphAnswer::Accept], Some(600), |fakes, _| {
        fakes.store.faults.fail_next("mark_accepted", 4, Fault::Transient);
        fakes.queue.faults.fail_next("send", 1, Fault::Transient);
    })
    .await;
    let unknown = of_type(&bus, "message.unknown");
    assert_eq!(unknown.len(), 1, "{:?}", bus.published());
    valid(&unknown);
    assert_eq!(unknown[0].detail["cause"], "claim_lapsed");
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].detail["resolved_by"], "status_webhook");
    drop(sim);

    // A `failed` status of a message whose outcome was unknown: resolved as failed, Meta's error in it.
    let (worker, fakes, bus) = publishing_worker();
    let job = queued_message(&fakes.store, "failed-status").await;
    fakes.graph.script([GraphAnswer::AcceptThenAmbiguous]);
    assert!(!send_once(&worker, &job, 1).await);
    let mut failed =
        serde_json::from_str::<Value>(&status_webhook("wamid.fake1", "failed", Some(job.message_id.as_str()))).unwrap();
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] =
        json!([{"code": 131026, "title": "Message undeliverable"}]);
    assert!(deliver(&worker, "f", &failed.to_string(), 1).await);
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1);
    valid(&resolved);
    assert_eq!(resolved[0].detail["resolution"], "failed");
    assert_eq!(resolved[0].detail["errors"][0]["code"], 131026);
}

#[tokio::test]
async fn a_lapse_of_a_send_that_never_left_is_resolved_not_sent() {
    // Nothing reached Meta; the table refused the release and the queue the deferred release: the
    // claim lapsed to unknown. The attempt's retry then finds the table back and releases it.
    let (worker, fakes, bus) = publishing_worker();
    let job = queued_message(&fakes.store, "not-sent").await;
    fakes.graph.script([GraphAnswer::NotSent]);
    fakes.store.faults.fail_next("release", 2, Fault::Transient);
    fakes.queue.faults.fail_next("send", 1, Fault::Transient);
    let body = serde_json::to_string(&job).unwrap();
    let send = record("j", Some("send-message"), &body, 1, SEND_QUEUE_ARN);
    assert!(
        !worker
            .handle(event(vec![send]), deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
    // The lease runs out; a duplicate delivery lapses the claim.
    fakes.store.advance(i64::from(LEASE_SECONDS) + 1);
    let duplicate = record("d", Some("send-message"), &body, 1, SEND_QUEUE_ARN);
    assert!(
        !worker
            .handle(event(vec![duplicate]), deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
    let unknown = of_type(&bus, "message.unknown");
    assert_eq!(unknown.len(), 1, "{:?}", bus.published());
    assert_eq!(unknown[0].detail["cause"], "claim_lapsed");
    let attempt = unknown[0].detail["attempt_id"].as_str().unwrap().to_owned();
    // The attempt's deferred release (as the queue would have carried it) lands now.
    let released = crate::domain::outbound::SendOutcome {
        message_id: job.message_id.clone(),
        attempt: crate::domain::ids::AttemptId::new(attempt),
        to: job.to.clone(),
        kind: job.kind,
        answer: crate::domain::outbound::Answer::Released(Default::default()),
    };
    let outcome = record(
        "o",
        Some("send-outcome"),
        &serde_json::to_string(&released).unwrap(),
        1,
        SEND_QUEUE_ARN,
    );
    assert!(
        worker
            .handle(event(vec![outcome]), deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(
        fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Queued
    );
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1, "{:?}", bus.published());
    valid(&resolved);
    assert_eq!(resolved[0].detail["resolution"], "not_sent");
}

#[tokio::test]
async fn events_the_bus_refuses_go_on_the_send_queue_and_are_published_from_there() {
    let (worker, fakes, bus) = publishing_worker();
    let job = queued_message(&fakes.store, "bus-down").await;
    fakes.graph.script([GraphAnswer::AcceptThenAmbiguous]);
    // The call and both resends refused.
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    assert!(!send_once(&worker, &job, 1).await);
    assert_eq!(
        fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Unknown,
        "written first"
    );
    assert!(bus.published().is_empty());
    let queued = fakes.queue.take_sent();
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0]
            .attributes
            .contains(&("kind".to_owned(), "publish-events".to_owned()))
    );
    // The job, delivered: published now, with the id it would have had.
    let publish = record("p", Some("publish-events"), &queued[0].body, 1, SEND_QUEUE_ARN);
    assert!(
        worker
            .handle(event(vec![publish.clone()]), deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
    let unknown = of_type(&bus, "message.unknown");
    assert_eq!(unknown.len(), 1);
    valid(&unknown);
    assert_eq!(unknown[0].detail["message_id"], job.message_id.as_str());
    // The bus still down when the job comes: it fails and SQS retries it.
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    assert!(
        !worker
            .handle(event(vec![publish]), deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
}

#[tokio::test]
async fn nothing_is_published_when_the_unknown_write_failed() {
    let (worker, fakes, bus) = publishing_worker();
    let job = queued_message(&fakes.store, "write-failed").await;
    fakes.graph.script([GraphAnswer::AcceptThenAmbiguous]);
    fakes.store.faults.fail_next("mark_unknown", 1, Fault::Transient);
    assert!(!send_once(&worker, &job, 1).await);
    assert!(bus.published().is_empty(), "{:?}", bus.published());
    assert_eq!(bus.calls().len(), 0);
}

#[tokio::test]
async fn a_resolution_neither_published_nor_queued_is_announced_by_the_jobs_redelivery() {
    // The resend's acceptance resolves the unknown outcome; the bus refuses its `message.resolved`
    // (after taking the first `message.unknown`) and the queue refuses the deferred publish. The job
    // comes back in seconds, finds the message settled, and announces the resolution (same id).
    let (sim, bus, message_id) = simulate_publishing(
        "unannounced",
        vec![GraphAnswer::AcceptThenAmbiguous],
        None,
        |fakes, bus| {
            // The first publish (its `message.unknown`) goes through; the next one fails on all three tries.
            bus.faults.fail_after("put_events", 1, Fault::Transient);
            bus.faults.fail_next("put_events", 2, Fault::Transient);
            fakes.queue.faults.fail_next("send", 1, Fault::Transient);
        },
    )
    .await;
    let resolved = of_type(&bus, "message.resolved");
    assert_eq!(resolved.len(), 1, "{:?}", bus.published());
    valid(&resolved);
    assert_eq!(resolved[0].detail["message_id"], message_id.as_str());
    assert_eq!(resolved[0].detail["resolution"], "accepted");
    assert_eq!(resolved[0].detail["resent"], true);
    assert!(sim.dead_letters.is_empty());
}

#[tokio::test]
async fn a_status_whose_publish_failed_is_published_on_redelivery_after_a_higher_one() {
    let (worker, _fakes, bus) = publishing_worker();
    // `delivered` is recorded, but the bus refuses its event on every try: the record fails.
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    let delivered = status_webhook("wamid.order", "delivered", None);
    assert!(!deliver(&worker, "d", &delivered, 1).await);
    // `read` arrives and is published; then SQS redelivers `delivered`, now below `read`.
    let read = status_webhook("wamid.order", "read", None);
    assert!(deliver(&worker, "r", &read, 1).await);
    assert!(deliver(&worker, "d", &delivered, 2).await);
    let statuses: Vec<String> = of_type(&bus, "message.status")
        .iter()
        .map(|event| event.detail["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(statuses.contains(&"delivered".to_owned()), "{statuses:?}");
    assert!(statuses.contains(&"read".to_owned()), "{statuses:?}");
}
