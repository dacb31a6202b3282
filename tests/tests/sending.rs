//! Sending end to end against the AWS emulator and the local Graph API stand-in:
//! POST /messages → queue → worker → Graph API (once) → wamid → status webhooks → read.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::*;
use local_stack::graph_standin::AmbiguityTimings;
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

const API_KEY: &str = "test-send-api-key-0123456789";
const TOKEN: &str = LOOP_TOKEN;
const PHONE_NUMBER_ID: &str = LOOP_PHONE_NUMBER_ID;

struct Loop {
    inner: SendLoop,
    /// Receipt handles of records the worker reported as failed (hidden for their backoff).
    hidden_receipts: tokio::sync::Mutex<Vec<String>>,
}

impl std::ops::Deref for Loop {
    type Target = SendLoop;

    fn deref(&self) -> &SendLoop {
        &self.inner
    }
}

/// A fresh queue, the send API, the ingestion handler, the worker, and a Graph API stand-in
/// whose status webhooks go to an HTTP server in front of the ingestion handler.
async fn setup(auto_reply: Option<&str>) -> Loop {
    setup_with(auto_reply, &[], AmbiguityTimings::default()).await
}

/// [`setup`] with more worker variables and the stand-in's timings for its ambiguous recipients.
async fn setup_with(auto_reply: Option<&str>, extra: &[(&str, &str)], timings: AmbiguityTimings) -> Loop {
    setup_worker_on(auto_reply, extra, timings, None).await
}

/// [`setup_with`], the worker's AWS calls made with `worker_sdk` when given (`chaos_send`: through
/// the fault layer); the send API's, the ingestion's and the test's own go to the emulator directly.
async fn setup_worker_on(
    auto_reply: Option<&str>,
    extra: &[(&str, &str)],
    timings: AmbiguityTimings,
    worker_sdk: Option<aws_config::SdkConfig>,
) -> Loop {
    let mut options = LoopOptions::new("send", API_KEY);
    options.vars = vec![
        ("GRAPH_API_VERSION", "v21.0"),
        ("AUTO_REPLY_TEXT", auto_reply.unwrap_or_default()),
        ("MARK_AS_READ", if auto_reply.is_some() { "true" } else { "false" }),
    ];
    options.vars.extend_from_slice(extra);
    options.timings = timings;
    options.worker_sdk = worker_sdk;
    Loop {
        inner: SendLoop::start(options).await,
        hidden_receipts: tokio::sync::Mutex::new(Vec::new()),
    }
}

impl Loop {
    async fn post(&self, body: Value, key: Option<&str>) -> (u16, Value) {
        let headers: Vec<(&str, &str)> = key.map(|key| ("Idempotency-Key", key)).into_iter().collect();
        self.call("POST", "/messages", "", &headers, body.to_string().as_bytes())
            .await
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        self.call("GET", &format!("/messages/{id}"), "", &[], b"").await
    }

    /// Runs the worker over everything in the queue once; returns the failed message ids.
    async fn drain_once(&self) -> Vec<String> {
        self.drain().await.1
    }

    /// Runs the worker over everything in the queue once, in SQS batches of 10: how many records
    /// it saw, and the ids of those it reported failed (hidden until [`Loop::redeliver_now`]).
    async fn drain(&self) -> (usize, Vec<String>) {
        let messages = self.emu.receive_all(&self.queue.url).await;
        let mut failed = Vec::new();
        for batch in messages.chunks(10) {
            let event = sqs_event(batch, &self.queue.arn, "us-east-1").unwrap();
            let response = self.worker.handle(event, batch_deadline()).await;
            let batch_failed: Vec<String> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            let (retried, done): (Vec<_>, Vec<_>) = batch
                .iter()
                .partition(|m| batch_failed.iter().any(|id| Some(id.as_str()) == m.message_id()));
            self.hidden_receipts
                .lock()
                .await
                .extend(retried.iter().filter_map(|m| m.receipt_handle().map(str::to_owned)));
            for message in done {
                self.emu.delete(&self.queue.url, message).await;
            }
            failed.extend(batch_failed);
        }
        (messages.len(), failed)
    }

    /// An inbound message from `from` now, so the 24-hour window is open.
    async fn contact_writes(&self, from: &str) {
        let body = text_webhook(
            PHONE_NUMBER_ID,
            &unique("wamid.in"),
            from,
            chrono::Utc::now().timestamp(),
            "hi",
        );
        assert_eq!(
            self.ingest
                .handle(signed_webhook(&self.emu.env["WHATSAPP_APP_SECRET"], &body, false))
                .await
                .status(),
            200
        );
        assert!(self.drain_once().await.is_empty());
    }

