//! The SQS record → envelope → worker path, in process with the in-memory fakes: a Lambda SQS
//! event as delivered (JSON), or a record built from the input (body + kind attribute), through
//! `Worker::handle`/`process` (webhooks, send jobs, send outcomes, claim-check pointers).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bridge::domain::records::{BusinessNumbers, PhoneNumberFilter};
use bridge::handlers::worker::sending::{RateLimiter, SendPolicy, Sending};
use bridge::handlers::worker::{Publishing, Worker};
use bridge::ports::{BlobStore, ClaimTerms};
use bridge::testing::{FakeBlobStore, FakeEventBus, FakeGraph, FakeQueue, MemoryStore};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tokio::time::Instant;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

const KINDS: [Option<&str>; 6] = [
    None,
    Some("meta-webhook"),
    Some("send-message"),
    Some("send-outcome"),
    Some("inbound-media"),
    Some("other"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let store = MemoryStore::new();
    let blobs = FakeBlobStore::new("payloads");
    let queue = FakeQueue::new();
    let worker = Worker {
        store: store.clone(),
        blobs: blobs.clone(),
        redelivery: queue.clone(),
        phone_numbers: PhoneNumberFilter::new(["106540352242922".to_owned()]),
        sending: Some(Sending {
            store: store.clone(),
            graph: FakeGraph::new(),
            queue: queue.clone(),
            limiter: RateLimiter::new(1_000_000),
            policy: SendPolicy {
                terms: ClaimTerms {
                    lease_seconds: 60,
                    reconcile_after_seconds: 900,
                },
                graph_timeout: Duration::from_millis(200),
                store_timeout: Duration::from_millis(100),
                max_receives: 10,
                mark_read_timeout: Duration::from_millis(50),
                pace: None,
            },
            numbers: BusinessNumbers::new(["106540352242922".to_owned()]),
            auto_reply_text: (selector & 0x10 != 0).then(|| "Thanks!".to_owned()),
            calls_policy: if selector & 0x40 != 0 {
                bridge::domain::records::CallsPolicy::Ignore
            } else {
                bridge::domain::records::CallsPolicy::Reject
            },
            calls_reply: (selector & 0x80 != 0).then(|| bridge::domain::records::CallsReply {
                text: "We cannot take calls".to_owned(),
                cooldown_seconds: 60,
            }),
            mark_as_read: selector & 0x20 != 0,
            events: None,
            typing_indicator: selector & 0x30 == 0x30,
        }),
        events: None::<Publishing<FakeEventBus>>,
        media: None,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    runtime().block_on(async {
        if selector & 0x80 != 0 {
            // The Lambda event exactly as the runtime would deserialize it.
            if let Ok(event) = serde_json::from_slice::<SqsEvent>(rest) {
                let ids: Vec<_> = event.records.iter().map(|r| r.message_id.clone().unwrap_or_default()).collect();
                let response = worker.handle(event, deadline).await;
                for failure in &response.batch_item_failures {
                    assert!(ids.contains(&failure.item_identifier), "a failure for a record not in the batch");
                }
            }
            return;
        }
        let Ok(body) = std::str::from_utf8(rest) else {
            return;
        };
        let kind = KINDS[usize::from(selector) % KINDS.len()];
        // Half the time the body travels through the claim check.
        let body = if selector & 0x40 != 0 {
            blobs.put("webhooks/fuzz", body.as_bytes().to_vec()).await.expect("the fake stores");
            r#"["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"payloads","s3Key":"webhooks/fuzz"}]"#
                .to_owned()
        } else {
            body.to_owned()
        };
        let mut attributes = serde_json::Map::new();
        if let Some(kind) = kind {
            attributes.insert(
                "kind".to_owned(),
                json!({"stringValue": kind, "dataType": "String", "stringListValues": [], "binaryListValues": []}),
            );
        }
        let delivery = |id: &str| -> SqsMessage {
            serde_json::from_value(json!({
                "messageId": id,
                "receiptHandle": format!("{id}/1"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1800000000000"},
                "messageAttributes": attributes,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:events",
                "awsRegion": "us-east-1",
            }))
            .expect("a record")
        };
        let record = delivery("m-1");
        let first = worker.process(&record, deadline).await;
        // Every write is idempotent. The same SQS message again succeeds again (its writes count as its
        // own: the first delivery's answer may have been lost, and its events are published again);
        // the same webhook in another message (Meta's retry, queued anew) records no new inbound message.
        if let Ok((summary, _)) = &first
            && kind.is_none_or(|kind| kind == "meta-webhook")
        {
            worker.process(&record, deadline).await.expect("a redelivery succeeds");
            let (again, _) = worker
                .process(&delivery("m-2"), deadline)
                .await
                .expect("Meta's retry succeeds");
            assert_eq!(again.inbound_new, 0, "Meta's retry of a webhook recorded a message twice");
            assert_eq!(again.inbound_duplicate, summary.inbound_new + summary.inbound_duplicate);
        }
    });
});
