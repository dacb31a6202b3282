//! The fault layer at the SDK's HTTP layer (`test_support::wire_faults`), against the emulator
//! through the real SDK and its standard retry strategy: each fault does to a call what it says.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::*;

/// The real DynamoDB client over the fault layer, with `plan`.
async fn dynamodb(emu: &Emulator, plan: &FaultPlan) -> aws_sdk_dynamodb::Client {
    let config = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone()).await;
    aws_sdk_dynamodb::Client::new(&config)
}

fn key(pk: &str) -> [(String, AttributeValue); 2] {
    [
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S("wire".to_owned())),
    ]
}

/// A conditional put (`attribute_not_exists(pk)`) of a fresh item.
async fn put_new(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Result<(), aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(key(pk).into_iter().collect()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map(|_| ())
}

/// `ADD n :1` on the item: how often a write was applied shows in `n`.
async fn add_one(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Result<(), String> {
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key(pk).into_iter().collect()))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|error| aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

async fn applied(emu: &Emulator, pk: &str) -> Option<String> {
    emu.item(pk, "wire").await.map(|item| match item.get("n") {
        Some(_) => s(&item, "n"),
        None => "put".to_owned(),
    })
}

/// The hazard the layer exists for: the write is applied, its answer lost; the SDK retries it,
/// and the retry fails its own condition against the item the first attempt wrote.
#[tokio::test]
async fn an_applied_write_whose_answer_is_lost_is_retried_and_the_retry_fails_its_condition() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let client = dynamodb(&emu, &plan).await;
    let pk = unique("wire.lost");
    plan.fail_next("PutItem", 1, WireFault::AppliedThenLost);
    let error = put_new(&client, emu.table(), &pk).await.unwrap_err();
    assert!(
        error
            .as_service_error()
            .is_some_and(|error| error.is_conditional_check_failed_exception()),
        "{}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&error)
    );
    assert_eq!((plan.calls("PutItem"), plan.faulted("PutItem")), (2, 1), "retried once");
    assert_eq!(
        applied(&emu, &pk).await.as_deref(),
        Some("put"),
        "the first attempt's item is there"
    );

    // An unconditional write is applied twice.
    let counter = unique("wire.lost-add");
    plan.fail_next("UpdateItem", 1, WireFault::AppliedThenLost);
    add_one(&client, emu.table(), &counter).await.unwrap();
    assert_eq!(applied(&emu, &counter).await.as_deref(), Some("2"));
    assert_eq!(plan.faulted_with("*", WireFault::AppliedThenLost), 2);
}

#[tokio::test]
async fn a_refused_write_is_retried_and_applied_once() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let client = dynamodb(&emu, &plan).await;
    let pk = unique("wire.refused");
    plan.fail_next("UpdateItem", 2, WireFault::Refused);
    add_one(&client, emu.table(), &pk).await.unwrap();
    assert_eq!((plan.calls("UpdateItem"), plan.faulted("UpdateItem")), (3, 2));
    assert_eq!(applied(&emu, &pk).await.as_deref(), Some("1"), "applied once");

    // Refused more often than the SDK's three attempts: the caller sees the server error.
    let other = unique("wire.refused-out");
    plan.fail_next("UpdateItem", 3, WireFault::Refused);
    let error = add_one(&client, emu.table(), &other).await.unwrap_err();
    assert!(error.contains("InternalServerError"), "{error}");
    assert_eq!(applied(&emu, &other).await, None, "never forwarded");
}

#[tokio::test]
async fn a_hang_is_ended_by_the_caller_s_timeout_and_nothing_is_written() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let client = dynamodb(&emu, &plan).await;
    let pk = unique("wire.hang");
    plan.fail_next("PutItem", 1, WireFault::Hang);
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_millis(700), put_new(&client, emu.table(), &pk)).await;
    assert!(outcome.is_err(), "the caller's timeout fired");
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(plan.calls("PutItem"), 1);
    assert_eq!(applied(&emu, &pk).await, None, "never forwarded");
    // The plan is spent: the next call goes through.
    put_new(&client, emu.table(), &pk).await.unwrap();
}

#[tokio::test]
async fn a_delayed_answer_arrives_after_its_delay() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let client = dynamodb(&emu, &plan).await;
    let pk = unique("wire.delayed");
    plan.fail_next("PutItem", 1, WireFault::Delayed(Duration::from_millis(800)));
    let started = Instant::now();
    put_new(&client, emu.table(), &pk).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((plan.calls("PutItem"), plan.faulted("PutItem")), (1, 1), "not retried");
    assert_eq!(applied(&emu, &pk).await.as_deref(), Some("put"));
}

#[tokio::test]
async fn a_throttle_is_classified_as_throttling_and_retried() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let pk = unique("wire.throttled");
    // Without retries the SDK shows what it got: HTTP 400 with the throttling code.
    let once = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone())
        .await
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let once = aws_sdk_dynamodb::Client::new(&once);
    plan.fail_next("PutItem", 1, WireFault::Throttled);
    let error = put_new(&once, emu.table(), &pk).await.unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(error.raw_response().map(|answer| answer.status().as_u16()), Some(400));
    // A 400 is retried only when its code is a throttling (or transient) one: this one is.
    let client = dynamodb(&emu, &plan).await;
    plan.fail_next("PutItem", 2, WireFault::Throttled);
    put_new(&client, emu.table(), &pk).await.unwrap();
    assert_eq!((plan.calls("PutItem"), plan.faulted("PutItem")), (4, 3));
    // A 400 that is not throttling is not retried (the condition failing, with no fault).
    let before = plan.calls("PutItem");
    assert!(put_new(&client, emu.table(), &pk).await.is_err());
    assert_eq!(plan.calls("PutItem"), before + 1);
}

#[tokio::test]
async fn queue_and_bucket_calls_meet_their_faults_in_their_own_protocol() {
    let emu = Emulator::connect().await;
    let plan = FaultPlan::new();
    let config = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = emu.fresh_queue("wire", 30, None).await;
    // SQS (AWS JSON, query-compatible): refused then sent once; lost after sending: twice.
    plan.fail_next("SendMessage", 1, WireFault::Refused);
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("refused-once")
        .send()
        .await
        .unwrap();
    plan.fail_next("SendMessage", 1, WireFault::AppliedThenLost);
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("lost-once")
        .send()
        .await
        .unwrap();
    plan.fail_next("SendMessage", 1, WireFault::Throttled);
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("throttled-once")
        .send()
        .await
        .unwrap();
    let mut bodies = emu.receive_bodies(&queue.url).await;
    bodies.sort();
    assert_eq!(bodies, ["lost-once", "lost-once", "refused-once", "throttled-once"]);
    assert_eq!((plan.calls("SendMessage"), plan.faulted("SendMessage")), (6, 3));

    // S3 (REST-XML): a refused PutObject (500 InternalError) is retried; a throttled GetObject
    // (503 SlowDown) too.
    let s3 = bridge::adapters::s3::S3BlobStore::client(&config);
    let object = format!("wire/{}.txt", unique("object"));
    plan.fail_next("PutObject", 1, WireFault::Refused)
        .fail_next("GetObject", 1, WireFault::Throttled);
    s3.put_object()
        .bucket(emu.bucket())
        .key(&object)
        .body(b"kept".to_vec().into())
        .send()
        .await
        .unwrap();
    let got = s3.get_object().bucket(emu.bucket()).key(&object).send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"kept");
    assert_eq!(
        (plan.calls("PutObject"), plan.calls("GetObject"), plan.faulted("*")),
        (2, 2, 5),
        "{}",
        plan.summary()
    );
}