    /// Makes every hidden record of the queue visible again (what the visibility timeout does in time).
    async fn redeliver_now(&self) {
        for receipt in self.hidden_receipts.lock().await.drain(..) {
            let _ = self
                .emu
                .sqs
                .change_message_visibility()
                .queue_url(&self.queue.url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
    }

    fn calls_to(&self, to: &str) -> Vec<local_stack::graph_standin::RecordedRequest> {
        self.standin
            .requests()
            .into_iter()
            .filter(|r| r.body["to"] == to)
            .collect()
    }
}

impl Loop {
    /// Drains the queue until the message reaches `status` (bounded in time).
    async fn until_status(&self, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..60 {
            self.drain_once().await;
            let (code, view) = self.get(id).await;
            if code == 200 && view["status"] == status {
                return view;
            }
            last = view;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("message {id} never reached {status}: {last}");
    }
}

#[tokio::test]
async fn a_sent_message_is_delivered_and_read_through_the_status_webhooks() {
    let test = setup(None).await;
    let to = unique("97250").replace('.', "")[..12].to_owned();
    test.contact_writes(&to).await;
    let (status, answer) = test
        .post(
            json!({"to": format!("+{to}"), "type": "text", "body": "Your order shipped"}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(answer["status"], "queued");

    let view = test.until_status(&id, "read").await;
    let calls = test.calls_to(&to);
    assert_eq!(calls.len(), 1, "the Graph API is called once");
    assert_eq!(
        calls[0].body,
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text",
            "text":{"body":"Your order shipped"},"biz_opaque_callback_data":id})
    );
    assert_eq!(calls[0].phone_number_id, PHONE_NUMBER_ID);
    let wamid = calls[0].wamid.clone().unwrap();
    assert_eq!(view["wamid"], wamid);
    assert_eq!(view["id"], id);
    for step in ["queued", "accepted", "sent", "delivered", "read"] {
        assert!(view["history"][step].is_string(), "{step} missing: {view}");
    }
    // The same message by wamid.
    let (code, by_wamid) = test.get(&wamid).await;
    assert_eq!((code, &by_wamid["id"]), (200, &Value::String(id.clone())));
    let item = test.emu.message_item(&wamid).await.unwrap();
    assert_eq!(s(&item, "direction"), "outbound");
    assert_eq!(s(&item, "status"), "read");
    assert_eq!(s(&item, "message_id"), id);
}

#[tokio::test]
async fn a_rate_limited_send_is_retried_through_sqs_and_sent_once() {
    let test = setup(None).await;
    let to = format!("9984290{}", &unique("").replace('.', "")[..5]);
    let template = json!({"to": to, "type": "template", "name": "order_update", "language": "en_US"});
    let (status, answer) = test.post(template, None).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();

    // First delivery: 429 from Meta → a batch item failure, the claim released.
    assert_eq!(test.drain_once().await.len(), 1);
    let (_, view) = test.get(&id).await;
    assert_eq!(view["status"], "queued");
    assert_eq!(view["last_error"][0]["code"], 130429);
    // SQS redelivers after the backoff the worker set; here the test makes it visible at once.
    let messages = test.emu.receive_all(&test.queue.url).await;
    assert!(messages.is_empty(), "the record is hidden for its backoff");
    test.redeliver_now().await;
    let view = test.until_status(&id, "read").await;
    let calls = test.calls_to(&to);
    assert_eq!(
        calls.iter().map(|c| c.answered_status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert_eq!(view["attempts"], 2);
}

#[tokio::test]
async fn permanent_errors_fail_the_message_with_meta_s_error_and_are_not_retried() {
    let test = setup(None).await;
    for (prefix, code) in [("9991310260", 131026), ("9991320000", 132000), ("9991000000", 100)] {
        let to = format!("{prefix}{}", &unique("").replace('.', "")[..4]);
        let (status, answer) = test
            .post(
                json!({"to": to, "type": "template", "name": "order_update", "language": "en_US"}),
                None,
            )
            .await;
        assert_eq!(status, 202, "{answer}");
        let id = answer["id"].as_str().unwrap().to_owned();
        assert!(test.drain_once().await.is_empty(), "permanent errors are not retried");
        let (_, view) = test.get(&id).await;
        assert_eq!(view["status"], "failed", "{view}");
        assert_eq!(view["errors"][0]["code"], code, "{view}");
        assert!(view["errors"][0]["message"].is_string(), "{view}");
        assert_eq!(test.calls_to(&to).len(), 1);
    }
}

/// An expired token (190) is not the message's fault: it is retried (the token read again each
/// time), never failed before the send queue's receives run out.
#[tokio::test]
async fn an_expired_token_leaves_the_message_queued_for_a_retry() {
    let test = setup(None).await;
    let to = format!("9991900000{}", &unique("").replace('.', "")[..2]);
    let id = template_to(&test, &to).await;
    assert_eq!(test.drain_once().await.len(), 1, "retried, not acknowledged");
    let (_, view) = test.get(&id).await;
    assert_eq!(view["status"], "queued", "{view}");
    assert_eq!(view["last_error"][0]["code"], 190, "{view}");
    assert_eq!(test.accepted_to(&to), 0);
}

#[tokio::test]
async fn the_same_queue_record_twice_calls_the_graph_api_once() {
    let test = setup(None).await;
    let to = format!("97252{}", &unique("").replace('.', "")[..7]);
    let (_, answer) = test
        .post(
            json!({"to": to, "type": "template", "name": "hello_world", "language": "en_US"}),
            None,
        )
        .await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let messages = test.emu.receive_all(&test.queue.url).await;
    assert_eq!(messages.len(), 1);
    // SQS at-least-once: the same record twice in one batch, then once more later. The copy
    // that finds the other's claim is never acknowledged (it goes back to the queue for the
    // rest of the lease), so it survives whatever the holder does; once the holder settled
    // the message, a later copy is acknowledged without a call.
    let doubled = vec![messages[0].clone(), messages[0].clone()];
    let response = test
        .worker
        .handle(
            sqs_event(&doubled, &test.queue.arn, "us-east-1").unwrap(),
            batch_deadline(),
        )
        .await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert!(
        failed.is_empty() || failed == [messages[0].message_id().unwrap()],
        "{failed:?}"
    );
    let response = test
        .worker
        .handle(
            sqs_event(&messages, &test.queue.arn, "us-east-1").unwrap(),
            batch_deadline(),
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(test.calls_to(&to).len(), 1);
    let (_, view) = test.get(&id).await;
    assert!(
        ["accepted", "sent", "delivered", "read"].contains(&view["status"].as_str().unwrap()),
        "{view}"
    );
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_request_one_message() {
    let test = setup(None).await;
    let to = format!("97253{}", &unique("").replace('.', "")[..7]);
    let key = unique("order");
    let body = json!({"to": to, "type": "template", "name": "hello_world", "language": "en_US"});
    let (first_status, first) = test.post(body.clone(), Some(&key)).await;
    let (second_status, second) = test.post(body, Some(&key)).await;
    assert_eq!((first_status, second_status), (202, 202));
    assert_eq!(first["id"], second["id"]);
    let id = first["id"].as_str().unwrap().to_owned();
    test.until_status(&id, "read").await;
    assert_eq!(test.calls_to(&to).len(), 1);

    let other = json!({"to": to, "type": "template", "name": "another_template", "language": "en_US"});
    let (status, answer) = test.post(other, Some(&key)).await;
    assert_eq!(status, 409, "{answer}");
}

#[tokio::test]
async fn requests_are_authenticated_validated_and_held_to_the_24_hour_window() {
    let test = setup(None).await;
    let no_key = test
        .api
        .handle(api_request("POST", "/messages", "", &[], b"{}", false))
        .await;
    assert_eq!(no_key.status(), 401);
    let wrong = test
        .api
        .handle(api_request(
            "GET",
            "/messages/x",
            "",
            &[("Authorization", "Bearer wrong-key-wrong-key")],
            b"",
            false,
        ))
        .await;
    assert_eq!(wrong.status(), 401);

    for (body, field) in [
        (json!({"to": "abc", "type": "text", "body": "x"}), "to"),
        (json!({"to": "+972504370045", "type": "text", "body": ""}), "text.body"),
        (
            json!({"to": "+972504370045", "type": "image", "link": "http://insecure.example.com/a.jpg"}),
            "image.link",
        ),
        (
            json!({"to": "+972504370045", "type": "template", "name": "", "language": "en_US"}),
            "template.name",
        ),
    ] {
        let (status, answer) = test.post(body, None).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().starts_with(field), "{answer}");
    }
    let (status, answer) = test
        .post(json!({"to": "+972504370045", "type": "location"}), None)
        .await;
    assert_eq!(status, 400, "{answer}");

    // Nobody at this number has written in 24 hours: free-form is refused, a template is not.
    let silent = format!("97254{}", &unique("").replace('.', "")[..7]);
    let (status, answer) = test
        .post(json!({"to": silent, "type": "text", "body": "hello"}), None)
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("template"), "{answer}");
    let (status, _) = test
        .post(
            json!({"to": silent, "type": "template", "name": "hello_world", "language": "en_US"}),
            None,
        )
        .await;
    assert_eq!(status, 202);

    let (status, _) = test.get("msg_doesnotexist").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_auto_reply_is_sent_once_per_inbound_message() {
    let test = setup(Some("Thanks, we will answer soon.")).await;
    let from = format!("97255{}", &unique("").replace('.', "")[..7]);
    let wamid = unique("wamid.auto");
    let body = text_webhook(PHONE_NUMBER_ID, &wamid, &from, chrono::Utc::now().timestamp(), "hello?");
    for _ in 0..2 {
        assert_eq!(
            test.ingest
                .handle(signed_webhook(&test.emu.env["WHATSAPP_APP_SECRET"], &body, false))
                .await
                .status(),
            200
        );
    }
    for _ in 0..5 {
        test.drain_once().await;
    }
    let calls = test.calls_to(&from);
    assert_eq!(calls.len(), 1, "one reply for a message delivered twice");
    assert_eq!(calls[0].body["text"]["body"], "Thanks, we will answer soon.");
    assert_eq!(calls[0].body["context"]["message_id"], wamid);
    // MARK_AS_READ (on in this set-up): the inbound message was marked read.
    let reads: Vec<_> = test
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.body["message_id"] == wamid.as_str())
        .collect();
    assert!(!reads.is_empty(), "marked as read");
    assert!(
        reads
            .iter()
            .all(|r| r.body["status"] == "read" && r.answered_status == 200)
    );
}

impl Loop {
    /// The stand-in's accepted POSTs for `to`: what "sent once" is counted on.
    fn accepted_to(&self, to: &str) -> usize {
        self.calls_to(to).iter().filter(|call| call.accepted()).count()
    }

    /// Drains, making every record the worker handed back visible again at once (what time
    /// does), until the message's status is one of `statuses`.
    async fn settle(&self, id: &str, statuses: &[&str]) -> Value {
        let mut last = Value::Null;
        for _ in 0..80 {
            self.drain_once().await;
            let (code, view) = self.get(id).await;
            if code == 200 && statuses.iter().any(|status| view["status"] == *status) {
                return view;
            }
            last = view;
            self.redeliver_now().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("message {id} never reached {statuses:?}: {last}");
    }
}

fn recipient(prefix: &str) -> String {
    let digits: String = unique("").chars().filter(char::is_ascii_digit).collect();
    format!("{prefix}{}", &digits[digits.len() - (12 - prefix.len())..])
}

async fn template_to(test: &Loop, to: &str) -> String {
    let (status, answer) = test
        .post(
            json!({"to": to, "type": "template", "name": "hello_world", "language": "en_US"}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_answer_whose_body_is_lost_counts_as_accepted_and_its_statuses_bring_the_wamid() {
    let test = setup(None).await;
    let to = recipient("9993");
    let id = template_to(&test, &to).await;
    let view = test.settle(&id, &["read"]).await;
    assert_eq!(test.accepted_to(&to), 1, "sent once");
    let wamid = test.calls_to(&to)[0].wamid.clone().unwrap();
    assert_eq!(view["wamid"], wamid, "{view}");
    assert!(view.get("resends").is_none(), "{view}");
}

#[tokio::test]
async fn an_answer_after_the_timeout_is_unknown_until_its_status_webhook_resolves_it() {
    let timings = AmbiguityTimings {
        slow_answer: Duration::from_millis(1500),
        ..AmbiguityTimings::default()
    };
    let test = setup_with(None, &[("GRAPH_TIMEOUT_MS", "300")], timings).await;
    let to = recipient("9994");
    let id = template_to(&test, &to).await;
    test.drain_once().await;
    let view = test.settle(&id, &["delivered", "read"]).await;
    assert_eq!(test.accepted_to(&to), 1, "never resent: {view}");
    assert!(view["history"]["unknown"].is_string(), "{view}");
    assert_eq!(view["wamid"], test.calls_to(&to)[0].wamid.clone().unwrap());
}

#[tokio::test]
async fn late_status_webhooks_still_land_on_the_message_sent_once() {
    let timings = AmbiguityTimings {
        late_statuses: Duration::from_millis(800),
        ..AmbiguityTimings::default()
    };
    let test = setup_with(None, &[], timings).await;
    let to = recipient("99960");
    let id = template_to(&test, &to).await;
    let view = test.settle(&id, &["read"]).await;
    assert_eq!(test.accepted_to(&to), 1, "{view}");
}

/// Issue 21, hole 3: Meta took the message, then its edge answered 504 (`9992504`) or Meta answered
/// 500 code 131000 (`9992131000`). The worker cannot tell: the message is `unknown`, never resent
/// blindly, and its status webhooks (carrying its id) resolve it.
#[tokio::test]
async fn a_5xx_after_meta_took_the_message_is_unknown_until_its_status_webhooks_resolve_it() {
    let test = setup(None).await;
    for prefix in ["9992504", "9992131000"] {
        let to = recipient(prefix);
        let id = template_to(&test, &to).await;
        let view = test.settle(&id, &["sent", "delivered", "read"]).await;
        // Whatever is left on the queue (the job back for the reconciliation window) sends nothing.
        for _ in 0..3 {
            test.redeliver_now().await;
            test.drain_once().await;
        }
        let calls = test.calls_to(&to);
        assert_eq!(test.accepted_to(&to), 1, "{prefix}: sent once: {calls:?}");
        assert_eq!(calls.len(), 1, "{prefix}: never posted again: {calls:?}");
        let expected_status = if prefix == "9992504" { 504 } else { 500 };
        assert_eq!(calls[0].answered_status, expected_status);
        assert!(view["history"]["unknown"].is_string(), "{prefix}: {view}");
        assert_eq!(view["wamid"], calls[0].wamid.clone().unwrap(), "{prefix}: {view}");
        assert!(view.get("resends").is_none(), "{prefix}: {view}");
        let (_, view) = test.get(&id).await;
        assert!(
            ["sent", "delivered", "read"].contains(&view["status"].as_str().unwrap_or_default()),
            "{prefix}: {view}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_retried_and_the_rotated_one_read_from_ssm() {
    let emu = Emulator::connect().await;
    let parameter = format!("/{}/access-token", unique("bridge-test"));
    let ssm = aws_sdk_ssm::Client::new(&emu.sdk);
    ssm.put_parameter()
        .name(&parameter)
        .value(TOKEN)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let test = setup_with(
        None,
        &[("WHATSAPP_ACCESS_TOKEN_PARAMETER", parameter.as_str())],
        AmbiguityTimings::default(),
    )
    .await;
    // The owner's token expires; they put a new one in SSM (as the alarm tells them).
    let graph = &test.graph_base;
    let expire = test_support::http::post_json(&format!("{graph}/_standin/access-token/expire"), &json!({})).await;
    let rotate = test_support::http::post_json(
        &format!("{graph}/_standin/access-token"),
        &json!({"token": "rotated-access-token"}),
    )
    .await;
    assert_eq!((expire, rotate), (200, 200));
    ssm.put_parameter()
        .name(&parameter)
        .value("rotated-access-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let to = recipient("97254");
    let id = template_to(&test, &to).await;
    let view = test.settle(&id, &["read"]).await;
    let calls = test.calls_to(&to);
    assert_eq!(
        calls.iter().filter(|call| call.answered_status == 401).count(),
        1,
        "{calls:?}"
    );
    assert_eq!(test.accepted_to(&to), 1, "{view}");
}

/// Issue 22: one Graph API client per function, its token read again once for every caller. The owner
/// rotates the token (Meta takes only the new one, SSM holds it) while the worker and two send API
/// instances are warm; with no handler built again, each recovers on its first call after the rotation:
/// the worker's inbound media job (its retrieval refused, the token read again, retrieved again — kept in
/// that run), then a send with the token that job read (no 401); the send API's template check (refused,
/// read again, looked up: the short template is a 400), then an upload with it; the second send API
/// instance's upload (refused, read again, uploaded).
#[tokio::test]
async fn a_rotated_token_reaches_sends_media_templates_and_uploads_without_a_cold_start() {
    use sha2::Digest as _;
    let emu = Emulator::connect().await;
    let parameter = format!("/{}/access-token", unique("bridge-test"));
    let ssm = aws_sdk_ssm::Client::new(&emu.sdk);
    let put = |value: &'static str| {
        ssm.put_parameter()
            .name(&parameter)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
    };
    put(TOKEN).await.unwrap();
    let test = setup_with(
        None,
        &[
            ("WHATSAPP_ACCESS_TOKEN_PARAMETER", parameter.as_str()),
            ("WHATSAPP_BUSINESS_ACCOUNT_ID", local_stack::graph_standin::WABA_ID),
        ],
        AmbiguityTimings::default(),
    )
    .await;
    let vars = |name: &str| test.env.get(name).cloned();
    let second_api = bridge::compose::DeployedSendApi::from_vars(&test.emu.sdk, &vars)
        .await
        .unwrap();
    // Before the rotation: an image a contact will send, uploaded with the first token.
    let image: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
    let (status, answer) = test.upload("image/png", &image, "").await;
    assert_eq!(status, 200, "{answer}");
    let media_id = answer["id"].as_str().unwrap().to_owned();

    let graph = &test.graph_base;
    let rotate = test_support::http::post_json(
        &format!("{graph}/_standin/access-token"),
        &json!({"token": "rotated-access-token"}),
    )
    .await;
    assert_eq!(rotate, 200);
    put("rotated-access-token").await.unwrap();

    // The worker: the contact's image, then its media job, each kept in its first run.
    let from = recipient("97258");
    let wamid = unique("wamid.rotated");
    let sha256 = hex::encode(sha2::Sha256::digest(&image));
    let webhook = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"wa_id": from, "profile": {"name": "Noa"}}],
        "messages": [{"from": from, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
            "type": "image", "image": {"id": media_id, "mime_type": "image/png", "sha256": sha256}}]}}]}]})
    .to_string();
    let secret = &test.emu.env["WHATSAPP_APP_SECRET"];
    let answer = test
        .ingest
        .handle(signed_webhook(secret, webhook.as_bytes(), false))
        .await;
    assert_eq!(answer.status(), 200);
    let mut item = None;
    for _ in 0..20 {
        assert!(test.drain_once().await.is_empty(), "no record handed back for a retry");
        if let Some(found) = test.emu.message_item(&wamid).await
            && found.contains_key("media_s3_key")
        {
            item = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let item = item.expect("the image kept in the media job's first run");
    assert!(!item.contains_key("media_error"), "{item:?}");
    assert_eq!(s(&item, "media_sha256"), sha256);
    let kept = test
        .emu
        .s3
        .get_object()
        .bucket(test.emu.bucket())
        .key(s(&item, "media_s3_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.body.collect().await.unwrap().into_bytes().to_vec(), image);
    // A reply in the window the image opened: out with the token the media job read, at once (one
    // Graph call, answered 200).
    test.sent_exactly(
        json!({"to": from, "type": "text", "body": "Got it"}),
        graph_json(&from, "text", json!({"body": "Got it"})),
        PHONE_NUMBER_ID,
    )
    .await;

    // The send API: the template check looks the template up with the token it read again.
    let (status, answer) = test
        .post(
            json!({"to": from, "type": "template", "name": "shipping_update", "language": "en_US",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ayala"}]}]}),
            None,
        )
        .await;
    assert_eq!(status, 400, "the template was looked up: {answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("the body takes 2 parameters"),
        "{answer}"
    );
    assert_eq!(test.standin.template_reads(), [Some("shipping_update".to_owned())]);
    let (status, answer) = test.upload("image/png", &image, "").await;
    assert_eq!(status, 200, "an upload with the same token: {answer}");
    // The second instance, warm since before the rotation: its upload is refused, then made again.
    let auth = format!("Bearer {API_KEY}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "image/png")];
    let response = second_api
        .handle(api_request("POST", "/media", "", &headers, &image, true))
        .await;
    let answer: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    assert_eq!(response.status(), 200, "{answer}");
    assert!(answer["id"].as_str().is_some_and(|id| id != media_id), "{answer}");
}

/// `make chaos-send` (CHAOS_SENDS, default 24 in `make test`; CHAOS_SEED; CHAOS_FAULTS=off): sends to recipients that
/// drop the answer, answer too late, send statuses late, rate-limit once, fail for good or answer
/// normally, each request posted twice (an `Idempotency-Key` retried), the worker's records handed
/// back as they fail; the worker's own DynamoDB, SQS and EventBridge calls go through the fault
/// layer (`test_support::wire_faults`) with a seeded random plan ([`chaos_faults`]). Sends are
/// posted as the queue makes room ([`CHAOS_WINDOW`] unsettled at a time), the queue run by
/// [`CHAOS_INSTANCES`] concurrent invocations; then every message is checked against the stand-in's log
/// of the calls carrying its id.
///
/// On two threads, and the Graph timeout at 600 ms (the slow recipient answers after 900 ms): on one
/// thread of a debug build, with eight invocations' calls in flight, an answer the stand-in gave at
/// once was sometimes read after 300 ms, and the send counted as unknown although it was not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_send() {
    let number =
        |name: &str, default: u64| -> u64 { std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default) };
    let sends = usize::try_from(number("CHAOS_SENDS", 24)).unwrap();
    let seed = number("CHAOS_SEED", 1);
    let timings = AmbiguityTimings {
        slow_answer: Duration::from_millis(900),
        late_statuses: Duration::from_millis(600),
    };
    let plan = FaultPlan::new().with_seed(seed);
    let test = setup_worker_on(
        None,
        &[("GRAPH_TIMEOUT_MS", "600")],
        timings,
        Some(worker_sdk_through(&plan).await),
    )
    .await;
    // Only once the worker is built: its cold start (warm-up calls) is not what is tested here.
    // CHAOS_FAULTS=off: none (the Graph stand-in's ambiguities alone, to compare).
    if std::env::var("CHAOS_FAULTS").as_deref() != Ok("off") {
        chaos_faults(&plan);
    }
    let started = std::time::Instant::now();
    let prefixes = [
        "97255",
        "9993",
        "9994",
        "99960",
        "9984290",
        "9991310260",
        "9992504",
        "9992131000",
    ];
    let mut messages: Vec<(String, String, &str)> = Vec::new();
    // Indexes into `messages` not yet settled.
    let mut open: Vec<usize> = Vec::new();
    let mut last_settled = std::time::Instant::now();
    let mut rounds = 0;
    loop {
        while messages.len() < sends && open.len() < CHAOS_WINDOW {
            let n = messages.len();
            let prefix = prefixes[(n * 7 + n / 3) % prefixes.len()];
            let to = recipient(prefix);
            let key = unique("chaos");
            let body = json!({"to": to, "type": "template", "name": "hello_world", "language": "en_US"});
            let (first, answer) = test.post(body.clone(), Some(&key)).await;
            let (second, again) = test.post(body, Some(&key)).await;
            assert_eq!((first, second), (202, 202), "{answer} {again}");
            assert_eq!(answer["id"], again["id"]);
            messages.push((answer["id"].as_str().unwrap().to_owned(), to, prefix));
            open.push(n);
        }
        // Records handed back become visible at once (what time does).
        let (_, done) = test.drain_concurrently(CHAOS_INSTANCES).await;
        test.redeliver_all_now().await;
        rounds += 1;
        let before = open.len();
        let mut still = Vec::with_capacity(open.len());
        for n in open {
            let (id, _, prefix) = &messages[n];
            let (_, view) = test.get(id).await;
            if !settled(&view, *prefix == CHAOS_REFUSED) {
                still.push(n);
            }
        }
        open = still;
        if open.len() < before {
            last_settled = std::time::Instant::now();
        }
        if messages.len() == sends && open.is_empty() {
            break;
        }
        if last_settled.elapsed() > CHAOS_STALL {
            eprintln!(
                "chaos-send: {} message(s) unsettled and none settled for {CHAOS_STALL:?}: stopping",
                open.len()
            );
            break;
        }
        // Nothing came, or all of it came back (claims held elsewhere, outcomes awaited): a moment.
        if done == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Every message settled: run what is left in the queue (duplicate jobs, deferred outcomes, late
    // statuses) until nothing arrives for a while, so a late copy that would send again can.
    let grace = std::time::Instant::now();
    let mut quiet_rounds = 0;
    while quiet_rounds < 5 && grace.elapsed() < Duration::from_secs(30) {
        let (seen, _) = test.drain_concurrently(CHAOS_INSTANCES).await;
        test.redeliver_all_now().await;
        rounds += 1;
        quiet_rounds = if seen == 0 { quiet_rounds + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let (mut once, mut duplicates, mut lost, mut unknown_resolved, mut failed, mut unsettled) = (0, 0, 0, 0, 0, 0);
    let (mut priced, mut counted) = (0, 0);
    let mut problems = Vec::new();
    for (id, to, prefix) in &messages {
        let refused = *prefix == CHAOS_REFUSED;
        let (_, view) = test.get(id).await;
        // By the message's id (every send carries it): the refused recipient's numbers have two
        // digits of their own, so two of its messages may share one.
        let calls = test.calls_for(id);
        let accepted = calls.iter().filter(|call| call.accepted()).count();
        let known = settled(&view, refused);
        let fate = match (refused, accepted) {
            (true, 0) if known => {
                failed += 1;
                None
            }
            (true, 0) => None,
            (false, 1) => {
                once += 1;
                None
            }
            (false, 0) => {
                lost += 1;
                Some("lost (never sent)")
            }
            _ => {
                duplicates += 1;
                Some("duplicate")
            }
        };
        if !known {
            unsettled += 1;
        }
        // A message whose statuses brought pricing is counted in the usage, under every fault: its item
        // marks where (the mark and the counter are one transaction, so marked is counted, once).
        if let Some(wamid) = view["wamid"].as_str().filter(|_| view["pricing"].is_object()) {
            priced += 1;
            let item = test.emu.message_item(wamid).await.unwrap_or_default();
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if text("usage_cell").ends_with(&format!("#{}", text("pricing_cell"))) && !text("pricing_cell").is_empty() {
                counted += 1;
            } else {
                problems.push(format!("not counted in the usage: {id} {wamid}: {item:?}"));
            }
        }
        if known && view["history"]["unknown"].is_string() {
            unknown_resolved += 1;
        }
        if fate.is_some() || !known {
            let calls: Vec<String> = calls
                .iter()
                .map(|call| format!("{} {}", call.answered_status, call.wamid.as_deref().unwrap_or("-")))
                .collect();
            problems.push(format!(
                "{} {id} to {to} ({prefix}): Graph calls [{}]; {view}",
                fate.unwrap_or("fate unknown"),
                calls.join(", ")
            ));
        }
    }
    for problem in &problems {
        eprintln!("chaos-send: {problem}");
    }
    println!(
        "chaos-send: sent once: {once}, duplicates: {duplicates}, lost: {lost}, unknown resolved: {unknown_resolved}, \
         failed as Meta answered: {failed}, fate unknown: {unsettled}, priced and counted: {counted} of {priced} \
         (of {sends}; seed {seed}; {:.0} s, {rounds} rounds); \
         store faults: {} of {} worker calls: {}",
        elapsed.as_secs_f64(),
        plan.faulted("*"),
        plan.calls("*"),
        plan.summary()
    );
    assert_eq!((duplicates, lost), (0, 0), "seed {seed}");
    assert_eq!(unsettled, 0, "every fate known (seed {seed})");
    assert_eq!(once + failed, sends);
    assert_eq!(counted, priced, "every priced message counted (seed {seed})");
    assert!(priced > 0, "the stand-in's statuses carry pricing");
}

/// The stand-in's recipient that Meta refuses for good (131026): its messages end `failed`.
const CHAOS_REFUSED: &str = "9991310260";
/// Sends posted but not yet settled, at most: the queue stays short (draining a queue costs moto the
/// square of its length; 500 sends posted before the first drain did not finish in 33 minutes).
const CHAOS_WINDOW: usize = 60;
/// Concurrent worker invocations over the queue, as Lambda's poller runs several.
const CHAOS_INSTANCES: usize = 8;
/// No message settled for this long: stop and report (longer than a claim's 60 s lease).
const CHAOS_STALL: Duration = Duration::from_secs(90);

/// A message's fate is known: `failed` for the refused recipient, `delivered` or `read` for the others.
fn settled(view: &Value, refused: bool) -> bool {
    if refused {
        view["status"] == "failed"
    } else {
        view["status"] == "read" || view["status"] == "delivered"
    }
}

/// The SDK configuration of the deployed worker (its timeouts: `WORKER_AWS_CALL_TIMEOUT` per call,
/// half of it per attempt), its calls through the fault layer with `plan`.
async fn worker_sdk_through(plan: &FaultPlan) -> aws_config::SdkConfig {
    let env = local_env();
    let call = bridge::handlers::worker::WORKER_AWS_CALL_TIMEOUT;
    faulty_sdk_config(&env["AWS_ENDPOINT_URL"], &env["AWS_REGION"], plan.clone())
        .await
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2).min(call))
                .operation_attempt_timeout((call / 2).max(Duration::from_millis(500)))
                .operation_timeout(call)
                .build(),
        )
        .build()
}

/// What the worker's AWS calls meet in `make chaos-send` (seeded: CHAOS_SEED). The store's
/// operations: 6 % applied with the answer lost (the SDK retries: a conditional write then fails
/// its own condition), 2 % refused (500), 2 % throttled, 2 % answered 150 ms late; the queue's and
/// the bus's: 3 % lost, 2 % refused, 1 % throttled. Every one of them, 0.3 % each: answered after
/// 2.5 s (past the SDK's 2 s attempt timeout: applied, retried) and never answered (the attempt
/// timeout ends it, the SDK retries).
fn chaos_faults(plan: &FaultPlan) {
    let store = [
        "UpdateItem",
        "PutItem",
        "GetItem",
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
        "DeleteItem",
    ];
    let queue_and_bus = ["SendMessage", "ChangeMessageVisibility", "PutEvents"];
    for operation in store {
        plan.fail_randomly(operation, 0.06, WireFault::AppliedThenLost)
            .fail_randomly(operation, 0.02, WireFault::Refused)
            .fail_randomly(operation, 0.02, WireFault::Throttled)
            .fail_randomly(operation, 0.02, WireFault::Delayed(Duration::from_millis(150)));
    }
    for operation in queue_and_bus {
        plan.fail_randomly(operation, 0.03, WireFault::AppliedThenLost)
            .fail_randomly(operation, 0.02, WireFault::Refused)
            .fail_randomly(operation, 0.01, WireFault::Throttled);
    }
    for operation in store.iter().chain(&queue_and_bus) {
        plan.fail_randomly(operation, 0.003, WireFault::Delayed(Duration::from_millis(2500)))
            .fail_randomly(operation, 0.003, WireFault::Hang);
    }
}

impl Loop {
    /// One pass over the queue as Lambda's poller runs it with `instances` concurrent invocations:
    /// every visible record, in batches of 10; what the worker handled is deleted, what it handed
    /// back is hidden until [`Loop::redeliver_all_now`]. How many records it saw, and handled.
    async fn drain_concurrently(&self, instances: usize) -> (usize, usize) {
        use futures_util::StreamExt;
        let messages = self.emu.receive_all(&self.queue.url).await;
        let done = std::sync::atomic::AtomicUsize::new(0);
        futures_util::stream::iter(messages.chunks(10))
            .for_each_concurrent(instances, |batch| async {
                let handled = self.run_batch(batch).await;
                done.fetch_add(handled, std::sync::atomic::Ordering::Relaxed);
            })
            .await;
        (messages.len(), done.into_inner())
    }

    /// One invocation of the worker over `batch`; how many records it handled (deleted).
    async fn run_batch(&self, batch: &[aws_sdk_sqs::types::Message]) -> usize {
        let event = sqs_event(batch, &self.queue.arn, "us-east-1").unwrap();
        let response = self.worker.handle(event, batch_deadline()).await;
        let (retried, done): (Vec<_>, Vec<_>) = batch.iter().partition(|message| {
            response
                .batch_item_failures
                .iter()
                .any(|failure| Some(failure.item_identifier.as_str()) == message.message_id())
        });
        self.hidden_receipts
            .lock()
            .await
            .extend(retried.iter().filter_map(|m| m.receipt_handle().map(str::to_owned)));
        let entries: Vec<_> = done
            .iter()
            .enumerate()
            .map(|(n, message)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(message.receipt_handle().unwrap())
                    .build()
                    .unwrap()
            })
            .collect();
        if !entries.is_empty() {
            self.emu
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap();
        }
        done.len()
    }

    /// [`Loop::redeliver_now`], ten records a call.
    async fn redeliver_all_now(&self) {
        let receipts: Vec<String> = self.hidden_receipts.lock().await.drain(..).collect();
        for chunk in receipts.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(n, receipt)| {
                    aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .build()
                        .unwrap()
                })
                .collect();
            // A record deleted meanwhile (acknowledged by a later copy's batch) fails its entry: fine.
            let _ = self
                .emu
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue.url)
                .set_entries(Some(entries))
                .send()
                .await;
        }
    }
}

// ---------------------------------------------------------------- the whole send surface, through the stack

const SECOND_NUMBER: &str = "106540352242923";
const USER_ID_PREFIX: &str = "US.1349120865530";

impl Loop {
    /// The stand-in's calls carrying the bundle's message id `id` (every send of the bundle does).
    fn calls_for(&self, id: &str) -> Vec<local_stack::graph_standin::RecordedRequest> {
        self.standin
            .requests()
            .into_iter()
            .filter(|r| r.biz_opaque_callback_data() == Some(id))
            .collect()
    }

    /// An inbound text from `from` to the business number `number`, now.
    async fn writes_to(&self, number: &str, from: &str) {
        let body = text_webhook(number, &unique("wamid.in"), from, chrono::Utc::now().timestamp(), "hi");
        let secret = &self.emu.env["WHATSAPP_APP_SECRET"];
        assert_eq!(
            self.ingest.handle(signed_webhook(secret, &body, false)).await.status(),
            200
        );
        assert!(self.drain_once().await.is_empty());
    }

    /// Posts `body`, expects 202, waits for `read`, and checks that the Graph API got exactly
    /// `expected` (plus the bundle's id in `biz_opaque_callback_data`) once, from `from`.
    async fn sent_exactly(&self, body: Value, mut expected: Value, from: &str) -> String {
        let (status, answer) = self.post(body.clone(), None).await;
        assert_eq!(status, 202, "{body}: {answer}");
        let id = answer["id"].as_str().unwrap().to_owned();
        let view = self.until_status(&id, "read").await;
        let calls = self.calls_for(&id);
        assert_eq!(calls.len(), 1, "{body}: one Graph call");
        expected["biz_opaque_callback_data"] = json!(id);
        assert_eq!(calls[0].body, expected, "{body}");
        assert_eq!(calls[0].phone_number_id, from, "{body}");
        assert_eq!(calls[0].answered_status, 200, "{body}");
        assert_eq!(view["wamid"], calls[0].wamid.clone().unwrap(), "{body}");
        id
    }
}

/// Meta's envelope around one type's object for `to`.
fn graph_json(to: &str, kind: &str, content: Value) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: content})
}

#[tokio::test]
async fn one_send_of_every_type_reaches_the_graph_api_as_given_and_ends_read() {
    let test = setup(None).await;
    let to = recipient("97250");
    test.contact_writes(&to).await;
    let national = format!("0{}", &to[3..]);
    let buttons = json!({"type": "button", "body": {"text": "Choose"}, "footer": {"text": "f"}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}}, {"type": "reply", "reply": {"id": "no", "title": "No"}},
        {"type": "reply", "reply": {"id": "later", "title": "Twenty characters ok"}}]}});
    let list = json!({"type": "list", "header": {"type": "text", "text": "Menu"}, "body": {"text": "Pick one"},
        "action": {"button": "Options", "sections": [{"title": "Mains", "rows": [
            {"id": "r1", "title": "Soup", "description": "Hot"}, {"id": "r2", "title": "Salad"}]}]}});
    let cta = json!({"type": "cta_url", "header": {"type": "image", "image": {"link": "https://x.test/h.jpg"}},
        "body": {"text": "See the order"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://x.test/o/1"}}});
    let location_request = json!({"type": "location_request_message", "body": {"text": "Where are you?"},
        "action": {"name": "send_location"}});
    let flow = json!({"type": "flow", "body": {"text": "Sign up"}, "action": {"name": "flow", "parameters": {
        "flow_message_version": "3", "flow_token": "tok", "flow_id": "1234", "flow_cta": "Sign up",
        "flow_action": "navigate", "flow_action_payload": {"screen": "WELCOME"}}}});
    let contacts = json!([{"name": {"formatted_name": "Ayala Horev", "first_name": "Ayala"},
        "phones": [{"phone": "+972504370045", "type": "CELL", "wa_id": "972504370045"}]}]);
    let components = json!([
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.test/h.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ayala"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "f3122a7d"}]}]);
    // (the request in the short shape, the exact Graph JSON); each is also sent in Meta's shape.
    let cases = vec![
        (
            json!({"to": national, "type": "text", "body": "see https://x.test", "preview_url": true}),
            graph_json(&to, "text", json!({"body": "see https://x.test", "preview_url": true})),
        ),
        (
            json!({"to": to, "type": "template", "name": "order_update", "language": "en_US", "components": components}),
            graph_json(
                &to,
                "template",
                json!({"name": "order_update", "language": {"code": "en_US"}, "components": components}),
            ),
        ),
        (
            json!({"to": to, "type": "image", "link": "https://x.test/a.jpg", "caption": "A photo"}),
            graph_json(
                &to,
                "image",
                json!({"link": "https://x.test/a.jpg", "caption": "A photo"}),
            ),
        ),
        (
            json!({"to": to, "type": "audio", "id": "1037543291543636"}),
            graph_json(&to, "audio", json!({"id": "1037543291543636"})),
        ),
        (
            json!({"to": to, "type": "video", "link": "https://x.test/v.mp4", "caption": "Clip"}),
            graph_json(&to, "video", json!({"link": "https://x.test/v.mp4", "caption": "Clip"})),
        ),
        (
            json!({"to": to, "type": "document", "link": "https://x.test/r.pdf", "caption": "Report", "filename": "r.pdf"}),
            graph_json(
                &to,
                "document",
                json!({"link": "https://x.test/r.pdf", "caption": "Report", "filename": "r.pdf"}),
            ),
        ),
        (
            json!({"to": to, "type": "sticker", "id": "9"}),
            graph_json(&to, "sticker", json!({"id": "9"})),
        ),
        (
            json!({"to": to, "type": "interactive", "interactive": buttons}),
            graph_json(&to, "interactive", buttons.clone()),
        ),
        (
            json!({"to": to, "type": "interactive", "interactive": list}),
            graph_json(&to, "interactive", list.clone()),
        ),
        (
            json!({"to": to, "type": "interactive", "interactive": cta}),
            graph_json(&to, "interactive", cta.clone()),
        ),
        (
            json!({"to": to, "type": "interactive", "interactive": location_request}),
            graph_json(&to, "interactive", location_request.clone()),
        ),
        (
            json!({"to": to, "type": "interactive", "interactive": flow}),
            graph_json(&to, "interactive", flow.clone()),
        ),
        (
            json!({"to": to, "type": "reaction", "message_id": "wamid.IN", "emoji": "👍"}),
            graph_json(&to, "reaction", json!({"message_id": "wamid.IN", "emoji": "👍"})),
        ),
        (
            json!({"to": to, "type": "reaction", "message_id": "wamid.IN", "emoji": ""}),
            graph_json(&to, "reaction", json!({"message_id": "wamid.IN", "emoji": ""})),
        ),
        (
            json!({"to": to, "type": "location", "latitude": 32.0853, "longitude": 34.7818, "name": "Office"}),
            graph_json(
                &to,
                "location",
                json!({"latitude": 32.0853, "longitude": 34.7818, "name": "Office"}),
            ),
        ),
        (
            json!({"to": to, "type": "contacts", "contacts": contacts}),
            graph_json(&to, "contacts", contacts.clone()),
        ),
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for (short, expected) in cases {
        kinds.insert(expected["type"].as_str().unwrap().to_owned());
        // Meta's own object, as the caller would write it (`to` as written, normalized by the bundle).
        let mut meta_shape = expected.clone();
        meta_shape["to"] = json!(format!("+{to}"));
        test.sent_exactly(short, expected.clone(), PHONE_NUMBER_ID).await;
        test.sent_exactly(meta_shape, expected, PHONE_NUMBER_ID).await;
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "audio",
            "contacts",
            "document",
            "image",
            "interactive",
            "location",
            "reaction",
            "sticker",
            "template",
            "text",
            "video"
        ]
    );
    // A reply (`context`) and the caller's callback data: context to Meta, callback data kept here.
    let mut expected = graph_json(&to, "text", json!({"body": "Re: your question"}));
    expected["context"] = json!({"message_id": "wamid.HBgLOTcy"});
    let id = test
        .sent_exactly(
            json!({"to": to, "type": "text", "body": "Re: your question", "context_message_id": "wamid.HBgLOTcy",
                   "biz_opaque_callback_data": "campaign-42"}),
            expected,
            PHONE_NUMBER_ID,
        )
        .await;
    let (_, view) = test.get(&id).await;
    assert_eq!(view["callback_data"], "campaign-42", "{view}");
}

/// An inbound text from a user known only by a business-scoped user id.
fn user_id_webhook(number: &str, wamid: &str, user_id: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"user_id": user_id, "profile": {"name": "Dana"}}],
            "messages": [{"from_user_id": user_id, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
                "type": "text", "text": {"body": "hello"}}]}}]}]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_user_known_only_by_a_user_id_gets_the_auto_reply_and_an_api_send_both_read() {
    let test = setup_with(
        Some("Thanks, we will answer soon."),
        &[("TYPING_INDICATOR", "true")],
        AmbiguityTimings::default(),
    )
    .await;
    let user_id = format!("{USER_ID_PREFIX}{}", recipient("1"));
    let wamid = unique("wamid.user");
    let body = user_id_webhook(PHONE_NUMBER_ID, &wamid, &user_id);
    let secret = &test.emu.env["WHATSAPP_APP_SECRET"];
    assert_eq!(
        test.ingest.handle(signed_webhook(secret, &body, false)).await.status(),
        200
    );
    for _ in 0..5 {
        test.drain_once().await;
    }
    let replies: Vec<_> = test
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.body["recipient"] == user_id.as_str())
        .collect();
    assert_eq!(replies.len(), 1, "one auto-reply");
    assert_eq!(
        replies[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": user_id, "type": "text",
               "text": {"body": "Thanks, we will answer soon."}, "context": {"message_id": wamid},
               "biz_opaque_callback_data": replies[0].biz_opaque_callback_data().unwrap()})
    );
    assert!(replies[0].body.get("to").is_none());
    let reply_id = replies[0].biz_opaque_callback_data().unwrap().to_owned();
    test.until_status(&reply_id, "read").await;
    // Marked read, from the number it wrote to, with the typing indicator (TYPING_INDICATOR=true).
    let reads: Vec<_> = test
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.body["message_id"] == wamid.as_str())
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        reads[0].body,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}})
    );
    assert_eq!(
        (reads[0].answered_status, reads[0].phone_number_id.as_str()),
        (200, PHONE_NUMBER_ID)
    );
    // The window the user opened lets the send API answer them by their id too.
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": user_id,
                          "type": "text", "text": {"body": "Your order shipped"}});
    test.sent_exactly(
        json!({"recipient": user_id, "type": "text", "body": "Your order shipped"}),
        expected,
        PHONE_NUMBER_ID,
    )
    .await;
}

