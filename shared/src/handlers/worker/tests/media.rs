//! Inbound media kept, on the in-memory fakes: the message recorded first and its media job queued; the
//! job streaming the bytes into the bucket and completing `message.received`; transient failures retried
//! (nothing kept of a broken or mismatched download), permanent ones recorded as a media error, the cap,
//! and redeliveries that download nothing again.

use sha2::{Digest, Sha256};

use super::*;
use crate::domain::events::event_id;
use crate::domain::media::StoredMedia;
use crate::handlers::worker::RecordError;
use crate::ports::{MessageStore, QueueMessage, WriteOutcome};
use crate::testing::FakeMedia;

const MEDIA_ID: &str = "7700000000000001";
const WAMID: &str = "wamid.IMAGE1";
const MEDIA_MAX_RECEIVES: u32 = 5;

struct MediaFakes {
    fakes: Fakes,
    bus: FakeEventBus,
    /// The events queue: where media jobs go.
    jobs: FakeQueue,
}

fn media_worker(max_bytes: u64) -> (TestWorker, MediaFakes) {
    let (worker, fakes, bus) = publishing_worker();
    let jobs = FakeQueue::new();
    let worker = worker.with_media(super::super::Media {
        source: fakes.graph.clone(),
        sink: fakes.blobs.clone(),
        queue: jobs.clone(),
        max_bytes,
        max_receives: MEDIA_MAX_RECEIVES,
        deadline_margin: Duration::from_millis(100),
    });
    (worker, MediaFakes { fakes, bus, jobs })
}

fn image_webhook(wamid: &str, media_id: &str, sha256: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": FIRST_NUMBER},
        "contacts": [{"wa_id": "972500000001", "profile": {"name": "Dana"}}],
        "messages": [{"from": "972500000001", "id": wamid, "timestamp": "1800000000", "type": "image",
            "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": sha256, "caption": "look"}}]}}]}]})
    .to_string()
}

/// 300 KB of bytes that are not all alike (several download chunks).
fn picture() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn key() -> String {
    format!("media/{FIRST_NUMBER}/{WAMID}/{MEDIA_ID}")
}

/// Delivers the image webhook; the media job it queued.
async fn receive_image(worker: &TestWorker, fakes: &MediaFakes, sha256: &str) -> QueueMessage {
    assert!(deliver(worker, "webhook", &image_webhook(WAMID, MEDIA_ID, sha256), 1).await);
    let jobs = fakes.jobs.take_sent();
    assert_eq!(jobs.len(), 1, "one media job per media message: {jobs:?}");
    jobs.into_iter().next().unwrap()
}

/// A worker whose Graph fake holds a picture, after a webhook naming it was received: the
/// picture's bytes and the media job the worker queued.
async fn a_picture_received(max_bytes: u64) -> (TestWorker, MediaFakes, Vec<u8>, QueueMessage) {
    let (worker, fakes) = media_worker(max_bytes);
    let bytes = picture();
    fakes
        .fakes
        .graph
        .hold_media(MEDIA_ID, FakeMedia::new(bytes.clone(), "image/jpeg"));
    let job = receive_image(&worker, &fakes, &sha_hex(&bytes)).await;
    (worker, fakes, bytes, job)
}

async fn run_job(
    worker: &TestWorker,
    job: &QueueMessage,
    receive_count: u32,
) -> Result<super::super::Done, RecordError> {
    let record = record(
        "media-job",
        Some("inbound-media"),
        &job.body,
        receive_count,
        EVENTS_QUEUE_ARN,
    );
    worker.keep_media(&record, deadline()).await
}

fn received(bus: &FakeEventBus) -> Vec<crate::domain::events::BusEvent> {
    of_type(bus, "message.received")
}

