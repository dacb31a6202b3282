//! `GET /contacts` against the in-memory store (the DynamoDB adapter's listing rules): the list by
//! last activity, a send moving its contact forward, paging, and every refusal.

use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::SendApiConfig;
use crate::domain::ids::PhoneNumberId;
use crate::domain::records::{BusinessNumbers, ContactActivity};
use crate::handlers::send_api::SendApi;
use crate::handlers::tests::send_api_config;
use crate::ports::MessageStore;
use crate::testing::{FakeMediaLinks, FakeQueue, Fault, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";

type Api = SendApi<MemoryStore, FakeQueue, FakeMediaLinks>;

fn api() -> Api {
    let config = SendApiConfig {
        default_country_code: Some("972".to_owned()),
        phone_numbers: BusinessNumbers::new(["222".to_owned()]),
        retention_days: 30,
        ..send_api_config(KEY)
    };
    SendApi::new(
        config,
        MemoryStore::new(),
        FakeQueue::new(),
        Some(FakeMediaLinks::new()),
    )
}

fn authorized(method: &str, uri: &str, body: Option<&Value>) -> lambda_http::Request {
    let bearer = format!("Bearer {KEY}");
    let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    request(method, uri, &headers, body.map(Value::to_string).unwrap_or_default())
}

async fn answer(api: &Api, uri: &str) -> (u16, Value) {
    let response = api.handle(authorized("GET", uri, None)).await;
    let body = serde_json::from_str(&body_text(&response)).expect("a JSON body");
    (response.status().as_u16(), body)
}

/// `key` wrote `body` `ago` seconds before now, to business number 222.
async fn wrote(api: &Api, key: &str, name: &str, ago: i64, body: &str) {
    let at = chrono::Utc::now().timestamp() - ago;
    api.store
        .record_contact_activity(&ContactActivity {
            key: key.to_owned(),
            wa_id: Some(key.to_owned()),
            user_id: None,
            profile_name: Some(name.to_owned()),
            username: Some(format!("{name}_user")),
            phone_number_id: Some(PhoneNumberId::new("222")),
            last_inbound_at: at,
            last_inbound_wamid: format!("wamid.{key}.{at}"),
            kind: "text".to_owned(),
            preview: body.to_owned(),
        })
        .await
        .expect("recorded");
}

#[tokio::test]
async fn contacts_are_listed_by_last_activity_with_their_windows() {
    let api = api();
    // The fake's clock is fixed (2027); recorded times are now's, so set it to now.
    let now = chrono::Utc::now().timestamp();
    api.store.advance(now - api.store.now());
    wrote(&api, "972500000001", "<img src=x onerror=alert(1)>", 3_600, "hello").await;
    wrote(&api, "972500000002", "Bob", 25 * 3_600, "from yesterday").await;
    let (status, body) = answer(&api, "/contacts").await;
    assert_eq!(status, 200, "{body}");
    let contacts = body["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 2);
    let first = &contacts[0];
    assert_eq!(first["contact"], "972500000001");
    assert_eq!(first["phone_number"], "972500000001");
    assert_eq!(
        first["name"], "<img src=x onerror=alert(1)>",
        "kept as data, as written"
    );
    assert_eq!(first["username"], "<img src=x onerror=alert(1)>_user");
    assert_eq!(first["last_message"]["direction"], "inbound");
    assert_eq!(first["last_message"]["preview"], "hello");
    assert_eq!(first["window"]["open"], true);
    let left = first["window"]["seconds_left"].as_i64().expect("seconds");
    assert!((23 * 3_600 - 5..=23 * 3_600).contains(&left), "{left}");
    assert_eq!(first["windows"][0]["phone_number_id"], "222");
    assert_eq!(contacts[1]["window"], json!({"open": false, "seconds_left": 0}));
    assert_eq!(body["next_cursor"], Value::Null);

    // A reply moves Bob to the front, as outbound, whatever his window (a template).
    let template = json!({"to": "972500000002", "type": "template", "name": "hello_world", "language": "en_US"});
    let sent = api.handle(authorized("POST", "/messages", Some(&template))).await;
    assert_eq!(sent.status(), 202, "{}", body_text(&sent));
    let (_, body) = answer(&api, "/contacts?limit=1").await;
    assert_eq!(body["contacts"][0]["contact"], "972500000002");
    assert_eq!(body["contacts"][0]["last_message"]["direction"], "outbound");
    assert_eq!(body["contacts"][0]["last_message"]["type"], "template");
    assert_eq!(body["contacts"][0]["last_message"]["preview"], "hello_world");
    let cursor = body["next_cursor"].as_str().expect("a next page").to_owned();
    let (status, next) = answer(&api, &format!("/contacts?limit=1&cursor={cursor}")).await;
    assert_eq!(status, 200);
    assert_eq!(next["contacts"][0]["contact"], "972500000001");
    assert_eq!(next["next_cursor"], Value::Null, "no empty page after the last");
}

#[tokio::test]
async fn refusals_name_the_parameter_and_a_store_failure_is_503() {
    let api = api();
    wrote(&api, "972500000001", "Ann", 60, "hi").await;
    let unauthorized = api.handle(request("GET", "/contacts", &[], ())).await;
    assert_eq!(unauthorized.status(), 401);
    let wrong = api
        .handle(request(
            "GET",
            "/contacts",
            &[("authorization", "Bearer nope-nope-nope-nope")],
            (),
        ))
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(!body_text(&wrong).contains("972500000001"));
    for (uri, error) in [
        ("/contacts?limit=0", "limit: "),
        ("/contacts?limit=101", "limit: "),
        ("/contacts?limit=x", "limit: "),
        ("/contacts?cursor=abc", "cursor: "),
    ] {
        let (status, body) = answer(&api, uri).await;
        assert_eq!(status, 400, "{uri}");
        assert!(
            body["error"].as_str().unwrap_or_default().starts_with(error),
            "{uri}: {body}"
        );
    }
    // A conversation's cursor is not this list's (and the other way round).
    for key in ["972500000002", "972500000003"] {
        wrote(&api, key, "X", 30, "hi").await;
    }
    let (_, page) = answer(&api, "/contacts?limit=1").await;
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    let (status, _) = answer(&api, &format!("/contacts/972500000001/messages?cursor={cursor}")).await;
    assert_eq!(status, 400);
    let method = api.handle(authorized("POST", "/contacts", None)).await;
    assert_eq!(method.status(), 405);
    for fault in [Fault::Transient, Fault::Permanent] {
        api.store.faults.fail_next("contacts", 1, fault);
        let (status, body) = answer(&api, "/contacts").await;
        assert_eq!(status, 503, "{body}");
    }
}
