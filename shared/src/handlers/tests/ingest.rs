use std::time::Duration;

use super::{body_text, request};
use crate::config::IngestConfig;
use crate::domain::envelope::S3Pointer;
use crate::domain::meta_signature;
use crate::domain::secret::Secret;
use crate::handlers::meta_ingest::{Ingest, SIGNATURE_HEADER};
use crate::testing::{FakeBlobStore, FakeQueue, Fault};

const SECRET: &str = "the-app-secret";
const BODY: &str = r#"{"object":"whatsapp_business_account","entry":[]}"#;

fn ingest(inline_limit: usize) -> Ingest<FakeQueue, FakeBlobStore> {
    let config = IngestConfig {
        app_secret: Secret::new(SECRET),
        queue_url: "queue".to_owned(),
        payload_bucket: "payloads".to_owned(),
        inline_limit,
    };
    Ingest::new(config, FakeQueue::new(), FakeBlobStore::new("payloads"))
}

fn webhook(body: &str, signature: Option<&str>) -> lambda_http::Request {
    let signed = meta_signature::sign(&Secret::new(SECRET), body.as_bytes());
    let signature = signature.unwrap_or(&signed);
    request(
        "POST",
        "/webhooks/whatsapp",
        &[(SIGNATURE_HEADER, signature), ("content-type", "application/json")],
        body.to_owned(),
    )
}

#[tokio::test]
async fn a_signed_webhook_is_queued_then_answered_200() {
    let ingest = ingest(250 * 1024);
    let response = ingest.handle(webhook(BODY, None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(&response), "EVENT_RECEIVED");
    let queued = ingest.queue.messages();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].body, BODY);
    assert_eq!(ingest.blobs.faults.calls("put"), 0);
}

