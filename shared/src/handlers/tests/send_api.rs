//! The send API against the in-memory store and queue, with a fault on each call it makes.

use chrono::Utc;
use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::SendApiConfig;
use crate::domain::envelope::{ATTR_KIND, EventKind};
use crate::domain::ids::ContactId;
use crate::domain::outbound::SendJob;
use crate::domain::records::BusinessNumbers;
use crate::handlers::send_api::{CUSTOMER_WINDOW_SECONDS, SendApi};
use crate::handlers::tests::send_api_config;
use crate::testing::{FakeMediaLinks, FakeQueue, Fault, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";

fn api() -> SendApi<MemoryStore, FakeQueue, FakeMediaLinks> {
    let config = SendApiConfig {
        default_country_code: Some("972".to_owned()),
        retention_days: 30,
        media_bucket: Some("payloads".to_owned()),
        ..send_api_config(KEY)
    };
    let store = MemoryStore::new();
    // The contact wrote an hour ago: the 24-hour window is open.
    store
        .tables()
        .contacts
        .insert("972504370045".to_owned(), Utc::now().timestamp() - 3600);
    SendApi::new(config, store, FakeQueue::new(), Some(FakeMediaLinks::new()))
}

fn post(body: &Value, extra: &[(&str, &str)]) -> lambda_http::Request {
    let bearer = format!("Bearer {KEY}");
    let mut headers = vec![("authorization", bearer.as_str()), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    request("POST", "/messages", &headers, body.to_string())
}

fn text(to: &str) -> Value {
    json!({ "to": to, "type": "text", "body": "Hello" })
}

fn error_of(response: &lambda_http::Response<lambda_http::Body>) -> String {
    let body: Value = serde_json::from_str(&body_text(response)).expect("a JSON body");
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_valid_message_is_stored_queued_and_answered_202() {
    let api = api();
    let response = api.handle(post(&text("050-437-0045"), &[])).await;
    assert_eq!(response.status(), 202);
    let answer: Value = serde_json::from_str(&body_text(&response)).expect("JSON");
    assert_eq!(
        (answer["status"].as_str(), answer["to"].as_str()),
        (Some("queued"), Some("972504370045"))
    );
    let id = answer["id"].as_str().expect("an id");
    let queued = api.queue.messages();
    assert_eq!(queued.len(), 1);
    let job: SendJob = serde_json::from_str(&queued[0].body).expect("a send job");
    assert_eq!((job.message_id.as_str(), job.to.key()), (id, "972504370045"));
    assert_eq!(job.payload["text"]["body"], "Hello");
    assert!(
        queued[0]
            .attributes
            .contains(&(ATTR_KIND.to_owned(), EventKind::SendMessage.as_str().to_owned()))
    );
    let found = api
        .handle(request(
            "GET",
            &format!("/messages/{id}"),
            &[("authorization", &format!("Bearer {KEY}"))],
            (),
        ))
        .await;
    assert_eq!(found.status(), 200);
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401_and_touches_nothing() {
    let api = api();
    let unsigned = request("POST", "/messages", &[], text("0504370045").to_string());
    let wrong = request(
        "POST",
        "/messages",
        &[("authorization", "Bearer not-the-key")],
        text("0504370045").to_string(),
    );
    for request in [unsigned, wrong] {
        let response = api.handle(request).await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(error_of(&response), "missing or invalid API key");
    }
    assert_eq!(api.store.faults.calls("create_outbound"), 0);
    assert_eq!(api.queue.faults.calls("send"), 0);
}

#[tokio::test]
async fn an_invalid_request_is_400_naming_the_field() {
    let api = api();
    let cases = [
        (
            json!({ "to": "0504370045", "type": "text", "body": " " }),
            "text.body: ",
        ),
        (json!({ "to": " ", "type": "text", "body": "hi" }), "to: "),
        (json!({ "to": "12", "type": "text", "body": "hi" }), "to: "),
        (json!({ "to": "0504370045", "type": "image" }), "image.link: "),
        (json!({ "to": "0504370045" }), "type: "),
    ];
    for (body, prefix) in cases {
        let response = api.handle(post(&body, &[])).await;
        assert_eq!(response.status(), 400, "{body}");
        assert!(
            error_of(&response).starts_with(prefix),
            "{body}: {}",
            error_of(&response)
        );
    }
    assert_eq!(api.store.faults.calls("create_outbound"), 0);
}

#[tokio::test]
async fn an_idempotency_key_must_be_1_to_255_printable_ascii_characters() {
    let api = api();
    let long = "k".repeat(256);
    for key in ["  ", long.as_str(), "tab\tinside"] {
        let response = api.handle(post(&text("0504370045"), &[("idempotency-key", key)])).await;
        assert_eq!(response.status(), 400, "{key:?}");
        assert!(error_of(&response).starts_with("Idempotency-Key: "), "{key:?}");
    }
    // Not UTF-8 at all, and UTF-8 but not ASCII: refused, no longer ignored.
    for bytes in [&b"caf\xe9"[..], "café".as_bytes()] {
        let mut request = post(&text("0504370045"), &[]);
        request.headers_mut().insert(
            "idempotency-key",
            http::HeaderValue::from_bytes(bytes).expect("obs-text is a valid header value"),
        );
        let response = api.handle(request).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            error_of(&response),
            "Idempotency-Key: printable ASCII characters only (spaces allowed between them)"
        );
    }
    assert_eq!(api.store.faults.calls("create_outbound"), 0);
    let spaced = api
        .handle(post(&text("0504370045"), &[("idempotency-key", "order 1042")]))
        .await;
    assert_eq!(spaced.status(), 202);
}

#[tokio::test]
async fn a_retried_key_queues_the_same_id_and_a_reused_key_is_409() {
    let api = api();
    let key = [("idempotency-key", "order-1042")];
    let first = api.handle(post(&text("0504370045"), &key)).await;
    let again = api.handle(post(&text("0504370045"), &key)).await;
    assert_eq!((first.status().as_u16(), again.status().as_u16()), (202, 202));
    assert_eq!(body_text(&first), body_text(&again));
    assert_eq!(
        api.queue.messages().len(),
        2,
        "queued again: the worker's claim sends it once"
    );
    let other = json!({ "to": "0504370045", "type": "text", "body": "Something else" });
    let conflict = api.handle(post(&other, &key)).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(
        error_of(&conflict),
        "Idempotency-Key was already used for a different message"
    );
}

#[tokio::test]
async fn a_free_form_message_outside_the_window_is_422_but_a_template_goes() {
    let api = api();
    let response = api.handle(post(&text("+14155550123"), &[])).await;
    assert_eq!(response.status(), 422);
    assert!(error_of(&response).starts_with("type: "));
    let template = json!({ "to": "+14155550123", "type": "template", "name": "hello_world", "language": "en_US" });
    assert_eq!(api.handle(post(&template, &[])).await.status(), 202);
    assert_eq!(
        api.store.faults.calls("last_inbound_at"),
        1,
        "a template needs no window check"
    );
}

#[tokio::test]
async fn a_store_or_queue_failure_is_503() {
    for (operation, fault) in [
        ("last_inbound_at", Fault::Transient),
        ("create_outbound", Fault::Transient),
        ("create_outbound", Fault::Permanent),
    ] {
        let api = api();
        api.store.faults.fail_next(operation, 1, fault);
        let response = api.handle(post(&text("0504370045"), &[])).await;
        assert_eq!(response.status(), 503, "{operation} {fault:?}");
        assert_eq!(error_of(&response), "temporarily unavailable, retry later");
        assert!(api.queue.messages().is_empty());
    }
    for fault in [Fault::Transient, Fault::Permanent] {
        let api = api();
        api.queue.faults.fail_next("send", 1, fault);
        assert_eq!(api.handle(post(&text("0504370045"), &[])).await.status(), 503);
    }
    let api = api();
    api.store.faults.fail_next("view", 1, Fault::Transient);
    let view = request(
        "GET",
        "/messages/msg_1",
        &[("authorization", &format!("Bearer {KEY}"))],
        (),
    );
    assert_eq!(api.handle(view).await.status(), 503);
    let view = request(
        "GET",
        "/messages/msg_1",
        &[("authorization", &format!("Bearer {KEY}"))],
        (),
    );
    assert_eq!(api.handle(view).await.status(), 404);
}

fn api_with_numbers(numbers: &[&str]) -> SendApi<MemoryStore, FakeQueue, FakeMediaLinks> {
    let mut api = api();
    api.config.phone_numbers = BusinessNumbers::new(numbers.iter().map(|n| (*n).to_owned()));
    api
}

fn queued_job(api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks>) -> SendJob {
    let queued = api.queue.messages();
    serde_json::from_str(&queued.last().expect("queued").body).expect("a send job")
}

#[tokio::test]
async fn meta_s_own_message_object_is_accepted_and_sent_as_given() {
    let api = api();
    let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+972 50-437-0045",
        "type": "interactive", "interactive": {"type": "button", "body": {"text": "Choose"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}});
    let response = api.handle(post(&body, &[])).await;
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    let mut expected = body.clone();
    expected["to"] = json!("972504370045");
    assert_eq!(queued_job(&api).payload, expected);

    let too_many = json!({"messaging_product": "whatsapp", "to": "972504370045", "type": "interactive",
        "interactive": {"type": "button", "body": {"text": "Choose"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "1", "title": "A"}}, {"type": "reply", "reply": {"id": "2", "title": "B"}},
            {"type": "reply", "reply": {"id": "3", "title": "C"}}, {"type": "reply", "reply": {"id": "4", "title": "D"}}]}}});
    let response = api.handle(post(&too_many, &[])).await;
    assert_eq!(response.status(), 400);
    assert!(
        error_of(&response).starts_with("interactive.action.buttons: "),
        "{}",
        error_of(&response)
    );
    assert_eq!(api.queue.messages().len(), 1, "nothing queued for the refused one");
}