#[tokio::test]
async fn the_message_is_recorded_first_and_its_media_job_keeps_the_bytes_and_completes_the_event() {
    let (worker, fakes, bytes, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;

    // The webhook's record: the message is there, its media not yet, and no event until the media job.
    let item = fakes.fakes.store.tables().messages.get(WAMID).cloned().unwrap();
    assert!(item.inbound.is_some());
    assert_eq!(item.media, None);
    assert!(received(&fakes.bus).is_empty(), "{:?}", fakes.bus.published());
    assert!(
        job.attributes
            .contains(&("kind".to_owned(), "inbound-media".to_owned()))
    );

    assert_eq!(run_job(&worker, &job, 1).await.unwrap(), "media_kept");
    let stored = fakes.fakes.blobs.objects();
    let object = stored.get(&("payloads".to_owned(), key())).expect("the object");
    assert_eq!(sha_hex(object), sha_hex(&bytes));
    assert_eq!(fakes.fakes.blobs.content_type(&key()).as_deref(), Some("image/jpeg"));
    let item = fakes.fakes.store.tables().messages.get(WAMID).cloned().unwrap();
    assert_eq!(
        item.media,
        Some(StoredMedia::Kept {
            bucket: "payloads".to_owned(),
            key: key(),
            mime_type: "image/jpeg".to_owned(),
            sha256: sha_hex(&bytes),
            size: bytes.len() as u64,
        })
    );

    let events = received(&fakes.bus);
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0].detail;
    crate::testing::schema::assert_valid("message.received", detail);
    assert_eq!(events[0].event_id, event_id(&["message.received", WAMID]));
    assert_eq!(detail["media"]["id"], MEDIA_ID);
    assert_eq!(detail["media"]["s3_bucket"], "payloads");
    assert_eq!(detail["media"]["s3_key"], key());
    assert_eq!(detail["media"]["size"], bytes.len() as u64);
    assert_eq!(detail["media"]["caption"], "look");
    assert!(detail["media"].get("error").is_none());
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_a_delay_and_keeps_nothing_until_it_works() {
    let (worker, fakes, _, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;
    let faults = fakes.fakes.graph.state().media_faults.clone();
    faults.fail_next("retrieve", 1, Fault::Transient);
    faults.fail_next("download", 1, Fault::Transient);

    for receive in 1..=2 {
        let failed = run_job(&worker, &job, receive).await;
        assert!(
            matches!(
                failed,
                Err(RecordError::Transient {
                    retry_in_seconds: Some(_),
                    ..
                })
            ),
            "{failed:?}"
        );
    }
    assert!(fakes.fakes.blobs.objects().is_empty());
    assert_eq!(fakes.fakes.store.tables().messages[WAMID].media, None);
    assert!(received(&fakes.bus).is_empty());

    assert_eq!(run_job(&worker, &job, 3).await.unwrap(), "media_kept");
    assert_eq!(fakes.fakes.blobs.objects().len(), 1);
    assert_eq!(received(&fakes.bus).len(), 1);
}

#[tokio::test]
async fn the_same_failure_through_the_worker_reports_the_record_and_sets_its_retry_delay() {
    let (worker, fakes, _, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;
    fakes
        .fakes
        .graph
        .state()
        .media_faults
        .fail_next("download", 1, Fault::Transient);
    let batch = event(vec![record(
        "media-job",
        Some("inbound-media"),
        &job.body,
        2,
        EVENTS_QUEUE_ARN,
    )]);
    let response = worker.handle(batch, deadline()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let delays = fakes.fakes.queue.redelivered();
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_eq!(delays[0].0, EVENTS_QUEUE_ARN);
    // 10 s doubled on the second receive, plus up to a fifth of jitter.
    assert!((20..=24).contains(&delays[0].2), "{delays:?}");
}

#[tokio::test]
async fn a_media_id_meta_refuses_is_a_media_error_on_the_record_and_in_the_event() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    // Meta holds nothing under the id: code 100 subcode 33.
    let job = receive_image(&worker, &fakes, "abc").await;
    assert_eq!(run_job(&worker, &job, 1).await.unwrap(), "media_failed");
    assert!(fakes.fakes.blobs.objects().is_empty());
    let item = fakes.fakes.store.tables().messages.get(WAMID).cloned().unwrap();
    assert!(item.inbound.is_some(), "the message stays recorded");
    let Some(StoredMedia::Failed { error }) = &item.media else {
        panic!("no media error: {:?}", item.media);
    };
    assert!(error.contains("subcode 33"), "{error}");
    let events = received(&fakes.bus);
    assert_eq!(events.len(), 1);
    crate::testing::schema::assert_valid("message.received", &events[0].detail);
    assert_eq!(events[0].detail["media"]["error"], error.as_str());
    assert!(events[0].detail["media"].get("s3_key").is_none());
    // Refused for good: no download was tried.
    assert_eq!(
        fakes.fakes.graph.state().media_calls,
        vec![format!("retrieve {MEDIA_ID}")]
    );
}

#[tokio::test]
async fn a_download_that_does_not_match_metas_sha256_keeps_nothing_and_is_retried_then_recorded() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    let bytes = picture();
    let mut media = FakeMedia::new(bytes.clone(), "image/jpeg");
    media.sha256 = sha_hex(b"other bytes");
    fakes.fakes.graph.hold_media(MEDIA_ID, media);
    let job = receive_image(&worker, &fakes, &sha_hex(b"other bytes")).await;

    let failed = run_job(&worker, &job, 1).await;
    let Err(RecordError::Transient { reason, .. }) = &failed else {
        panic!("{failed:?}");
    };
    assert!(reason.contains("SHA-256"), "{reason}");
    assert!(
        fakes.fakes.blobs.objects().is_empty(),
        "a mismatched download is not kept"
    );
    assert_eq!(fakes.fakes.store.tables().messages[WAMID].media, None);
    assert!(received(&fakes.bus).is_empty());

    // The queue's last receive: recorded as a media error, and the event says so.
    assert_eq!(
        run_job(&worker, &job, MEDIA_MAX_RECEIVES).await.unwrap(),
        "media_failed"
    );
    assert!(fakes.fakes.blobs.objects().is_empty());
    let Some(StoredMedia::Failed { error }) = fakes.fakes.store.tables().messages[WAMID].media.clone() else {
        panic!("no media error");
    };
    assert!(
        error.starts_with("not fetched after 5 tries") && error.contains("SHA-256"),
        "{error}"
    );
    assert_eq!(received(&fakes.bus)[0].detail["media"]["error"], error.as_str());
}

#[tokio::test]
async fn a_download_that_breaks_off_keeps_nothing_and_the_retry_keeps_it_whole() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    let bytes = picture();
    let mut media = FakeMedia::new(bytes.clone(), "image/jpeg");
    media.break_after = Some((200_000, 1));
    fakes.fakes.graph.hold_media(MEDIA_ID, media);
    let job = receive_image(&worker, &fakes, &sha_hex(&bytes)).await;
    assert!(matches!(
        run_job(&worker, &job, 1).await,
        Err(RecordError::Transient { .. })
    ));
    assert!(fakes.fakes.blobs.objects().is_empty());
    assert_eq!(run_job(&worker, &job, 2).await.unwrap(), "media_kept");
    assert_eq!(
        sha_hex(&fakes.fakes.blobs.objects()[&("payloads".to_owned(), key())]),
        sha_hex(&bytes)
    );
}

#[tokio::test]
async fn a_file_over_the_cap_is_a_media_error_without_a_download() {
    let (worker, fakes, _, job) = a_picture_received(100_000).await;
    assert_eq!(run_job(&worker, &job, 1).await.unwrap(), "media_failed");
    let Some(StoredMedia::Failed { error }) = fakes.fakes.store.tables().messages[WAMID].media.clone() else {
        panic!("no media error");
    };
    assert!(error.contains("over the 100000 byte cap"), "{error}");
    assert_eq!(fakes.fakes.graph.state().media_calls.len(), 1, "retrieve only");
    assert!(fakes.fakes.blobs.objects().is_empty());
    assert_eq!(received(&fakes.bus)[0].detail["media"]["error"], error.as_str());
}

#[tokio::test]
async fn a_download_announcing_more_than_meta_said_is_not_kept() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    let bytes = picture();
    let mut media = FakeMedia::new(bytes.clone(), "image/jpeg");
    media.file_size = 1_000;
    fakes.fakes.graph.hold_media(MEDIA_ID, media);
    let job = receive_image(&worker, &fakes, &sha_hex(&bytes)).await;
    let failed = run_job(&worker, &job, 1).await;
    assert!(
        matches!(&failed, Err(RecordError::Transient { reason, .. }) if reason.contains("file_size 1000")),
        "{failed:?}"
    );
    assert!(fakes.fakes.blobs.objects().is_empty());
}

