//! The WhatsApp path end to end against the AWS emulator over HTTP: signed ingestion
//! to SQS (and S3 for large bodies), the worker recording into DynamoDB.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use bridge::adapters::dynamodb::{CONTACT_SK, DynamoMessageStore, contact_pk, event_pk, message_pk};
use bridge::adapters::{s3::S3BlobStore, sqs::SqsQueue, sqs::SqsRedelivery};
use bridge::compose::DeployedWorker;
use bridge::config::IngestConfig;
use bridge::domain::envelope::{DEFAULT_INLINE_LIMIT, S3Pointer};
use bridge::domain::records::PhoneNumberFilter;
use bridge::domain::secret::Secret;
use bridge::handlers::meta_ingest::Ingest;
use integration_tests::*;
use local_stack::queue::{QueueSource, batch_deadline, sqs_event};
use serde_json::json;

const OUR_NUMBER: &str = "106540352242922";

fn ingest(emu: &Emulator, queue_url: &str) -> Ingest<SqsQueue, S3BlobStore> {
    let config = IngestConfig {
        app_secret: Secret::new(emu.env["WHATSAPP_APP_SECRET"].clone()),
        queue_url: queue_url.to_owned(),
        payload_bucket: emu.bucket().to_owned(),
        inline_limit: DEFAULT_INLINE_LIMIT,
    };
    Ingest::new(
        config,
        SqsQueue::new(emu.sqs.clone(), queue_url),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
    )
}

fn worker(emu: &Emulator, filter: PhoneNumberFilter) -> DeployedWorker {
    DeployedWorker::recording(
        DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 0),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        filter,
    )
}

fn secret(emu: &Emulator) -> String {
    emu.env["WHATSAPP_APP_SECRET"].clone()
}

/// Ingests each body through the handler (all must be accepted), then runs the worker over
/// everything in the queue as one SQS event; returns the worker's answer.
async fn through_the_worker(emu: &Emulator, bodies: &[Vec<u8>]) -> SqsBatchResponse {
    let queue = emu.fresh_queue("path", 30, None).await;
    let ingest = ingest(emu, &queue.url);
    for body in bodies {
        let response = ingest.handle(signed_webhook(&secret(emu), body, false)).await;
        assert_eq!(response.status(), 200);
    }
    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), bodies.len());
    let event = sqs_event(&messages, &queue.arn, "us-east-1").unwrap();
    worker(emu, PhoneNumberFilter::default())
        .handle(event, batch_deadline())
        .await
}

#[tokio::test]
async fn a_signed_post_queues_exactly_one_message_with_the_raw_body() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("ingest", 30, None).await;
    // Meta escapes non-ASCII; the queued bytes must be exactly these, not a re-serialization.
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.X","type":"text","text":{"body":"caf\u00e9 \ud83d\ude00"}}]}}]}]}"#;
    let response = ingest(&emu, &queue.url)
        .handle(signed_webhook(&secret(&emu), body, false))
        .await;
    assert_eq!(response.status(), 200);

    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body().unwrap().as_bytes(), body.as_slice());
    let attributes = messages[0].message_attributes().unwrap();
    assert_eq!(attributes["kind"].string_value(), Some("meta-webhook"));
    assert!(attributes["request_id"].string_value().unwrap().starts_with("req."));
    let received_at = attributes["received_at"].string_value().unwrap();
    let age = chrono::Utc::now() - chrono::DateTime::parse_from_rfc3339(received_at).unwrap().to_utc();
    assert!(age < chrono::Duration::minutes(1), "{received_at}");
}

#[tokio::test]
async fn a_base64_encoded_api_gateway_body_is_verified_and_queued_byte_exact() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("b64", 30, None).await;
    let body = text_webhook(OUR_NUMBER, &unique("wamid.b64"), "972501234567", 1_700_000_000, "שלום");
    let response = ingest(&emu, &queue.url)
        .handle(signed_webhook(&secret(&emu), &body, true))
        .await;
    assert_eq!(response.status(), 200);
    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body().unwrap().as_bytes(), body.as_slice());
}

