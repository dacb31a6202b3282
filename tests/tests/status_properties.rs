//! The status-convergence property against DynamoDB on the AWS emulator, at a small size:
//! status webhooks for a message in any order, duplicated, in SQS batches processed
//! concurrently by the worker, end in the same item — the highest rank, every status's time,
//! `failed` final. (The same property at full size runs on the in-memory store:
//! `shared/src/handlers/worker/tests/properties.rs`.)

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::adapters::{s3::S3BlobStore, sqs::SqsRedelivery};
use bridge::compose::DeployedWorker;
use bridge::domain::records::PhoneNumberFilter;
use bridge::domain::status::DeliveryStatus;
use chrono::{TimeZone, Utc};
use integration_tests::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

const NAMES: [&str; 4] = ["sent", "delivered", "read", "failed"];

#[derive(Debug, Clone)]
struct Schedule {
    /// Status name → Meta's timestamp.
    statuses: BTreeMap<&'static str, i64>,
    /// Arrival order, duplicates included.
    deliveries: Vec<&'static str>,
    /// Records per SQS batch (cycled).
    per_batch: Vec<usize>,
}

fn schedule() -> impl Strategy<Value = Schedule> {
    proptest::sample::subsequence(NAMES.to_vec(), 1..=NAMES.len())
        .prop_flat_map(|names| {
            let n = names.len();
            (
                Just(names.clone()),
                proptest::collection::vec(0i64..1_000, n),
                proptest::collection::vec(proptest::sample::select(names), 0..3),
            )
        })
        .prop_flat_map(|(names, offsets, duplicates)| {
            let statuses: BTreeMap<_, _> = names
                .iter()
                .copied()
                .zip(offsets.into_iter().map(|offset| 1_800_000_000 + offset))
                .collect();
            let deliveries: Vec<_> = names.into_iter().chain(duplicates).collect();
            (
                Just(statuses),
                Just(deliveries).prop_shuffle(),
                proptest::collection::vec(1usize..=4, 1..3),
            )
        })
        .prop_map(|(statuses, deliveries, per_batch)| Schedule {
            statuses,
            deliveries,
            per_batch,
        })
}

fn record(id: &str, body: Vec<u8>) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": id,
        "receiptHandle": format!("{id}/1"),
        "body": String::from_utf8(body).unwrap(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1800000000000"},
        "messageAttributes": {"kind": {"stringValue": "meta-webhook", "dataType": "String",
            "stringListValues": [], "binaryListValues": []}},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:properties",
        "awsRegion": "us-east-1",
    }))
    .unwrap()
}

async fn check(emu: &Emulator, worker: &DeployedWorker, schedule: &Schedule) -> Result<(), TestCaseError> {
    let wamid = unique("wamid.prop");
    let mut rest: Vec<SqsMessage> = schedule
        .deliveries
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let errors = if *name == "failed" {
                json!([{"code": 131026, "title": "Message undeliverable"}])
            } else {
                serde_json::Value::Null
            };
            record(
                &format!("r{i}"),
                status_webhook(&wamid, name, schedule.statuses[name], errors),
            )
        })
        .collect();
    for size in schedule.per_batch.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let later = rest.split_off((*size).min(rest.len()));
        let mut event = SqsEvent::default();
        event.records = std::mem::replace(&mut rest, later);
        let response = worker.handle(event, local_stack::queue::batch_deadline()).await;
        prop_assert!(response.batch_item_failures.is_empty(), "{:?}", response);
    }
    let item = emu.message_item(&wamid).await.expect("the status upserted the message");
    let top = schedule
        .statuses
        .keys()
        .filter_map(|name| DeliveryStatus::parse(name))
        .max_by_key(|status| status.rank())
        .unwrap();
    prop_assert_eq!(s(&item, "status"), top.as_str());
    for (name, at) in &schedule.statuses {
        let expected = Utc
            .timestamp_opt(*at, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        prop_assert_eq!(s(&item, &format!("{name}_at")), expected, "{}", name);
    }
    for name in NAMES.iter().filter(|name| !schedule.statuses.contains_key(*name)) {
        prop_assert!(!item.contains_key(&format!("{name}_at")), "{} was never sent", name);
    }
    Ok(())
}

#[test]
fn statuses_in_any_order_duplicated_and_batched_converge_in_dynamodb() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let emu = runtime.block_on(Emulator::connect());
    let worker = DeployedWorker::recording(
        DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 0),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        PhoneNumberFilter::default(),
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&schedule(), |schedule| {
            runtime.block_on(check(&emu, &worker, &schedule))
        })
        .unwrap_or_else(|error| panic!("{error}"));
}
