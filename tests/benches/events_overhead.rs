//! What publishing events costs the worker per record: the same inbound webhooks recorded with
//! events off (DynamoDB only) and on (DynamoDB, then `PutEvents` on a bus whose rule copies every
//! event to a tap queue), against the AWS emulator over HTTP. Run with `make bench-events`.
//!
//! BENCH_RECORDS (default 600) webhook records each way, in SQS batches of 10 as the event source
//! mapping delivers them, in BENCH_ROUNDS (default 6) alternating rounds (off, on, off, on, ...) so a
//! drift of the machine or the emulator falls on both sides alike. Reports, per record:
//! - wall time (the emulator's round trips included: what an invocation's duration pays);
//! - the worker's own CPU time (the bench runs on one thread, read from `/proc/thread-self/schedstat`;
//!   the emulator is another process and is not counted).
//!
//! Then checks that every "on" record's `message.received` reached the tap queue.
//!
//! The worker publishes the events of a batch's records together (one `PutEvents` per ten events), so
//! an "on" batch of ten one-message webhooks is one call. The tap queue is drained (read, then
//! emptied) after each batch of either side, outside the timed part, as a consumer keeping up would: moto delivers to the rule's target
//! inside `PutEvents` (EventBridge does so after answering), and its cost per delivered entry grows
//! with the depth of the target queue (measured: a call of ten entries 42 ms at depth 0, 124 ms at
//! depth 500), so a tap left to fill would charge the "on" side more the longer the run.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_eventbridge::Client as EventBridge;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::adapters::eventbridge::EventBridgePublisher;
use bridge::adapters::{s3::S3BlobStore, sqs::SqsRedelivery};
use bridge::compose::DeployedWorker;
use bridge::domain::records::PhoneNumberFilter;
use bridge::publishing::Publishing;
use integration_tests::{Emulator, FaultPlan, faulty_sdk_config, unique};
use local_stack::queue::batch_deadline;
use serde_json::{Value, json};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Nanoseconds this thread has run on a CPU (the kernel's schedstat, ns resolution).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn inbound(wamid: &str, n: usize) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"},
        "contacts": [{"wa_id": format!("97250{n:07}"), "profile": {"name": "Noa"}}],
        "messages": [{"from": format!("97250{n:07}"), "id": wamid, "timestamp": "1800000000", "type": "text",
            "text": {"body": "Hi, is my order on its way? It was due yesterday."}}]}}]}]})
}

fn event(bodies: &[(String, Value)]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .map(|(_, body)| {
            json!({
                "messageId": unique("m"), "receiptHandle": "bench", "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1800000000000"},
                "messageAttributes": {"kind": {"stringValue": "meta-webhook", "dataType": "String"}},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[derive(Default)]
struct Side {
    records: usize,
    wall: Duration,
    cpu_ns: u64,
    batch_walls: Vec<Duration>,
}

/// A pause after each batch (untimed), so that each batch starts on a quiet emulator.
const SETTLE: Duration = Duration::from_millis(50);

/// The tap queue, drained between batches (untimed): the wamids seen on it.
struct Tap<'a> {
    emu: &'a Emulator,
    url: String,
    seen: HashSet<String>,
}

impl Tap<'_> {
    /// Reads what the queue holds and deletes it (moto delivers inside `PutEvents`: all there).
    async fn drain(&mut self) {
        let messages = self.emu.receive_all(&self.url).await;
        for message in &messages {
            let event: Value = serde_json::from_str(message.body().unwrap_or_default()).unwrap();
            if let Some(wamid) = event["detail"]["wamid"].as_str() {
                self.seen.insert(wamid.to_owned());
            }
        }
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(n, message)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .build()
                        .unwrap()
                })
                .collect();
            let deleting = self.emu.sqs.delete_message_batch().queue_url(&self.url);
            deleting.set_entries(Some(entries)).send().await.unwrap();
        }
    }
}

impl Side {
    async fn run(&mut self, worker: &DeployedWorker, batches: &[Vec<(String, Value)>], tap: &mut Tap<'_>) {
        for batch in batches {
            let cpu = thread_cpu_ns();
            let started = Instant::now();
            let answer = worker.handle(event(batch), batch_deadline()).await;
            let wall = started.elapsed();
            self.cpu_ns += thread_cpu_ns().saturating_sub(cpu);
            assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
            self.wall += wall;
            self.batch_walls.push(wall);
            self.records += batch.len();
            tap.drain().await;
            tokio::time::sleep(SETTLE).await;
        }
    }

    fn per_record_wall_us(&self) -> f64 {
        self.wall.as_secs_f64() * 1e6 / self.records as f64
    }

