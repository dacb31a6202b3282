//! The worker in process with the in-memory fakes: its partial batch answer, each write
//! failing, and the send state machine under every fault an SQS queue, DynamoDB and the Graph
//! API can produce, driven by a small simulation of SQS (visibility, receive counts, the
//! dead-letter limit) and of Meta's status webhooks.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::sending::SendPolicy;
use crate::domain::ids::{ContactId, MessageId, PhoneNumberId};
use crate::domain::outbound::{self, OutboundStatus, SendJob};
use crate::ports::BlobStore;
use crate::ports::{OutboundStore, Pace};
use crate::sends::SendMachine;
use crate::testing::{FakeEventBus, FakeQueue, Fault, GraphAnswer, MemoryStore};

use crate::testing::send_sim::{
    self, EVENTS_QUEUE_ARN, FIRST_NUMBER, LEASE_SECONDS, MAX_RECEIVES, RECONCILE_SECONDS, SECOND_NUMBER,
    SEND_QUEUE_ARN, SimTimes, deadline, event, record, status_webhook,
};

type TestWorker = send_sim::SimWorker<MemoryStore>;
type Fakes = send_sim::SimFakes<MemoryStore>;
type Sim = send_sim::Sim<MemoryStore>;

fn policy() -> SendPolicy {
    send_sim::policy(SimTimes::IN_MEMORY)
}

fn worker(auto_reply: Option<&str>, mark_as_read: bool) -> (TestWorker, Fakes) {
    send_sim::worker(MemoryStore::new(), SimTimes::IN_MEMORY, auto_reply, mark_as_read)
}

fn inbound_webhook(wamid: &str, from: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"},
        "contacts": [{"wa_id": from, "profile": {"name": "Dana"}}],
        "messages": [{"from": from, "id": wamid, "timestamp": "1800000000", "type": "text",
            "text": {"body": "hello"}}]}}]}]})
    .to_string()
}

async fn queued_message(store: &MemoryStore, key: &str) -> SendJob {
    let message_id = outbound::id_for_key("test", key);
    send_sim::queued_job(store, message_id, "972504370045", &format!("hello {key}"))
        .await
        .unwrap()
}

// ------------------------------------------------------------------ webhooks

#[tokio::test]
async fn a_batch_reports_only_the_record_whose_write_failed() {
    let (worker, fakes) = worker(None, false);
    fakes.store.faults.fail_after("record_inbound", 1, Fault::Transient);
    let batch = event(vec![
        record(
            "ok",
            Some("meta-webhook"),
            &inbound_webhook("wamid.A", "972500000001"),
            1,
            EVENTS_QUEUE_ARN,
        ),
        record(
            "bad",
            Some("meta-webhook"),
            &inbound_webhook("wamid.B", "972500000002"),
            1,
            EVENTS_QUEUE_ARN,
        ),
    ]);
    let response = worker.handle(batch, deadline()).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let recorded: Vec<String> = fakes.store.tables().messages.keys().cloned().collect();
    assert_eq!(recorded.len(), 1);
    let ok_wamid = if failed == ["bad"] { "wamid.A" } else { "wamid.B" };
    assert_eq!(recorded, [ok_wamid]);
}

#[tokio::test]
async fn each_webhook_write_failing_fails_the_record_and_a_retry_converges() {
    for operation in [
        "record_inbound",
        "record_contact_activity",
        "record_status",
        "mark_accepted",
    ] {
        for fault in [Fault::Transient, Fault::Permanent, Fault::AppliedThenTransient] {
            let (worker, fakes) = worker(None, false);
            let job = queued_message(&fakes.store, operation).await;
            let body = if operation == "record_status" || operation == "mark_accepted" {
                status_webhook("wamid.S", "delivered", Some(job.message_id.as_str()))
            } else {
                inbound_webhook("wamid.I", "972500000001")
            };
            fakes.store.faults.fail_next(operation, 1, fault);
            let first = worker
                .handle(
                    event(vec![record("r", Some("meta-webhook"), &body, 1, EVENTS_QUEUE_ARN)]),
                    deadline(),
                )
                .await;
            assert_eq!(first.batch_item_failures.len(), 1, "{operation} {fault:?}");
            let second = worker
                .handle(
                    event(vec![record("r", Some("meta-webhook"), &body, 2, EVENTS_QUEUE_ARN)]),
                    deadline(),
                )
                .await;
            assert!(second.batch_item_failures.is_empty(), "{operation} {fault:?}");
            if operation == "mark_accepted" || operation == "record_status" {
                let item = fakes.store.outbound(&job.message_id).unwrap();
                assert_eq!(
                    item.wamid.as_ref().map(|w| w.as_str()),
                    Some("wamid.S"),
                    "{operation} {fault:?}"
                );
                assert_eq!(item.status, OutboundStatus::Accepted);
            } else {
                assert!(fakes.store.tables().messages.contains_key("wamid.I"));
            }
        }
    }
}

