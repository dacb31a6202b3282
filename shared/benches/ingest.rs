//! Ingestion without I/O (signature check, JSON check, envelope, the SQS message) for 1, 10
//! and 100 KiB payloads, beside the bare HMAC of the same bytes and, when `node` is on the
//! PATH, a Node.js handler doing HMAC + `timingSafeEqual` + `JSON.parse`
//! (`bench/node-ingest/handler.mjs`); and the worker's parse + plan per record. Ends with one
//! table of this run's medians and their ratio to the bare HMAC.
//!
//! Run: `cargo bench -p bridge --bench ingest`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use bridge::claim_check;

use bridge::config::IngestConfig;
use bridge::domain::meta_signature;
use bridge::domain::records::{self, PhoneNumberFilter, Received};
use bridge::domain::secret::Secret;
use bridge::domain::webhook::WebhookPayload;
use bridge::handlers::meta_ingest::Ingest;
use bridge::ports::{BlobError, BlobStore, Queue, QueueError, QueueMessage};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Never called: the benchmark stops before I/O.
struct NoQueue;
impl Queue for NoQueue {
    async fn send(&self, _message: QueueMessage) -> Result<String, QueueError> {
        Err(QueueError::Unavailable("benchmark".into()))
    }
}
struct NoBlobs;
impl BlobStore for NoBlobs {
    fn bucket(&self) -> &str {
        "none"
    }
    async fn put(&self, _key: &str, _bytes: Vec<u8>) -> Result<(), BlobError> {
        Err(BlobError::Unavailable("benchmark".into()))
    }
    async fn get(&self, _bucket: &str, _key: &str) -> Result<Vec<u8>, BlobError> {
        Err(BlobError::Unavailable("benchmark".into()))
    }
}

/// A realistic payload of about `target` bytes: text messages with Meta-style escapes.
fn payload(target: usize) -> Vec<u8> {
    let message = |i: usize| {
        format!(
            r#"{{"from":"972501234567","id":"wamid.HBgMOTcyNTAxMjM0NTY3FQIAEhggQ0{i:08}","timestamp":"1700000000","type":"text","text":{{"body":"\u05e9\u05dc\u05d5\u05dd message number {i}"}}}}"#
        )
    };
    let mut messages = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < target.saturating_sub(300) {
        let m = message(i);
        size += m.len() + 1;
        messages.push(m);
        i += 1;
    }
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Ayala"}},"wa_id":"972501234567"}}],"messages":[{}]}},"field":"messages"}}]}}]}}"#,
        messages.join(",")
    )
    .into_bytes()
}

fn ingestion(c: &mut Criterion) {
    let secret = Secret::new(SECRET);
    let config = IngestConfig {
        app_secret: secret.clone(),
        queue_url: String::new(),
        payload_bucket: String::new(),
        inline_limit: 250 * 1024,
    };
    let ingest = Ingest::new(config, NoQueue, NoBlobs);
    let mut group = c.benchmark_group("ingest");
    for kib in SIZES_KIB {
        let body = payload(kib * 1024);
        let signature = meta_signature::sign(&secret, &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("hmac_only", kib), &body, |b, body| {
            b.iter(|| meta_signature::verify(&secret, Some(signature.as_bytes()), black_box(body)))
        });
        group.bench_with_input(BenchmarkId::new("check_and_envelope", kib), &body, |b, body| {
            b.iter(|| {
                ingest
                    .check(Some(signature.as_bytes()), black_box(body), "req-1")
                    .map(|e| e.body.len())
            })
        });
        // Everything the handler does before the SQS call: the check, then the message the queue
        // client is handed (body and attributes).
        group.bench_with_input(BenchmarkId::new("check_to_message", kib), &body, |b, body| {
            b.iter(|| {
                let envelope = ingest
                    .check(Some(signature.as_bytes()), black_box(body), "req-1")
                    .ok()?;
                claim_check::inline_message(&envelope, ingest.config.inline_limit).map(|m| m.body.len())
            })
        });
    }
    group.finish();
}

