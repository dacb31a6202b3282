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