#[tokio::test]
async fn a_user_known_only_by_id_is_sent_to_as_recipient() {
    let api = api();
    api.store
        .tables()
        .contacts
        .insert("US.13491208655302741918".to_owned(), Utc::now().timestamp() - 60);
    let body = json!({"recipient": "US.13491208655302741918", "type": "text", "body": "Hello"});
    let response = api.handle(post(&body, &[])).await;
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    let job = queued_job(&api);
    assert_eq!(job.to, ContactId::User("US.13491208655302741918".to_owned()));
    assert_eq!(job.payload["recipient"], "US.13491208655302741918");
    assert!(job.payload.get("to").is_none());
}

#[tokio::test]
async fn from_names_a_configured_number_and_the_window_is_kept_per_number() {
    let api = api_with_numbers(&["111", "222"]);
    // The contact wrote to 111 only.
    api.store.tables().windows.insert(
        ("972504370045".to_owned(), "111".to_owned()),
        Utc::now().timestamp() - 60,
    );
    let response = api.handle(post(&text("0504370045"), &[])).await;
    assert_eq!(
        response.status(),
        202,
        "default: the first number, whose window is open"
    );
    assert_eq!(queued_job(&api).from.as_deref(), Some("111"));

    let mut from_second = text("0504370045");
    from_second["from"] = json!("222");
    let response = api.handle(post(&from_second, &[])).await;
    assert_eq!(response.status(), 422, "the window with 222 is closed");

    let mut template = json!({"to": "0504370045", "type": "template", "name": "hello_world", "language": "en_US"});
    template["from"] = json!("222");
    let response = api.handle(post(&template, &[])).await;
    assert_eq!(response.status(), 202);
    let answer: Value = serde_json::from_str(&body_text(&response)).expect("JSON");
    assert_eq!(answer["from"], "222");
    assert_eq!(queued_job(&api).from.as_deref(), Some("222"));

    let mut foreign = text("0504370045");
    foreign["from"] = json!("999");
    let response = api.handle(post(&foreign, &[])).await;
    assert_eq!(response.status(), 400);
    assert!(error_of(&response).starts_with("from: "));
}