#[tokio::test]
async fn a_send_from_a_second_number_goes_out_from_it_and_the_window_is_kept_per_number() {
    let numbers = format!("{PHONE_NUMBER_ID},{SECOND_NUMBER}");
    let test = setup_with(
        None,
        &[("WHATSAPP_PHONE_NUMBER_IDS", numbers.as_str())],
        AmbiguityTimings::default(),
    )
    .await;
    let to = recipient("97252");
    // The contact wrote to the second number only.
    test.writes_to(SECOND_NUMBER, &to).await;
    let text = |from: Option<&str>| {
        let mut body = json!({"to": to, "type": "text", "body": "Hello from the shop"});
        if let Some(from) = from {
            body["from"] = json!(from);
        }
        body
    };
    // From the first number (the default, or named) the window is closed.
    for body in [text(None), text(Some(PHONE_NUMBER_ID))] {
        let (status, answer) = test.post(body, None).await;
        assert_eq!(status, 422, "{answer}");
    }
    let expected = graph_json(&to, "text", json!({"body": "Hello from the shop"}));
    let id = test
        .sent_exactly(text(Some(SECOND_NUMBER)), expected.clone(), SECOND_NUMBER)
        .await;
    let (_, view) = test.get(&id).await;
    assert_eq!(view["status"], "read", "{view}");
    // A number that is not the deployment's is refused before anything is stored.
    let (status, answer) = test.post(text(Some("999999999999999")), None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("from"), "{answer}");
    // Once the contact writes to the first number, the default goes out from it.
    test.writes_to(PHONE_NUMBER_ID, &to).await;
    test.sent_exactly(text(None), expected, PHONE_NUMBER_ID).await;
    // A template needs no window, from either number.
    let silent = recipient("97253");
    let template =
        json!({"to": silent, "from": SECOND_NUMBER, "type": "template", "name": "hello_world", "language": "en_US"});
    test.sent_exactly(
        template,
        graph_json(
            &silent,
            "template",
            json!({"name": "hello_world", "language": {"code": "en_US"}}),
        ),
        SECOND_NUMBER,
    )
    .await;
}