#[tokio::test]
async fn forged_tampered_unsigned_and_non_json_posts_queue_nothing() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("forged", 30, None).await;
    let ingest = ingest(&emu, &queue.url);
    let body = text_webhook(OUR_NUMBER, "wamid.forged", "972501234567", 1_700_000_000, "hi");

    let wrong_secret = ingest.handle(signed_webhook("not-the-app-secret", &body, false)).await;
    assert_eq!(wrong_secret.status(), 403);

    let signature = bridge::domain::meta_signature::sign(&Secret::new(secret(&emu)), &body);
    let mut tampered = body.clone();
    tampered[40] ^= 1;
    let headers = [("X-Hub-Signature-256", signature.as_str())];
    let response = ingest
        .handle(api_request(
            "POST",
            "/webhooks/whatsapp",
            "",
            &headers,
            &tampered,
            false,
        ))
        .await;
    assert_eq!(response.status(), 403);

    let unsigned = ingest
        .handle(api_request("POST", "/webhooks/whatsapp", "", &[], &body, false))
        .await;
    assert_eq!(unsigned.status(), 403);

    let malformed = [("X-Hub-Signature-256", "sha1=abc")];
    let response = ingest
        .handle(api_request("POST", "/webhooks/whatsapp", "", &malformed, &body, false))
        .await;
    assert_eq!(response.status(), 403);

    let not_json = b"entry=1&object=whatsapp";
    let response = ingest.handle(signed_webhook(&secret(&emu), not_json, false)).await;
    assert_eq!(response.status(), 400);
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(text.contains("not valid JSON"), "{text}");

    assert!(emu.receive_all(&queue.url).await.is_empty());
}

#[tokio::test]
async fn sqs_unreachable_answers_5xx_and_meta_s_retry_is_queued_once() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("down", 30, None).await;
    let body = text_webhook(
        OUR_NUMBER,
        &unique("wamid.down"),
        "972501234567",
        1_700_000_000,
        "retry me",
    );

    // A queue client pointed at a port where nothing listens.
    let dead = aws_sdk_sqs::Client::new(&sdk_config("http://127.0.0.1:9", "us-east-1").await);
    let mut down = ingest(&emu, &queue.url);
    down.queue = SqsQueue::new(dead, &queue.url);
    let response = down.handle(signed_webhook(&secret(&emu), &body, false)).await;
    assert!(response.status().is_server_error(), "{}", response.status());

    // Meta retries a non-200; once SQS is back the event is queued, exactly once.
    let response = ingest(&emu, &queue.url)
        .handle(signed_webhook(&secret(&emu), &body, false))
        .await;
    assert_eq!(response.status(), 200);
    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body().unwrap().as_bytes(), body.as_slice());
}

#[tokio::test]
async fn a_3_mb_payload_goes_through_s3_and_is_recorded_by_the_worker() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("large", 30, None).await;
    let wamid = unique("wamid.large");
    let text = "x".repeat(3 * 1024 * 1024);
    let body = text_webhook(OUR_NUMBER, &wamid, "972501234567", 1_700_000_000, &text);
    let response = ingest(&emu, &queue.url)
        .handle(signed_webhook(&secret(&emu), &body, false))
        .await;
    assert_eq!(response.status(), 200);

    let messages = emu.receive_all(&queue.url).await;
    assert_eq!(messages.len(), 1);
    let pointer = S3Pointer::from_body(messages[0].body().unwrap()).expect("an S3 pointer");
    assert_eq!(pointer.bucket, emu.bucket());
    let size = messages[0].message_attributes().unwrap()["ExtendedPayloadSize"]
        .string_value()
        .unwrap()
        .to_owned();
    assert_eq!(size, body.len().to_string());
    let stored = emu
        .s3
        .get_object()
        .bucket(&pointer.bucket)
        .key(&pointer.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().as_ref(),
        body.as_slice()
    );

    // The worker reads offloaded bodies back: a payload over the inline limit made of many
    // ordinary messages is recorded in full.
    let many: Vec<_> = (0..3000).map(|i| format!("{wamid}.{i}")).collect();
    let messages_json: Vec<_> = many
        .iter()
        .map(|id| json!({"from":"972501234567","id":id,"timestamp":"1700000000","type":"text","text":{"body":"hello there"}}))
        .collect();
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":OUR_NUMBER},"messages":messages_json}}]}]})
    .to_string()
    .into_bytes();
    assert!(body.len() > DEFAULT_INLINE_LIMIT);
    let response = through_the_worker(&emu, &[body]).await;
    assert!(response.batch_item_failures.is_empty());
    for id in [&many[0], &many[1500], &many[2999]] {
        let item = emu.message_item(id).await.expect("recorded");
        assert_eq!(s(&item, "text_body"), "hello there");
    }
}