#[tokio::test]
async fn a_one_number_deployment_still_finds_windows_recorded_before_they_were_per_number() {
    // `api()` seeds the contact's item only (no per-number window), as an upgraded table has it.
    let api = api_with_numbers(&["111"]);
    let response = api.handle(post(&text("0504370045"), &[])).await;
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    let api = api_with_numbers(&["111", "222"]);
    let response = api.handle(post(&text("0504370045"), &[])).await;
    assert_eq!(
        response.status(),
        422,
        "several numbers: only the number's own window counts"
    );
}

fn jobs(api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks>) -> Vec<SendJob> {
    api.queue
        .messages()
        .iter()
        .map(|message| serde_json::from_str(&message.body).expect("a send job"))
        .collect()
}

/// Hole 5 (issue 21): a client retrying a 202'd free-form message after the window closed got 422,
/// fell back to a template, and the contact got both. The retry gets the first answer.
#[tokio::test]
async fn a_retried_key_gets_its_first_answer_after_the_window_closed() {
    let api = api();
    let key = [("idempotency-key", "order-1042")];
    let first = api.handle(post(&text("0504370045"), &key)).await;
    assert_eq!(first.status(), 202, "{}", body_text(&first));
    // A day and a minute later (the handler reads the wall clock, so the contact's last message
    // moves back instead; the store's clock moves too, for the records it stamps).
    api.store.advance(CUSTOMER_WINDOW_SECONDS + 60);
    api.store.tables().contacts.insert(
        "972504370045".to_owned(),
        Utc::now().timestamp() - CUSTOMER_WINDOW_SECONDS - 60,
    );
    let fresh = api.handle(post(&text("0504370045"), &[])).await;
    assert_eq!(fresh.status(), 422, "the window is closed for a new message");

    let again = api.handle(post(&text("0504370045"), &key)).await;
    assert_eq!(again.status(), 202, "{}", body_text(&again));
    assert_eq!(body_text(&again), body_text(&first), "the same answer, the same id");
    assert_eq!(api.store.tables().outbound.len(), 1, "nothing new stored");
    let jobs = jobs(&api);
    assert!(
        jobs.iter().all(|job| job == &jobs[0]),
        "nothing new queued: the one message again (its claim sends it once): {jobs:?}"
    );

    let other = json!({ "to": "0504370045", "type": "text", "body": "Something else" });
    let conflict = api.handle(post(&other, &key)).await;
    assert_eq!(conflict.status(), 409, "another body under the key is still refused");
    assert_eq!(api.store.tables().outbound.len(), 1);
}

