//! Black-box tests of the Graph API stand-in: real HTTP over 127.0.0.1, ephemeral ports, bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use local_stack::graph_standin::{AmbiguityTimings, OnboardingConfig, RecordedRequest, Standin, StandinConfig};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TOKEN: &str = "test-token";
const SECRET: &str = "test-app-secret";
const PHONE_ID: &str = "106540352242922";
const DISPLAY: &str = "15550783881";
const PATH: &str = "/v21.0/106540352242922/messages";

/// Runs a test body with an overall deadline.
async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took longer than 20 s");
}

fn config(webhook_url: &str) -> StandinConfig {
    StandinConfig {
        access_token: TOKEN.into(),
        app_secret: SECRET.into(),
        webhook_url: webhook_url.into(),
        phone_number_id_display: DISPLAY.into(),
        latency: Duration::ZERO,
        status_delay: Duration::ZERO,
        send_status_webhooks: false,
    }
}

async fn start(config: StandinConfig) -> (Arc<Standin>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let standin = Standin::new(config);
    tokio::spawn(Arc::clone(&standin).serve(listener));
    (standin, addr)
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

struct Answer {
    status: u16,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    fn code(&self) -> i64 {
        self.json()["error"]["code"].as_i64().unwrap()
    }
    fn details(&self) -> String {
        self.json()["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

async fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let response = client()
        .request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, body }
}

async fn send(addr: SocketAddr, body: &Value) -> Answer {
    request(addr, "POST", PATH, Some(TOKEN), serde_json::to_vec(body).unwrap()).await
}

fn text_to(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
           "text": {"preview_url": false, "body": "hello"}})
}

fn assert_meta_error(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "body: {:?}", answer.body);
    let json = answer.json();
    assert_eq!(json["error"]["code"], code, "{json}");
    assert_eq!(json["error"]["type"], "OAuthException", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("(#{code})"))
            || code == 190,
        "{json}"
    );
    assert!(
        json["error"]["fbtrace_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{json}"
    );
    if code != 190 {
        assert_eq!(json["error"]["error_data"]["messaging_product"], "whatsapp", "{json}");
        assert!(
            json["error"]["error_data"]["details"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{json}"
        );
    }
}

// ---------- webhook receiver ----------

struct Received {
    signature: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

/// A local webhook receiver; the first `fail_first` requests are answered 500, the rest 200 after `delay`.
async fn receiver(fail_first: usize, delay: Duration) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (tx, seen) = (tx.clone(), Arc::clone(&seen));
                    async move {
                        let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
                        let (signature, content_type) = (header("x-hub-signature-256"), header("content-type"));
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let _ = tx.send(Received {
                            signature,
                            content_type,
                            body,
                        });
                        let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                        if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        } else {
                            tokio::time::sleep(delay).await;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/webhooks/whatsapp"), rx)
}

/// Waits for the next webhook, checks headers and signature, and returns its parsed body.
async fn next_webhook(rx: &mut mpsc::UnboundedReceiver<Received>) -> Value {
    let received = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no webhook in 5 s")
        .expect("closed");
    assert_eq!(received.content_type.as_deref(), Some("application/json"));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&received.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(received.signature.as_deref(), Some(expected.as_str()), "bad signature");
    serde_json::from_slice(&received.body).unwrap()
}

/// The single status of a webhook, after checking the envelope.
fn status_of(webhook: &Value) -> &Value {
    assert_eq!(webhook["object"], "whatsapp_business_account");
    let entries = webhook["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    let changes = entries[0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["field"], "messages");
    let value = &changes[0]["value"];
    assert_eq!(value["messaging_product"], "whatsapp");
    assert_eq!(value["metadata"]["display_phone_number"], DISPLAY);
    assert_eq!(value["metadata"]["phone_number_id"], PHONE_ID);
    let statuses = value["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 1);
    let status = &statuses[0];
    let timestamp = status["timestamp"].as_str().expect("timestamp is a string");
    assert!(timestamp.parse::<u64>().unwrap() > 1_600_000_000);
    status
}

fn wamid_of(answer: &Answer) -> String {
    answer.json()["messages"][0]["id"].as_str().unwrap().to_owned()
}

// ---------- success ----------

#[tokio::test]
async fn success_answer_has_meta_shape() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let answer = send(addr, &text_to("+1 555 123 4567")).await;
        assert_eq!(answer.status, 200);
        let json = answer.json();
        assert_eq!(json["messaging_product"], "whatsapp");
        assert_eq!(
            json["contacts"],
            json!([{"input": "+1 555 123 4567", "wa_id": "15551234567"}])
        );
        let messages = json["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["message_status"], "accepted");
        let id = messages[0]["id"].as_str().unwrap();
        assert!(id.starts_with("wamid.") && id.len() > 20, "{id}");
        assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
    })
    .await;
}

#[tokio::test]
async fn every_message_type_is_accepted_when_well_formed() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let bodies = [
            json!({"messaging_product": "whatsapp", "to": "15551234567", "text": {"body": "no type: text"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "template",
                   "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "image", "image": {"link": "http://x/y.png"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "document", "document": {"id": "123"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "audio", "audio": {"id": "1"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "video", "video": {"id": "1"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "sticker", "sticker": {"id": "1"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "reaction",
                   "reaction": {"message_id": "wamid.X", "emoji": "👍"}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "interactive",
                   "interactive": {"type": "button", "body": {"text": "?"},
                       "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "location",
                   "location": {"latitude": 1.5, "longitude": 2.5}}),
            json!({"messaging_product": "whatsapp", "to": "15551234567", "type": "contacts",
                   "contacts": [{"name": {"formatted_name": "A"}}]}),
            json!({"messaging_product": "whatsapp", "recipient": "15550001111", "type": "text", "text": {"body": "r"}}),
        ];
        for body in bodies {
            let answer = send(addr, &body).await;
            assert_eq!(answer.status, 200, "{body} -> {:?}", answer.body);
        }
    })
    .await;
}

#[tokio::test]
async fn to_wins_over_recipient() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let body = json!({"messaging_product": "whatsapp", "to": "15551112222", "recipient": "9995000000",
                          "type": "text", "text": {"body": "hi"}});
        let answer = send(addr, &body).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["contacts"][0]["wa_id"], "15551112222");
    })
    .await;
}