#[tokio::test]
async fn the_worker_records_an_inbound_message_with_its_sender_and_contact_window() {
    let emu = Emulator::connect().await;
    let wamid = unique("wamid.in");
    let sender = unique("9725");
    let response = through_the_worker(
        &emu,
        &[text_webhook(OUR_NUMBER, &wamid, &sender, 1_700_000_000, "hello")],
    )
    .await;
    assert!(response.batch_item_failures.is_empty());

    let item = emu.message_item(&wamid).await.expect("recorded");
    assert_eq!(s(&item, "wamid"), wamid);
    assert_eq!(s(&item, "direction"), "inbound");
    assert_eq!(s(&item, "status"), "received");
    assert_eq!(s(&item, "type"), "text");
    assert_eq!(s(&item, "text_body"), "hello");
    assert_eq!(s(&item, "wa_id"), sender);
    assert_eq!(s(&item, "profile_name"), "Test User");
    assert_eq!(s(&item, "timestamp"), "1700000000");
    assert_eq!(s(&item, "message_at"), "2023-11-14T22:13:20Z");
    assert!(chrono::DateTime::parse_from_rfc3339(&s(&item, "updated_at")).is_ok());
    let payload: serde_json::Value = serde_json::from_str(&s(&item, "payload")).unwrap();
    assert_eq!(payload["text"]["body"], "hello");

    let contact = emu.item(&contact_pk(&sender), CONTACT_SK).await.expect("contact");
    assert_eq!(s(&contact, "last_inbound_at"), "1700000000");
    assert_eq!(s(&contact, "last_inbound_wamid"), wamid);
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_recorded_once() {
    let emu = Emulator::connect().await;
    let wamid = unique("wamid.dup");
    let body = text_webhook(OUR_NUMBER, &wamid, "972501234567", 1_700_000_000, "once");
    // Meta's retry (a second POST) and SQS's redelivery (the same batch again).
    let response = through_the_worker(&emu, &[body.clone(), body.clone()]).await;
    assert!(response.batch_item_failures.is_empty());
    let first = emu.message_item(&wamid).await.expect("recorded");
    let response = through_the_worker(&emu, &[body]).await;
    assert!(response.batch_item_failures.is_empty());

    assert_eq!(emu.items(&message_pk(&wamid)).await.len(), 1);
    // The first write wins: a redelivery does not rewrite the item.
    assert_eq!(emu.message_item(&wamid).await.unwrap(), first);
}

#[tokio::test]
async fn statuses_arriving_sent_read_delivered_end_at_read_with_all_three_times() {
    let emu = Emulator::connect().await;
    let wamid = unique("wamid.out");
    for (status, ts) in [
        ("sent", 1_700_000_010),
        ("read", 1_700_000_030),
        ("delivered", 1_700_000_020),
    ] {
        let response = through_the_worker(&emu, &[status_webhook(&wamid, status, ts, serde_json::Value::Null)]).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let item = emu.message_item(&wamid).await.expect("upserted");
    assert_eq!(s(&item, "status"), "read");
    assert_eq!(s(&item, "direction"), "outbound");
    assert_eq!(s(&item, "sent_at"), "2023-11-14T22:13:30Z");
    assert_eq!(s(&item, "delivered_at"), "2023-11-14T22:13:40Z");
    assert_eq!(s(&item, "read_at"), "2023-11-14T22:13:50Z");
    assert_eq!(s(&item, "recipient_id"), "972501234567");
    let Some(AttributeValue::M(pricing)) = item.get("pricing") else {
        panic!("pricing: {item:?}")
    };
    assert_eq!(pricing.get("category"), Some(&AttributeValue::S("service".into())));
    assert!(item.contains_key("conversation"));
    // Counted once in the usage of November 2023 (the first priced status's month), in the cell its
    // pricing names, whichever of its priced statuses came first.
    let cell = s(&item, "pricing_cell");
    assert!(cell.starts_with("service#"), "{cell}");
    assert_eq!(s(&item, "usage_cell"), format!("2023-11#{cell}"));
}

#[tokio::test]
async fn statuses_in_one_batch_converge_whatever_the_order() {
    let emu = Emulator::connect().await;
    let wamid = unique("wamid.batch");
    let bodies: Vec<_> = [("delivered", 2), ("read", 3), ("sent", 1)]
        .iter()
        .map(|(status, ts)| status_webhook(&wamid, status, 1_700_000_000 + ts, serde_json::Value::Null))
        .collect();
    let response = through_the_worker(&emu, &bodies).await;
    assert!(response.batch_item_failures.is_empty());
    let item = emu.message_item(&wamid).await.unwrap();
    assert_eq!(s(&item, "status"), "read");
    for attribute in ["sent_at", "delivered_at", "read_at"] {
        assert!(item.contains_key(attribute), "{attribute} missing: {item:?}");
    }
}

#[tokio::test]
async fn a_failed_status_records_meta_s_error_and_is_final() {
    let emu = Emulator::connect().await;
    let wamid = unique("wamid.fail");
    let errors = json!([{"code":131026,"title":"Message undeliverable","message":"Message undeliverable",
        "error_data":{"details":"Message could not be delivered"}}]);
    for body in [
        status_webhook(&wamid, "sent", 1_700_000_010, serde_json::Value::Null),
        status_webhook(&wamid, "failed", 1_700_000_020, errors),
        status_webhook(&wamid, "delivered", 1_700_000_030, serde_json::Value::Null),
    ] {
        assert!(through_the_worker(&emu, &[body]).await.batch_item_failures.is_empty());
    }
    let item = emu.message_item(&wamid).await.unwrap();
    assert_eq!(s(&item, "status"), "failed");
    assert!(item.contains_key("failed_at") && item.contains_key("delivered_at"));
    let Some(AttributeValue::L(errors)) = item.get("errors") else {
        panic!("errors: {item:?}")
    };
    let AttributeValue::M(error) = &errors[0] else {
        panic!("error: {errors:?}")
    };
    assert_eq!(error.get("code"), Some(&AttributeValue::N("131026".into())));
    assert_eq!(
        error.get("title"),
        Some(&AttributeValue::S("Message undeliverable".into()))
    );
    assert_eq!(
        error.get("details"),
        Some(&AttributeValue::S("Message could not be delivered".into()))
    );
}

#[tokio::test]
async fn events_for_another_phone_number_are_acknowledged_and_not_processed() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("foreign", 30, None).await;
    let ingest = ingest(&emu, &queue.url);
    let ours = unique("wamid.ours");
    let theirs = unique("wamid.theirs");
    for body in [
        text_webhook(OUR_NUMBER, &ours, "972501234567", 1_700_000_000, "for us"),
        text_webhook(
            "999999999999999",
            &theirs,
            "972501234567",
            1_700_000_000,
            "for another app",
        ),
    ] {
        assert_eq!(
            ingest
                .handle(signed_webhook(&secret(&emu), &body, false))
                .await
                .status(),
            200
        );
    }
    let messages = emu.receive_all(&queue.url).await;
    let event = sqs_event(&messages, &queue.arn, "us-east-1").unwrap();
    let filter = PhoneNumberFilter::new([OUR_NUMBER.to_owned()]);
    let response = worker(&emu, filter).handle(event, batch_deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(emu.message_item(&ours).await.is_some());
    assert!(emu.message_item(&theirs).await.is_none());
}

#[tokio::test]
async fn other_fields_are_recorded_raw() {
    let emu = Emulator::connect().await;
    let template_id = unique("tmpl");
    let body =
        json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1700000000,"changes":[
        {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":template_id,
         "message_template_name":"order_update","message_template_language":"en_US","reason":"NONE"}}]}]})
        .to_string()
        .into_bytes();
    assert!(through_the_worker(&emu, &[body]).await.batch_item_failures.is_empty());
    let items = emu.items(&event_pk("message_template_status_update")).await;
    let ours: Vec<_> = items
        .iter()
        .filter(|item| s(item, "payload").contains(&template_id))
        .collect();
    assert_eq!(ours.len(), 1);
}

