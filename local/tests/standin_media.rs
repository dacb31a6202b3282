//! Black-box tests of the Graph stand-in's media endpoints (upload, retrieve, download, delete): real HTTP
//! over 127.0.0.1, ephemeral ports, bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use local_stack::graph_standin::{MEDIA_ID_PREFIX, Standin, StandinConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

const TOKEN: &str = "test-token";
const PHONE_ID: &str = "106540352242922";

async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("test took longer than 30 s");
}

async fn start() -> (Arc<Standin>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
    (standin, addr)
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A bodiless `GET`, with the bearer token or without.
async fn get(url: &str, token: Option<&str>) -> Answer {
    call("GET", url, token, None, vec![]).await
}

async fn call(method: &str, url: &str, token: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> Answer {
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body,
    }
}

/// A multipart body with the given text fields and, when `file` is set, a `file` part.
fn multipart(boundary: &str, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

async fn upload(addr: SocketAddr, mime: &str, bytes: &[u8]) -> Answer {
    let boundary = "----standin-test-boundary";
    let body = multipart(
        boundary,
        &[("messaging_product", "whatsapp"), ("type", mime)],
        Some((mime, bytes)),
    );
    call(
        "POST",
        &format!("http://{addr}/v21.0/{PHONE_ID}/media"),
        Some(TOKEN),
        Some(&format!("multipart/form-data; boundary={boundary}")),
        body,
    )
    .await
}

/// Bytes that contain the boundary's prefix and CRLFs, to exercise the parser.
fn awkward_bytes(length: usize) -> Vec<u8> {
    let pattern = b"\r\n------standin-test\r\n--\xff\x00";
    (0..length)
        .map(|i| pattern[i % pattern.len()].wrapping_add(u8::try_from(i / 997 % 3).unwrap()))
        .collect()
}

fn assert_graph_error(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "body: {:?}", answer.body);
    let json = answer.json();
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    assert!(
        json["error"]["fbtrace_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{json}"
    );
}

#[tokio::test]
async fn upload_retrieve_download_delete_round_trip() {
    bounded(async {
        let (_standin, addr) = start().await;
        let bytes = awkward_bytes(300_000);
        let uploaded = upload(addr, "image/jpeg", &bytes).await;
        assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
        let json = uploaded.json();
        let id = json["id"].as_str().unwrap().to_owned();
        assert_eq!(json.as_object().unwrap().len(), 1, "only the id: {json}");
        assert!(id.starts_with(MEDIA_ID_PREFIX) && id.len() == 16, "{id}");

        let retrieved = call("GET", &format!("http://{addr}/v21.0/{id}"), Some(TOKEN), None, vec![]).await;
        assert_eq!(retrieved.status, 200);
        let meta = retrieved.json();
        assert_eq!(meta["messaging_product"], "whatsapp");
        assert_eq!(meta["id"], id.as_str());
        assert_eq!(meta["mime_type"], "image/jpeg");
        assert_eq!(meta["file_size"], 300_000);
        assert_eq!(meta["sha256"], hex::encode(Sha256::digest(&bytes)));
        let url = meta["url"].as_str().unwrap().to_owned();
        assert!(url.contains("/whatsapp_business/attachments/?mid="), "{url}");

        // The download takes the bearer token, nothing else.
        let without = call("GET", &url, None, None, vec![]).await;
        assert_graph_error(&without, 401, 190);
        let wrong = call("GET", &url, Some("another-token"), None, vec![]).await;
        assert_graph_error(&wrong, 401, 190);
        let in_query = call("GET", &format!("{url}&access_token={TOKEN}"), None, None, vec![]).await;
        assert_graph_error(&in_query, 401, 190);
        let downloaded = call("GET", &url, Some(TOKEN), None, vec![]).await;
        assert_eq!(downloaded.status, 200);
        assert_eq!(downloaded.content_type.as_deref(), Some("image/jpeg"));
        assert!(downloaded.body == bytes, "downloaded bytes differ from the upload");

        let deleted = call(
            "DELETE",
            &format!("http://{addr}/v21.0/{id}"),
            Some(TOKEN),
            None,
            vec![],
        )
        .await;
        assert_eq!(deleted.status, 200);
        assert_eq!(deleted.json(), serde_json::json!({"success": true}));
        let gone = call("GET", &format!("http://{addr}/v21.0/{id}"), Some(TOKEN), None, vec![]).await;
        assert_graph_error(&gone, 400, 100);
        assert_eq!(gone.json()["error"]["error_subcode"], 33);
        let download_gone = call("GET", &url, Some(TOKEN), None, vec![]).await;
        assert_eq!(download_gone.status, 404);
        let deleted_again = call(
            "DELETE",
            &format!("http://{addr}/v21.0/{id}"),
            Some(TOKEN),
            None,
            vec![],
        )
        .await;
        assert_graph_error(&deleted_again, 400, 100);
    })
    .await;
}

#[tokio::test]
async fn unknown_media_ids_answer_metas_error() {
    bounded(async {
        let (_standin, addr) = start().await;
        let unknown = format!("{MEDIA_ID_PREFIX}00000000000001");
        let answer = get(&format!("http://{addr}/v21.0/{unknown}"), Some(TOKEN)).await;
        assert_graph_error(&answer, 400, 100);
        let json = answer.json();
        assert_eq!(json["error"]["type"], "GraphMethodException");
        assert!(json["error"]["message"].as_str().unwrap().contains(&unknown), "{json}");
        // A phone number id is still the onboarding read, not a media id.
        let phone = get(&format!("http://{addr}/v21.0/{PHONE_ID}"), Some(TOKEN)).await;
        assert_eq!(phone.status, 200, "{:?}", phone.body);
        assert_eq!(phone.json()["id"], PHONE_ID);
        // A download URL for an unknown id.
        let download = get(
            &format!("http://{addr}/whatsapp_business/attachments/?mid={unknown}&ext=99999999999&hash=x"),
            Some(TOKEN),
        )
        .await;
        assert_eq!(download.status, 404);
    })
    .await;
}

#[tokio::test]
async fn every_media_route_needs_the_token() {
    bounded(async {
        let (_standin, addr) = start().await;
        let id = upload(addr, "audio/ogg", b"OggS-bytes").await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let boundary = "b";
        let body = multipart(
            boundary,
            &[("messaging_product", "whatsapp"), ("type", "audio/ogg")],
            Some(("audio/ogg", b"x")),
        );
        let no_token_upload = call(
            "POST",
            &format!("http://{addr}/v21.0/{PHONE_ID}/media"),
            None,
            Some("multipart/form-data; boundary=b"),
            body,
        )
        .await;
        assert_graph_error(&no_token_upload, 401, 190);
        let no_token_get = call("GET", &format!("http://{addr}/v21.0/{id}"), None, None, vec![]).await;
        assert_graph_error(&no_token_get, 401, 190);
        let no_token_delete = call("DELETE", &format!("http://{addr}/v21.0/{id}"), None, None, vec![]).await;
        assert_graph_error(&no_token_delete, 401, 190);
        // The Graph routes (not the download) also take `access_token=`, as the Graph API does.
        let query_token = get(&format!("http://{addr}/v21.0/{id}?access_token={TOKEN}"), None).await;
        assert_eq!(query_token.status, 200);
        // Still there: refused calls changed nothing.
        let still = call("GET", &format!("http://{addr}/v21.0/{id}"), Some(TOKEN), None, vec![]).await;
        assert_eq!(still.status, 200);
        assert_eq!(still.json()["file_size"], 10);
    })
    .await;
}

#[tokio::test]
async fn phone_number_id_filter_on_retrieve_and_delete() {
    bounded(async {
        let (_standin, addr) = start().await;
        let id = upload(addr, "application/pdf", b"%PDF-1.4").await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let other = get(&format!("http://{addr}/v21.0/{id}?phone_number_id=999"), Some(TOKEN)).await;
        assert_graph_error(&other, 400, 100);
        let other_delete = call(
            "DELETE",
            &format!("http://{addr}/v21.0/{id}?phone_number_id=999"),
            Some(TOKEN),
            None,
            vec![],
        )
        .await;
        assert_graph_error(&other_delete, 400, 100);
        let same = get(
            &format!("http://{addr}/v21.0/{id}?phone_number_id={PHONE_ID}"),
            Some(TOKEN),
        )
        .await;
        assert_eq!(same.status, 200);
    })
    .await;
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_problem() {
    bounded(async {
        let (_standin, addr) = start().await;
        let url = format!("http://{addr}/v21.0/{PHONE_ID}/media");
        let post = |content_type: Option<String>, body: Vec<u8>| {
            let url = url.clone();
            async move { call("POST", &url, Some(TOKEN), content_type.as_deref(), body).await }
        };
        let form = Some("multipart/form-data; boundary=B".to_owned());

        let not_multipart = post(Some("application/json".into()), b"{}".to_vec()).await;
        assert_graph_error(&not_multipart, 400, 100);

        let no_product = post(
            form.clone(),
            multipart("B", &[("type", "image/png")], Some(("image/png", b"png"))),
        )
        .await;
        assert_graph_error(&no_product, 400, 100);
        assert!(
            no_product.json()["error"]["error_data"]["details"]
                .as_str()
                .unwrap()
                .contains("messaging_product")
        );

        let no_type = post(
            form.clone(),
            multipart("B", &[("messaging_product", "whatsapp")], Some(("image/png", b"png"))),
        )
        .await;
        assert_graph_error(&no_type, 400, 100);
        assert!(
            no_type.json()["error"]["error_data"]["details"]
                .as_str()
                .unwrap()
                .contains("type")
        );

        let no_file = post(
            form.clone(),
            multipart("B", &[("messaging_product", "whatsapp"), ("type", "image/png")], None),
        )
        .await;
        assert_graph_error(&no_file, 400, 100);
        assert!(
            no_file.json()["error"]["error_data"]["details"]
                .as_str()
                .unwrap()
                .contains("file")
        );

        let unsupported = post(
            form.clone(),
            multipart(
                "B",
                &[("messaging_product", "whatsapp"), ("type", "image/gif")],
                Some(("image/gif", b"GIF89a")),
            ),
        )
        .await;
        assert_graph_error(&unsupported, 400, 131_053);

        let big_sticker = vec![7u8; 500 * 1024 + 1];
        let too_large = post(
            form.clone(),
            multipart(
                "B",
                &[("messaging_product", "whatsapp"), ("type", "image/webp")],
                Some(("image/webp", &big_sticker)),
            ),
        )
        .await;
        assert_graph_error(&too_large, 400, 131_053);

        let truncated = post(
            form.clone(),
            b"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc".to_vec(),
        )
        .await;
        assert_graph_error(&truncated, 400, 100);
    })
    .await;
}