#[tokio::test]
async fn wamids_are_unique_under_concurrency() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let tasks: Vec<_> = (0..100)
            .map(|i| tokio::spawn(async move { send(addr, &text_to(&format!("1555000{i:04}"))).await }))
            .collect();
        let mut ids = std::collections::HashSet::new();
        for task in tasks {
            let answer = task.await.unwrap();
            assert_eq!(answer.status, 200);
            assert!(ids.insert(wamid_of(&answer)));
        }
        assert_eq!(standin.requests().len(), 100);
    })
    .await;
}

#[tokio::test]
async fn latency_delays_the_answer() {
    bounded(async {
        let mut config = config("http://127.0.0.1:9/unused");
        config.latency = Duration::from_millis(300);
        let (_standin, addr) = start(config).await;
        let started = Instant::now();
        let (first, second) = (text_to("15551234567"), text_to("15551234568"));
        let (a, b) = tokio::join!(send(addr, &first), send(addr, &second));
        let elapsed = started.elapsed();
        assert_eq!((a.status, b.status), (200, 200));
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(2000),
            "latencies must overlap, took {elapsed:?}"
        );
    })
    .await;
}

// ---------- special recipients ----------

macro_rules! special_recipient {
    ($name:ident, $to:expr, $status:expr, $code:expr) => {
        #[tokio::test]
        async fn $name() {
            bounded(async {
                let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
                let answer = send(addr, &text_to($to)).await;
                assert_meta_error(&answer, $status, $code);
                let recorded = standin.requests();
                assert_eq!(recorded.len(), 1);
                assert_eq!(recorded[0].answered_status, $status);
                assert_eq!(recorded[0].wamid, None);
            })
            .await;
        }
    };
}

special_recipient!(special_throughput_130429, "99913040001", 400, 130429);
special_recipient!(special_pair_rate_limit_131056, "9991310560", 400, 131056);
special_recipient!(special_something_went_wrong_131000, "9991310000", 500, 131000);
special_recipient!(special_undeliverable_131026, "9991310260", 400, 131026);
special_recipient!(special_reengagement_131047, "9991310470", 400, 131047);
special_recipient!(special_template_params_132000, "9991320000", 400, 132000);
special_recipient!(special_invalid_parameter_100, "9991000000", 400, 100);
special_recipient!(special_expired_token_190, "9991900000", 401, 190);

#[tokio::test]
async fn special_messages_carry_meta_titles() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        for (to, message) in [
            ("9991304", "(#130429) Rate limit hit"),
            (
                "9991310560",
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            ),
            ("9991310000", "(#131000) Something went wrong"),
            ("9991310260", "(#131026) Message Undeliverable."),
            ("9991310470", "(#131047) Re-engagement message"),
            (
                "9991320000",
                "(#132000) Number of parameters does not match the expected number of params",
            ),
            ("9991000000", "(#100) Invalid parameter"),
        ] {
            let answer = send(addr, &text_to(to)).await;
            assert_eq!(answer.json()["error"]["message"], message);
        }
        let expired = send(addr, &text_to("+9991900000")).await;
        assert_eq!(expired.json()["error"]["error_subcode"], 463);
        assert!(
            expired.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Error validating access token")
        );
    })
    .await;
}

#[tokio::test]
async fn special_service_unavailable_is_503_with_empty_body() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let answer = send(addr, &text_to("9995000000")).await;
        assert_eq!(answer.status, 503);
        assert!(answer.body.is_empty(), "{:?}", answer.body);
        assert_eq!(standin.requests()[0].answered_status, 503);
    })
    .await;
}

