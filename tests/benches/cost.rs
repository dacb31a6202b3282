//! What the bundle's work is made of, counted: a fixed workload through the real handlers (the
//! composition root's, as `make run` builds them) against the AWS emulator over HTTP, the Graph API
//! stand-in behind a counting proxy. Run with `make cost` (scripts/cost.sh), which prices what this
//! counts (scripts/cost.py) and writes docs/cost.md.
//!
//! Every AWS request goes through `test_support::wire_meter` (by service and operation, DynamoDB
//! capacity units from item sizes, EventBridge entries, SQS chunks); every invocation is timed (wall
//! and this thread's CPU: the handlers run on a current-thread runtime, the emulator, the stand-in and
//! the meter's side reads elsewhere) with the AWS and Graph round trips on its critical path; the
//! functions' log output is this process's stdout (tracing's JSON lines and the EMF metric lines),
//! whose offsets each invocation records. The workload's queues are drained as the Lambda event
//! source would: up to the batch size per invocation, the successful records deleted.
//!
//! COST_SCALE (default 1) scales the workload: 1,000 inbound texts (a tenth delivered one per
//! invocation), 1,000 statuses, 200 sends with their statuses (a tenth one per invocation), 20 media
//! messages, 50 history pages. COST_OUT: where the counts go (JSON). stdout must be a file.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use integration_tests::*;
use local_stack::graph_standin::{Standin, StandinConfig};
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

const PHONE_ID: &str = "106540352242922";
const WEBHOOK_FUNCTION: &str = "MetaWebhookFunction";
const SEND_API_FUNCTION: &str = "SendApiFunction";
const WORKER_FUNCTION: &str = "QueueWorkerFunction";

/// Nanoseconds this thread has run on a CPU (the kernel's schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Bytes written to stdout so far (stdout is a file: scripts/cost.sh redirects it).
fn stdout_len() -> u64 {
    let _ = std::io::stdout().flush();
    std::fs::metadata("/proc/self/fd/1").map(|meta| meta.len()).unwrap_or(0)
}

/// Requests through the Graph proxy: in flight, made, and round trips on the critical path.
#[derive(Default)]
struct GraphCount {
    state: Mutex<(usize, u64, u64)>,
}

impl GraphCount {
    fn start(&self) {
        let mut state = self.state.lock().unwrap();
        if state.0 == 0 {
            state.2 += 1;
        }
        state.0 += 1;
        state.1 += 1;
    }

    fn finish(&self) {
        let mut state = self.state.lock().unwrap();
        state.0 = state.0.saturating_sub(1);
    }

    fn take(&self) -> (u64, u64) {
        let mut state = self.state.lock().unwrap();
        let taken = (state.1, state.2);
        state.1 = 0;
        state.2 = 0;
        taken
    }
}

