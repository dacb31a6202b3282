//! Events out against the AWS emulator over HTTP: the worker records webhooks in DynamoDB and publishes
//! on an EventBridge bus whose rule copies every event to a tap queue, as `make run` sets it up. Each
//! test has its own bus, rule and tap queue.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_eventbridge::Client as EventBridge;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::adapters::eventbridge::EventBridgePublisher;
use bridge::adapters::{s3::S3BlobStore, sqs::SqsRedelivery};
use bridge::compose::DeployedWorker;
use bridge::domain::records::PhoneNumberFilter;
use bridge::publishing::Publishing;
use bridge::testing::schema::assert_valid;
use integration_tests::*;
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

fn worker(emu: &Emulator, bus: &TappedBus) -> DeployedWorker {
    worker_over(emu, bus, emu.dynamodb.clone())
}

fn worker_over(emu: &Emulator, bus: &TappedBus, dynamodb: aws_sdk_dynamodb::Client) -> DeployedWorker {
    let publisher = EventBridgePublisher::new(EventBridge::new(&emu.sdk), &bus.name);
    DeployedWorker::recording(
        DynamoMessageStore::new(dynamodb, emu.table(), 0),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        PhoneNumberFilter::default(),
    )
    .with_events(Publishing::new(publisher))
}

/// Queues each body as a webhook record and runs the worker over them, one SQS event per body, in order.
async fn deliver(emu: &Emulator, worker: &DeployedWorker, bodies: &[Value]) {
    let queue = emu.fresh_queue("events-in", 30, None).await;
    for body in bodies {
        emu.queue_webhook(&queue.url, &body.to_string()).await;
        let messages = emu.receive_all(&queue.url).await;
        assert_eq!(messages.len(), 1);
        let event = sqs_event(&messages, &queue.arn, "us-east-1").unwrap();
        let answer = worker.handle(event, batch_deadline()).await;
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    }
}

/// The EventBridge events on the tap queue (waiting a little for the copies to arrive), drained.
async fn tapped(emu: &Emulator, bus: &TappedBus, at_least: usize) -> Vec<Value> {
    let mut all = Vec::new();
    for _ in 0..20 {
        all.extend(
            emu.receive_bodies(&bus.tap_url)
                .await
                .iter()
                .map(|body| serde_json::from_str::<Value>(body).unwrap()),
        );
        if all.len() >= at_least {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything late would show up here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    all.extend(
        emu.receive_bodies(&bus.tap_url)
            .await
            .iter()
            .map(|body| serde_json::from_str::<Value>(body).unwrap()),
    );
    all
}

fn inbound(wamid: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"},
        "contacts": [{"wa_id": "972500000009", "profile": {"name": "Noa"}}],
        "messages": [{"from": "972500000009", "id": wamid, "timestamp": "1800000000", "type": "text",
            "text": {"body": "hi there"}}]}}]}]})
}

fn status(wamid: &str, status: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"},
        "statuses": [{"id": wamid, "status": status, "timestamp": "1800000100", "recipient_id": "972500000009"}]}}]}]})
}

fn unique_wamid(prefix: &str) -> String {
    format!(
        "wamid.{prefix}{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )
}

#[tokio::test]
async fn an_inbound_text_gives_exactly_one_schema_valid_message_received_on_the_tap() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("received").await;
    let worker = worker(&emu, &bus);
    let wamid = unique_wamid("IN");
    deliver(&emu, &worker, &[inbound(&wamid)]).await;
    let events = tapped(&emu, &bus, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["source"], "whatsapp-bridge");
    assert_eq!(event["detail-type"], "message.received");
    assert_valid("message.received", &event["detail"]);
    assert_eq!(event["detail"]["wamid"], wamid.as_str());
    assert_eq!(event["detail"]["text"]["body"], "hi there");
    let first_id = event["detail"]["event_id"].clone();

    // The same webhook again: an event with the same id, or none.
    deliver(&emu, &worker, &[inbound(&wamid)]).await;
    let again = tapped(&emu, &bus, 0).await;
    assert!(again.len() <= 1, "{again:?}");
    for event in again {
        assert_eq!(event["detail"]["event_id"], first_id);
    }
}