impl Loop {
    /// `POST /media` with `body` as `content_type` (binary bodies base64-encoded, as API Gateway does).
    async fn upload(&self, content_type: &str, body: &[u8], query: &str) -> (u16, Value) {
        let auth = format!("Bearer {API_KEY}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", content_type)];
        let response = self
            .api
            .handle(api_request("POST", "/media", query, &headers, body, true))
            .await;
        (
            response.status().as_u16(),
            serde_json::from_slice(response.body()).unwrap_or(Value::Null),
        )
    }

    /// The bytes Meta holds for `media_id` (retrieve, then download with the token), as a client would.
    async fn media_bytes(&self, media_id: &str, from: &str) -> Vec<u8> {
        let client = integration_tests::http::client();
        let meta = client
            .get(format!("{}/v21.0/{media_id}?phone_number_id={from}", self.graph_base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let meta: Value = serde_json::from_slice(&meta).unwrap();
        let url = meta["url"].as_str().unwrap_or_else(|| panic!("no url: {meta}"));
        let response = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap().to_vec()
    }
}

#[tokio::test]
async fn an_upload_then_a_send_by_the_returned_id_reaches_read() {
    let numbers = format!("{PHONE_NUMBER_ID},{SECOND_NUMBER}");
    let test = setup_with(
        None,
        &[("WHATSAPP_PHONE_NUMBER_IDS", numbers.as_str())],
        AmbiguityTimings::default(),
    )
    .await;
    // A file in the body: every byte value, so a lossy text round trip would show.
    let png: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let (status, answer) = test.upload("image/png", &png, "").await;
    assert_eq!(status, 200, "{answer}");
    let image_id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer,
        json!({"id": image_id, "type": "image/png", "kind": "image", "size": 300_000, "from": PHONE_NUMBER_ID})
    );
    assert_eq!(
        test.media_bytes(&image_id, PHONE_NUMBER_ID).await,
        png,
        "Meta holds the exact bytes"
    );

    // A larger file by reference to the payload bucket, streamed from S3, for the second number.
    let key = format!("media/{}.pdf", unique("report"));
    let pdf: Vec<u8> = (0..7_000_000u32).map(|i| (i % 251) as u8).collect();
    test.emu
        .s3
        .put_object()
        .bucket(test.emu.bucket())
        .key(&key)
        .content_type("application/pdf")
        .body(pdf.clone().into())
        .send()
        .await
        .unwrap();
    let query = format!("from={SECOND_NUMBER}");
    let reference = json!({"s3_key": key}).to_string();
    let (status, answer) = test.upload("application/json", reference.as_bytes(), &query).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["kind"], &answer["size"], &answer["from"]),
        (&json!("document"), &json!(7_000_000), &json!(SECOND_NUMBER))
    );
    let document_id = answer["id"].as_str().unwrap().to_owned();
    assert!(
        test.media_bytes(&document_id, SECOND_NUMBER).await == pdf,
        "Meta holds the object's exact bytes"
    );

    // Over Meta's limit: refused before anything is uploaded.
    let (status, answer) = test.upload("image/jpeg", &vec![0; 5 * 1024 * 1024 + 1], "").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("5242880 bytes, 5 MB"),
        "{answer}"
    );

    // Sends by the returned ids, from the number each was uploaded for.
    let to = recipient("97256");
    test.writes_to(PHONE_NUMBER_ID, &to).await;
    test.writes_to(SECOND_NUMBER, &to).await;
    test.sent_exactly(
        json!({"to": to, "type": "image", "id": image_id, "caption": "The photo"}),
        graph_json(&to, "image", json!({"id": image_id, "caption": "The photo"})),
        PHONE_NUMBER_ID,
    )
    .await;
    test.sent_exactly(
        json!({"to": to, "from": SECOND_NUMBER, "type": "document", "id": document_id, "filename": "report.pdf"}),
        graph_json(&to, "document", json!({"id": document_id, "filename": "report.pdf"})),
        SECOND_NUMBER,
    )
    .await;
}

