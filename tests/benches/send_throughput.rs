//! Worker send throughput against the AWS emulator and the local Graph API stand-in (`make bench-send`).
//!
//! Two modes (BENCH_MODE=batch|tier|both, default both), each with BENCH_LATENCY_MS (default 100) of
//! Graph API latency at the stand-in:
//!
//! - **batch**: the rate not binding. One send alone, then BENCH_MESSAGES (default 500) queued messages
//!   in SQS batches of 10 through one worker; how a batch of 10 compares with one send, and the AWS
//!   requests and round trips on the critical path of each (counted at the SDK's HTTP layer).
//! - **tier**: a tier's worth of workers. As many worker instances as `SendMaximumConcurrency` allows
//!   (BENCH_TIER_INSTANCES overrides it), each at a per-instance rate: the template's `SendRatePerSecond`
//!   (5 × 16 = 80 messages/s, Meta's default tier) and 4 (5 × 4 = 20/s, a coexistence number's tier);
//!   BENCH_TIER_RATES=16,4 by default. Each instance takes batches of 10 from one backlog as the Lambda
//!   service's pollers do, for BENCH_TIER_SECONDS (default 10); the bench prints the rate the stand-in
//!   saw in each second, against the tier.
//!
//! `make bench-send` puts DynamoDB on dynalite (`scripts/dynalite.sh`; SQS and the rest stay on moto):
//! moto serves DynamoDB one request at a time, so on it a batch's 40 requests run in a row whatever the
//! worker overlaps, and the 80/s tier tops out near 50/s on a 2-core machine. `BENCH_DYNAMODB=moto`
//! measures on moto for the comparison.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
use test_support::wire_meter::{Meter, metered_sdk_config};

static RECIPIENTS: AtomicUsize = AtomicUsize::new(0);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A numeric parameter default of the template (the deployed stack's settings).
fn template_default(parameter: &str) -> u64 {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.trim() == format!("{parameter}:"))
        .unwrap_or_else(|| panic!("template.yaml has no parameter {parameter}"));
    lines[at + 1..]
        .iter()
        .take_while(|line| line.starts_with("    "))
        .find_map(|line| line.trim().strip_prefix("Default:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{parameter} has a numeric default"))
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

struct Bench {
    emu: Emulator,
    meter: Meter,
    standin: Arc<Standin>,
    graph_url: String,
    latency: Duration,
    store: DynamoMessageStore,
}

impl Bench {
    /// A worker as its Lambda builds it, sending at `rate` per second, its AWS calls metered.
    async fn worker(&self, rate: u64) -> DeployedWorker {
        let sdk = metered_sdk_config(self.emu.endpoint(), &self.emu.env["AWS_REGION"], self.meter.clone()).await;
        let rate = rate.to_string();
        let mut env = self.emu.env.clone();
        for (name, value) in [
            ("WHATSAPP_ACCESS_TOKEN", "bench-token"),
            ("GRAPH_API_BASE_URL", self.graph_url.as_str()),
            ("SEND_RATE_PER_SECOND", rate.as_str()),
            ("AUTO_REPLY_TEXT", ""),
            ("MARK_AS_READ", "false"),
            ("RETENTION_DAYS", "1"),
        ] {
            env.insert(name.to_owned(), value.to_owned());
        }
        let vars = |name: &str| env.get(name).cloned();
        DeployedWorker::from_vars(&sdk, &vars).await.unwrap()
    }

    /// `count` messages queued as the send API queues them (not timed), each to its own recipient.
    async fn queued(&self, count: usize) -> Vec<SendJob> {
        let mut jobs = Vec::with_capacity(count);
        for _ in 0..count {
            let message_id = outbound::new_id("bench");
            // Each message to its own recipient: the per-recipient pacing never binds here.
            let to = format!("97250{:07}", RECIPIENTS.fetch_add(1, Ordering::Relaxed));
            let payload = json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"template",
                "template":{"name":"hello_world","language":{"code":"en_US"}}});
            self.store
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
        jobs
    }
}

/// One send alone, then batches of 10, the rate not binding.
async fn batch_mode(bench: &Bench) {
    let messages = env_number("BENCH_MESSAGES", 500) as usize;
    let worker = bench.worker(10_000).await;
    let mut jobs = bench.queued(messages + 1).await;
    let accepted_before = accepted(&bench.standin);

    let single = jobs.pop().unwrap();
    bench.meter.take_invocation();
    let started = Instant::now();
    let response = worker.handle(event(&[single]), batch_deadline()).await;
    let one = started.elapsed();
    let one_calls = bench.meter.take_invocation();
    assert!(response.batch_item_failures.is_empty());

    let started = Instant::now();
    let mut batch_times = Vec::new();
    let (mut requests, mut round_trips) = (0, 0);
    for batch in jobs.chunks(10) {
        let batch_started = Instant::now();
        let response = worker.handle(event(batch), batch_deadline()).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
        batch_times.push(batch_started.elapsed());
        let calls = bench.meter.take_invocation();
        requests += calls.requests;
        round_trips += calls.round_trips;
    }
    let total = started.elapsed();
    let batches = batch_times.len() as f64;
    batch_times.sort();
    let median = batch_times[batch_times.len() / 2];
    println!(
        "send_throughput (rate not binding): {messages} messages, Graph API latency {} ms (stand-in), DynamoDB on {}",
        bench.latency.as_millis(),
        dynamodb_emulator()
    );
    println!(
        "  one send alone: {:.1} ms; AWS requests {}, round trips on its path {}",
        one.as_secs_f64() * 1000.0,
        one_calls.requests,
        one_calls.round_trips
    );
    println!(
        "  batch of 10: median {:.1} ms = {:.2}x one send; AWS requests {:.1} per send, round trips on the batch's path {:.1}",
        median.as_secs_f64() * 1000.0,
        median.as_secs_f64() / one.as_secs_f64(),
        requests as f64 / messages as f64,
        round_trips as f64 / batches,
    );
    println!(
        "  throughput: {:.0} messages/s per instance ({} accepted by the stand-in)",
        messages as f64 / total.as_secs_f64(),
        accepted(&bench.standin) - accepted_before
    );
}