#[tokio::test]
async fn sent_delivered_read_give_one_status_event_each_and_a_late_delivered_none() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("status").await;
    let worker = worker(&emu, &bus);
    let wamid = unique_wamid("OUT");
    deliver(
        &emu,
        &worker,
        &[
            status(&wamid, "sent"),
            status(&wamid, "delivered"),
            status(&wamid, "read"),
        ],
    )
    .await;
    let events = tapped(&emu, &bus, 3).await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["detail-type"] == "message.status")
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["sent", "delivered", "read"], "{events:?}");
    for event in &events {
        assert_valid("message.status", &event["detail"]);
        assert_eq!(event["detail"]["wamid"], wamid.as_str());
    }

    // Delivered after read (out of order, or Meta redelivering it): nothing moved, nothing published.
    deliver(&emu, &worker, &[status(&wamid, "delivered"), status(&wamid, "read")]).await;
    let late = tapped(&emu, &bus, 0).await;
    assert!(late.is_empty(), "{late:?}");
}

/// The bundle's HTTP client, except that the answer to the first `count` requests of the operation
/// `target` (`X-Amz-Target`) is lost on the way back: each request reaches the emulator and takes effect,
/// and its caller gets an I/O error instead of the answer, which the SDK retries (as a connection cut
/// after the request went out, or a proxy timing out, does).
#[derive(Debug, Clone)]
struct LosesAnswers {
    inner: aws_sdk_dynamodb::config::SharedHttpClient,
    target: &'static str,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Debug)]
struct LosingConnector {
    inner: aws_smithy_runtime_api::client::http::SharedHttpConnector,
    target: &'static str,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl aws_sdk_dynamodb::config::HttpClient for LosesAnswers {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_sdk_dynamodb::config::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(LosingConnector {
            inner: self.inner.http_connector(settings, components),
            target: self.target,
            count: self.count.clone(),
        })
    }
}

impl aws_smithy_runtime_api::client::http::HttpConnector for LosingConnector {
    fn call(
        &self,
        request: aws_sdk_dynamodb::config::http::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use std::sync::atomic::Ordering;
        let lose = request.headers().get("x-amz-target") == Some(self.target)
            && self
                .count
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
                .is_ok();
        let answer = self.inner.call(request);
        aws_smithy_runtime_api::client::http::HttpConnectorFuture::new(async move {
            let response = answer.await?;
            if lose {
                drop(response);
                return Err(aws_smithy_runtime_api::client::result::ConnectorError::io(
                    "the answer was lost on the way back".into(),
                ));
            }
            Ok(response)
        })
    }
}

/// A DynamoDB client whose first `count` answers to `target` are lost (see [`LosesAnswers`]).
fn losing_answers(emu: &Emulator, target: &'static str, count: usize) -> aws_sdk_dynamodb::Client {
    let config = emu
        .sdk
        .to_builder()
        .http_client(LosesAnswers {
            inner: bridge::adapters::http::SdkHttpClient::shared(),
            target,
            count: std::sync::Arc::new(count.into()),
        })
        .build();
    aws_sdk_dynamodb::Client::new(&config)
}

#[tokio::test]
async fn an_inbound_write_whose_answer_was_lost_still_publishes_its_message_received() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("lost-put").await;
    // The message's put reaches the table; its answer does not: the SDK retries, and the retry's condition
    // finds the item already there.
    let worker = worker_over(&emu, &bus, losing_answers(&emu, "DynamoDB_20120810.PutItem", 1));
    let wamid = unique_wamid("LOSTIN");
    deliver(&emu, &worker, &[inbound(&wamid)]).await;
    assert_eq!(s(&emu.message_item(&wamid).await.unwrap(), "text_body"), "hi there");
    let events = tapped(&emu, &bus, 1).await;
    let received: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "message.received")
        .collect();
    assert_eq!(received.len(), 1, "{events:?}");
    assert_eq!(received[0]["detail"]["wamid"], wamid.as_str());

    // Meta delivering that webhook again (another request) is still a duplicate: no event.
    deliver(&emu, &worker, &[inbound(&wamid)]).await;
    let again = tapped(&emu, &bus, 0).await;
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn a_status_write_whose_answer_was_lost_still_publishes_its_message_status() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("lost-update").await;
    let worker = worker_over(&emu, &bus, losing_answers(&emu, "DynamoDB_20120810.UpdateItem", 1));
    let wamid = unique_wamid("LOSTOUT");
    deliver(&emu, &worker, &[status(&wamid, "delivered")]).await;
    assert_eq!(s(&emu.message_item(&wamid).await.unwrap(), "status"), "delivered");
    let events = tapped(&emu, &bus, 1).await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["detail-type"] == "message.status")
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["delivered"], "{events:?}");

    // The same status from Meta again, and an older one: nothing moved, nothing published.
    deliver(&emu, &worker, &[status(&wamid, "delivered"), status(&wamid, "sent")]).await;
    let late = tapped(&emu, &bus, 0).await;
    assert!(late.is_empty(), "{late:?}");
}

