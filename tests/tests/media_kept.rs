//! Inbound media kept, against the AWS emulator and the Graph stand-in over HTTP: an image whose bytes were
//! uploaded to the stand-in ends in the payload bucket byte for byte (SHA-256 equal), its key on the
//! message's item and in `message.received` on the tap queue; a media id the stand-in refuses leaves the
//! message recorded with a media error, and the event says so.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::Client as EventBridge;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::adapters::eventbridge::EventBridgePublisher;
use bridge::adapters::graph::{CONNECT_TIMEOUT, GraphApi, GraphClient};
use bridge::adapters::sqs::SqsQueue;
use bridge::adapters::{s3::S3BlobStore, sqs::SqsRedelivery};
use bridge::compose::DeployedWorker;
use bridge::domain::records::PhoneNumberFilter;
use bridge::domain::secret::Secret;
use bridge::handlers::worker::Media;
use bridge::publishing::Publishing;
use bridge::testing::schema::assert_valid;
use integration_tests::*;
use local_stack::graph_standin::{Standin, StandinConfig};
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TOKEN: &str = "media-test-token";
const PHONE_ID: &str = "106540352242922";
const VERSION: &str = "v26.0";

async fn standin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let standin = Standin::new(StandinConfig {
        access_token: TOKEN.into(),
        app_secret: "secret".into(),
        webhook_url: "http://127.0.0.1:9/unused".into(),
        phone_number_id_display: "15550783881".into(),
        latency: Duration::ZERO,
        status_delay: Duration::ZERO,
        send_status_webhooks: false,
    });
    tokio::spawn(Arc::clone(&standin).serve(listener));
    format!("http://{addr}")
}

/// Meta's upload: `POST /{version}/{phone-number-id}/media`, multipart; the media id.
async fn upload(base: &str, mime: &str, bytes: &[u8]) -> String {
    let boundary = "media-kept-boundary";
    let mut body = Vec::new();
    for (name, value) in [("messaging_product", "whatsapp"), ("type", mime)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{base}/{VERSION}/{PHONE_ID}/media"))
        .bearer_auth(TOKEN)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let json: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    json["id"].as_str().unwrap().to_owned()
}

struct Setup {
    worker: DeployedWorker,
    /// Where the worker queues its media jobs (the events queue in a deployment).
    jobs: TestQueue,
    tap_url: String,
}

async fn setup(emu: &Emulator, graph_base: &str) -> Setup {
    let TappedBus { name: bus, tap_url } = emu.tapped_bus("media").await;
    let jobs = emu.fresh_queue("media-jobs", 30, None).await;
    let blobs = S3BlobStore::new(emu.s3.clone(), emu.bucket());
    let api = GraphApi::new(
        graph_base,
        VERSION,
        Secret::new(TOKEN.to_owned()),
        CONNECT_TIMEOUT,
        None,
    )
    .unwrap();
    let source = GraphClient::new(api, Duration::from_secs(10), Duration::from_secs(10));
    let worker = DeployedWorker::recording(
        DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 0),
        blobs.clone(),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        PhoneNumberFilter::default(),
    )
    .with_events(Publishing::new(EventBridgePublisher::new(
        EventBridge::new(&emu.sdk),
        &bus,
    )))
    .with_media(Media {
        source,
        sink: blobs,
        queue: SqsQueue::new(emu.sqs.clone(), &jobs.url),
        max_bytes: bridge::domain::media::META_MAX_MEDIA_BYTES,
        max_receives: 5,
        deadline_margin: Duration::from_secs(8),
    });
    Setup { worker, jobs, tap_url }
}

fn image_webhook(wamid: &str, media_id: &str, sha256: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": PHONE_ID},
        "contacts": [{"wa_id": "972500000009", "profile": {"name": "Noa"}}],
        "messages": [{"from": "972500000009", "id": wamid, "timestamp": "1800000000", "type": "image",
            "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": sha256, "caption": "the receipt"}}]}}]}]})
}

/// Runs the worker over what `queue_url` holds (one SQS event); every record must succeed.
async fn run(emu: &Emulator, setup: &Setup, queue_url: &str, queue_arn: &str) -> usize {
    let messages = emu.receive_all(queue_url).await;
    let count = messages.len();
    let event = sqs_event(&messages, queue_arn, "us-east-1").unwrap();
    let answer = setup.worker.handle(event, batch_deadline()).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    count
}

/// Queues the webhook on a fresh events queue, runs the worker on it, then on the media job it queued.
async fn receive(emu: &Emulator, setup: &Setup, webhook: &Value) {
    let events_in = emu.fresh_queue("media-in", 30, None).await;
    emu.queue_webhook(&events_in.url, &webhook.to_string()).await;
    assert_eq!(run(emu, setup, &events_in.url, &events_in.arn).await, 1);
    assert_eq!(
        run(emu, setup, &setup.jobs.url, &setup.jobs.arn).await,
        1,
        "one media job for the image"
    );
}