    fn per_record_cpu_us(&self) -> f64 {
        self.cpu_ns as f64 / 1e3 / self.records as f64
    }

    fn median_batch_ms(&mut self) -> f64 {
        self.batch_walls.sort();
        self.batch_walls[self.batch_walls.len() / 2].as_secs_f64() * 1e3
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let records = env_number("BENCH_RECORDS", 600).max(20);
    let rounds = env_number("BENCH_ROUNDS", 6).max(1);
    let emu = Emulator::connect().await;
    let bus = emu.tapped_bus("bench-events").await;
    // The bus's client through the wire layer with no faults planned: it counts the `PutEvents` calls.
    let calls = FaultPlan::new();
    let counted = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], calls.clone()).await;
    let recording = || {
        DeployedWorker::recording(
            DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 1),
            S3BlobStore::new(emu.s3.clone(), emu.bucket()),
            SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
            PhoneNumberFilter::default(),
        )
    };
    let off = recording();
    let on = recording().with_events(Publishing::new(EventBridgePublisher::new(
        EventBridge::new(&counted),
        &bus.name,
    )));

    let run_id = unique("b");
    let batches = |side: &str, round: usize| -> Vec<Vec<(String, Value)>> {
        let per_round = records / rounds;
        (0..per_round)
            .map(|i| {
                let wamid = format!("wamid.BENCH{run_id}{side}{round}x{i}");
                let body = inbound(&wamid, round * per_round + i);
                (wamid, body)
            })
            .collect::<Vec<_>>()
            .chunks(10)
            .map(<[_]>::to_vec)
            .collect()
    };

    // Warm-up (connections, the table's first writes), not counted.
    off.handle(event(&batches("warmoff", 0)[0]), batch_deadline()).await;
    on.handle(event(&batches("warmon", 0)[0]), batch_deadline()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    emu.receive_bodies(&bus.tap_url).await;

    let calls_before = calls.calls("PutEvents");
    let (mut events_off, mut events_on) = (Side::default(), Side::default());
    let mut published = HashSet::new();
    let mut tap = Tap {
        emu: &emu,
        url: bus.tap_url.clone(),
        seen: HashSet::new(),
    };
    for round in 0..rounds {
        // Both sides drain the tap after each batch (the "off" side finds it empty): the same pauses.
        events_off.run(&off, &batches("off", round), &mut tap).await;
        let on_batches = batches("on", round);
        events_on.run(&on, &on_batches, &mut tap).await;
        published.extend(on_batches.iter().flatten().map(|(wamid, _)| wamid.clone()));
    }

    // Every "on" record's event on the tap (the rule's copies arrive asynchronously).
    for _ in 0..60 {
        tap.drain().await;
        if published.is_subset(&tap.seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let missing = published.difference(&tap.seen).count();
    let put_events = calls.calls("PutEvents") - calls_before;

    let (wall_off, wall_on) = (events_off.per_record_wall_us(), events_on.per_record_wall_us());
    let (cpu_off, cpu_on) = (events_off.per_record_cpu_us(), events_on.per_record_cpu_us());
    println!(
        "events_overhead: {} inbound text webhooks each way, batches of 10, {rounds} alternating rounds, AWS emulator (moto)",
        events_off.records
    );
    println!(
        "  wall per record:       off {:>7.0} us   on {:>7.0} us   overhead {:+.0} us ({:+.0}%)",
        wall_off,
        wall_on,
        wall_on - wall_off,
        (wall_on / wall_off - 1.0) * 100.0
    );
    let (median_off, median_on) = (events_off.median_batch_ms(), events_on.median_batch_ms());
    println!(
        "  batch of 10 (median):  off {median_off:>7.1} ms   on {median_on:>7.1} ms   overhead {:+.1} ms ({:+.0}%)",
        median_on - median_off,
        (median_on / median_off - 1.0) * 100.0
    );
    println!(
        "  worker CPU per record: off {:>7.1} us   on {:>7.1} us   overhead {:+.1} us ({:+.0}%)",
        cpu_off,
        cpu_on,
        cpu_on - cpu_off,
        (cpu_on / cpu_off - 1.0) * 100.0
    );
    println!(
        "  PutEvents calls (on):  {put_events} for {} records ({:.1} records per call)",
        events_on.records,
        events_on.records as f64 / put_events.max(1) as f64
    );
    println!(
        "  message.received on the tap: {} of {} ({} missing)",
        published.len() - missing,
        published.len(),
        missing
    );
    assert_eq!(missing, 0, "events published but not on the tap");
}