// ------------------------------------------------------------------ a batch's events, together

/// A worker publishing through the real SDK over the wire-fault layer (its plan counts the `PutEvents`
/// requests, and can refuse them).
async fn counting_worker(emu: &Emulator, bus: &TappedBus, plan: &FaultPlan) -> DeployedWorker {
    let config = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone()).await;
    let publisher = EventBridgePublisher::new(EventBridge::new(&config), &bus.name);
    let mut publishing = Publishing::new(publisher);
    publishing.resend_after = vec![Duration::from_millis(10), Duration::from_millis(10)];
    DeployedWorker::recording(
        DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 0),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        PhoneNumberFilter::default(),
    )
    .with_events(publishing)
}

/// Each `(kind, body)` queued on a fresh queue, then received: one SQS event of them all, as the event
/// source mapping hands the worker a batch.
async fn queued_batch(
    emu: &Emulator,
    bodies: &[(&str, String)],
) -> (TestQueue, aws_lambda_events::event::sqs::SqsEvent) {
    let queue = emu.fresh_queue("events-batch", 30, None).await;
    for (kind, body) in bodies {
        emu.sqs
            .send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(*kind)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), bodies.len());
    let event = sqs_event(&messages, &queue.arn, "us-east-1").unwrap();
    (queue, event)
}

/// The records of `event` delivered again by SQS: visible at once, received again (receive count 2).
async fn delivered_again(
    emu: &Emulator,
    queue: &TestQueue,
    event: &aws_lambda_events::event::sqs::SqsEvent,
) -> aws_lambda_events::event::sqs::SqsEvent {
    for record in &event.records {
        emu.sqs
            .change_message_visibility()
            .queue_url(&queue.url)
            .receipt_handle(record.receipt_handle.clone().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), event.records.len());
    sqs_event(&messages, &queue.arn, "us-east-1").unwrap()
}

fn failed_ids(answer: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = answer
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_batch_of_ten_webhooks_is_one_put_events_and_every_event_reaches_the_tap() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("batch").await;
    let plan = FaultPlan::new();
    let worker = counting_worker(&emu, &bus, &plan).await;
    let wamids: Vec<String> = (0..10).map(|i| unique_wamid(&format!("BATCH{i}x"))).collect();
    let bodies: Vec<(&str, String)> = wamids
        .iter()
        .map(|wamid| ("meta-webhook", inbound(wamid).to_string()))
        .collect();
    let (_queue, event) = queued_batch(&emu, &bodies).await;
    let answer = worker.handle(event, batch_deadline()).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(plan.calls("PutEvents"), 1, "ten records, one call: {}", plan.summary());
    let events = tapped(&emu, &bus, 10).await;
    let mut on_tap: Vec<&str> = events.iter().filter_map(|e| e["detail"]["wamid"].as_str()).collect();
    on_tap.sort_unstable();
    let mut expected: Vec<&str> = wamids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(on_tap, expected);
}