fn worker_parsing(c: &mut Criterion) {
    let received = Received {
        at: chrono::Utc::now(),
        request_id: "req-1".into(),
    };
    let filter = PhoneNumberFilter::default();
    let mut group = c.benchmark_group("worker_parse_and_plan");
    for kib in [1usize, 10] {
        let body = payload(kib * 1024);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(kib), &body, |b, body| {
            b.iter(|| {
                let parsed: WebhookPayload = serde_json::from_slice(black_box(body)).expect("valid");
                records::plan(&parsed, &filter, &received).writes()
            })
        });
    }
    group.finish();
}

const SIZES_KIB: [usize; 3] = [1, 10, 100];
const SECRET: &str = "benchmark-app-secret";

/// The Node.js handler on the same payloads: `(bytes, handler ns, bare HMAC ns)` per size.
fn node_handler() -> Result<Vec<(usize, f64, f64)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/node-ingest/handler.mjs");
    let dir = std::env::temp_dir().join(format!("ingest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut args = vec![script.display().to_string(), SECRET.to_owned()];
    for kib in SIZES_KIB {
        let body = payload(kib * 1024);
        let path = dir.join(format!("{kib}.json"));
        std::fs::write(&path, &body).map_err(|e| e.to_string())?;
        args.push(path.display().to_string());
        args.push(meta_signature::sign(&Secret::new(SECRET), &body));
    }
    let output = Command::new("node").args(&args).output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = output.map_err(|e| format!("node not run: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!(
        "node {version}: {}",
        String::from_utf8_lossy(&output.stdout).trim().replace('\n', "; ")
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            Some((
                fields.next()?.parse().ok()?,
                fields.next()?.parse().ok()?,
                fields.next()?.parse().ok()?,
            ))
        })
        .collect())
}

/// The median criterion measured for `ingest/<id>/<kib>` in this run (`None` if not run now).
fn median_ns(criterion_dir: &Path, started: SystemTime, id: &str, kib: usize) -> Option<f64> {
    let path = criterion_dir.join(format!("ingest/{id}/{kib}/new/estimates.json"));
    if std::fs::metadata(&path).and_then(|m| m.modified()).ok()? < started {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn summary(_: &mut Criterion) {
    let node = node_handler().map_err(|error| println!("Node.js handler skipped: {error}"));
    let criterion_dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("criterion")))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"));
    let started = STARTED.get().copied().unwrap_or(SystemTime::UNIX_EPOCH);
    println!("\ningest, medians of this run (ratio to the bare HMAC of the same bytes):");
    println!(
        "{:>7} {:>12} {:>20} {:>20} {:>20}",
        "size", "hmac_only", "check_and_envelope", "check_to_message", "node handler"
    );
    let us = |ns: Option<f64>, hmac: Option<f64>| match (ns, hmac) {
        (Some(ns), Some(hmac)) => format!("{:.2} us {:.2}x", ns / 1e3, ns / hmac),
        (Some(ns), None) => format!("{:.2} us", ns / 1e3),
        _ => "-".to_owned(),
    };
    for (i, kib) in SIZES_KIB.into_iter().enumerate() {
        let hmac = median_ns(&criterion_dir, started, "hmac_only", kib);
        let node = node.as_ref().ok().and_then(|rows| rows.get(i)).map(|row| row.1);
        println!(
            "{:>4} KiB {:>12} {:>20} {:>20} {:>20}",
            kib,
            us(hmac, None),
            us(median_ns(&criterion_dir, started, "check_and_envelope", kib), hmac),
            us(median_ns(&criterion_dir, started, "check_to_message", kib), hmac),
            us(node, hmac),
        );
    }
    if let Ok(rows) = &node {
        let hmacs: Vec<String> = rows.iter().map(|row| format!("{:.2} us", row.2 / 1e3)).collect();
        println!("(Node's own bare HMAC of the same bodies: {})", hmacs.join(", "));
    }
}

static STARTED: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();

fn start(_: &mut Criterion) {
    let _ = STARTED.set(SystemTime::now());
}

criterion_group!(benches, start, ingestion, worker_parsing, summary);
criterion_main!(benches);