#[tokio::test]
async fn a_record_without_kind_that_is_no_webhook_is_never_acknowledged() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "kindless").await;
    let body = serde_json::to_string(&job).unwrap();
    let response = worker
        .handle(event(vec![record("j", None, &body, 1, SEND_QUEUE_ARN)]), deadline())
        .await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "a kind-less send job must not be acked as an empty webhook"
    );
    let unknown = worker
        .handle(
            event(vec![record("k", Some("surprise"), "{}", 1, SEND_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert_eq!(unknown.batch_item_failures.len(), 1);
    assert!(fakes.graph.state().calls.is_empty());
}

#[tokio::test]
async fn a_signed_body_framed_as_an_object_but_not_json_is_refused_before_any_write() {
    // Ingestion checks only the frame (domain::json_frame); these pass it, and the worker's full
    // parse is the first thing it does with them: nothing written, sent or replied, and the record
    // is reported failed every time (it ends in the dead-letter queue, kept).
    let (worker, fakes) = worker(Some("auto reply"), true);
    for body in [
        r#"{"a":}"#,
        "{not json}",
        "{\"object\":\"\t\"}",
        r#"{"entry":[]}{"entry":[]}"#,
    ] {
        assert!(crate::domain::json_frame::check(body.as_bytes()).is_ok(), "{body}");
        for receive_count in 1..=3 {
            let response = worker
                .handle(
                    event(vec![record(
                        "x",
                        Some("meta-webhook"),
                        body,
                        receive_count,
                        EVENTS_QUEUE_ARN,
                    )]),
                    deadline(),
                )
                .await;
            assert_eq!(response.batch_item_failures.len(), 1, "{body}");
        }
    }
    {
        let tables = fakes.store.tables();
        assert!(tables.messages.is_empty() && tables.contacts.is_empty() && tables.events.is_empty());
    }
    assert!(fakes.graph.state().calls.is_empty());
    assert!(fakes.queue.messages().is_empty());
    assert_eq!(fakes.blobs.faults.calls("get"), 0);
}

#[tokio::test]
async fn an_offloaded_payload_that_cannot_be_read_is_retried() {
    let (worker, fakes) = worker(None, false);
    let pointer = crate::domain::envelope::S3Pointer {
        bucket: "payloads".to_owned(),
        key: "k".to_owned(),
    };
    fakes
        .blobs
        .put("k", inbound_webhook("wamid.L", "972500000009").into_bytes())
        .await
        .unwrap();
    fakes.blobs.faults.fail_next("get", 1, Fault::Transient);
    let body = pointer.to_body();
    assert!(!deliver(&worker, "p", &body, 1).await);
    assert!(deliver(&worker, "p", &body, 2).await);
    assert!(fakes.store.tables().messages.contains_key("wamid.L"));
}

#[tokio::test]
async fn inbound_messages_get_a_read_receipt_and_one_auto_reply_on_the_send_queue() {
    let (worker, fakes) = worker(Some("Thanks, we will answer soon."), true);
    let body = inbound_webhook("wamid.IN", "972500000003");
    for receive in 1..=2 {
        let response = worker
            .handle(
                event(vec![record(
                    "in",
                    Some("meta-webhook"),
                    &body,
                    receive,
                    EVENTS_QUEUE_ARN,
                )]),
                deadline(),
            )
            .await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(
        fakes.graph.state().marked_read.len(),
        2,
        "read receipts are best effort, every delivery"
    );
    let queued = fakes.queue.take_sent();
    assert_eq!(queued.len(), 2, "queued again on redelivery; the claim sends it once");
    let reply_id = outbound::auto_reply_id("wamid.IN");
    assert_eq!(fakes.store.tables().outbound.len(), 1);
    assert!(fakes.store.outbound(&reply_id).is_some());
}

#[tokio::test]
async fn with_the_typing_indicator_on_the_read_receipt_shows_typing_and_without_it_does_not() {
    for typing in [false, true] {
        let (mut worker, fakes) = worker(None, true);
        if let Some(sending) = worker.sending.as_mut() {
            sending.typing_indicator = typing;
        }
        let body = inbound_webhook("wamid.T", "972504370045");
        let response = worker
            .handle(
                event(vec![record("in", Some("meta-webhook"), &body, 1, EVENTS_QUEUE_ARN)]),
                deadline(),
            )
            .await;
        assert!(response.batch_item_failures.is_empty());
        let state = fakes.graph.state();
        assert_eq!(state.marked_read, vec![crate::domain::ids::Wamid::new("wamid.T")]);
        let expected = if typing { state.marked_read.clone() } else { vec![] };
        assert_eq!(state.typing, expected, "typing {typing}");
    }
}

#[tokio::test]
async fn a_user_known_only_by_id_is_answered_from_the_number_it_wrote_to() {
    let (worker, fakes) = worker(Some("Thanks!"), true);
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783882",
            "phone_number_id": SECOND_NUMBER},
        "contacts": [{"user_id": "US.13491208655302741918", "profile": {"name": "Dana"}}],
        "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.U", "timestamp": "1800000000",
            "type": "text", "text": {"body": "hello"}}]}}]}]})
    .to_string();
    assert!(deliver(&worker, "in", &body, 1).await);
    assert_eq!(fakes.graph.state().read_by, vec![SECOND_NUMBER.to_owned()]);
    // The window is kept for that number and that user.
    let windows = fakes.store.tables().windows.clone();
    assert_eq!(
        windows.keys().collect::<Vec<_>>(),
        vec![&("US.13491208655302741918".to_owned(), SECOND_NUMBER.to_owned())]
    );
    let queued = fakes.queue.take_sent();
    assert_eq!(queued.len(), 1);
    let job: SendJob = serde_json::from_str(&queued[0].body).expect("a send job");
    assert_eq!(job.from.as_deref(), Some(SECOND_NUMBER));
    assert_eq!(job.to, ContactId::User("US.13491208655302741918".to_owned()));
    assert_eq!(
        job.payload,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "recipient": "US.13491208655302741918", "type": "text", "text": {"body": "Thanks!"},
               "context": {"message_id": "wamid.U"}})
    );
    let response = worker
        .handle(
            event(vec![record(
                "s",
                Some("send-message"),
                &queued[0].body,
                1,
                SEND_QUEUE_ARN,
            )]),
            deadline(),
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    let state = fakes.graph.state();
    assert_eq!(state.senders, vec![SECOND_NUMBER.to_owned()]);
    assert_eq!(state.calls[0]["recipient"], "US.13491208655302741918");
    assert!(state.calls[0].get("to").is_none());
}