#[tokio::test]
async fn a_refused_request_with_a_new_key_stores_nothing_and_costs_one_read() {
    let api = api();
    let key = [("idempotency-key", "order-1043")];
    let response = api.handle(post(&text("+14155550123"), &key)).await;
    assert_eq!(response.status(), 422);
    assert!(api.store.tables().outbound.is_empty());
    assert!(api.queue.messages().is_empty());
    assert_eq!(api.store.faults.calls("view"), 1, "the one read: is it a retry?");
    assert_eq!(api.store.faults.calls("create_outbound"), 0);
    // Accepted requests read nothing more than before.
    let accepted = api.handle(post(&text("0504370045"), &key)).await;
    assert_eq!(accepted.status(), 202);
    assert_eq!(api.store.faults.calls("view"), 1);
    // A store that cannot say whether it is a retry: 503, as any store failure.
    let api = self::api();
    api.store.faults.fail_next("view", 1, Fault::Transient);
    let response = api.handle(post(&text("+14155550123"), &key)).await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn a_retried_key_gets_its_first_answer_after_the_template_or_the_numbers_changed() {
    use crate::domain::templates::TemplateShape;
    use crate::testing::{FakeTemplates, FakeUploader};

    let shape = |body: &str| {
        TemplateShape::from_graph(&json!({"name": "shipping_update", "language": "en_US",
            "components": [{"type": "BODY", "text": body}]}))
        .expect("a template")
    };
    let templates = FakeTemplates::new(vec![shape("Hi {{1}}, order {{2}} has shipped.")]);
    let mut api = api_with_numbers(&["111", "222"])
        .with_media(None::<FakeUploader>)
        .with_templates(Some(templates.clone()));
    let parameters = vec![json!({"type": "text", "text": "x"}); 2];
    let send = json!({"to": "0504370045", "from": "222", "type": "template", "name": "shipping_update",
        "language": "en_US", "components": [{"type": "body", "parameters": parameters}]});
    let key = [("idempotency-key", "order-1044")];
    let first = api.handle(post(&send, &key)).await;
    assert_eq!(first.status(), 202, "{}", body_text(&first));

    // The template was edited: a new send with two parameters is refused now.
    templates.state().templates = vec![shape("Hi {{1}}, order {{2}} left {{3}}.")];
    assert_eq!(api.handle(post(&send, &[])).await.status(), 400);
    let again = api.handle(post(&send, &key)).await;
    assert_eq!(again.status(), 202, "{}", body_text(&again));
    assert_eq!(body_text(&again), body_text(&first));

    // The number it went out from is no longer configured.
    api.config.phone_numbers = BusinessNumbers::new(["111".to_owned()]);
    assert_eq!(api.handle(post(&send, &[])).await.status(), 400);
    let again = api.handle(post(&send, &key)).await;
    assert_eq!(again.status(), 202, "{}", body_text(&again));
    assert_eq!(body_text(&again), body_text(&first));
    assert_eq!(api.store.tables().outbound.len(), 1);
}

#[tokio::test]
async fn a_path_no_route_has_is_404_and_a_route_s_path_with_another_method_405_before_the_key() {
    let api = api();
    let bearer = format!("Bearer {KEY}");
    let body = text("0504370045").to_string();
    for (method, path, status, allow) in [
        ("POST", "/messages/msg_1", 405, Some("GET")),
        ("PUT", "/messages", 405, Some("POST")),
        ("GET", "/media", 405, Some("POST")),
        ("DELETE", "/contacts/972504370045/messages", 405, Some("GET")),
        ("POST", "/", 404, None),
        ("POST", "/webhooks/whatsapp", 404, None),
        ("GET", "/messages/msg_1/status", 404, None),
    ] {
        for headers in [vec![("authorization", bearer.as_str())], vec![]] {
            let response = api.handle(request(method, path, &headers, body.clone())).await;
            assert_eq!(response.status(), status, "{method} {path}");
            assert_eq!(
                response.headers().get("allow").and_then(|v| v.to_str().ok()),
                allow,
                "{method} {path}"
            );
            assert!(!error_of(&response).is_empty());
        }
    }
    assert!(api.queue.messages().is_empty());
    assert!(api.store.tables().outbound.is_empty());
}

#[tokio::test]
async fn a_trailing_slash_is_the_same_route() {
    let api = api();
    let bearer = format!("Bearer {KEY}");
    let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let response = api
        .handle(request("POST", "/messages/", &headers, text("0504370045").to_string()))
        .await;
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    let answer: Value = serde_json::from_str(&body_text(&response)).expect("JSON");
    let id = answer["id"].as_str().expect("an id");
    let found = api
        .handle(request("GET", &format!("/messages/{id}/"), &headers[..1], ()))
        .await;
    assert_eq!(found.status(), 200, "{}", body_text(&found));
}

#[tokio::test]
async fn metas_message_object_pasted_without_the_product_is_accepted() {
    let api = api();
    for (n, body) in [
        json!({"to": "050-437-0045", "type": "text", "text": {"body": "hi"}}),
        json!({"to": "050-437-0045", "text": {"body": "hi"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let response = api.handle(post(&body, &[])).await;
        assert_eq!(response.status(), 202, "{body}: {}", body_text(&response));
        let job: SendJob = serde_json::from_str(&api.queue.messages()[n].body).expect("a send job");
        assert_eq!(job.payload["messaging_product"], "whatsapp");
        assert_eq!(job.payload["text"]["body"], "hi");
        assert_eq!(job.payload["to"], "972504370045");
    }
    let refused = api
        .handle(post(&json!({"to": "050-437-0045", "type": "text", "text": {}}), &[]))
        .await;
    assert_eq!(refused.status(), 400);
    assert!(body_text(&refused).contains("text.body"), "{}", body_text(&refused));
}
