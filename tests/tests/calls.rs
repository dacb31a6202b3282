//! WhatsApp calls end to end against the AWS emulator: the Graph stand-in places a signed call
//! (`/_standin/call`), ingestion queues it, the worker records it and rejects it through the
//! Calling API (`CALLS_POLICY=reject`), which the stand-in logs with the call id, and the caller gets
//! `CALLS_REPLY_TEXT` once per cooldown through the send path.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::*;
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

const REPLY: &str = "We cannot take WhatsApp calls yet. Write here.";

/// Runs the worker over everything on the loop's queue (webhooks, the reply's send job, its status
/// webhooks) until `done` holds of the stand-in's call actions and send requests, or 5 s pass.
async fn drain_until(test: &SendLoop, done: impl Fn(&Value, &[Value]) -> bool) -> (Value, Vec<Value>) {
    let mut seen = (Value::Null, Vec::new());
    for _ in 0..50 {
        for batch in test.emu.receive_all(&test.queue.url).await.chunks(10) {
            let event = sqs_event(batch, &test.queue.arn, "us-east-1").unwrap();
            let response = test.worker.handle(event, batch_deadline()).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{:?}",
                response.batch_item_failures
            );
            for message in batch {
                test.emu.delete(&test.queue.url, message).await;
            }
        }
        let actions: Value = serde_json::from_str(
            &integration_tests::http::get(&format!("{}/_standin/call-actions", test.graph_base)).await,
        )
        .unwrap();
        let replies: Vec<Value> = test
            .standin
            .requests()
            .into_iter()
            .filter(|request| request.body["text"]["body"] == REPLY)
            .map(|request| request.body)
            .collect();
        seen = (actions, replies);
        if done(&seen.0, &seen.1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

async fn place_call(test: &SendLoop) -> String {
    let placed = integration_tests::http::client()
        .post(format!("{}/_standin/call", test.graph_base))
        .header("content-type", "application/json")
        .body(json!({"phone_number_id": LOOP_PHONE_NUMBER_ID, "from": "13175551399"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 200);
    let placed: Value = serde_json::from_str(&placed.text().await.unwrap()).unwrap();
    placed["call_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_call_is_recorded_rejected_through_the_calling_api_and_answered_once_per_cooldown() {
    let mut options = LoopOptions::new("calls", "test-calls-api-key-0123456789");
    options.vars = vec![
        ("CALLS_POLICY", "reject"),
        ("CALLS_REPLY_TEXT", REPLY),
        ("CALLS_REPLY_COOLDOWN_SECONDS", "3600"),
        ("EVENT_BUS_NAME", ""),
    ];
    let test = SendLoop::start(options).await;
    let call_id = place_call(&test).await;
    let (actions, replies) = drain_until(&test, |actions, replies| {
        actions.as_array().is_some_and(|a| !a.is_empty()) && !replies.is_empty()
    })
    .await;
    assert_eq!(
        actions,
        json!([{"phone_number_id": LOOP_PHONE_NUMBER_ID, "call_id": call_id, "action": "reject"}])
    );
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["to"], "13175551399");
    let item = test
        .emu
        .dynamodb
        .get_item()
        .table_name(test.emu.table())
        .key("pk", AttributeValue::S(format!("WACALL#{call_id}")))
        .key("sk", AttributeValue::S("connect".to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the call is recorded");
    assert_eq!(item["from"], AttributeValue::S("13175551399".to_owned()));
    assert_eq!(item["direction"], AttributeValue::S("USER_INITIATED".to_owned()));

    // A second call within the cooldown: rejected, and no second text.
    let second = place_call(&test).await;
    let (actions, replies) = drain_until(&test, |actions, _| actions.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(actions[1]["call_id"], second.as_str());
    assert_eq!(actions[1]["action"], "reject");
    // Anything the second call might have queued has been through the worker by now.
    let (_, replies_after) = drain_until(&test, |_, _| false).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies_after.len(), 1, "one text per caller per cooldown");
}