#[tokio::test]
async fn a_job_without_from_goes_out_from_the_first_number_and_one_with_from_from_that_one() {
    let (worker, fakes) = worker(None, false);
    let first = queued_message(&fakes.store, "default").await;
    let mut second = queued_message(&fakes.store, "named").await;
    second.from = Some(PhoneNumberId::new(SECOND_NUMBER));
    for (i, job) in [&first, &second].into_iter().enumerate() {
        let body = serde_json::to_string(job).expect("serializes");
        let response = worker
            .handle(
                event(vec![record(
                    &format!("s{i}"),
                    Some("send-message"),
                    &body,
                    1,
                    SEND_QUEUE_ARN,
                )]),
                deadline(),
            )
            .await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(
        fakes.graph.state().senders,
        vec![FIRST_NUMBER.to_owned(), SECOND_NUMBER.to_owned()]
    );
}

#[tokio::test]
async fn a_failing_auto_reply_fails_the_record_but_a_failing_read_receipt_does_not() {
    let (worker, fakes) = worker(Some("auto"), true);
    fakes.queue.faults.fail_next("send", 1, Fault::Transient);
    let body = inbound_webhook("wamid.AR", "972500000004");
    assert!(!deliver(&worker, "ar", &body, 1).await);
    fakes.store.faults.fail_next("create_outbound", 1, Fault::Transient);
    assert!(!deliver(&worker, "ar", &body, 2).await);
    assert!(deliver(&worker, "ar", &body, 3).await);
}

// ------------------------------------------------------------------ sending: one delivery

#[tokio::test]
async fn a_send_job_goes_out_once_with_the_message_id_for_meta_to_echo() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "plain").await;
    let body = serde_json::to_string(&job).unwrap();
    let response = worker
        .handle(
            event(vec![record("s", Some("send-message"), &body, 1, SEND_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    let calls = fakes.graph.state().calls.clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["biz_opaque_callback_data"], job.message_id.as_str());
    let item = fakes.store.outbound(&job.message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Accepted);
    assert_eq!(item.wamid.as_ref().map(|w| w.as_str()), Some("wamid.fake1"));
    // The same job again: settled, acked, nothing sent.
    let again = worker
        .handle(
            event(vec![record("s", Some("send-message"), &body, 2, SEND_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(fakes.graph.state().calls.len(), 1);
}

#[tokio::test]
async fn a_duplicate_delivery_of_a_held_job_goes_back_for_the_rest_of_the_lease() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "dup").await;
    let body = serde_json::to_string(&job).unwrap();
    // Copy A holds the claim (its Graph call hangs); copy B arrives meanwhile.
    fakes.graph.script([GraphAnswer::AcceptThenHang]);
    let copy_a = record("a", Some("send-message"), &body, 1, SEND_QUEUE_ARN);
    let copy_b = record("b", Some("send-message"), &body, 1, SEND_QUEUE_ARN);
    let a = worker.handle(event(vec![copy_a]), deadline());
    let b = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        worker.handle(event(vec![copy_b]), deadline()).await
    };
    let (a, b) = tokio::join!(a, b);
    assert_eq!(
        b.batch_item_failures.len(),
        1,
        "copy B must not be acked while A holds the claim"
    );
    let redelivered = fakes.queue.redelivered();
    let b_delay = redelivered
        .iter()
        .find(|(_, receipt, _)| receipt.starts_with("b/"))
        .unwrap()
        .2;
    assert!(
        (LEASE_SECONDS..=LEASE_SECONDS * 6 / 5 + 2).contains(&b_delay),
        "{b_delay}"
    );
    // A's call timed out after the request was written: unknown, back after the window.
    assert_eq!(a.batch_item_failures.len(), 1);
    assert_eq!(
        fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Unknown
    );
    assert_eq!(fakes.graph.taken_count(job.message_id.as_str()), 1);
}

#[tokio::test]
async fn no_send_starts_without_time_to_finish_it() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "late").await;
    let body = serde_json::to_string(&job).unwrap();
    let response = worker
        .handle(
            event(vec![record("l", Some("send-message"), &body, 1, SEND_QUEUE_ARN)]),
            Instant::now() + Duration::from_millis(100),
        )
        .await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(fakes.graph.state().calls.is_empty());
    assert_eq!(
        fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Queued
    );
}

#[tokio::test]
async fn pair_rate_limits_back_off_four_to_the_n_seconds() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "pair").await;
    let body = serde_json::to_string(&job).unwrap();
    fakes
        .graph
        .script([GraphAnswer::refuse(400, 131056), GraphAnswer::refuse(400, 131056)]);
    for (receive, expected) in [(1u32, 4u32), (2, 16)] {
        worker
            .handle(
                event(vec![record("p", Some("send-message"), &body, receive, SEND_QUEUE_ARN)]),
                deadline(),
            )
            .await;
        let delay = fakes.queue.redelivered().last().unwrap().2;
        assert!(
            (expected..=expected + expected / 5).contains(&delay),
            "{receive}: {delay}"
        );
        assert_eq!(
            fakes.store.outbound(&job.message_id).unwrap().status,
            OutboundStatus::Queued
        );
    }
}

