//! Worker send throughput against the AWS emulator and the local Graph API stand-in.
//!
//! Pushes BENCH_MESSAGES (default 2000) queued messages through the worker in SQS batches
//! of 10, with BENCH_LATENCY_MS (default 50) of simulated Graph API latency, and reports
//! messages per second per instance and how a batch of 10 compares with a single send
//! (one round trip). Run with `make bench-send`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::compose::DeployedWorker;
use bridge::domain::ids::ContactId;
use bridge::domain::outbound::{self, Origin, SendJob};
use bridge::domain::send_request::MessageKind;
use bridge::ports::{NewOutbound, OutboundStore};
use integration_tests::{Emulator, unique};
use local_stack::graph_standin::{Standin, StandinConfig};
use local_stack::queue::batch_deadline;
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn event(jobs: &[SendJob]) -> SqsEvent {
    let records: Vec<_> = jobs
        .iter()
        .map(|job| {
            json!({
                "messageId": unique("m"), "receiptHandle": "bench", "body": serde_json::to_string(job).unwrap(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"kind": {"stringValue": "send-message", "dataType": "String"}},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::main]
async fn main() {
    let messages = env_number("BENCH_MESSAGES", 2000) as usize;
    let latency = Duration::from_millis(env_number("BENCH_LATENCY_MS", 50));
    let emu = Emulator::connect().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph_url = format!("http://{}", listener.local_addr().unwrap());
    let standin = Standin::new(StandinConfig {
        access_token: "bench-token".into(),
        app_secret: "bench".into(),
        webhook_url: String::new(),
        phone_number_id_display: "15550783881".into(),
        latency,
        status_delay: Duration::ZERO,
        send_status_webhooks: false,
    });
    tokio::spawn(Arc::clone(&standin).serve(listener));
    // The worker as its Lambda builds it; the per-instance rate high enough not to bind
    // (BENCH_RATE_PER_SECOND), the send queue the bench's own (records come from the bench).
    let rate = std::env::var("BENCH_RATE_PER_SECOND").unwrap_or_else(|_| "10000".to_owned());
    let mut env = emu.env.clone();
    for (name, value) in [
        ("WHATSAPP_ACCESS_TOKEN", "bench-token"),
        ("GRAPH_API_BASE_URL", graph_url.as_str()),
        ("SEND_RATE_PER_SECOND", rate.as_str()),
        ("AUTO_REPLY_TEXT", ""),
        ("MARK_AS_READ", "false"),
        ("RETENTION_DAYS", "1"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
    let vars = |name: &str| env.get(name).cloned();
    let worker = DeployedWorker::from_vars(&emu.sdk, &vars).await.unwrap();
    let store = DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 1);

    // Queue the messages as the send API does (not timed).
    let mut jobs = Vec::with_capacity(messages + 1);
    for i in 0..=messages {
        let message_id = outbound::new_id("bench");
        let to = format!("97250{:07}", i);
        let payload = json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"template",
            "template":{"name":"hello_world","language":{"code":"en_US"}}});
        store
            .create_outbound(&NewOutbound {
                message_id: message_id.clone(),
                to: ContactId::Phone(to.clone()),
                from: None,
                kind: MessageKind::Template,
                fingerprint: outbound::fingerprint(&payload),
                payload: payload.clone(),
                origin: Origin::Api,
            })
            .await
            .unwrap();
        jobs.push(SendJob {
            message_id,
            to: ContactId::Phone(to),
            from: None,
            kind: MessageKind::Template,
            payload,
            requeued: 0,
        });
    }

    // One send alone: the round trip a batch is compared with.
    let single = jobs.pop().unwrap();
    let started = Instant::now();
    let response = worker.handle(event(&[single]), batch_deadline()).await;
    let one = started.elapsed();
    assert!(response.batch_item_failures.is_empty());

    let started = Instant::now();
    let mut batch_times = Vec::new();
    for batch in jobs.chunks(10) {
        let batch_started = Instant::now();
        let response = worker.handle(event(batch), batch_deadline()).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
        batch_times.push(batch_started.elapsed());
    }
    let total = started.elapsed();
    batch_times.sort();
    let median = batch_times[batch_times.len() / 2];
    let accepted = standin.requests().iter().filter(|r| r.answered_status == 200).count();
    println!(
        "send_throughput: {messages} messages, Graph API latency {} ms (stand-in), AWS emulator (moto) for DynamoDB",
        latency.as_millis()
    );
    println!(
        "  one send alone (one round trip): {:.1} ms",
        one.as_secs_f64() * 1000.0
    );
    println!(
        "  batch of 10: median {:.1} ms = {:.2}x one send",
        median.as_secs_f64() * 1000.0,
        median.as_secs_f64() / one.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} messages/s per instance ({} accepted by the stand-in)",
        messages as f64 / total.as_secs_f64(),
        accepted
    );
}