#[tokio::test]
async fn flaky_recipient_answers_429_once_then_succeeds() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let first = send(addr, &text_to("99842900001")).await;
        assert_eq!(first.status, 429);
        assert_eq!(first.code(), 130429);
        assert_meta_error(&first, 429, 130429);
        for _ in 0..3 {
            let again = send(addr, &text_to("99842900001")).await;
            assert_eq!(again.status, 200, "{:?}", again.body);
            assert!(wamid_of(&again).starts_with("wamid."));
        }
        // Another flaky recipient has its own first failure.
        assert_eq!(send(addr, &text_to("99842900002")).await.status, 429);
        assert_eq!(send(addr, &text_to("99842900002")).await.status, 200);
        let statuses: Vec<u16> = standin.requests().iter().map(|r| r.answered_status).collect();
        assert_eq!(statuses, [429, 200, 200, 200, 429, 200]);
    })
    .await;
}

#[tokio::test]
async fn flaky_recipient_fails_exactly_once_under_concurrency() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let tasks: Vec<_> = (0..20)
            .map(|_| tokio::spawn(async move { send(addr, &text_to("99842907777")).await }))
            .collect();
        let mut throttled = 0;
        for task in tasks {
            if task.await.unwrap().status == 429 {
                throttled += 1;
            }
        }
        assert_eq!(throttled, 1);
    })
    .await;
}

// ---------- auth and routing ----------

#[tokio::test]
async fn wrong_or_missing_token_is_401_code_190() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let body = serde_json::to_vec(&text_to("15551234567")).unwrap();
        for token in [Some("wrong-token"), Some(""), None] {
            let answer = request(addr, "POST", PATH, token, body.clone()).await;
            assert_meta_error(&answer, 401, 190);
            assert_eq!(answer.json()["error"]["error_subcode"], 463);
            assert!(
                answer.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Session has expired")
            );
        }
        // A 401 wins over a malformed body, and is recorded too.
        let answer = request(addr, "POST", PATH, Some("nope"), b"{not json".to_vec()).await;
        assert_eq!(answer.status, 401);
        let recorded = standin.requests();
        assert_eq!(recorded.len(), 4);
        assert!(recorded.iter().all(|r| r.answered_status == 401 && r.wamid.is_none()));
        assert_eq!(recorded[3].body, json!("{not json"));
    })
    .await;
}

#[tokio::test]
async fn wrong_path_or_method_is_404_meta_error() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let body = serde_json::to_vec(&text_to("15551234567")).unwrap();
        for (method, path) in [
            ("GET", PATH),
            ("PUT", PATH),
            ("POST", "/v21.0/106540352242922/nothing"),
            ("POST", "/21.0/106540352242922/messages"),
            ("POST", "/vx/106540352242922/messages"),
            ("POST", "/v21.0/messages"),
            ("POST", "/"),
            ("GET", "/_standin/nothing"),
        ] {
            let answer = request(addr, method, path, Some(TOKEN), body.clone()).await;
            assert_eq!(answer.status, 404, "{method} {path}");
            let json = answer.json();
            assert!(
                json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{json}"
            );
            assert!(json["error"]["code"].is_i64(), "{json}");
            assert!(json["error"]["fbtrace_id"].is_string(), "{json}");
        }
        assert!(standin.requests().is_empty());
        // Other versions and a trailing slash are fine.
        let answer = request(addr, "POST", "/v19.0/1/messages/", Some(TOKEN), body).await;
        assert_eq!(answer.status, 200);
    })
    .await;
}