// ------------------------------------------------------------------ sending: the simulation
// (`testing::send_sim`: SQS and Meta around the worker, on any store.)

/// The job through the simulation; the message's final state and how often Meta took it.
async fn simulate(
    key: &str,
    answers: Vec<GraphAnswer>,
    store_faults: &[(&'static str, usize, Fault)],
    status_delay: Option<i64>,
) -> (OutboundStatus, usize, Sim, MessageId) {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, key).await;
    fakes.graph.script(answers);
    for (operation, successes, fault) in store_faults {
        fakes.store.faults.fail_after(operation, *successes, *fault);
    }
    let mut sim = Sim::new(worker, fakes, status_delay);
    sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
    sim.run().await;
    let status = sim.fakes.store.outbound(&job.message_id).unwrap().status;
    let taken = sim.fakes.graph.taken_count(job.message_id.as_str());
    (status, taken, sim, job.message_id)
}

#[tokio::test]
async fn every_write_of_the_send_path_failing_in_turn_never_sends_twice_nor_loses_the_message() {
    let writes = ["claim", "mark_accepted", "release", "mark_failed", "mark_unknown"];
    let faults = [
        Fault::Transient,
        Fault::Permanent,
        Fault::Hang,
        Fault::AppliedThenTransient,
    ];
    let answers = [
        vec![GraphAnswer::Accept],
        vec![GraphAnswer::refuse(500, 131000), GraphAnswer::Accept],
        vec![GraphAnswer::refuse(400, 131026); 3],
        vec![GraphAnswer::AcceptThenAmbiguous],
        vec![GraphAnswer::AcceptBodyLost],
        vec![GraphAnswer::NotSent, GraphAnswer::Accept],
    ];
    let mut runs = 0;
    for write in writes {
        for fault in faults {
            for answer in &answers {
                for status_delay in [Some(5), None] {
                    let key = format!("{write}-{fault:?}-{answer:?}-{status_delay:?}");
                    let (status, taken, sim, message_id) =
                        simulate(&key, answer.clone(), &[(write, 0, fault)], status_delay).await;
                    runs += 1;
                    let refused_for_good =
                        matches!(answer.first(), Some(GraphAnswer::Refuse(e)) if e.code == Some(131026));
                    if refused_for_good {
                        assert_eq!((status, taken), (OutboundStatus::Failed, 0), "{key}");
                        continue;
                    }
                    // At most one copy unless the one resend after an unresolved unknown outcome
                    // happened, and then only when no status could have told us.
                    let item = sim.fakes.store.outbound(&message_id).unwrap();
                    assert!(taken <= 1 + item.resends as usize, "{key}: taken {taken}");
                    if status_delay.is_some() {
                        assert_eq!(taken, 1, "{key}: with status webhooks nothing is resent");
                    }
                    assert!(taken >= 1, "{key}: the message was lost ({status:?})");
                    assert!(
                        matches!(status, OutboundStatus::Accepted | OutboundStatus::Unknown),
                        "{key}: {status:?}"
                    );
                    assert!(
                        sim.dead_letters.iter().all(|m| m.kind != "send-message"),
                        "{key}: a send job died"
                    );
                }
            }
        }
    }
    assert_eq!(runs, 240);
}

#[tokio::test]
async fn an_ambiguous_answer_is_resolved_by_the_status_webhook_not_resent() {
    let (status, taken, sim, message_id) =
        simulate("ambiguous", vec![GraphAnswer::AcceptThenAmbiguous], &[], Some(30)).await;
    assert_eq!((status, taken), (OutboundStatus::Accepted, 1));
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.wamid.as_ref().map(|w| w.as_str()), Some("wamid.fake1"));
    assert_eq!(item.resends, 0);
    let view = sim.fakes.store.view(message_id.as_str()).await.unwrap().unwrap();
    assert_eq!(view.status.as_deref(), Some("delivered"));
}

#[tokio::test]
async fn an_unknown_outcome_no_status_resolves_is_resent_once_after_the_window() {
    let (status, taken, sim, message_id) =
        simulate("unresolved", vec![GraphAnswer::AcceptThenAmbiguous], &[], None).await;
    assert_eq!((status, taken), (OutboundStatus::Accepted, 2));
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.resends, 1);
    assert!(sim.fakes.store.now() - 1_800_000_000 >= i64::from(RECONCILE_SECONDS));
    // Twice ambiguous: it stays unknown, never a third copy.
    let (status, taken, ..) = simulate(
        "twice",
        vec![GraphAnswer::AcceptThenAmbiguous, GraphAnswer::AcceptThenAmbiguous],
        &[],
        None,
    )
    .await;
    assert_eq!((status, taken), (OutboundStatus::Unknown, 2));
}

#[tokio::test]
async fn meta_accepted_but_the_record_failed_lands_through_the_queue() {
    // The table refuses the accepted write: the outcome is queued and recorded later, no resend.
    let (status, taken, sim, message_id) = simulate(
        "deferred",
        vec![GraphAnswer::Accept],
        &[("mark_accepted", 0, Fault::Transient)],
        None,
    )
    .await;
    assert_eq!((status, taken), (OutboundStatus::Accepted, 1));
    assert_eq!(
        sim.fakes
            .store
            .outbound(&message_id)
            .unwrap()
            .wamid
            .as_ref()
            .map(|w| w.as_str()),
        Some("wamid.fake1")
    );
    // Table and queue both down right after Meta accepted: the claim lapses, the message is
    // unknown, and its status webhook ties it to the wamid.
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "both-down").await;
    fakes.store.faults.fail_next("mark_accepted", 1, Fault::Transient);
    fakes.queue.faults.fail_next("send", 1, Fault::Transient);
    let mut sim = Sim::new(worker, fakes, Some(600));
    sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
    sim.run().await;
    let item = sim.fakes.store.outbound(&job.message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Accepted);
    assert_eq!(sim.fakes.graph.taken_count(job.message_id.as_str()), 1);
}

