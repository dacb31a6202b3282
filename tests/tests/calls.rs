//! WhatsApp calls end to end against the AWS emulator: the Graph stand-in places a signed call
//! (`/_standin/call`), ingestion queues it, the worker records it and rejects it through the
//! Calling API (`CALLS_POLICY=reject`), which the stand-in logs with the call id.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::*;
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

#[tokio::test]
async fn a_call_is_recorded_and_rejected_through_the_calling_api() {
    let mut options = LoopOptions::new("calls", "test-calls-api-key-0123456789");
    options.vars = vec![("CALLS_POLICY", "reject"), ("EVENT_BUS_NAME", "")];
    let test = SendLoop::start(options).await;
    let placed = integration_tests::http::client()
        .post(format!("{}/_standin/call", test.graph_base))
        .header("content-type", "application/json")
        .body(json!({"phone_number_id": LOOP_PHONE_NUMBER_ID, "from": "13175551399"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 200);
    let placed: Value = serde_json::from_str(&placed.text().await.unwrap()).unwrap();
    let call_id = placed["call_id"].as_str().unwrap().to_owned();

    let mut actions = Value::Null;
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
        actions = serde_json::from_str(
            &integration_tests::http::get(&format!("{}/_standin/call-actions", test.graph_base)).await,
        )
        .unwrap();
        if actions.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        actions,
        json!([{"phone_number_id": LOOP_PHONE_NUMBER_ID, "call_id": call_id, "action": "reject"}])
    );
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
}