#[tokio::test]
async fn a_download_outlasting_the_invocation_is_given_up_in_time_and_retried() {
    let (worker, fakes, _, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;
    fakes
        .fakes
        .graph
        .state()
        .media_faults
        .fail_next("download", 1, Fault::Hang);
    let record = record("media-job", Some("inbound-media"), &job.body, 1, EVENTS_QUEUE_ARN);
    let started = Instant::now();
    let failed = worker
        .keep_media(&record, Instant::now() + Duration::from_millis(300))
        .await;
    assert!(
        matches!(&failed, Err(RecordError::Transient { reason, .. }) if reason.contains("within the invocation")),
        "{failed:?}"
    );
    // Given up at the deadline less the margin (300 - 100 ms), not at the invocation's end.
    assert!(
        started.elapsed() < Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
    assert!(fakes.fakes.blobs.objects().is_empty());
}

#[tokio::test]
async fn a_job_delivered_again_after_its_media_was_recorded_publishes_again_without_downloading() {
    let (worker, fakes, _, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;
    // The first try kept the media, then the bus failed: the record fails.
    fakes.bus.faults.fail_next("put_events", 3, Fault::Transient);
    assert!(matches!(
        run_job(&worker, &job, 1).await,
        Err(RecordError::Transient { .. })
    ));
    assert_eq!(fakes.fakes.blobs.objects().len(), 1);
    assert!(received(&fakes.bus).is_empty());
    let calls = fakes.fakes.graph.state().media_calls.len();

    assert_eq!(run_job(&worker, &job, 2).await.unwrap(), "media_already_recorded");
    assert_eq!(fakes.fakes.graph.state().media_calls.len(), calls, "no second download");
    let events = received(&fakes.bus);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, event_id(&["message.received", WAMID]));
    assert_eq!(events[0].detail["media"]["s3_key"], key());
}

#[tokio::test]
async fn a_kept_object_is_never_replaced_by_a_later_error() {
    let (worker, fakes, _, job) = a_picture_received(crate::domain::media::META_MAX_MEDIA_BYTES).await;
    assert_eq!(run_job(&worker, &job, 1).await.unwrap(), "media_kept");
    let kept = fakes.fakes.store.tables().messages[WAMID].media.clone();
    let refused = StoredMedia::Failed {
        error: "later".to_owned(),
    };
    assert_eq!(
        fakes.fakes.store.record_media(WAMID, &refused).await.unwrap(),
        WriteOutcome::Superseded
    );
    assert_eq!(fakes.fakes.store.tables().messages[WAMID].media, kept);
}

#[tokio::test]
async fn a_media_job_that_cannot_be_queued_fails_the_webhook_record_and_its_redelivery_queues_it() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    fakes.jobs.faults.fail_next("send", 1, Fault::Transient);
    let body = image_webhook(WAMID, MEDIA_ID, "abc");
    assert!(!deliver(&worker, "webhook", &body, 1).await);
    assert!(
        fakes.fakes.store.tables().messages[WAMID].inbound.is_some(),
        "the message is recorded whatever the job does"
    );
    assert!(fakes.jobs.messages().is_empty());
    assert!(deliver(&worker, "webhook", &body, 2).await);
    assert_eq!(fakes.jobs.messages().len(), 1);
    // Meta delivering the webhook again (a new queue message) finds it recorded: no second job.
    assert!(deliver(&worker, "webhook-again", &body, 1).await);
    assert_eq!(fakes.jobs.messages().len(), 1);
}

#[tokio::test]
async fn without_media_keeping_a_media_message_publishes_at_once_and_text_never_queues_a_job() {
    let (worker, _fakes, bus) = publishing_worker();
    assert!(deliver(&worker, "webhook", &image_webhook(WAMID, MEDIA_ID, "abc"), 1).await);
    let events = received(&bus);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["media"]["id"], MEDIA_ID);
    assert!(events[0].detail["media"].get("s3_key").is_none());

    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    assert!(deliver(&worker, "text", &inbound_webhook("wamid.TEXT", "972500000001"), 1).await);
    assert!(fakes.jobs.messages().is_empty());
    assert_eq!(received(&fakes.bus).len(), 1, "a text message publishes at once");
}

#[tokio::test]
async fn a_malformed_media_id_is_refused_without_a_call() {
    let (worker, fakes) = media_worker(crate::domain::media::META_MAX_MEDIA_BYTES);
    let job = receive_image(&worker, &fakes, "abc").await;
    let mut body: Value = serde_json::from_str(&job.body).unwrap();
    body["media_id"] = Value::from("../../me?fields=x");
    let job = QueueMessage::new(body.to_string(), job.attributes.clone());
    assert_eq!(run_job(&worker, &job, 1).await.unwrap(), "media_failed");
    assert!(fakes.fakes.graph.state().media_calls.is_empty());
}