#[tokio::test]
async fn a_crash_at_each_await_point_never_sends_twice() {
    // Hang each port call of the send path in turn and drop the invocation there, as a
    // Lambda timeout or a killed sandbox would.
    for (operation, port) in [
        ("claim", "store"),
        ("mark_accepted", "store"),
        ("send", "graph"),
        ("send", "queue"),
    ] {
        for status_delay in [Some(5), None] {
            let (worker, fakes) = worker(None, false);
            let job = queued_message(&fakes.store, &format!("crash-{operation}-{port}-{status_delay:?}")).await;
            match port {
                "store" => {
                    fakes.store.faults.fail_next(operation, 1, Fault::Hang);
                }
                "graph" => {
                    fakes.graph.script([GraphAnswer::AcceptThenHang]);
                }
                _ => {
                    fakes.store.faults.fail_next("mark_accepted", 1, Fault::Transient);
                    fakes.queue.faults.fail_next("send", 1, Fault::Hang);
                }
            }
            let mut sim = Sim::new(worker, fakes, status_delay);
            sim.crash_after = Some(Duration::from_millis(40));
            sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
            sim.run().await;
            let item = sim.fakes.store.outbound(&job.message_id).unwrap();
            let taken = sim.fakes.graph.taken_count(job.message_id.as_str());
            assert!(taken >= 1, "{operation}/{port}: lost");
            assert!(taken <= 1 + item.resends as usize, "{operation}/{port}: {taken}");
            if status_delay.is_some() {
                assert_eq!(
                    taken, 1,
                    "{operation}/{port}: resent although a status could resolve it"
                );
            }
            assert!(item.status.is_settled() || item.status == OutboundStatus::Unknown);
        }
    }
}

#[tokio::test]
async fn an_expired_token_is_retried_until_it_is_rotated_then_the_message_goes_out() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "token").await;
    fakes.graph.state().token_expired = true;
    let mut sim = Sim::new(worker, fakes, None);
    sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
    for _ in 0..3 {
        sim.step().await;
    }
    assert_eq!(
        sim.fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Queued
    );
    assert!(sim.fakes.graph.state().refreshes >= 3, "each 190 reads the token again");
    sim.fakes.graph.state().token_rotated = true;
    sim.run().await;
    assert_eq!(
        sim.fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Accepted
    );
    assert_eq!(sim.fakes.graph.taken_count(job.message_id.as_str()), 1);
}

#[tokio::test]
async fn a_message_whose_receives_run_out_is_failed_with_its_last_error() {
    let (status, taken, sim, message_id) =
        simulate("exhausted", vec![GraphAnswer::refuse(400, 130429); 20], &[], None).await;
    assert_eq!((status, taken), (OutboundStatus::Failed, 0));
    assert!(
        sim.dead_letters.is_empty(),
        "its fate is recorded, not left in the dead-letter queue"
    );
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.errors.as_ref().and_then(|e| e.code), Some(130429));
    assert_eq!(item.attempts, MAX_RECEIVES);
}