#[tokio::test]
async fn an_entry_the_bus_refuses_fails_only_the_record_it_belongs_to() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("refused").await;
    let plan = FaultPlan::new();
    let worker = counting_worker(&emu, &bus, &plan).await;
    let wamids: Vec<String> = (0..3).map(|i| unique_wamid(&format!("REF{i}x"))).collect();
    // A `publish-events` job whose one entry EventBridge refuses (no detail-type: `InvalidArgument`, a
    // per-entry error in a call that succeeds), between webhooks whose entries share its call.
    let refused = json!([{"detail_type": "", "detail": {"event_id": "refused-entry", "wamid": "wamid.NONE"}}]);
    let mut bodies: Vec<(&str, String)> = wamids
        .iter()
        .map(|wamid| ("meta-webhook", inbound(wamid).to_string()))
        .collect();
    bodies.insert(1, ("publish-events", refused.to_string()));
    let (queue, event) = queued_batch(&emu, &bodies).await;
    let job_id = event
        .records
        .iter()
        .find(|record| record.body.as_deref() == Some(bodies[1].1.as_str()))
        .and_then(|record| record.message_id.clone())
        .unwrap();
    let answer = worker.handle(event, batch_deadline()).await;
    assert_eq!(failed_ids(&answer), [job_id], "only the job whose entry was refused");
    assert_eq!(
        plan.calls("PutEvents"),
        3,
        "one call of four, then the refused entry resent twice"
    );
    let events = tapped(&emu, &bus, 3).await;
    let mut on_tap: Vec<&str> = events.iter().filter_map(|e| e["detail"]["wamid"].as_str()).collect();
    on_tap.sort_unstable();
    let mut expected: Vec<&str> = wamids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(on_tap, expected, "the webhooks' events out once, the refused one never");
    drop(queue);
}

#[tokio::test]
async fn a_bus_outage_fails_every_record_with_events_and_the_redelivery_publishes_them_once_each() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("outage").await;
    let plan = FaultPlan::new();
    let worker = counting_worker(&emu, &bus, &plan).await;
    let wamids: Vec<String> = (0..4).map(|i| unique_wamid(&format!("OUTAGE{i}x"))).collect();
    let bodies: Vec<(&str, String)> = wamids
        .iter()
        .map(|wamid| ("meta-webhook", inbound(wamid).to_string()))
        .collect();
    let (queue, event) = queued_batch(&emu, &bodies).await;
    // Every `PutEvents` request refused (the SDK's own retries included).
    plan.fail_next("PutEvents", 1000, WireFault::Refused);
    let answer = worker.handle(event.clone(), batch_deadline()).await;
    assert_eq!(answer.batch_item_failures.len(), 4, "{answer:?}");
    for wamid in &wamids {
        assert!(emu.message_item(wamid).await.is_some(), "the write is kept");
    }
    assert!(tapped(&emu, &bus, 0).await.is_empty());

    // The bus back; SQS delivers the four again: recorded already, their events published now, once.
    plan.clear();
    let before = plan.calls("PutEvents");
    let again = delivered_again(&emu, &queue, &event).await;
    let answer = worker.handle(again, batch_deadline()).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert_eq!(plan.calls("PutEvents") - before, 1);
    let events = tapped(&emu, &bus, 4).await;
    assert_eq!(events.len(), 4, "{events:?}");
    let ids: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["detail"]["event_id"].as_str()).collect();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn a_template_pause_and_a_number_downgrade_reach_the_tap_raw_and_typed() {
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("health").await;
    let worker = worker(&emu, &bus);
    // A WABA of this run: the raw events' items are keyed by entry id and digest.
    let waba = unique("waba");
    let pause = json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "time": 1_763_816_820,
        "changes": [{"field": "message_template_status_update", "value": {"event": "PAUSED",
            "message_template_id": 806_312_974_732_579_u64, "message_template_name": "order_confirmation",
            "message_template_language": "en_US", "reason": "NONE",
            "other_info": {"title": "FIRST_PAUSE", "description": "Paused for 3 hours."}}}]}]});
    let downgrade = json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "time": 1_763_813_400,
        "changes": [{"field": "phone_number_quality_update", "value": {"display_phone_number": "15550783881",
            "event": "DOWNGRADE", "old_limit": "TIER_10K", "current_limit": "TIER_2K",
            "max_daily_conversations_per_business": "TIER_2K"}}]}]});
    deliver(&emu, &worker, &[pause, downgrade]).await;
    let events = tapped(&emu, &bus, 4).await;
    let mut types: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "number.quality",
            "template.status",
            "whatsapp.message_template_status_update",
            "whatsapp.phone_number_quality_update"
        ],
        "{events:?}"
    );
    for event in &events {
        let detail_type = event["detail-type"].as_str().unwrap();
        assert_valid(detail_type, &event["detail"]);
    }
    let status = events.iter().find(|e| e["detail-type"] == "template.status").unwrap();
    assert_eq!(status["detail"]["sends_refused"], true);
    assert_eq!(status["detail"]["waba_id"], waba.as_str());
    let number = events.iter().find(|e| e["detail-type"] == "number.quality").unwrap();
    assert_eq!(number["detail"]["quality_dropped"], true);
}