#[tokio::test]
async fn a_forged_or_missing_signature_is_403_and_touches_nothing() {
    let ingest = ingest(250 * 1024);
    let forged = ingest.handle(webhook(BODY, Some("sha256=00"))).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(body_text(&forged), r#"{"error":"invalid signature"}"#);
    let unsigned = request("POST", "/webhooks/whatsapp", &[], BODY.to_owned());
    assert_eq!(ingest.handle(unsigned).await.status(), 403);
    assert_eq!(ingest.queue.faults.calls("send"), 0);
    assert_eq!(ingest.blobs.faults.calls("put"), 0);
    assert!(ingest.queue.messages().is_empty() && ingest.blobs.objects().is_empty());
}

#[tokio::test]
async fn signed_but_not_json_is_400_and_queues_nothing() {
    let ingest = ingest(250 * 1024);
    let response = ingest.handle(webhook("not json", None)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_text(&response), r#"{"error":"the body is not valid JSON"}"#);
    assert_eq!(ingest.queue.faults.calls("send"), 0);
}

#[tokio::test]
async fn what_is_not_a_json_object_at_a_glance_is_400_and_a_framed_body_travels_byte_exact() {
    // Refused by the one-pass check: a raw control character, an array, a bare value.
    for body in ["{\"a\":\"\u{1}\"}", "[]", "\"{}\"", "{", " 7 "] {
        let ingest = ingest(250 * 1024);
        let response = ingest.handle(webhook(body, None)).await;
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(body_text(&response), r#"{"error":"the body is not valid JSON"}"#);
        assert_eq!(ingest.queue.faults.calls("send"), 0);
    }
    // Framed as an object: queued byte for byte (the worker's full parse refuses what is not JSON);
    // a character SQS refuses (U+FFFF) sends the body through the bucket, byte for byte too.
    for (body, offloaded) in [
        (r#" {"a":} "#, false),
        ("{\"text\":\"caf\u{e9} \\u05e9 \u{1F600}\"}\n", false),
        ("{\"a\":\"\u{FFFF}\"}", true),
    ] {
        let ingest = ingest(250 * 1024);
        assert_eq!(ingest.handle(webhook(body, None)).await.status(), 200, "{body:?}");
        let queued = ingest.queue.messages();
        let objects = ingest.blobs.objects();
        if offloaded {
            assert!(S3Pointer::from_body(&queued[0].body).is_some());
            assert_eq!(objects.values().next().map(Vec::as_slice), Some(body.as_bytes()));
        } else {
            assert_eq!(queued[0].body, body);
            assert!(objects.is_empty());
        }
    }
}

#[tokio::test]
async fn a_queue_failure_is_503_so_meta_retries() {
    for fault in [Fault::Transient, Fault::Permanent, Fault::AppliedThenTransient] {
        let ingest = ingest(250 * 1024);
        ingest.queue.faults.fail_next("send", 1, fault);
        let response = ingest.handle(webhook(BODY, None)).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert_eq!(
            body_text(&response),
            r#"{"error":"temporarily unavailable, retry later"}"#
        );
        // The retry goes through.
        assert_eq!(ingest.handle(webhook(BODY, None)).await.status(), 200, "{fault:?}");
    }
}

#[tokio::test]
async fn a_hung_queue_is_not_cut_short_by_the_handler() {
    // The handler sets no deadline of its own: the SDK's operation timeout (9 s) ends a hung
    // send with an error, which is a 503. In memory nothing ends it, so it stays pending.
    let ingest = ingest(250 * 1024);
    ingest.queue.faults.fail_next("send", 1, Fault::Hang);
    let answer = tokio::time::timeout(Duration::from_millis(50), ingest.handle(webhook(BODY, None))).await;
    assert!(answer.is_err(), "answered before the queue did");
    assert!(ingest.queue.messages().is_empty());
}

#[tokio::test]
async fn an_oversized_payload_goes_to_the_bucket_and_the_queue_gets_a_pointer() {
    let ingest = ingest(10);
    let response = ingest.handle(webhook(BODY, None)).await;
    assert_eq!(response.status(), 200);
    let objects = ingest.blobs.objects();
    assert_eq!(objects.len(), 1);
    let ((bucket, key), bytes) = objects.into_iter().next().expect("one object");
    assert_eq!((bucket.as_str(), bytes.as_slice()), ("payloads", BODY.as_bytes()));
    let queued = ingest.queue.messages();
    assert_eq!(S3Pointer::from_body(&queued[0].body), Some(S3Pointer { bucket, key }));
}

#[tokio::test]
async fn a_failed_put_of_an_offloaded_payload_is_503_and_queues_nothing() {
    for fault in [Fault::Transient, Fault::Permanent] {
        let ingest = ingest(10);
        ingest.blobs.faults.fail_next("put", 1, fault);
        let response = ingest.handle(webhook(BODY, None)).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert_eq!(ingest.queue.faults.calls("send"), 0, "{fault:?}");
        assert!(ingest.blobs.objects().is_empty());
    }
}

/// A request as the Lambda runtime hands it over, its invocation ending `ms_left` from now.
fn with_deadline(request: lambda_http::Request, ms_left: i64) -> lambda_http::Request {
    use lambda_http::RequestExt as _;
    let mut context = lambda_http::Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + ms_left).unwrap_or(0);
    request.with_lambda_context(context)
}

/// A slow S3 write and a slow SQS send share one budget, the invocation's deadline less a
/// margin: the webhook is answered 503 (Meta retries) before the function would time out.
#[tokio::test(start_paused = true)]
async fn a_slow_bucket_then_a_slow_queue_share_one_budget_and_answer_503_in_time() {
    for (faulty, operation) in [("blobs", "put"), ("queue", "send")] {
        let ingest = ingest(16);
        let faults = match faulty {
            "blobs" => &ingest.blobs.faults,
            _ => &ingest.queue.faults,
        };
        faults.fail_next(operation, 1, Fault::Hang);
        let started = tokio::time::Instant::now();
        let answered = tokio::time::timeout(
            Duration::from_secs(10),
            ingest.handle(with_deadline(webhook(BODY, None), 10_000)),
        )
        .await
        .unwrap_or_else(|_| panic!("{faulty} hung: the function would time out"));
        assert_eq!(answered.status(), 503, "{faulty}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }
}

#[test]
fn the_budget_is_the_deadline_less_the_margin() {
    use crate::handlers::meta_ingest::{ANSWER_MARGIN, BUDGET_WITHOUT_DEADLINE, enqueue_budget};
    let request = with_deadline(webhook(BODY, None), 10_000);
    let budget = enqueue_budget(&request);
    assert!(budget <= Duration::from_millis(10_000) - ANSWER_MARGIN, "{budget:?}");
    assert!(budget > Duration::from_millis(8_000), "{budget:?}");
    // Less time left than the margin: nothing may be tried.
    assert_eq!(enqueue_budget(&with_deadline(webhook(BODY, None), 500)), Duration::ZERO);
    // A deadline already past is an emulator's, not Lambda's: no deadline.
    assert_eq!(
        enqueue_budget(&with_deadline(webhook(BODY, None), -5)),
        BUDGET_WITHOUT_DEADLINE
    );
    assert_eq!(enqueue_budget(&webhook(BODY, None)), BUDGET_WITHOUT_DEADLINE);
}