#[tokio::test]
async fn sends_to_one_recipient_past_the_burst_wait_on_the_queue_not_in_a_sleep() {
    let (mut worker, fakes) = worker(None, false);
    if let Some(sending) = worker.sending.as_mut() {
        sending.policy.pace = Some(Pace {
            interval_ms: 6_000,
            burst: 2,
        });
    }
    let mut bodies = Vec::new();
    for key in ["p1", "p2", "p3"] {
        bodies.push(serde_json::to_string(&queued_message(&fakes.store, key).await).unwrap());
    }
    for (n, body) in bodies.iter().enumerate() {
        let response = worker
            .handle(
                event(vec![record(
                    &format!("r{n}"),
                    Some("send-message"),
                    body,
                    1,
                    SEND_QUEUE_ARN,
                )]),
                deadline(),
            )
            .await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(fakes.graph.state().calls.len(), 2, "a burst of 2, then the pace");
    let delayed = fakes.queue.take_sent();
    assert_eq!(delayed.len(), 1);
    assert!(
        (6..=7).contains(&delayed[0].delay_seconds),
        "{}",
        delayed[0].delay_seconds
    );
    assert_eq!(delayed[0].body, bodies[2], "the same job, later");
    // The claim taken beside the pacing was given back: queued, held by no attempt, the wait noted.
    let paced: SendJob = serde_json::from_str(&bodies[2]).unwrap();
    let item = fakes.store.outbound(&paced.message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Queued);
    assert_eq!(item.attempts, 1, "{item:?}");
    assert!(
        item.last_error
            .as_ref()
            .and_then(|error| error.message.as_deref())
            .is_some_and(|message| message.starts_with("paced")),
        "{:?}",
        item.last_error
    );
    // A pacing store that fails does not hold a message back.
    fakes.store.faults.fail_next("pace", 1, Fault::Transient);
    let response = worker
        .handle(
            event(vec![record("r9", Some("send-message"), &bodies[2], 1, SEND_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(fakes.graph.state().calls.len(), 3);
}

#[tokio::test]
async fn a_paced_claim_the_table_will_not_give_back_is_given_back_through_the_queue() {
    let (mut worker, fakes) = worker(None, false);
    if let Some(sending) = worker.sending.as_mut() {
        sending.policy.pace = Some(Pace {
            interval_ms: 6_000,
            burst: 1,
        });
    }
    let first = serde_json::to_string(&queued_message(&fakes.store, "q1").await).unwrap();
    let second = serde_json::to_string(&queued_message(&fakes.store, "q2").await).unwrap();
    let send = |id: &'static str, body: String| {
        let worker = &worker;
        async move {
            worker
                .handle(
                    event(vec![record(id, Some("send-message"), &body, 1, SEND_QUEUE_ARN)]),
                    deadline(),
                )
                .await
        }
    };
    assert!(send("r1", first).await.batch_item_failures.is_empty());
    fakes.store.faults.fail_next("release", 1, Fault::Transient);
    let response = send("r2", second.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1, "back after the pace");
    assert_eq!(fakes.graph.state().calls.len(), 1, "the second waits for its slot");
    // The release went on the queue, and is recorded from there: the message is queued again.
    let outcome = fakes.queue.take_sent();
    assert_eq!(outcome.len(), 1);
    assert!(outcome[0].body.contains("released"), "{}", outcome[0].body);
    let job: SendJob = serde_json::from_str(&second).unwrap();
    assert_eq!(
        fakes.store.outbound(&job.message_id).unwrap().status,
        OutboundStatus::Sending
    );
    let kind = outcome[0]
        .attributes
        .iter()
        .find(|(name, _)| name == "kind")
        .map(|(_, value)| value.clone());
    let recorded = worker
        .handle(
            event(vec![record("o1", kind.as_deref(), &outcome[0].body, 1, SEND_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert!(recorded.batch_item_failures.is_empty());
    let item = fakes.store.outbound(&job.message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Queued, "{item:?}");
}

// ------------------------------------------------------------------ events out

fn publishing_worker() -> (TestWorker, Fakes, FakeEventBus) {
    let (worker, fakes) = worker(None, false);
    let bus = FakeEventBus::new();
    let mut publishing = super::Publishing::new(bus.clone());
    publishing.resend_after = vec![Duration::from_millis(1), Duration::from_millis(1)];
    (worker.with_events(publishing), fakes, bus)
}

async fn deliver(worker: &TestWorker, id: &str, body: &str, receive_count: u32) -> bool {
    let batch = event(vec![record(
        id,
        Some("meta-webhook"),
        body,
        receive_count,
        EVENTS_QUEUE_ARN,
    )]);
    worker.handle(batch, deadline()).await.batch_item_failures.is_empty()
}

/// Runs the worker over `job` as a `send-message` record: whether it succeeded.
async fn send_once(worker: &TestWorker, job: &SendJob, receive_count: u32) -> bool {
    let body = serde_json::to_string(job).expect("a job serializes");
    let batch = event(vec![record(
        "send",
        Some("send-message"),
        &body,
        receive_count,
        SEND_QUEUE_ARN,
    )]);
    worker.handle(batch, deadline()).await.batch_item_failures.is_empty()
}

fn of_type(bus: &FakeEventBus, detail_type: &str) -> Vec<crate::domain::events::BusEvent> {
    bus.published()
        .into_iter()
        .filter(|event| event.detail_type == detail_type)
        .collect()
}

#[tokio::test]
async fn an_inbound_message_publishes_one_schema_valid_message_received() {
    let (worker, _fakes, bus) = publishing_worker();
    assert!(deliver(&worker, "m1", &inbound_webhook("wamid.IN1", "972500000001"), 1).await);
    let received = of_type(&bus, "message.received");
    assert_eq!(received.len(), 1, "{:?}", bus.published());
    let detail = &received[0].detail;
    crate::testing::schema::assert_valid("message.received", detail);
    assert_eq!(detail["wamid"], "wamid.IN1");
    assert_eq!(detail["text"]["body"], "hello");
    assert_eq!(detail["contact"]["wa_id"], "972500000001");
    assert_eq!(detail["contact"]["profile_name"], "Dana");
    assert_eq!(detail["event_id"], received[0].event_id.as_str());

    // Meta delivers the same webhook again (a new queue message): the write changes nothing, no event.
    assert!(deliver(&worker, "m2", &inbound_webhook("wamid.IN1", "972500000001"), 1).await);
    assert_eq!(of_type(&bus, "message.received").len(), 1);
    // The queue delivers a record again (its first try may have failed to publish): the same event id.
    assert!(deliver(&worker, "m1", &inbound_webhook("wamid.IN1", "972500000001"), 2).await);
    let again = of_type(&bus, "message.received");
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].event_id, again[0].event_id);
}

#[tokio::test]
async fn statuses_publish_only_when_they_move_the_message_forward() {
    let (worker, _fakes, bus) = publishing_worker();
    let callback = outbound::id_for_key("test", "k1");
    for (n, status) in ["sent", "delivered", "read"].into_iter().enumerate() {
        let body = status_webhook("wamid.OUT1", status, Some(callback.as_str()));
        assert!(deliver(&worker, &format!("s{n}"), &body, 1).await);
    }
    let statuses = of_type(&bus, "message.status");
    let names: Vec<&str> = statuses.iter().filter_map(|e| e.detail["status"].as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
    for event in &statuses {
        crate::testing::schema::assert_valid("message.status", &event.detail);
        assert_eq!(event.detail["message_id"], callback.as_str());
        assert_eq!(event.detail["recipient"]["wa_id"], "972504370045");
    }
    // Late and duplicate statuses change nothing: nothing published.
    assert!(deliver(&worker, "late", &status_webhook("wamid.OUT1", "delivered", None), 1).await);
    assert!(deliver(&worker, "dup", &status_webhook("wamid.OUT1", "read", None), 1).await);
    // Even redelivered, a stale status publishes nothing.
    assert!(deliver(&worker, "late", &status_webhook("wamid.OUT1", "delivered", None), 2).await);
    assert_eq!(of_type(&bus, "message.status").len(), 3);
    // Redelivered, the current status is published again, with its id.
    assert!(
        deliver(
            &worker,
            "s2",
            &status_webhook("wamid.OUT1", "read", Some(callback.as_str())),
            2
        )
        .await
    );
    let statuses = of_type(&bus, "message.status");
    assert_eq!(statuses.len(), 4);
    assert_eq!(statuses[3].event_id, statuses[2].event_id);
}

#[tokio::test]
async fn put_events_failing_fails_the_record_and_its_redelivery_publishes() {
    let (worker, fakes, bus) = publishing_worker();
    // Every try of the first delivery fails (the call and both resends).
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    let body = inbound_webhook("wamid.IN2", "972500000002");
    assert!(!deliver(&worker, "m", &body, 1).await, "the record must fail");
    assert!(
        fakes.store.tables().messages.contains_key("wamid.IN2"),
        "the message is recorded"
    );
    assert!(bus.published().is_empty());
    assert_eq!(bus.calls().len(), 3, "the call and two resends");
    // SQS delivers it again: recorded already, published now.
    assert!(deliver(&worker, "m", &body, 2).await);
    let received = of_type(&bus, "message.received");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].detail["wamid"], "wamid.IN2");
}

#[tokio::test]
async fn a_partial_failure_resends_only_the_failed_entries() {
    let (worker, _fakes, bus) = publishing_worker();
    // 12 statuses of 12 messages in one webhook: two calls (10 + 2); the 2nd and 3rd entries refused once.
    let statuses: Vec<Value> = (0..12)
        .map(|i| {
            json!({"id": format!("wamid.P{i}"), "status": "sent", "timestamp": "1800000100",
            "recipient_id": "972504370045"})
        })
        .collect();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"}, "statuses": statuses}}]}]})
    .to_string();
    bus.faults
        .fail_after("put_event_entry", 1, Fault::Transient)
        .fail_next("put_event_entry", 1, Fault::Transient);
    assert!(deliver(&worker, "p", &body, 1).await);
    assert_eq!(bus.calls(), [10, 2, 2], "then one resend of the two refused entries");
    let mut wamids: Vec<String> = of_type(&bus, "message.status")
        .iter()
        .map(|e| e.detail["wamid"].as_str().unwrap().to_owned())
        .collect();
    wamids.sort();
    wamids.dedup();
    assert_eq!(wamids.len(), 12, "every status published, none twice: {wamids:?}");
    assert_eq!(of_type(&bus, "message.status").len(), 12);
}

#[tokio::test]
async fn a_partial_failure_that_persists_fails_the_record() {
    let (worker, _fakes, bus) = publishing_worker();
    bus.faults.fail_next("put_event_entry", 3, Fault::Transient);
    let body = inbound_webhook("wamid.IN3", "972500000003");
    assert!(!deliver(&worker, "m", &body, 1).await);
    assert!(bus.published().is_empty());
    assert!(deliver(&worker, "m", &body, 2).await);
    assert_eq!(of_type(&bus, "message.received").len(), 1);
}

#[tokio::test]
async fn nothing_is_published_before_the_write_succeeded() {
    let (worker, _fakes, bus) = publishing_worker();
    worker.store.faults.fail_next("record_inbound", 1, Fault::Transient);
    assert!(!deliver(&worker, "m", &inbound_webhook("wamid.IN4", "972500000004"), 1).await);
    assert!(bus.published().is_empty(), "{:?}", bus.published());
    assert_eq!(bus.calls().len(), 0);
}

#[tokio::test]
async fn other_fields_publish_whatsapp_field_events_raw() {
    let (worker, _fakes, bus) = publishing_worker();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
        {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 42,
            "message_template_name": "hello", "message_template_language": "en_US"}}]}]})
    .to_string();
    assert!(deliver(&worker, "t", &body, 1).await);
    let events = of_type(&bus, "whatsapp.message_template_status_update");
    assert_eq!(events.len(), 1, "{:?}", bus.published());
    crate::testing::schema::assert_valid(&events[0].detail_type, &events[0].detail);
    assert_eq!(events[0].detail["value"]["event"], "APPROVED");
    assert!(deliver(&worker, "t2", &body, 1).await, "a duplicate");
    assert_eq!(of_type(&bus, "whatsapp.message_template_status_update").len(), 1);
}

