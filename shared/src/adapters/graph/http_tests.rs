//! Every view of one [`GraphApi`] against a minimal Meta on a loopback socket, the token source a fake:
//! one rotation, one read of the source, and each call made once more only where that is safe.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::{CONNECT_TIMEOUT, GraphApi, GraphClient, Source, TokenSource};
use crate::adapters::graph_media::GraphMedia;
use crate::adapters::graph_templates::GraphTemplates;
use crate::domain::graph_error::FailureClass;
use crate::domain::ids::Wamid;
use crate::domain::secret::Secret;
use crate::ports::{MediaSource, MediaUploader, SendFailure, TemplateCatalog, UploadSource, WhatsAppSender};

/// Meta, as far as these calls go: the token it takes, and every request's route and whether its token was taken.
struct Meta {
    base: String,
    token: Mutex<String>,
    seen: Mutex<Vec<(String, bool)>>,
}

impl Meta {
    fn start(token: &str) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("a loopback port: {error}"));
        let base = format!(
            "http://{}",
            listener.local_addr().map(|a| a.to_string()).unwrap_or_default()
        );
        let meta = Arc::new(Self {
            base,
            token: Mutex::new(token.to_owned()),
            seen: Mutex::new(Vec::new()),
        });
        let serving = Arc::clone(&meta);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serving.answer(stream);
            }
        });
        meta
    }

    fn rotate(&self, token: &str) {
        *self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = token.to_owned();
    }

    /// `(refused, taken)` requests whose route starts with `route` (`"POST /v1/P/messages"`).
    fn count(&self, route: &str) -> (usize, usize) {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let matching = seen.iter().filter(|(seen, _)| seen.starts_with(route));
        let taken = matching.clone().filter(|(_, taken)| *taken).count();
        (matching.count() - taken, taken)
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let route: String = line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let (mut length, mut presented) = (0usize, String::new());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or_default();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => presented = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let token = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let taken = presented == format!("Bearer {token}");
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((route.clone(), taken));
        let (status, body) = if !taken {
            (
                "401 Unauthorized",
                json!({"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190,
                    "error_subcode": 463}})
                .to_string(),
            )
        } else if route.ends_with("/messages") {
            ("200 OK", json!({"messages": [{"id": "wamid.T"}]}).to_string())
        } else if route.ends_with("/media") {
            ("200 OK", json!({"id": "7700000000000001"}).to_string())
        } else if route.contains("/message_templates") {
            ("200 OK", json!({"data": []}).to_string())
        } else if route == "GET /v1/77" {
            let url = format!("{}/download/77", self.base);
            (
                "200 OK",
                json!({"url": url, "mime_type": "image/png", "file_size": 3}).to_string(),
            )
        } else if route == "GET /download/77" {
            ("200 OK", "abc".to_owned())
        } else {
            ("404 Not Found", "{}".to_owned())
        };
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

/// One Graph API client on `meta` presenting `old`, its source holding `new`: the client and the source's reads.
fn api(meta: &Meta, old: &str, new: &str) -> (GraphApi, Arc<AtomicU64>) {
    let reads = Arc::new(AtomicU64::new(0));
    let source = TokenSource(Source::Memory(
        Arc::new(Mutex::new(Some(Secret::new(new)))),
        Arc::clone(&reads),
    ));
    let api = GraphApi::new(&meta.base, "v1", Secret::new(old), CONNECT_TIMEOUT, Some(source))
        .unwrap_or_else(|error| panic!("the client: {error}"));
    (api, reads)
}

fn views(api: &GraphApi) -> (GraphClient, GraphTemplates, GraphMedia) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build(),
    );
    (
        GraphClient::new(api.clone(), Duration::from_secs(5), Duration::from_secs(5)),
        GraphTemplates::new(api.clone(), "WABA", Duration::from_secs(5)),
        GraphMedia::new(api.clone(), Duration::from_secs(5), s3, "unused"),
    )
}

async fn downloaded(client: &GraphClient, url: &str) -> Vec<u8> {
    let download = client
        .download(url)
        .await
        .unwrap_or_else(|error| panic!("download: {error}"));
    let chunks: Vec<_> = download.chunks.collect().await;
    chunks.into_iter().flatten().flat_map(|chunk| chunk.to_vec()).collect()
}

