//! WhatsApp calls (`calls`): recorded once, announced, and a ringing call rejected by policy.

use super::*;
use crate::domain::records::CallsPolicy;

fn call_webhook(event: &str, call_id: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "calls",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": FIRST_NUMBER},
        "calls": [{"id": call_id, "from": "13175551399", "to": "15550783881", "event": event,
            "direction": "USER_INITIATED", "timestamp": "1800000000", "status": "FAILED", "duration": 0}]}}]}]})
    .to_string()
}

#[tokio::test]
async fn a_ringing_call_is_recorded_announced_and_rejected_once_as_the_number_called() {
    let (worker, fakes, bus) = publishing_worker();
    assert!(deliver(&worker, "call", &call_webhook("connect", "wacid.ONE"), 1).await);

    let received = of_type(&bus, "call.received");
    assert_eq!(received.len(), 1, "{:?}", bus.published());
    crate::testing::schema::assert_valid(&received[0].detail_type, &received[0].detail);
    assert_eq!(received[0].detail["policy"], "reject");
    assert_eq!(received[0].detail["from"], "13175551399");
    assert_eq!(
        fakes.graph.state().call_actions,
        [(FIRST_NUMBER.to_owned(), "wacid.ONE".to_owned(), "reject".to_owned())]
    );
    assert_eq!(fakes.store.tables().calls.len(), 1);
    // Meta delivering the connect again: recorded already, nothing new published.
    assert!(deliver(&worker, "call-again", &call_webhook("connect", "wacid.ONE"), 1).await);
    assert_eq!(of_type(&bus, "call.received").len(), 1);
    assert!(
        fakes.queue.take_sent().is_empty(),
        "a call is no message: no auto-reply"
    );

    assert!(deliver(&worker, "ended", &call_webhook("terminate", "wacid.ONE"), 1).await);
    let ended = of_type(&bus, "call.ended");
    assert_eq!(ended.len(), 1);
    crate::testing::schema::assert_valid(&ended[0].detail_type, &ended[0].detail);
    assert_eq!(ended[0].detail["status"], "FAILED");
    assert_eq!(
        fakes.graph.state().call_actions.len(),
        2,
        "the connect delivered twice was rejected twice (harmless); its end is not rejected"
    );
}

#[tokio::test]
async fn a_reject_that_does_not_reach_meta_fails_the_record_and_its_redelivery_rejects() {
    let (worker, fakes, bus) = publishing_worker();
    fakes
        .graph
        .state()
        .call_faults
        .fail_next("call_action", 1, Fault::Transient);
    let body = call_webhook("connect", "wacid.TWO");
    assert!(
        !deliver(&worker, "call", &body, 1).await,
        "the caller must not be left ringing"
    );
    assert!(
        of_type(&bus, "call.received").is_empty(),
        "not announced before it is answered"
    );
    assert!(deliver(&worker, "call", &body, 2).await);
    assert_eq!(fakes.graph.state().call_actions.len(), 1);
    assert_eq!(of_type(&bus, "call.received").len(), 1);
}

#[tokio::test]
async fn with_the_ignore_policy_a_call_is_recorded_and_announced_but_left_ringing() {
    let (mut worker, fakes, bus) = publishing_worker();
    if let Some(sending) = worker.sending.as_mut() {
        sending.calls_policy = CallsPolicy::Ignore;
    }
    assert!(deliver(&worker, "call", &call_webhook("connect", "wacid.THREE"), 1).await);
    assert!(fakes.graph.state().call_actions.is_empty());
    assert_eq!(of_type(&bus, "call.received")[0].detail["policy"], "ignore");
}

fn replying(worker: &mut TestWorker, cooldown_seconds: u32) {
    if let Some(sending) = worker.sending.as_mut() {
        sending.calls_reply = Some(crate::domain::records::CallsReply {
            text: "We can't take WhatsApp calls yet: write here".to_owned(),
            cooldown_seconds,
        });
    }
}

/// The send jobs queued so far, taken out.
fn queued_jobs(fakes: &Fakes) -> Vec<SendJob> {
    fakes
        .queue
        .take_sent()
        .iter()
        .map(|message| serde_json::from_str(&message.body).expect("a send job"))
        .collect()
}

#[tokio::test]
async fn a_rejected_caller_is_answered_in_writing_once_and_not_again_within_the_cooldown() {
    let (mut worker, fakes, _bus) = publishing_worker();
    replying(&mut worker, 3_600);
    assert!(deliver(&worker, "call", &call_webhook("connect", "wacid.R1"), 1).await);
    let jobs = queued_jobs(&fakes);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].to, ContactId::Phone("13175551399".to_owned()));
    assert_eq!(jobs[0].from.as_ref().map(PhoneNumberId::as_str), Some(FIRST_NUMBER));
    assert_eq!(
        jobs[0].payload["text"]["body"],
        "We can't take WhatsApp calls yet: write here"
    );
    let item = fakes
        .store
        .outbound(&jobs[0].message_id)
        .expect("recorded as a message");
    assert_eq!(item.message.origin, outbound::Origin::CallReply);

    // The same call's webhook again: the same message queued again, and sent once.
    assert!(deliver(&worker, "call-again", &call_webhook("connect", "wacid.R1"), 2).await);
    let again = queued_jobs(&fakes);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, jobs[0].message_id);
    assert!(send_once(&worker, &jobs[0], 1).await);
    assert!(send_once(&worker, &again[0], 1).await);
    assert_eq!(fakes.graph.state().calls.len(), 1, "one reply reached Meta");

    // Another call of the same caller within the cooldown: rejected, not answered again.
    assert!(deliver(&worker, "second", &call_webhook("connect", "wacid.R2"), 1).await);
    assert_eq!(fakes.graph.state().call_actions.len(), 3);
    assert!(queued_jobs(&fakes).is_empty());
    // After it: answered again.
    fakes.store.advance(3_601);
    assert!(deliver(&worker, "third", &call_webhook("connect", "wacid.R3"), 1).await);
    assert_eq!(queued_jobs(&fakes).len(), 1);
}

#[tokio::test]
async fn a_reply_turn_the_table_does_not_give_fails_the_record_and_its_redelivery_answers() {
    let (mut worker, fakes, _bus) = publishing_worker();
    replying(&mut worker, 3_600);
    fakes.store.faults.fail_next("call_reply_turn", 1, Fault::Transient);
    let body = call_webhook("connect", "wacid.R4");
    assert!(!deliver(&worker, "call", &body, 1).await);
    assert!(queued_jobs(&fakes).is_empty());
    assert!(deliver(&worker, "call", &body, 2).await);
    assert_eq!(queued_jobs(&fakes).len(), 1, "the turn is still this call's");
}

#[tokio::test]
async fn an_ignored_call_or_a_call_without_reply_text_gets_no_message() {
    let (mut worker, fakes, _bus) = publishing_worker();
    assert!(deliver(&worker, "call", &call_webhook("connect", "wacid.R5"), 1).await);
    assert!(queued_jobs(&fakes).is_empty(), "no CALLS_REPLY_TEXT: no reply");
    replying(&mut worker, 3_600);
    if let Some(sending) = worker.sending.as_mut() {
        sending.calls_policy = CallsPolicy::Ignore;
    }
    assert!(deliver(&worker, "call", &call_webhook("connect", "wacid.R6"), 1).await);
    assert!(
        queued_jobs(&fakes).is_empty(),
        "a call left ringing is not answered in writing"
    );
}