/// A webhook with one change of a field the bundle stores raw, its value about `bytes` long.
fn raw_event_webhook(bytes: usize) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "message_template_components_update",
        "value": {"components": "x".repeat(bytes)}}]}]})
    .to_string()
}

#[tokio::test]
async fn a_raw_event_over_the_item_limit_goes_to_the_payload_bucket_and_its_item_points_there() {
    let (worker, fakes) = worker(None, false);
    let body = raw_event_webhook(600 * 1024);
    let answer = worker
        .handle(
            event(vec![record("big", Some("meta-webhook"), &body, 1, EVENTS_QUEUE_ARN)]),
            deadline(),
        )
        .await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(fakes.store.tables().events.len(), 1);
    let objects = fakes.blobs.objects();
    assert_eq!(objects.len(), 1);
    let ((bucket, key), payload) = objects.into_iter().next().unwrap();
    assert_eq!(bucket, "payloads");
    assert!(
        key.starts_with("events/message_template_components_update/WABA/"),
        "{key}"
    );
    let payload: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(payload["components"].as_str().map(str::len), Some(600 * 1024));

    // Redelivered: the same object, the same event, recorded once.
    assert!(deliver(&worker, "big", &body, 2).await);
    assert_eq!(fakes.blobs.objects().len(), 1);
    assert_eq!(fakes.store.tables().events.len(), 1);

    // The bucket down: retried, not dead-lettered.
    let (worker, fakes) = self::worker(None, false);
    fakes.blobs.faults.fail_next("put", 1, Fault::Transient);
    let failed = worker
        .process(
            &record("big", Some("meta-webhook"), &body, 1, EVENTS_QUEUE_ARN),
            deadline(),
        )
        .await;
    assert!(
        matches!(failed, Err(super::RecordError::Transient { .. })),
        "{failed:?}"
    );
    // A small raw event stays in its item.
    let small = worker
        .process(
            &record(
                "small",
                Some("meta-webhook"),
                &raw_event_webhook(1024),
                1,
                EVENTS_QUEUE_ARN,
            ),
            deadline(),
        )
        .await;
    assert!(small.is_ok(), "{small:?}");
    assert!(fakes.blobs.objects().is_empty());
}