#[tokio::test]
async fn a_send_refused_for_the_token_is_not_made_again_and_its_renewal_serves_every_view() {
    let meta = Meta::start("old");
    let (api, reads) = api(&meta, "old", "new");
    let (client, templates, media) = views(&api);
    let payload: Value = json!({"messaging_product": "whatsapp", "to": "1", "type": "text"});
    assert!(client.send("P", &payload).await.is_ok());
    meta.rotate("new");

    let refused = client.send("P", &payload).await;
    assert!(
        matches!(&refused, Err(SendFailure::Refused(error)) if error.class() == FailureClass::ExpiredToken),
        "{refused:?}"
    );
    assert_eq!(
        meta.count("POST /v1/P/messages"),
        (1, 1),
        "not sent again: the worker retries the job"
    );
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "nothing read inside the send's time bound"
    );
    assert!(client.refresh_token().await, "the worker's renewal after the refusal");
    assert!(
        client.refresh_token().await,
        "a second refusal of the same token: no second read"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 1);

    // Every view presents the new token from its first call.
    assert!(client.send("P", &payload).await.is_ok());
    assert!(
        client
            .mark_read("P", &Wamid::new("wamid.IN".to_owned()), false)
            .await
            .is_ok()
    );
    let info = client.retrieve("77").await.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(downloaded(&client, &info.url).await, b"abc");
    assert_eq!(templates.template("t", "en_US", None).await, Ok(None));
    let uploaded = media
        .upload("P", "image/png", 3, UploadSource::Bytes(b"abc".to_vec()))
        .await;
    assert_eq!(uploaded.ok().as_deref(), Some("7700000000000001"));
    let refused: usize = [
        "POST /v1/P/messages",
        "GET /v1/77",
        "GET /download",
        "GET /v1/WABA",
        "POST /v1/P/media",
    ]
    .iter()
    .map(|route| meta.count(route).0)
    .sum();
    assert_eq!(refused, 1, "only the send before the renewal was refused");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_read_a_read_receipt_or_an_upload_refused_for_the_token_is_made_once_more_with_the_new_one() {
    let meta = Meta::start("token-0");
    for (round, route) in [
        "POST /v1/P/messages",
        "GET /v1/77",
        "GET /download/77",
        "GET /v1/WABA/message_templates",
        "POST /v1/P/media",
    ]
    .into_iter()
    .enumerate()
    {
        // A warm client per call, each meeting the rotation first.
        let old = format!("token-{round}");
        let new = format!("token-{}", round + 1);
        let (api, reads) = api(&meta, &old, &new);
        let (client, templates, media) = views(&api);
        let url = if route == "GET /download/77" {
            client.retrieve("77").await.map(|info| info.url).unwrap_or_default()
        } else {
            String::new()
        };
        let before = meta.count(route);
        meta.rotate(&new);
        match route {
            "POST /v1/P/messages" => {
                let marked = client.mark_read("P", &Wamid::new("wamid.IN".to_owned()), true).await;
                assert!(marked.is_ok(), "{marked:?}");
            }
            "GET /v1/77" => assert!(client.retrieve("77").await.is_ok()),
            "GET /download/77" => assert_eq!(downloaded(&client, &url).await, b"abc"),
            "GET /v1/WABA/message_templates" => assert_eq!(templates.template("t", "en_US", None).await, Ok(None)),
            _ => {
                let uploaded = media
                    .upload("P", "image/png", 3, UploadSource::Bytes(b"abc".to_vec()))
                    .await;
                assert!(uploaded.is_ok(), "{:?}", uploaded.err());
            }
        }
        let after = meta.count(route);
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, 1),
            "{route}: refused, then taken"
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1, "{route}");
    }
}

#[tokio::test]
async fn a_token_the_source_does_not_replace_is_refused_again_and_not_retried() {
    let meta = Meta::start("new");
    let (api, reads) = api(&meta, "old", "old");
    let (client, templates, _) = views(&api);
    assert!(client.retrieve("77").await.is_err());
    assert!(templates.template("t", "en_US", None).await.is_err());
    assert_eq!(meta.count("GET /v1/77"), (1, 0));
    assert_eq!(meta.count("GET /v1/WABA"), (1, 0));
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "read once, then not again within the minute"
    );
}

#[tokio::test]
async fn a_template_whose_status_changed_after_it_was_looked_up_is_asked_again() {
    let meta = Meta::start("old");
    let (api, _) = api(&meta, "old", "old");
    let (_, templates, _) = views(&api);
    let route = "GET /v1/WABA/message_templates";
    assert_eq!(templates.template("t", "en_US", None).await, Ok(None));
    let long_ago = chrono::Utc::now().timestamp() - 3600;
    assert_eq!(templates.template("t", "en_US", Some(long_ago)).await, Ok(None));
    assert_eq!(meta.count(route), (0, 1), "kept: looked up after the change");
    // Meta paused it (or approved it again) now: the kept answer is older than that.
    let now = chrono::Utc::now().timestamp();
    assert_eq!(templates.template("t", "en_US", Some(now)).await, Ok(None));
    assert_eq!(meta.count(route), (0, 2), "asked again at once");
    assert_eq!(templates.waba_id(), "WABA");
}
