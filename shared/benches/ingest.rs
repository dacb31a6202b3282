//! Ingestion without I/O (signature check, JSON validation, envelope) for 1, 10 and
//! 100 KiB payloads, beside the bare HMAC; and the worker's parse + plan per record.
//!
//! Run: `cargo bench -p bridge --bench ingest`

use std::hint::black_box;

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
    let secret = Secret::new("benchmark-app-secret");
    let config = IngestConfig {
        app_secret: secret.clone(),
        queue_url: String::new(),
        payload_bucket: String::new(),
        inline_limit: 250 * 1024,
    };
    let ingest = Ingest::new(config, NoQueue, NoBlobs);
    let mut group = c.benchmark_group("ingest");
    for kib in [1usize, 10, 100] {
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

criterion_group!(benches, ingestion, worker_parsing);
criterion_main!(benches);