mod batch_events;
mod calls;
mod echoes;
mod fates;
mod health;
mod media;
mod pricing;
mod properties;
mod send_events;

#[tokio::test(start_paused = true)]
async fn a_status_whose_link_hangs_fails_within_the_store_bound_and_comes_back_in_seconds() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "link-hangs").await;
    fakes.store.faults.fail_next("mark_accepted", 1, Fault::Hang);
    let body = status_webhook("wamid.hangs", "delivered", Some(job.message_id.as_str()));
    let started = Instant::now();
    let delivered = tokio::time::timeout(Duration::from_secs(10), deliver(&worker, "s", &body, 1)).await;
    assert_eq!(
        delivered,
        Ok(false),
        "the record fails in time: its link did not answer"
    );
    // Bounded by the store timeout (100 ms here), not the invocation's.
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let delays: Vec<u32> = fakes
        .queue
        .redelivered()
        .iter()
        .map(|(_, _, seconds)| *seconds)
        .collect();
    assert_eq!(delays.len(), 1, "the record's retry delay was set");
    assert!(
        (super::WEBHOOK_WRITE_RETRY_SECONDS..=super::WEBHOOK_WRITE_RETRY_SECONDS + 1).contains(&delays[0]),
        "{delays:?}"
    );
    // The status itself was recorded and names the send: its resend will find it.
    assert_eq!(
        fakes.store.linked_wamid(&job.message_id).await.unwrap(),
        Some(crate::domain::ids::Wamid::new("wamid.hangs"))
    );
}

#[tokio::test]
async fn the_rate_limiter_takes_no_slot_it_cannot_use() {
    let limiter = super::sending::RateLimiter::new(1);
    let now = Instant::now();
    let first = limiter
        .slot_by(now + Duration::from_millis(50))
        .await
        .expect("a free slot");
    // Ten callers whose deadline is too near for the next slot take nothing.
    for _ in 0..10 {
        assert_eq!(limiter.slot_by(now + Duration::from_millis(50)).await, None);
    }
    let next = limiter
        .slot_by(now + Duration::from_secs(5))
        .await
        .expect("the next slot");
    assert_eq!(
        next - first,
        Duration::from_millis(1_025),
        "the refused callers pushed nothing out (one window: a second and its margin)"
    );
}

#[tokio::test]
async fn a_job_bouncing_on_its_last_receive_is_requeued_fresh_not_dead_lettered() {
    let (worker, fakes) = worker(None, false);
    let job = queued_message(&fakes.store, "bounce-last").await;
    // Another attempt holds a fresh claim: this delivery can only bounce.
    fakes
        .store
        .claim(&job.message_id, &outbound::new_attempt(&job.message_id), policy().terms)
        .await
        .unwrap();
    let body = serde_json::to_string(&job).unwrap();
    let last = record("j", Some("send-message"), &body, MAX_RECEIVES, SEND_QUEUE_ARN);
    let response = worker.handle(event(vec![last]), deadline()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "acknowledged: a copy replaces it"
    );
    let copies: Vec<SendJob> = fakes
        .queue
        .messages()
        .iter()
        .filter_map(|message| serde_json::from_str::<SendJob>(&message.body).ok())
        .collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        (copies[0].message_id.clone(), copies[0].requeued),
        (job.message_id.clone(), 1)
    );
    // Bounces on every delivery of every copy: a message still queued is failed with the reason.
    let exhausted = SendJob {
        requeued: super::sending::MAX_REQUEUES,
        ..queued_message(&fakes.store, "bounce-every-time").await
    };
    let body = serde_json::to_string(&exhausted).unwrap();
    let last = record("k", Some("send-message"), &body, MAX_RECEIVES, SEND_QUEUE_ARN);
    // Too little time to send in every invocation.
    let response = worker.handle(event(vec![last]), Instant::now()).await;
    assert!(response.batch_item_failures.is_empty());
    let item = fakes.store.outbound(&exhausted.message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Failed);
    assert!(
        item.errors
            .and_then(|e| e.message)
            .is_some_and(|m| m.contains("bounced")),
        "the reason is recorded"
    );
}
