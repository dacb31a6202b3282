//! Per-message pricing through the worker: `message.status` carries the message's latest pricing (a
//! `read` without one carries its `delivered`'s), and the month's usage counts each message once,
//! whatever is delivered twice; a count that fails fails its record, and the redelivery counts once.

use super::*;
use crate::ports::UsageStore;

fn priced_webhook(wamid: &str, status: &str, pricing: Option<Value>) -> String {
    let mut body: Value = serde_json::from_str(&status_webhook(wamid, status, None)).expect("json");
    if let Some(pricing) = pricing {
        body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] = pricing;
    }
    body.to_string()
}

fn utility() -> Value {
    json!({"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"})
}

/// `status_webhook`'s time (1800000100): January 2027, UTC.
const MONTH: &str = "2027-01";

#[tokio::test]
async fn a_read_status_carries_the_pricing_of_the_status_before_it_and_each_message_counts_once() {
    let (worker, fakes, bus) = publishing_worker();
    for (n, (status, pricing)) in [
        ("sent", Some(utility())),
        ("delivered", Some(utility())),
        ("read", None),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(
            deliver(
                &worker,
                &format!("p{n}"),
                &priced_webhook("wamid.P1", status, pricing.clone()),
                1
            )
            .await
        );
        // Meta delivers it again (another queue message), and SQS the same record again.
        assert!(
            deliver(
                &worker,
                &format!("p{n}-again"),
                &priced_webhook("wamid.P1", status, pricing.clone()),
                1
            )
            .await
        );
        assert!(
            deliver(
                &worker,
                &format!("p{n}"),
                &priced_webhook("wamid.P1", status, pricing),
                2
            )
            .await
        );
    }
    let statuses = of_type(&bus, "message.status");
    let read = statuses
        .iter()
        .find(|e| e.detail["status"] == "read")
        .expect("read published");
    assert_eq!(read.detail["pricing"], utility());
    for event in &statuses {
        crate::testing::schema::assert_valid("message.status", &event.detail);
        assert_eq!(event.detail["pricing"], utility(), "{}", event.detail);
    }
    let month = fakes.store.usage(MONTH).await.expect("usage");
    assert_eq!((month.total, month.billable, month.free), (1, 1, 0));
    assert_eq!(month.rows[0].category, "utility");
    // A status of a message never priced publishes `pricing: null`.
    assert!(deliver(&worker, "n", &priced_webhook("wamid.P2", "sent", None), 1).await);
    let unpriced = of_type(&bus, "message.status");
    assert_eq!(unpriced.last().expect("published").detail["pricing"], Value::Null);
}

#[tokio::test]
async fn a_failing_status_write_fails_the_record_and_its_redelivery_counts_once() {
    let (worker, fakes, _bus) = publishing_worker();
    let body = priced_webhook("wamid.P3", "delivered", Some(utility()));
    // The write refused: the record fails and nothing is counted.
    fakes.store.faults.fail_next("record_status", 1, Fault::Transient);
    assert!(!deliver(&worker, "f", &body, 1).await, "the record must fail");
    assert_eq!(fakes.store.usage(MONTH).await.expect("usage").total, 0);
    // Applied, its answer lost: the record fails; the redelivery finds it counted.
    fakes
        .store
        .faults
        .fail_next("record_status", 1, Fault::AppliedThenTransient);
    assert!(!deliver(&worker, "f", &body, 2).await, "the record must fail");
    assert!(deliver(&worker, "f", &body, 3).await);
    assert_eq!(fakes.store.usage(MONTH).await.expect("usage").total, 1);
}
