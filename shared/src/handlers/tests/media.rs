//! `POST /media` against the in-memory uploader: Meta's limits checked before any upload, files by
//! reference to the payload bucket, and every failure of the upload answered.

use std::collections::HashMap;

use lambda_http::RequestExt;
use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::{SendApiConfig, SendApiGraph};
use crate::domain::graph_error::GraphError;
use crate::domain::records::BusinessNumbers;
use crate::domain::secret::Secret;
use crate::handlers::send_api::{MAX_RAW_MEDIA_BYTES, SendApi};
use crate::handlers::tests::send_api_config;
use crate::ports::{MediaFailure, UploadSource};
use crate::testing::{FakeMediaLinks, FakeQueue, FakeUploader, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";
const FIRST: &str = "106540352242922";
const SECOND: &str = "106540352242923";

fn api(
    bucket: bool,
) -> (
    SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader>,
    FakeUploader,
) {
    let config = SendApiConfig {
        phone_numbers: BusinessNumbers::new([FIRST.to_owned(), SECOND.to_owned()]),
        media_bucket: bucket.then(|| "bucket".to_owned()),
        graph: Some(SendApiGraph {
            access_token: Secret::new("token"),
            base_url: "http://graph.invalid".to_owned(),
            version: "v26.0".to_owned(),
            waba_id: None,
        }),
        ..send_api_config(KEY)
    };
    let media = FakeUploader::new();
    let api = SendApi::new(
        config,
        MemoryStore::new(),
        FakeQueue::new(),
        Some(FakeMediaLinks::new()),
    )
    .with_media(Some(media.clone()));
    (api, media)
}

fn upload(content_type: &str, body: Vec<u8>, from: Option<&str>) -> lambda_http::Request {
    let bearer = format!("Bearer {KEY}");
    let request = request(
        "POST",
        "/media",
        &[("authorization", bearer.as_str()), ("content-type", content_type)],
        body,
    );
    match from {
        Some(from) => request.with_query_string_parameters(HashMap::from([("from".to_owned(), from.to_owned())])),
        None => request,
    }
}

async fn answer(
    api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader>,
    request: lambda_http::Request,
) -> (u16, Value) {
    let response = api.handle(request).await;
    let body = serde_json::from_str(&body_text(&response)).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn a_file_in_the_body_is_uploaded_from_the_named_number_and_its_media_id_answered() {
    let (api, media) = api(false);
    let (status, body) = answer(&api, upload("image/png", vec![7; 1000], None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": "7700000000000001", "type": "image/png", "kind": "image", "size": 1000, "from": FIRST})
    );
    let (status, body) = answer(&api, upload("audio/ogg; codecs=opus", vec![1; 10], Some(SECOND))).await;
    assert_eq!(
        (status, &body["from"], &body["type"]),
        (200, &json!(SECOND), &json!("audio/ogg")),
        "{body}"
    );
    let uploads = media.state().uploads.clone();
    assert_eq!(uploads.len(), 2);
    assert_eq!(
        (uploads[0].from.as_str(), uploads[0].mime.as_str(), uploads[0].size),
        (FIRST, "image/png", 1000)
    );
    assert_eq!(uploads[0].source, UploadSource::Bytes(vec![7; 1000]));
    assert_eq!(
        (uploads[1].from.as_str(), uploads[1].mime.as_str()),
        (SECOND, "audio/ogg")
    );
}

#[tokio::test]
async fn meta_s_limits_are_checked_before_anything_is_uploaded() {
    let (api, media) = api(false);
    for (content_type, size, expected) in [
        ("image/gif", 10, "type: \"image/gif\" is not a media type"),
        (
            "image/jpeg",
            5 * 1024 * 1024 + 1,
            "file: 5242881 bytes is over WhatsApp's limit for image (image/jpeg) (5242880 bytes, 5 MB)",
        ),
        (
            "image/webp",
            100 * 1024 + 1,
            "file: 102401 bytes is over WhatsApp's limit for a static sticker (image/webp) (102400 bytes, 100 KB)",
        ),
        ("image/png", 0, "file: empty"),
        ("", 10, "type: \"\" is not a media type"),
        (
            "image/png",
            MAX_RAW_MEDIA_BYTES + 1,
            "file: 4500001 bytes is over the 4500000 bytes a request body can carry",
        ),
    ] {
        let (status, body) = answer(&api, upload(content_type, vec![0; size], None)).await;
        assert_eq!(status, 400, "{content_type} {size}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(expected), "{content_type} {size}: {error}");
    }
    let (status, body) = answer(&api, upload("image/png", vec![1; 5], Some("999"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().starts_with("from:"),
        "{body}"
    );
    assert!(media.state().uploads.is_empty(), "nothing reached Meta");
    // Without the API key nothing is looked at.
    let anonymous = request("POST", "/media", &[("content-type", "image/png")], vec![1u8; 5]);
    assert_eq!(api.handle(anonymous).await.status(), 401);
}

fn reference(body: Value) -> lambda_http::Request {
    upload("application/json", body.to_string().into_bytes(), None)
}

#[tokio::test]
async fn a_larger_file_goes_by_reference_to_the_payload_bucket_and_is_checked_first() {
    let (api, media) = api(true);
    let video = 12 * 1024 * 1024;
    media.put("media/clip.mp4", Some("video/mp4"), vec![0; video]);
    media.put("media/big.mp4", Some("video/mp4"), vec![0; 16 * 1024 * 1024 + 1]);
    media.put("media/untyped", None, vec![0; 10]);
    let (status, body) = answer(&api, reference(json!({"s3_key": "media/clip.mp4"}))).await;
    assert_eq!(
        (status, &body["kind"], &body["size"]),
        (200, &json!("video"), &json!(video)),
        "{body}"
    );
    assert_eq!(
        media.state().uploads[0].source,
        UploadSource::Object {
            key: "media/clip.mp4".to_owned()
        }
    );
    // The type can be named when the object's Content-Type is not it.
    let (status, body) = answer(
        &api,
        reference(json!({"s3_key": "media/untyped", "type": "application/pdf"})),
    )
    .await;
    assert_eq!((status, &body["kind"]), (200, &json!("document")), "{body}");
    for (request, expected) in [
        (
            json!({"s3_key": "media/big.mp4"}),
            "file: 16777217 bytes is over WhatsApp's limit for video (video/mp4) (16777216 bytes, 16 MB)",
        ),
        (json!({"s3_key": "media/untyped"}), "type: \"\" is not a media type"),
        (
            json!({"s3_key": "media/absent.png"}),
            "s3_key: no object \"media/absent.png\"",
        ),
        (
            json!({"s3_key": "webhooks/x.json"}),
            "s3_key: must be a key under media/",
        ),
        (json!({"s3_key": "media/"}), "s3_key: must be a key under media/"),
        (json!({"key": "media/clip.mp4"}), "s3_key: a JSON body names an object"),
    ] {
        let (status, body) = answer(&api, reference(request.clone())).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(
            body["error"].as_str().unwrap_or_default().starts_with(expected),
            "{request}: {body}"
        );
    }
    assert_eq!(media.state().uploads.len(), 2);
    media.state().bucket_down = true;
    let (status, _) = answer(&api, reference(json!({"s3_key": "media/clip.mp4"}))).await;
    assert_eq!(status, 503, "S3 unavailable: retry later");
    // No bucket configured: a reference cannot be read.
    let (api, _) = self::api(false);
    let (status, _) = answer(&api, reference(json!({"s3_key": "media/clip.mp4"}))).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn meta_refusing_the_file_is_a_400_with_its_words_and_anything_else_a_503() {
    let (api, media) = api(false);
    media.state().fail_next = Some(|| {
        MediaFailure::Refused(Box::new(GraphError {
            http_status: 400,
            code: Some(131053),
            details: Some("Unsupported file type".to_owned()),
            ..GraphError::default()
        }))
    });
    let (status, body) = answer(&api, upload("image/png", vec![1; 5], None)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "file: Meta refused the upload (#131053): Unsupported file type"
    );
    for failure in [
        (|| {
            MediaFailure::Refused(Box::new(GraphError {
                http_status: 401,
                code: Some(190),
                ..GraphError::default()
            }))
        }) as fn() -> MediaFailure,
        || {
            MediaFailure::Refused(Box::new(GraphError {
                http_status: 500,
                code: Some(1),
                ..GraphError::default()
            }))
        },
        || MediaFailure::Unavailable("timed out".to_owned()),
    ] {
        media.state().fail_next = Some(failure);
        let (status, body) = answer(&api, upload("image/png", vec![1; 5], None)).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "temporarily unavailable, retry later");
    }
    // Not configured (no access token): 503, and the other routes unchanged.
    let mut unconfigured = SendApi::new(
        api.config.clone(),
        MemoryStore::new(),
        FakeQueue::new(),
        Some(FakeMediaLinks::new()),
    );
    unconfigured.config.graph = None;
    assert_eq!(
        unconfigured
            .handle(upload("image/png", vec![1; 5], None))
            .await
            .status(),
        503
    );
}