/// The `message.received` details on the tap queue (waiting a little for the copy to arrive).
async fn received_events(emu: &Emulator, tap_url: &str) -> Vec<Value> {
    let mut details = Vec::new();
    for _ in 0..30 {
        for body in emu.receive_bodies(tap_url).await {
            let envelope: Value = serde_json::from_str(&body).unwrap();
            if envelope["detail-type"] == "message.received" {
                details.push(envelope["detail"].clone());
            }
        }
        if !details.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for body in emu.receive_bodies(tap_url).await {
        let envelope: Value = serde_json::from_str(&body).unwrap();
        if envelope["detail-type"] == "message.received" {
            details.push(envelope["detail"].clone());
        }
    }
    details
}

fn unique_wamid(prefix: &str) -> String {
    format!(
        "wamid.{prefix}{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )
}

#[tokio::test]
async fn an_uploaded_image_is_kept_in_the_bucket_byte_for_byte_with_its_key_on_the_record_and_in_the_event() {
    let emu = Emulator::connect().await;
    let graph = standin().await;
    let setup = setup(&emu, &graph).await;
    // 700 KB that the multipart parser and the stream must carry intact.
    let bytes: Vec<u8> = (0..700_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let media_id = upload(&graph, "image/jpeg", &bytes).await;
    let wamid = unique_wamid("IMG");

    receive(&emu, &setup, &image_webhook(&wamid, &media_id, &sha256)).await;

    let key = format!("media/{PHONE_ID}/{wamid}/{media_id}");
    let object = emu.s3.get_object().bucket(emu.bucket()).key(&key).send().await.unwrap();
    assert_eq!(object.content_type(), Some("image/jpeg"));
    let kept = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(kept.len(), bytes.len());
    assert_eq!(hex::encode(Sha256::digest(&kept)), sha256);

    let item = emu.message_item(&wamid).await.expect("the message's item");
    assert_eq!(s(&item, "media_s3_key"), key);
    assert_eq!(s(&item, "media_s3_bucket"), emu.bucket());
    assert_eq!(s(&item, "media_sha256"), sha256);
    assert_eq!(s(&item, "media_size"), bytes.len().to_string());
    assert!(!item.contains_key("media_error"));

    let events = received_events(&emu, &setup.tap_url).await;
    assert_eq!(events.len(), 1, "exactly one message.received: {events:?}");
    let detail = &events[0];
    assert_valid("message.received", detail);
    assert_eq!(detail["wamid"], wamid.as_str());
    assert_eq!(detail["media"]["id"], media_id.as_str());
    assert_eq!(detail["media"]["s3_bucket"], emu.bucket());
    assert_eq!(detail["media"]["s3_key"], key.as_str());
    assert_eq!(detail["media"]["size"], bytes.len() as u64);
    assert_eq!(detail["media"]["sha256"], sha256.as_str());
    assert_eq!(detail["media"]["caption"], "the receipt");
}

#[tokio::test]
async fn a_media_id_the_standin_refuses_leaves_the_message_recorded_with_a_media_error_and_the_event_says_so() {
    let emu = Emulator::connect().await;
    let graph = standin().await;
    let setup = setup(&emu, &graph).await;
    // The media shape, never uploaded: Meta's 400, code 100 subcode 33.
    let media_id = "7799999999999999";
    let wamid = unique_wamid("GONE");

    receive(&emu, &setup, &image_webhook(&wamid, media_id, "abc")).await;

    let item = emu.message_item(&wamid).await.expect("the message is recorded");
    assert_eq!(s(&item, "type"), "image");
    let error = s(&item, "media_error");
    assert!(error.contains("400") && error.contains("subcode 33"), "{error}");
    assert!(!item.contains_key("media_s3_key"));
    let listed = emu
        .s3
        .list_objects_v2()
        .bucket(emu.bucket())
        .prefix(format!("media/{PHONE_ID}/{wamid}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0), "nothing kept");

    let events = received_events(&emu, &setup.tap_url).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_valid("message.received", &events[0]);
    assert_eq!(events[0]["media"]["error"], error.as_str());
    assert!(events[0]["media"].get("s3_key").is_none());
}

/// As `make run` composes it (`DeployedWorker::from_vars` on local.env's variables, the worker draining the
/// events queue, the Graph stand-in as `GRAPH_API_BASE_URL`): a signed image webhook posted to the API ends
/// with the uploaded bytes in the bucket and the key on the message's item.
#[tokio::test]
async fn through_the_stack_a_signed_image_webhook_ends_with_the_bytes_in_the_bucket() {
    let stack = Stack::start(Options {
        worker: true,
        ..Options::default()
    })
    .await;
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let token = stack.env["WHATSAPP_ACCESS_TOKEN"].clone();
    let boundary = "stack-media";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\naudio/ogg\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note.ogg\"\r\n\
         Content-Type: audio/ogg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{}/{VERSION}/{PHONE_ID}/media", stack.graph_url))
        .bearer_auth(&token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let uploaded: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let media_id = uploaded["id"].as_str().unwrap().to_owned();

    let wamid = unique_wamid("STACK");
    let mut webhook = image_webhook(&wamid, &media_id, &sha256);
    let message = &mut webhook["entry"][0]["changes"][0]["value"]["messages"][0];
    message["type"] = json!("audio");
    message["audio"] = json!({"id": media_id, "mime_type": "audio/ogg; codecs=opus", "sha256": sha256, "voice": true});
    let body = webhook.to_string();
    let secret = Secret::new(stack.env["WHATSAPP_APP_SECRET"].clone());
    let status = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp", stack.api_url))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            bridge::domain::meta_signature::sign(&secret, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let key = format!("media/{PHONE_ID}/{wamid}/{media_id}");
    let mut item = None;
    for _ in 0..100 {
        if let Some(found) = stack.emulator.message_item(&wamid).await
            && found.contains_key("media_s3_key")
        {
            item = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let item = item.expect("the media recorded on the message within 10 s");
    assert_eq!(s(&item, "media_s3_key"), key);
    let object = stack
        .emulator
        .s3
        .get_object()
        .bucket(stack.emulator.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    // The stand-in keeps the MIME type the upload named (Meta's retrieval answers it).
    assert_eq!(object.content_type(), Some("audio/ogg"));
    let kept = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(hex::encode(Sha256::digest(&kept)), sha256);
}