#[tokio::test]
async fn an_answer_after_the_timeout_publishes_unknown_then_resolved_on_the_tap() {
    let emu = Emulator::connect().await;
    let TappedBus { name: bus, tap_url } = emu.tapped_bus("unknown").await;
    let timings = AmbiguityTimings {
        slow_answer: Duration::from_millis(1500),
        ..AmbiguityTimings::default()
    };
    let test = setup_with(
        None,
        &[("GRAPH_TIMEOUT_MS", "300"), ("EVENT_BUS_NAME", bus.as_str())],
        timings,
    )
    .await;
    let to = recipient("9994");
    let id = template_to(&test, &to).await;
    test.settle(&id, &["delivered", "read"]).await;
    assert_eq!(test.accepted_to(&to), 1, "never resent");
    let mut events: Vec<Value> = Vec::new();
    for _ in 0..30 {
        events.extend(
            emu.receive_bodies(&tap_url)
                .await
                .iter()
                .map(|body| serde_json::from_str::<Value>(body).unwrap()),
        );
        if events.iter().any(|e| e["detail-type"] == "message.resolved") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let of = |detail_type: &str| -> Vec<&Value> { events.iter().filter(|e| e["detail-type"] == detail_type).collect() };
    let unknown = of("message.unknown");
    assert_eq!(unknown.len(), 1, "{events:?}");
    assert_eq!(unknown[0]["source"], "whatsapp-bridge");
    bridge::testing::schema::assert_valid("message.unknown", &unknown[0]["detail"]);
    assert_eq!(unknown[0]["detail"]["message_id"], id.as_str());
    assert_eq!(unknown[0]["detail"]["cause"], "no_answer");
    let resolved = of("message.resolved");
    assert_eq!(resolved.len(), 1, "{events:?}");
    bridge::testing::schema::assert_valid("message.resolved", &resolved[0]["detail"]);
    assert_eq!(resolved[0]["detail"]["resolution"], "accepted");
    assert_eq!(resolved[0]["detail"]["resolved_by"], "status_webhook");
    assert_eq!(
        resolved[0]["detail"]["wamid"],
        test.calls_to(&to)[0].wamid.clone().unwrap()
    );
}

#[tokio::test]
async fn a_template_send_is_checked_against_the_waba_s_templates_before_meta_is_called() {
    let test = setup_with(
        None,
        &[("WHATSAPP_BUSINESS_ACCOUNT_ID", local_stack::graph_standin::WABA_ID)],
        AmbiguityTimings::default(),
    )
    .await;
    let to = recipient("97257");
    let body_text =
        |n: usize| json!([{"type": "body", "parameters": vec![json!({"type": "text", "text": "Ayala"}); n]}]);
    // One parameter short of the stand-in's shipping_update (en_US): 400, and Meta never called.
    let (status, answer) = test
        .post(
            json!({"to": to, "type": "template", "name": "shipping_update", "language": "en_US", "components": body_text(1)}),
            None,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"],
        "template.components: the body takes 2 parameters in template \"shipping_update\" (en_US), the send gives 1"
    );
    assert!(test.calls_to(&to).is_empty(), "Meta was not called");
    // The right count, and the Spanish one (also 2), are sent and read.
    for language in ["en_US", "es"] {
        test.sent_exactly(
            json!({"to": to, "type": "template", "name": "shipping_update", "language": language, "components": body_text(2)}),
            graph_json(&to, "template", json!({"name": "shipping_update", "language": {"code": language}, "components": body_text(2)})),
            PHONE_NUMBER_ID,
        )
        .await;
    }
    // Header, body and a URL button, as appointment_reminder takes them.
    let components = json!([
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.test/i.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ayala"}, {"type": "text", "text": "May 1"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]}]);
    test.sent_exactly(
        json!({"to": to, "type": "template", "name": "appointment_reminder", "language": "en_US", "components": components}),
        graph_json(&to, "template", json!({"name": "appointment_reminder", "language": {"code": "en_US"}, "components": components})),
        PHONE_NUMBER_ID,
    )
    .await;
    let (status, answer) = test
        .post(
            json!({"to": to, "type": "template", "name": "appointment_reminder", "language": "en_US", "components": body_text(2)}),
            None,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("the header takes 1 parameter"),
        "{answer}"
    );
    // A template the WABA does not have goes through as before (Meta decides).
    test.sent_exactly(
        json!({"to": to, "type": "template", "name": "not_in_the_waba", "language": "en_US", "components": body_text(3)}),
        graph_json(&to, "template", json!({"name": "not_in_the_waba", "language": {"code": "en_US"}, "components": body_text(3)})),
        PHONE_NUMBER_ID,
    )
    .await;
    // What the check costs: one read of Meta's templates per name (found or not), then the cache's
    // answer for CACHE_SECONDS — seven template sends above, three names, three reads of one page each.
    assert_eq!(
        test.standin.template_reads(),
        [
            Some("shipping_update"),
            Some("appointment_reminder"),
            Some("not_in_the_waba")
        ]
        .map(|name| name.map(str::to_owned))
    );
}

#[tokio::test]
async fn the_stand_in_pages_the_waba_s_templates_as_meta_does() {
    let test = setup(None).await;
    let mut url = format!(
        "{}/v21.0/{}/message_templates?limit=2",
        test.graph_base,
        local_stack::graph_standin::WABA_ID
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page: Value = serde_json::from_slice(
            &integration_tests::http::client()
                .get(&url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        pages += 1;
        names.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| format!("{}/{}", t["name"], t["language"])),
        );
        assert!(page["paging"]["cursors"]["after"].is_string(), "{page}");
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.contains(&"\"shipping_update\"/\"es\"".to_owned()), "{names:?}");
}