// ---------- validation ----------

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{\"messaging_product\": ".to_vec(), "JSON"),
            (b"".to_vec(), "JSON"),
            (b"[1,2]".to_vec(), "object"),
            (br#"{"to":"15551234567","text":{"body":"x"}}"#.to_vec(), "messaging_product"),
            (br#"{"messaging_product":"sms","to":"1555","text":{"body":"x"}}"#.to_vec(), "messaging_product"),
            (br#"{"messaging_product":"whatsapp","text":{"body":"x"}}"#.to_vec(), "to"),
            (br#"{"messaging_product":"whatsapp","to":"","text":{"body":"x"}}"#.to_vec(), "to"),
            (br#"{"messaging_product":"whatsapp","to":"abc123","text":{"body":"x"}}"#.to_vec(), "to"),
            (br#"{"messaging_product":"whatsapp","to":15551234567,"text":{"body":"x"}}"#.to_vec(), "to"),
            (br#"{"messaging_product":"whatsapp","recipient":"x1","text":{"body":"x"}}"#.to_vec(), "recipient"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"fax","fax":{}}"#.to_vec(), "type"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":7}"#.to_vec(), "type"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"text"}"#.to_vec(), "text"),
            (br#"{"messaging_product":"whatsapp","to":"1555","text":"hi"}"#.to_vec(), "text"),
            (br#"{"messaging_product":"whatsapp","to":"1555","text":{}}"#.to_vec(), "text.body"),
            (br#"{"messaging_product":"whatsapp","to":"1555","text":{"body":""}}"#.to_vec(), "text.body"),
            (br#"{"messaging_product":"whatsapp","to":"1555","text":{"body":5}}"#.to_vec(), "text.body"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"template"}"#.to_vec(), "template"),
            (
                br#"{"messaging_product":"whatsapp","to":"1555","type":"template","template":{"language":{"code":"en"}}}"#
                    .to_vec(),
                "template.name",
            ),
            (
                br#"{"messaging_product":"whatsapp","to":"1555","type":"template","template":{"name":"t"}}"#.to_vec(),
                "template.language.code",
            ),
            (
                br#"{"messaging_product":"whatsapp","to":"1555","type":"template","template":{"name":"t","language":{}}}"#
                    .to_vec(),
                "template.language.code",
            ),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"image","image":{}}"#.to_vec(), "image.link"),
            (
                br#"{"messaging_product":"whatsapp","to":"1555","type":"video","video":{"id":"1","link":"http://x"}}"#
                    .to_vec(),
                "video.link",
            ),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"audio","audio":{"id":""}}"#.to_vec(), "audio.id"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"contacts","contacts":[]}"#.to_vec(), "contacts"),
            (br#"{"messaging_product":"whatsapp","to":"1555","type":"location"}"#.to_vec(), "location"),
        ];
        let too_long = json!({"messaging_product": "whatsapp", "to": "1555", "text": {"body": "é".repeat(4097)}});
        let mut cases = cases;
        cases.push((serde_json::to_vec(&too_long).unwrap(), "text.body"));
        let exactly_max = json!({"messaging_product": "whatsapp", "to": "1555", "text": {"body": "é".repeat(4096)}});

        for (body, field) in &cases {
            let answer = request(addr, "POST", PATH, Some(TOKEN), body.clone()).await;
            let shown = String::from_utf8_lossy(body);
            assert_eq!(answer.status, 400, "{shown}");
            assert_meta_error(&answer, 400, 100);
            assert_eq!(answer.json()["error"]["message"], "(#100) Invalid parameter");
            let details = answer.details();
            assert!(details.contains(field), "details {details:?} should name {field:?} for {shown}");
        }
        assert_eq!(send(addr, &exactly_max).await.status, 200);

        let recorded = standin.requests();
        assert_eq!(recorded.len(), cases.len() + 1);
        assert!(recorded[..cases.len()].iter().all(|r| r.answered_status == 400 && r.wamid.is_none()));
        // Invalid JSON is recorded as the raw text; valid JSON as parsed.
        assert_eq!(recorded[0].body, json!("{\"messaging_product\": "));
        assert_eq!(recorded[2].body, json!([1, 2]));
    })
    .await;
}

// ---------- recording ----------

#[tokio::test]
async fn requests_are_recorded_exactly_and_exposed_over_http() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let first = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+15551234567",
                           "type": "template", "biz_opaque_callback_data": "ünïcødé ✓",
                           "template": {"name": "order_update", "language": {"code": "pt_BR"},
                                        "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}});
        let second = text_to("9991310260");
        let a = send(addr, &first).await;
        let b = send(addr, &second).await;
        let c = request(addr, "POST", "/v20.0/999/messages", Some(TOKEN), serde_json::to_vec(&first).unwrap()).await;

        let expected = vec![
            RecordedRequest {
                phone_number_id: PHONE_ID.into(),
                version: "v21.0".into(),
                body: first.clone(),
                answered_status: 200,
                wamid: Some(wamid_of(&a)),
            },
            RecordedRequest {
                phone_number_id: PHONE_ID.into(),
                version: "v21.0".into(),
                body: second,
                answered_status: b.status,
                wamid: None,
            },
            RecordedRequest {
                phone_number_id: "999".into(),
                version: "v20.0".into(),
                body: first,
                answered_status: 200,
                wamid: Some(wamid_of(&c)),
            },
        ];
        assert_eq!(standin.requests(), expected);

        let over_http = request(addr, "GET", "/_standin/requests", None, Vec::new()).await;
        assert_eq!(over_http.status, 200);
        let array = over_http.json();
        let array = array.as_array().unwrap();
        assert_eq!(array.len(), 3);
        for (json, record) in array.iter().zip(&expected) {
            assert_eq!(json["phone_number_id"], record.phone_number_id.as_str());
            assert_eq!(json["version"], record.version.as_str());
            assert_eq!(json["body"], record.body);
            assert_eq!(json["answered_status"], record.answered_status);
            assert_eq!(json["wamid"], record.wamid.as_deref().map_or(Value::Null, Value::from));
        }
    })
    .await;
}

// ---------- status webhooks ----------

#[tokio::test]
async fn status_webhooks_arrive_signed_in_order_sent_delivered_read() {
    bounded(async {
        let (url, mut rx) = receiver(0, Duration::ZERO).await;
        let mut config = config(&url);
        config.send_status_webhooks = true;
        config.status_delay = Duration::from_millis(100);
        let (_standin, addr) = start(config).await;
        let answer = send(addr, &text_to("+15551234567")).await;
        assert_eq!(answer.status, 200);
        let wamid = wamid_of(&answer);

        let mut arrivals = Vec::new();
        let mut conversation = None;
        for expected in ["sent", "delivered", "read"] {
            let webhook = next_webhook(&mut rx).await;
            arrivals.push(Instant::now());
            let status = status_of(&webhook);
            assert_eq!(status["status"], expected, "{webhook}");
            assert_eq!(status["id"], wamid.as_str());
            assert_eq!(status["recipient_id"], "15551234567");
            if expected == "read" {
                assert!(
                    status.get("conversation").is_none() && status.get("pricing").is_none(),
                    "{webhook}"
                );
            } else {
                assert_eq!(status["conversation"]["origin"]["type"], "service");
                assert!(status["conversation"]["id"].is_string());
                conversation.get_or_insert_with(|| status["conversation"]["id"].clone());
                assert_eq!(Some(&status["conversation"]["id"]), conversation.as_ref());
                assert_eq!(
                    status["pricing"],
                    json!({"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"})
                );
            }
            assert!(status.get("errors").is_none());
        }
        assert!(
            arrivals[1] - arrivals[0] >= Duration::from_millis(80),
            "status_delay not honoured"
        );
        assert!(
            arrivals[2] - arrivals[1] >= Duration::from_millis(80),
            "status_delay not honoured"
        );
        // Nothing more for this message.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), rx.recv())
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn failing_recipient_gets_sent_then_failed() {
    bounded(async {
        let (url, mut rx) = receiver(0, Duration::ZERO).await;
        let mut config = config(&url);
        config.send_status_webhooks = true;
        let (standin, addr) = start(config).await;
        let answer = send(addr, &text_to("99700001234")).await;
        assert_eq!(answer.status, 200);
        let wamid = wamid_of(&answer);
        assert_eq!(standin.requests()[0].wamid.as_deref(), Some(wamid.as_str()));

        let sent = next_webhook(&mut rx).await;
        assert_eq!(status_of(&sent)["status"], "sent");
        let failed = next_webhook(&mut rx).await;
        let status = status_of(&failed);
        assert_eq!(status["status"], "failed");
        assert_eq!(status["id"], wamid.as_str());
        assert_eq!(status["recipient_id"], "99700001234");
        assert_eq!(
            status["errors"],
            json!([{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                    "error_data": {"details": "Message could not be delivered to the recipient"}}])
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(300), rx.recv())
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn webhook_non_200_is_retried() {
    bounded(async {
        let (url, mut rx) = receiver(2, Duration::ZERO).await;
        let mut config = config(&url);
        config.send_status_webhooks = true;
        let (_standin, addr) = start(config).await;
        let wamid = wamid_of(&send(addr, &text_to("15551234567")).await);
        let mut seen = Vec::new();
        for _ in 0..5 {
            let webhook = next_webhook(&mut rx).await;
            let status = status_of(&webhook);
            assert_eq!(status["id"], wamid.as_str());
            seen.push(status["status"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen, ["sent", "sent", "sent", "delivered", "read"]);
    })
    .await;
}

#[tokio::test]
async fn unreachable_webhook_receiver_does_not_break_sends() {
    bounded(async {
        // Bind then drop to get a port with nobody listening.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = config(&format!("http://127.0.0.1:{port}/hook"));
        config.send_status_webhooks = true;
        let (_standin, addr) = start(config).await;
        for _ in 0..3 {
            assert_eq!(send(addr, &text_to("15551234567")).await.status, 200);
        }
    })
    .await;
}

#[tokio::test]
async fn slow_webhook_receiver_does_not_delay_the_send_answer() {
    bounded(async {
        let (url, mut rx) = receiver(0, Duration::from_secs(2)).await;
        let mut config = config(&url);
        config.send_status_webhooks = true;
        let (_standin, addr) = start(config).await;
        let started = Instant::now();
        for i in 0..3 {
            assert_eq!(send(addr, &text_to(&format!("1555123000{i}"))).await.status, 200);
        }
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "sends waited for webhooks"
        );
        // The webhooks still arrive.
        assert_eq!(status_of(&next_webhook(&mut rx).await)["status"], "sent");
    })
    .await;
}

#[tokio::test]
async fn no_webhooks_when_disabled() {
    bounded(async {
        let (url, mut rx) = receiver(0, Duration::ZERO).await;
        let (_standin, addr) = start(config(&url)).await;
        assert_eq!(send(addr, &text_to("15551234567")).await.status, 200);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), rx.recv())
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn webhook_bodies_are_escaped_like_meta() {
    bounded(async {
        let (url, mut rx) = receiver(0, Duration::ZERO).await;
        let mut config = config(&url);
        config.send_status_webhooks = true;
        config.phone_number_id_display = "+1 555/078 ünï".into();
        let (_standin, addr) = start(config).await;
        assert_eq!(send(addr, &text_to("15551234567")).await.status, 200);
        let received = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let raw = std::str::from_utf8(&received.body).unwrap();
        assert!(raw.is_ascii(), "{raw}");
        assert!(
            raw.contains(r#""display_phone_number":"+1 555\/078 \u00fcn\u00ef""#),
            "{raw}"
        );
        let parsed: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            parsed["entry"][0]["changes"][0]["value"]["metadata"]["display_phone_number"],
            "+1 555/078 ünï"
        );
        // Re-serializing does not give the signed bytes back: receivers must hash the raw body.
        assert_ne!(serde_json::to_vec(&parsed).unwrap(), received.body.to_vec());
    })
    .await;
}

// ---------- ambiguous outcomes (exactly-once sending) ----------

async fn start_timed(config: StandinConfig, timings: AmbiguityTimings) -> (Arc<Standin>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let standin = Standin::with_timings(config, OnboardingConfig::default(), timings);
    tokio::spawn(Arc::clone(&standin).serve(listener));
    (standin, addr)
}

/// A stand-in with status webhooks on, to a fresh receiver.
async fn start_with_webhooks(
    timings: AmbiguityTimings,
) -> (Arc<Standin>, SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let (url, rx) = receiver(0, Duration::ZERO).await;
    let mut config = config(&url);
    config.send_status_webhooks = true;
    let (standin, addr) = start_timed(config, timings).await;
    (standin, addr, rx)
}

fn send_request(addr: SocketAddr, token: &str, body: &Value) -> Request<Full<Bytes>> {
    Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{PATH}"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap()
}

fn with_callback_data(mut body: Value, data: &str) -> Value {
    body["biz_opaque_callback_data"] = json!(data);
    body
}

/// The `/_standin/requests` entries, over HTTP.
async fn logged(addr: SocketAddr) -> Vec<Value> {
    let answer = request(addr, "GET", "/_standin/requests", None, Vec::new()).await;
    assert_eq!(answer.status, 200);
    answer.json().as_array().unwrap().clone()
}

#[tokio::test]
async fn recipient_9993_is_accepted_but_the_answer_body_is_dropped() {
    bounded(async {
        let (standin, addr, mut rx) = start_with_webhooks(AmbiguityTimings::default()).await;
        let body = with_callback_data(text_to("99930001234"), "send-1");
        let response = client().request(send_request(addr, TOKEN, &body)).await.unwrap();
        assert_eq!(response.status(), 200);
        let announced: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
        assert!(announced > 0);
        let read = response.into_body().collect().await;
        assert!(
            read.is_err(),
            "the body must fail to read, got {:?}",
            read.map(|b| b.to_bytes())
        );

        let recorded = standin.requests();
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].accepted());
        let wamid = recorded[0].wamid.clone().unwrap();
        let entry = &logged(addr).await[0];
        assert_eq!(entry["accepted"], true);
        assert_eq!(entry["recipient"], "99930001234");
        assert_eq!(entry["wamid"], wamid.as_str());
        // The status webhooks come as for any accepted message.
        for expected in ["sent", "delivered", "read"] {
            let webhook = next_webhook(&mut rx).await;
            let status = status_of(&webhook);
            assert_eq!(status["status"], expected);
            assert_eq!(status["id"], wamid.as_str());
            assert_eq!(status["biz_opaque_callback_data"], "send-1");
        }
    })
    .await;
}

#[tokio::test]
async fn recipient_9994_answers_after_the_clients_timeout_but_is_accepted() {
    bounded(async {
        let timings = AmbiguityTimings {
            slow_answer: Duration::from_millis(800),
            late_statuses: Duration::ZERO,
        };
        let (standin, addr, mut rx) = start_with_webhooks(timings).await;
        let body = text_to("99940001234");
        let gave_up = tokio::time::timeout(
            Duration::from_millis(300),
            client().request(send_request(addr, TOKEN, &body)),
        )
        .await;
        assert!(gave_up.is_err(), "the answer came before the client's timeout");
        let recorded = standin.requests();
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].accepted());
        let wamid = recorded[0].wamid.clone().unwrap();
        // Statuses are sent although the client gave up.
        assert_eq!(status_of(&next_webhook(&mut rx).await)["id"], wamid.as_str());

        // A patient client gets the ordinary answer, late.
        let started = Instant::now();
        let answer = send(addr, &body).await;
        assert!(
            started.elapsed() >= Duration::from_millis(750),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(answer.status, 200);
        assert_eq!(Some(wamid_of(&answer)), standin.requests()[1].wamid);
    })
    .await;
}

#[tokio::test]
async fn recipient_99960_gets_its_status_webhooks_late() {
    bounded(async {
        let timings = AmbiguityTimings {
            slow_answer: Duration::ZERO,
            late_statuses: Duration::from_millis(700),
        };
        let (_standin, addr, mut rx) = start_with_webhooks(timings).await;
        let started = Instant::now();
        let answer = send(addr, &text_to("999600001234")).await;
        assert_eq!(answer.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "the answer itself is not late"
        );
        let wamid = wamid_of(&answer);
        assert!(
            tokio::time::timeout(Duration::from_millis(400), rx.recv())
                .await
                .is_err(),
            "a status webhook came early"
        );
        let sent = next_webhook(&mut rx).await;
        assert!(
            started.elapsed() >= Duration::from_millis(650),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(status_of(&sent)["status"], "sent");
        assert_eq!(status_of(&sent)["id"], wamid.as_str());
        assert_eq!(status_of(&next_webhook(&mut rx).await)["status"], "delivered");
        assert_eq!(status_of(&next_webhook(&mut rx).await)["status"], "read");
        // 9995000000 still means 503 with an empty body.
        let unavailable = send(addr, &text_to("9995000000")).await;
        assert_eq!((unavailable.status, unavailable.body.len()), (503, 0));
    })
    .await;
}

/// A send the stand-in accepts and then answers with an error: logged as accepted with its wamid
/// (and the error's status), its status webhooks as for any accepted message.
async fn accepted_then_answered_an_error(to: &str, expected_status: u16) -> Answer {
    let (standin, addr, mut rx) = start_with_webhooks(AmbiguityTimings::default()).await;
    let answer = send(addr, &with_callback_data(text_to(to), "send-1")).await;
    assert_eq!(answer.status, expected_status, "{:?}", answer.body);

    let recorded = standin.requests();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].accepted());
    assert_eq!(recorded[0].answered_status, expected_status);
    let wamid = recorded[0].wamid.clone().unwrap();
    assert!(wamid.starts_with("wamid."), "{wamid}");
    let entry = &logged(addr).await[0];
    assert_eq!(entry["accepted"], true);
    assert_eq!(entry["recipient"], to);
    assert_eq!(entry["wamid"], wamid.as_str());
    assert_eq!(entry["answered_status"], expected_status);
    assert_eq!(entry["biz_opaque_callback_data"], "send-1");
    for expected in ["sent", "delivered", "read"] {
        let webhook = next_webhook(&mut rx).await;
        let status = status_of(&webhook);
        assert_eq!(status["status"], expected);
        assert_eq!(status["id"], wamid.as_str());
        assert_eq!(status["recipient_id"], to);
        assert_eq!(status["biz_opaque_callback_data"], "send-1");
    }
    answer
}

#[tokio::test]
async fn recipient_9992504_is_accepted_then_answered_504_with_an_empty_body() {
    bounded(async {
        let answer = accepted_then_answered_an_error("99925040001234", 504).await;
        assert!(answer.body.is_empty(), "{:?}", answer.body);
    })
    .await;
}

#[tokio::test]
async fn recipient_9992131000_is_accepted_then_answered_500_code_131000() {
    bounded(async {
        let answer = accepted_then_answered_an_error("99921310001234", 500).await;
        assert_meta_error(&answer, 500, 131000);
        assert_eq!(answer.json()["error"]["message"], "(#131000) Something went wrong");
        assert_eq!(answer.details(), "Message failed to send due to an unknown error");
    })
    .await;
}

#[tokio::test]
async fn status_webhooks_echo_biz_opaque_callback_data() {
    bounded(async {
        let (_standin, addr, mut rx) = start_with_webhooks(AmbiguityTimings::default()).await;
        let data = "order:42/ünï";
        let with = send(addr, &with_callback_data(text_to("15551234567"), data)).await;
        assert_eq!(with.status, 200);
        for _ in 0..3 {
            let webhook = next_webhook(&mut rx).await;
            let status = status_of(&webhook);
            assert_eq!(status["id"], wamid_of(&with).as_str());
            assert_eq!(status["biz_opaque_callback_data"], data, "{webhook}");
        }
        let failing = send(addr, &with_callback_data(text_to("99700001234"), "f")).await;
        for _ in 0..2 {
            let webhook = next_webhook(&mut rx).await;
            assert_eq!(status_of(&webhook)["id"], wamid_of(&failing).as_str());
            assert_eq!(status_of(&webhook)["biz_opaque_callback_data"], "f");
        }
        let without = send(addr, &text_to("15551234568")).await;
        let webhook = next_webhook(&mut rx).await;
        assert_eq!(status_of(&webhook)["id"], wamid_of(&without).as_str());
        assert!(
            status_of(&webhook).get("biz_opaque_callback_data").is_none(),
            "{webhook}"
        );
    })
    .await;
}

#[tokio::test]
async fn biz_opaque_callback_data_is_limited_to_512_characters() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let longest = send(addr, &with_callback_data(text_to("15551234567"), &"é".repeat(512))).await;
        assert_eq!(longest.status, 200);
        let too_long = send(addr, &with_callback_data(text_to("15551234567"), &"é".repeat(513))).await;
        assert_meta_error(&too_long, 400, 100);
        assert!(too_long.details().contains("biz_opaque_callback_data"));
        let mut not_text = text_to("15551234567");
        not_text["biz_opaque_callback_data"] = json!(42);
        let not_text = send(addr, &not_text).await;
        assert_meta_error(&not_text, 400, 100);
        assert!(not_text.details().contains("biz_opaque_callback_data"));
        let accepted: Vec<bool> = standin.requests().iter().map(RecordedRequest::accepted).collect();
        assert_eq!(accepted, [true, false, false]);
    })
    .await;
}

#[tokio::test]
async fn expired_token_is_401_190_everywhere_until_rotated() {
    bounded(async {
        let (_standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let state = request(addr, "GET", "/_standin/access-token", None, Vec::new()).await;
        assert_eq!(state.json(), json!({"expired": false}));
        assert_eq!(send(addr, &text_to("15551234567")).await.status, 200);

        let expire = request(addr, "POST", "/_standin/access-token/expire", None, Vec::new()).await;
        assert_eq!(expire.status, 200);
        let state = request(addr, "GET", "/_standin/access-token", None, Vec::new()).await;
        assert_eq!(state.json(), json!({"expired": true}));
        assert!(
            !String::from_utf8_lossy(&state.body).contains(TOKEN),
            "the token is never echoed"
        );
        let refused = send(addr, &text_to("15551234567")).await;
        assert_meta_error(&refused, 401, 190);
        assert_eq!(refused.json()["error"]["type"], "OAuthException");
        let read = request(
            addr,
            "GET",
            "/v21.0/106540352242922?fields=status",
            Some(TOKEN),
            Vec::new(),
        )
        .await;
        assert_meta_error(&read, 401, 190);

        let rotate = serde_json::to_vec(&json!({"token": "rotated-token"})).unwrap();
        let rotated = request(addr, "POST", "/_standin/access-token", None, rotate).await;
        assert_eq!(rotated.status, 200);
        let state = request(addr, "GET", "/_standin/access-token", None, Vec::new()).await;
        assert_eq!(state.json(), json!({"expired": false}));
        assert_meta_error(&send(addr, &text_to("15551234567")).await, 401, 190);
        let body = serde_json::to_vec(&text_to("15551234567")).unwrap();
        let accepted = request(addr, "POST", PATH, Some("rotated-token"), body).await;
        assert_eq!(accepted.status, 200);
        let read = request(
            addr,
            "GET",
            "/v21.0/106540352242922?fields=status",
            Some("rotated-token"),
            Vec::new(),
        )
        .await;
        assert_eq!(read.status, 200);

        // A rotation without a token is refused and changes nothing.
        let empty = request(addr, "POST", "/_standin/access-token", None, b"{}".to_vec()).await;
        assert_meta_error(&empty, 400, 100);
        let body = serde_json::to_vec(&text_to("15551234567")).unwrap();
        assert_eq!(
            request(addr, "POST", PATH, Some("rotated-token"), body).await.status,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn request_log_shows_recipient_acceptance_and_callback_data_and_resets() {
    bounded(async {
        let (standin, addr) = start(config("http://127.0.0.1:9/unused")).await;
        let first = send(addr, &with_callback_data(text_to("+1 555 123 4567"), "attempt-1")).await;
        send(addr, &with_callback_data(text_to("9991310260"), "attempt-2")).await;
        let by_recipient = json!({"messaging_product": "whatsapp", "recipient": "15550001111", "text": {"body": "r"}});
        send(addr, &by_recipient).await;
        let entries = logged(addr).await;
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0]["recipient"], "+1 555 123 4567");
        assert_eq!(entries[0]["accepted"], true);
        assert_eq!(entries[0]["wamid"], wamid_of(&first).as_str());
        assert_eq!(entries[0]["biz_opaque_callback_data"], "attempt-1");
        assert_eq!(entries[1]["recipient"], "9991310260");
        assert_eq!(entries[1]["accepted"], false);
        assert_eq!(entries[1]["wamid"], Value::Null);
        assert_eq!(entries[1]["biz_opaque_callback_data"], "attempt-2");
        assert_eq!(entries[2]["recipient"], "15550001111");
        assert_eq!(entries[2]["biz_opaque_callback_data"], Value::Null);
        // The existing fields are all still there.
        for field in ["phone_number_id", "version", "body", "answered_status", "wamid"] {
            assert!(entries[0].get(field).is_some(), "{field}");
        }

        let reset = request(addr, "POST", "/_standin/reset", None, Vec::new()).await;
        assert_eq!(reset.status, 200);
        assert!(logged(addr).await.is_empty());
        assert!(standin.requests().is_empty());
        assert_eq!(send(addr, &text_to("15551234567")).await.status, 200);
        assert_eq!(logged(addr).await.len(), 1);
    })
    .await;
}

#[test]
fn ambiguity_timings_come_from_the_environment_with_defaults() {
    let defaults = AmbiguityTimings::from_lookup(|_| None);
    assert_eq!(defaults.slow_answer, Duration::from_millis(12_000));
    assert_eq!(defaults.late_statuses, Duration::from_millis(5_000));
    let set = AmbiguityTimings::from_lookup(|name| match name {
        "GRAPH_STANDIN_SLOW_MS" => Some("250".into()),
        "GRAPH_STANDIN_STATUS_DELAY_MS" => Some("75".into()),
        _ => None,
    });
    assert_eq!(set.slow_answer, Duration::from_millis(250));
    assert_eq!(set.late_statuses, Duration::from_millis(75));
    let bad = AmbiguityTimings::from_lookup(|_| Some("soon".into()));
    assert_eq!(bad, AmbiguityTimings::default());
}
