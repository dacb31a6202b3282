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