/// Which emulator serves DynamoDB: dynalite when `BENCH_DYNAMODB=dynalite` set the SDK's DynamoDB endpoint
/// (`AWS_ENDPOINT_URL_DYNAMODB`), else moto with everything else.
fn dynamodb_emulator() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map(|endpoint| format!("dynalite ({endpoint})"))
        .unwrap_or_else(|_| "the AWS emulator (moto)".to_owned())
}

fn accepted(standin: &Standin) -> usize {
    standin.requests().iter().filter(|r| r.answered_status == 200).count()
}

/// The template's instances at its per-instance rate, from one backlog, for some seconds.
async fn tier_mode(bench: &Bench, rate: u64) {
    let instances = env_number("BENCH_TIER_INSTANCES", template_default("SendMaximumConcurrency")) as usize;
    let seconds = env_number("BENCH_TIER_SECONDS", 10);
    let tier = rate * instances as u64;
    // A backlog a little larger than the run can take: the tier binds all along.
    let backlog: VecDeque<SendJob> = bench.queued((tier * seconds + tier) as usize).await.into();
    let backlog = Arc::new(Mutex::new(backlog));
    let mut workers = Vec::new();
    for _ in 0..instances {
        workers.push(bench.worker(rate).await);
    }
    let first = bench.standin.requests().len();
    let started = Instant::now();
    let stop = started + Duration::from_secs(seconds);
    let pollers = workers.iter().map(|worker| {
        let backlog = Arc::clone(&backlog);
        async move {
            while Instant::now() < stop {
                let batch: Vec<SendJob> = {
                    let mut backlog = backlog.lock().unwrap();
                    let take = backlog.len().min(10);
                    backlog.drain(..take).collect()
                };
                if batch.is_empty() {
                    break;
                }
                let response = worker.handle(event(&batch), batch_deadline()).await;
                assert!(
                    response.batch_item_failures.is_empty(),
                    "{:?}",
                    response.batch_item_failures
                );
            }
        }
    });
    futures_util::future::join_all(pollers).await;
    let arrivals: Vec<Duration> = bench.standin.arrivals()[first..]
        .iter()
        .map(|arrival| arrival.saturating_duration_since(started))
        .collect();
    // Whole seconds of the run (the last is cut short by the stop; the batches in flight finish).
    let mut per_second = vec![0u64; seconds as usize];
    for arrival in &arrivals {
        if let Some(count) = per_second.get_mut(arrival.as_secs() as usize) {
            *count += 1;
        }
    }
    // The most in any one-second window starting at an arrival (the busiest window there is).
    let busiest = arrivals
        .iter()
        .map(|&from| {
            arrivals
                .iter()
                .filter(|&&at| at >= from && at < from + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    let busiest_second = per_second.iter().copied().max().unwrap_or(0);
    let steady = &per_second[1..per_second.len().saturating_sub(1).max(1)];
    let mean = steady.iter().sum::<u64>() as f64 / steady.len().max(1) as f64;
    println!(
        "send_throughput (tier): {instances} instances (SendMaximumConcurrency) x {rate}/s (SendRatePerSecond) = a tier of {tier} messages/s, Graph API latency {} ms, {seconds} s",
        bench.latency.as_millis()
    );
    println!("  the stand-in saw per second: {per_second:?}");
    println!(
        "  seconds 2..{}: mean {mean:.1}/s = {:.1} % of the tier; busiest second {} ({}); busiest one-second window from any arrival {busiest}",
        seconds - 1,
        mean * 100.0 / tier as f64,
        busiest_second,
        if busiest_second <= tier {
            "never above the tier"
        } else {
            "ABOVE THE TIER"
        }
    );
}

#[tokio::main]
async fn main() {
    let latency = Duration::from_millis(env_number("BENCH_LATENCY_MS", 100));
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
    let store = DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 1);
    let meter = Meter::requests_only(emu.endpoint());
    let bench = Bench {
        emu,
        meter,
        standin,
        graph_url,
        latency,
        store,
    };
    let mode = std::env::var("BENCH_MODE").unwrap_or_else(|_| "both".to_owned());
    if mode == "batch" || mode == "both" {
        batch_mode(&bench).await;
    }
    if mode == "tier" || mode == "both" {
        // The template's rate (its default tier, 80/s) and a coexistence number's (20/s: 4 per instance).
        let rates = std::env::var("BENCH_TIER_RATES")
            .unwrap_or_else(|_| format!("{},4", template_default("SendRatePerSecond")));
        for rate in rates.split(',').filter_map(|rate| rate.trim().parse().ok()) {
            tier_mode(&bench, rate).await;
        }
    }
}