/// The servers beside the handlers, on a runtime of their own (another thread): the Graph stand-in,
/// the counting proxy in front of it, and the catcher of the stand-in's status webhooks.
struct Helpers {
    runtime: tokio::runtime::Handle,
    standin_url: String,
    proxy_url: String,
    graph: Arc<GraphCount>,
    caught: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn start_helpers(access_token: String, app_secret: String) -> Helpers {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (catcher, catcher_address) = test_support::stack::listener().await;
            let (standin, standin_address) = test_support::stack::listener().await;
            let (proxy, proxy_address) = test_support::stack::listener().await;
            let caught = Arc::new(Mutex::new(Vec::new()));
            let graph = Arc::new(GraphCount::default());
            let standin_url = format!("http://{standin_address}");

            let into = Arc::clone(&caught);
            tokio::spawn(local_stack::http_server::serve(catcher, "catcher", move |request| {
                let into = Arc::clone(&into);
                async move {
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    into.lock().unwrap().push(body.to_vec());
                    hyper::Response::new(Full::new(Bytes::new()))
                }
            }));

            let server = Standin::new(StandinConfig {
                access_token,
                app_secret,
                webhook_url: format!("http://{catcher_address}/webhooks/whatsapp"),
                phone_number_id_display: "15550783881".into(),
                latency: Duration::ZERO,
                status_delay: Duration::ZERO,
                send_status_webhooks: true,
            });
            tokio::spawn(server.serve(standin));

            let client = bridge::adapters::http::client_builder().build().unwrap();
            let (target, count) = (standin_url.clone(), Arc::clone(&graph));
            let origin = format!("http://{proxy_address}");
            tokio::spawn(local_stack::http_server::serve(proxy, "graph proxy", move |request| {
                let (client, target, count, origin) =
                    (client.clone(), target.clone(), Arc::clone(&count), origin.clone());
                async move {
                    count.start();
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                    let mut forward = client
                        .request(parts.method.clone(), format!("{target}{path}"))
                        .body(body);
                    for (name, value) in &parts.headers {
                        if name != hyper::header::HOST {
                            forward = forward.header(name, value);
                        }
                    }
                    let mut response = hyper::Response::new(Full::new(Bytes::new()));
                    match forward.send().await {
                        Ok(answer) => {
                            *response.status_mut() = answer.status();
                            for (name, value) in answer.headers() {
                                if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
                                    response.headers_mut().insert(name, value.clone());
                                }
                            }
                            let json = answer
                                .headers()
                                .get(hyper::header::CONTENT_TYPE)
                                .is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
                            let body = answer.bytes().await.unwrap_or_default();
                            // The media URLs the stand-in answers name its own origin: the proxy's instead.
                            let body = match std::str::from_utf8(&body) {
                                Ok(text) if json => Bytes::from(text.replace(&target, &origin)),
                                _ => body,
                            };
                            *response.body_mut() = Full::new(body);
                        }
                        Err(_) => *response.status_mut() = hyper::StatusCode::BAD_GATEWAY,
                    }
                    count.finish();
                    response
                }
            }));
            sender
                .send(Helpers {
                    runtime: tokio::runtime::Handle::current(),
                    standin_url,
                    proxy_url: format!("http://{proxy_address}"),
                    graph,
                    caught,
                })
                .unwrap_or_else(|_| panic!("the bench's main thread"));
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().unwrap()
}

/// One measured invocation.
struct Invocation {
    phase: String,
    function: &'static str,
    records: usize,
    wall_us: u64,
    cpu_us: u64,
    aws_requests: u64,
    aws_round_trips: u64,
    graph_requests: u64,
    graph_round_trips: u64,
    log_from: u64,
    log_to: u64,
}

/// The event source's own SQS requests, as the Lambda service makes them (not through the meter).
#[derive(Default, Clone, Copy)]
struct Polling {
    receives: u64,
    deletes: u64,
    messages: u64,
}

struct Bench {
    emu: Emulator,
    meter: Meter,
    helpers: Helpers,
    handlers: Handlers,
    env: std::collections::HashMap<String, String>,
    phase: String,
    polling: std::collections::BTreeMap<String, Polling>,
    failures: usize,
    events_queue: TestQueue,
    send_queue: TestQueue,
}

impl Bench {
    async fn webhook(&self, body: &[u8]) {
        let request = signed_webhook(&self.env["WHATSAPP_APP_SECRET"], body, false);
        let response = self
            .measure(WEBHOOK_FUNCTION, 1, self.handlers.app.ingest.handle(request))
            .await;
        assert_eq!(response.status(), 200, "webhook: {:?}", response.body());
    }

    /// Runs `work` as one invocation of `function` over `records` records, measured.
    async fn measure<F: Future>(&self, function: &'static str, records: usize, work: F) -> F::Output {
        let pending = PendingInvocation::start(self, function, records);
        let output = work.await;
        pending.finish(self);
        output
    }

    async fn send(&self, to: &str, text: &str) {
        let auth = format!("Bearer {}", self.env["API_KEY"]);
        let body = json!({"to": to, "type": "text", "body": text}).to_string();
        let request = api_request(
            "POST",
            "/messages",
            "",
            &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
            body.as_bytes(),
            false,
        );
        let response = self
            .measure(SEND_API_FUNCTION, 1, self.handlers.app.send_api.handle(request))
            .await;
        assert_eq!(response.status(), 202, "send: {:?}", response.body());
    }