#[tokio::test]
async fn a_record_that_can_never_be_processed_reaches_the_dead_letter_queue() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("poison", 1, Some(2)).await;
    let good_wamid = unique("wamid.good");
    emu.sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body("this is not a webhook")
        .send()
        .await
        .unwrap();
    let good = text_webhook(OUR_NUMBER, &good_wamid, "972501234567", 1_700_000_000, "fine");
    emu.sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(String::from_utf8(good).unwrap())
        .send()
        .await
        .unwrap();

    let source = QueueSource {
        client: emu.sqs.clone(),
        queue_url: queue.url.clone(),
        queue_arn: queue.arn.clone(),
        region: "us-east-1".into(),
        batch_size: 10,
        batching_window: Duration::from_millis(200),
    };
    let worker = worker(&emu, PhoneNumberFilter::default());
    let dlq = queue.dlq.clone();
    let mut failures_reported = 0;
    for _ in 0..20 {
        let messages = source.receive_batch().await.unwrap();
        if !messages.is_empty() {
            let response = worker
                .handle(sqs_event(&messages, &queue.arn, "us-east-1").unwrap(), batch_deadline())
                .await;
            failures_reported += response.batch_item_failures.len();
            source.acknowledge(&messages, &response).await.unwrap();
        }
        let dead = emu.receive_all(&dlq).await;
        if !dead.is_empty() {
            assert_eq!(dead.len(), 1);
            assert_eq!(dead[0].body(), Some("this is not a webhook"));
            assert_eq!(failures_reported, 2, "reported as failed on each of its 2 receives");
            assert!(
                emu.message_item(&good_wamid).await.is_some(),
                "the good record of the batch was recorded"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    panic!("the poison record never reached the dead-letter queue");
}

#[tokio::test]
async fn a_store_outage_is_reported_as_a_batch_item_failure() {
    let emu = Emulator::connect().await;
    let queue = emu.fresh_queue("outage", 30, None).await;
    let body = text_webhook(
        OUR_NUMBER,
        &unique("wamid.outage"),
        "972501234567",
        1_700_000_000,
        "later",
    );
    assert_eq!(
        ingest(&emu, &queue.url)
            .handle(signed_webhook(&secret(&emu), &body, false))
            .await
            .status(),
        200
    );
    let messages = emu.receive_all(&queue.url).await;
    let event = sqs_event(&messages, &queue.arn, "us-east-1").unwrap();
    let broken = DeployedWorker::recording(
        DynamoMessageStore::new(emu.dynamodb.clone(), "no-such-table", 0),
        S3BlobStore::new(emu.s3.clone(), emu.bucket()),
        SqsRedelivery::new(emu.sqs.clone(), Vec::new()),
        PhoneNumberFilter::default(),
    );
    let response = broken.handle(event, batch_deadline()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        Some(response.batch_item_failures[0].item_identifier.as_str()),
        messages[0].message_id()
    );
}

/// A raw event too large for a DynamoDB item (400 KB) would fail on every redelivery and
/// dead-letter: its payload goes to the payload bucket and its item holds the pointer.
#[tokio::test]
async fn a_raw_event_over_the_item_limit_is_offloaded_to_the_bucket_and_pointed_at() {
    let emu = Emulator::connect().await;
    let marker = unique("big");
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[
        {"field":"message_template_components_update","value":{"marker":marker,"components":"x".repeat(600 * 1024)}}]}]})
    .to_string()
    .into_bytes();
    let response = through_the_worker(&emu, &[body]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let items = emu.items(&event_pk("message_template_components_update")).await;
    let ours: Vec<_> = items
        .iter()
        .filter(|item| item.contains_key("payload_pointer"))
        .filter_map(|item| S3Pointer::from_body(&s(item, "payload_pointer")))
        .collect();
    let mut found = false;
    for pointer in ours {
        let object = emu
            .s3
            .get_object()
            .bucket(&pointer.bucket)
            .key(&pointer.key)
            .send()
            .await
            .unwrap();
        let bytes = object.body.collect().await.unwrap().into_bytes();
        let payload: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if payload["marker"] == marker.as_str() {
            assert_eq!(pointer.bucket, emu.bucket());
            assert!(pointer.key.starts_with("events/"), "{}", pointer.key);
            assert_eq!(payload["components"].as_str().map(str::len), Some(600 * 1024));
            found = true;
        }
    }
    assert!(found, "the event's item points at its payload");
}

/// A claim check whose object is gone reads as NoSuchKey (not an outage): `NotFound`, permanent.
#[tokio::test]
async fn a_missing_claim_check_object_is_not_found() {
    use bridge::ports::{BlobError, BlobStore, Transient};
    let emu = Emulator::connect().await;
    let blobs = S3BlobStore::new(emu.s3.clone(), emu.bucket());
    let key = format!("webhooks/2026/12/01/{}", unique("gone"));
    let error = blobs.get(emu.bucket(), &key).await.expect_err("no such object");
    assert!(
        matches!(&error, BlobError::NotFound { key: k, .. } if *k == key),
        "{error:?}"
    );
    assert!(!error.is_transient());
}