    async fn history(&self, contact: &str) {
        let auth = format!("Bearer {}", self.env["API_KEY"]);
        let request = api_request(
            "GET",
            &format!("/contacts/{contact}/messages"),
            "limit=20",
            &[("Authorization", auth.as_str())],
            b"",
            false,
        );
        let response = self
            .measure(SEND_API_FUNCTION, 1, self.handlers.app.send_api.handle(request))
            .await;
        assert_eq!(response.status(), 200, "history: {:?}", response.body());
    }

    /// Runs the worker over `queue` until it is empty, `batch` records per invocation.
    async fn drain(&mut self, which: Which, batch: i32) {
        let queue = match which {
            Which::Events => (self.events_queue.url.clone(), self.events_queue.arn.clone()),
            Which::Sends => (self.send_queue.url.clone(), self.send_queue.arn.clone()),
        };
        loop {
            let messages = self
                .emu
                .sqs
                .receive_message()
                .queue_url(&queue.0)
                .max_number_of_messages(batch)
                .wait_time_seconds(0)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                return;
            }
            let event = sqs_event(&messages, &queue.1, "us-east-1").unwrap();
            let answer = self
                .measure(
                    WORKER_FUNCTION,
                    messages.len(),
                    self.handlers.worker.handle(event, batch_deadline()),
                )
                .await;
            let failed: Vec<String> = answer
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.clone())
                .collect();
            self.failures += failed.len();
            let polling = self.polling.entry(self.phase.clone()).or_default();
            polling.receives += 1;
            polling.messages += messages.len() as u64;
            polling.deletes += 1;
            let mut delete = self.emu.sqs.delete_message_batch().queue_url(&queue.0);
            for (n, message) in messages.iter().enumerate() {
                if failed.iter().any(|id| Some(id.as_str()) == message.message_id()) {
                    eprintln!("cost: a record failed in {}: {:?}", self.phase, message.body());
                }
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .build()
                    .unwrap();
                delete = delete.entries(entry);
            }
            delete.send().await.unwrap();
        }
    }

    /// Waits until the stand-in has posted `count` status webhooks; returns them.
    async fn caught(&self, count: usize) -> Vec<Vec<u8>> {
        for _ in 0..600 {
            if self.helpers.caught.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let bodies = std::mem::take(&mut *self.helpers.caught.lock().unwrap());
        assert_eq!(bodies.len(), count, "status webhooks from the stand-in");
        bodies
    }
}

/// An invocation being measured (its future may borrow the bench).
struct PendingInvocation {
    function: &'static str,
    records: usize,
    log_from: u64,
    cpu: u64,
    started: Instant,
}

impl PendingInvocation {
    fn start(bench: &Bench, function: &'static str, records: usize) -> Self {
        bench.meter.set_label(&format!("{}/{function}", bench.phase));
        bench.meter.take_invocation();
        bench.helpers.graph.take();
        Self {
            function,
            records,
            log_from: stdout_len(),
            cpu: thread_cpu_ns(),
            started: Instant::now(),
        }
    }

    fn finish(self, bench: &Bench) {
        let wall = self.started.elapsed();
        let cpu = thread_cpu_ns().saturating_sub(self.cpu);
        bridge::metrics::flush();
        let log_to = stdout_len();
        let calls = bench.meter.take_invocation();
        let (graph_requests, graph_round_trips) = bench.helpers.graph.take();
        FINISHED.lock().unwrap().push(Invocation {
            phase: bench.phase.clone(),
            function: self.function,
            records: self.records,
            wall_us: wall.as_micros() as u64,
            cpu_us: cpu / 1_000,
            aws_requests: calls.requests,
            aws_round_trips: calls.round_trips,
            graph_requests,
            graph_round_trips,
            log_from: self.log_from,
            log_to,
        });
    }
}

static FINISHED: Mutex<Vec<Invocation>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
enum Which {
    Events,
    Sends,
}

fn scaled(n: f64, scale: f64) -> usize {
    ((n * scale).round() as usize).max(1)
}

fn contact(n: usize) -> String {
    format!("97250{:07}", n)
}

/// Meta's upload to the stand-in (setup, not counted): the media id.
async fn upload(base: &str, token: &str, bytes: &[u8]) -> String {
    let boundary = "cost-boundary";
    let mut body = Vec::new();
    for (name, value) in [("messaging_product", "whatsapp"), ("type", "image/jpeg")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = bridge::adapters::http::client_builder()
        .build()
        .unwrap()
        .post(format!("{base}/v26.0/{PHONE_ID}/media"))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let json: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    json["id"].as_str().unwrap().to_owned()
}

fn image_webhook(wamid: &str, from: &str, media_id: &str, sha256: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": PHONE_ID},
        "contacts": [{"wa_id": from, "profile": {"name": "Noa Levi"}}],
        "messages": [{"from": from, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "image",
            "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": sha256, "caption": "the receipt"}}]}}]}]})
    .to_string()
    .into_bytes()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(
        std::fs::metadata("/proc/self/fd/1").is_ok_and(|meta| meta.is_file()),
        "stdout must be a file (the functions' log output is measured there): run `make cost`"
    );
    bridge::telemetry::init();
    let scale: f64 = std::env::var("COST_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let out = std::env::var("COST_OUT").unwrap_or_else(|_| "target/cost.json".to_owned());
    let started = Instant::now();

    let emu = Emulator::connect().await;
    let helpers = start_helpers(
        emu.env["WHATSAPP_ACCESS_TOKEN"].clone(),
        emu.env["WHATSAPP_APP_SECRET"].clone(),
    );
    let meter = Meter::new(emu.endpoint()).with_side_runtime(helpers.runtime.clone());
    let sdk = metered_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], meter.clone()).await;
    let events_queue = emu.fresh_queue("cost-events", 180, None).await;
    let send_queue = emu.fresh_queue("cost-sends", 180, None).await;
    let mut env = emu.env.clone();
    env.insert("QUEUE_URL".into(), events_queue.url.clone());
    env.insert("SEND_QUEUE_URL".into(), send_queue.url.clone());
    env.insert("GRAPH_API_BASE_URL".into(), helpers.proxy_url.clone());
    env.insert("METRICS_STACK".into(), "whatsapp-bridge".into());
    // The rate limiter's waits are not what is measured here (a busy tier's pacing is bench-send's).
    env.insert("SEND_RATE_PER_SECOND".into(), "1000".into());
    let handlers = build_handlers(&env, &sdk).await;
    meter.reset();

    let mut bench = Bench {
        emu,
        meter,
        helpers,
        handlers,
        env,
        phase: String::new(),
        polling: Default::default(),
        failures: 0,
        events_queue,
        send_queue,
    };
    let run = unique("c").replace(['.', '-'], "");
    let counts = json!({
        "inbound": scaled(1000.0, scale), "statuses": scaled(1000.0, scale), "sends": scaled(200.0, scale),
        "media": scaled(20.0, scale), "history": scaled(50.0, scale),
    });
    let n = |key: &str| counts[key].as_u64().unwrap() as usize;
    let contacts = 100.min(n("inbound"));

    // Inbound texts: nine tenths in full batches of 10, a tenth one record per invocation.
    let single_inbound = (n("inbound") / 10).max(1);
    for (phase, range, batch) in [
        ("inbound", 0..n("inbound") - single_inbound, 10),
        ("inbound-single", n("inbound") - single_inbound..n("inbound"), 1),
    ] {
        bench.phase = phase.to_owned();
        for i in range {
            let body = text_webhook(
                PHONE_ID,
                &format!("wamid.COST{run}in{i}"),
                &contact(i % contacts),
                chrono::Utc::now().timestamp(),
                "Hi! Is my order on its way? It was due yesterday, order number 48213.",
            );
            bench.webhook(&body).await;
            if batch == 1 {
                bench.drain(Which::Events, 1).await;
            }
        }
        bench.drain(Which::Events, 10).await;
    }

    // Statuses of messages sent from elsewhere (the WhatsApp Business app, another tool): sent, delivered, read.
    bench.phase = "statuses".into();
    for i in 0..n("statuses") {
        let status = ["sent", "delivered", "read"][i % 3];
        let body = status_webhook(
            &format!("wamid.COST{run}ext{}", i / 3),
            status,
            chrono::Utc::now().timestamp(),
            Value::Null,
        );
        bench.webhook(&body).await;
    }
    bench.drain(Which::Events, 10).await;

    // Sends through the send API, each followed by Meta's three statuses (the stand-in's webhooks).
    let single_sends = (n("sends") / 10).max(1);
    for (phase, range, batch) in [
        ("sends", 0..n("sends") - single_sends, 10),
        ("sends-single", n("sends") - single_sends..n("sends"), 1),
    ] {
        bench.phase = phase.to_owned();
        let count = range.len();
        for i in range {
            bench
                .send(
                    &format!("+{}", contact(i % contacts)),
                    "Your order 48213 has shipped and arrives tomorrow.",
                )
                .await;
            if batch == 1 {
                bench.drain(Which::Sends, 1).await;
            }
        }
        bench.drain(Which::Sends, 10).await;
        for body in bench.caught(3 * count).await {
            bench.webhook(&body).await;
            if batch == 1 {
                bench.drain(Which::Events, 1).await;
            }
        }
        bench.drain(Which::Events, 10).await;
    }

    // Inbound images (100 KB each), kept in the bucket by the media jobs.
    bench.phase = "media".into();
    let image: Vec<u8> = (0..100 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&image))
    };
    let standin_url = bench.helpers.standin_url.clone();
    for i in 0..n("media") {
        let media_id = upload(&standin_url, &bench.env["WHATSAPP_ACCESS_TOKEN"], &image).await;
        let body = image_webhook(
            &format!("wamid.COST{run}img{i}"),
            &contact(i % contacts),
            &media_id,
            &sha256,
        );
        bench.webhook(&body).await;
    }
    bench.drain(Which::Events, 10).await;

    // History pages (20 messages each) of the contacts that wrote.
    bench.phase = "history".into();
    for i in 0..n("history") {
        bench.history(&format!("+{}", contact(i % contacts))).await;
    }

    let invocations: Vec<Value> = FINISHED
        .lock()
        .unwrap()
        .iter()
        .map(|i| {
            json!({"phase": i.phase, "function": i.function, "records": i.records, "wall_us": i.wall_us,
                "cpu_us": i.cpu_us, "aws_requests": i.aws_requests, "aws_round_trips": i.aws_round_trips,
                "graph_requests": i.graph_requests, "graph_round_trips": i.graph_round_trips,
                "log_from": i.log_from, "log_to": i.log_to})
        })
        .collect();
    let polling: serde_json::Map<String, Value> = bench
        .polling
        .iter()
        .map(|(phase, p)| {
            (
                phase.clone(),
                json!({"receives": p.receives, "deletes": p.deletes, "messages": p.messages}),
            )
        })
        .collect();
    let table = bench.env["TABLE_NAME"].clone();
    let (items, table_bytes, index_bytes) = bench.meter.table_bytes(&table).await;
    let report = json!({
        "table": {"name": table, "items": items, "bytes": table_bytes, "index_bytes": index_bytes},
        "scale": scale,
        "counts": counts,
        "single_inbound": single_inbound,
        "single_sends": single_sends,
        "image_bytes": image.len(),
        "failures": bench.failures,
        "seconds": started.elapsed().as_secs_f64(),
        "invocations": invocations,
        "polling": polling,
        "aws": bench.meter.tallies_json(),
    });
    std::fs::write(&out, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    eprintln!(
        "cost: workload at scale {scale} in {:.0} s, {} invocations, {} failed records; counts in {out}",
        started.elapsed().as_secs_f64(),
        report["invocations"].as_array().map_or(0, Vec::len),
        bench.failures
    );
}
