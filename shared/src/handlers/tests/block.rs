//! `POST|DELETE|GET /contacts/{contact}/block` against the in-memory blocklist: the contact as the
//! bundle keys it, the business number, and every refusal of Meta's mapped to its answer.

use std::collections::HashMap;

use lambda_http::RequestExt;
use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::SendApiConfig;
use crate::domain::blocklist::BlockAction;
use crate::domain::graph_error::GraphError;
use crate::domain::records::BusinessNumbers;
use crate::handlers::send_api::SendApi;
use crate::handlers::tests::send_api_config;
use crate::ports::{Absent, BlockFailure};
use crate::testing::{FakeBlocklist, FakeMediaLinks, FakeQueue, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";
const FIRST: &str = "106540352242922";
const SECOND: &str = "106540352242923";

type Api = SendApi<MemoryStore, FakeQueue, FakeMediaLinks, Absent, Absent, FakeBlocklist>;

fn config() -> SendApiConfig {
    SendApiConfig {
        default_country_code: Some("972".to_owned()),
        phone_numbers: BusinessNumbers::new([FIRST.to_owned(), SECOND.to_owned()]),
        ..send_api_config(KEY)
    }
}

fn api() -> (Api, FakeBlocklist) {
    let blocklist = FakeBlocklist::new();
    let api = SendApi::new(config(), MemoryStore::new(), FakeQueue::new(), None::<FakeMediaLinks>)
        .with_blocklist(Some(blocklist.clone()));
    (api, blocklist)
}

fn call(method: &str, contact: &str, from: Option<&str>) -> lambda_http::Request {
    let bearer = format!("Bearer {KEY}");
    let request = request(
        method,
        &format!("/contacts/{contact}/block"),
        &[("authorization", bearer.as_str())],
        (),
    );
    match from {
        Some(from) => request.with_query_string_parameters(HashMap::from([("from".to_owned(), from.to_owned())])),
        None => request,
    }
}

async fn answer<B: crate::ports::Blocklist>(
    api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks, Absent, Absent, B>,
    request: lambda_http::Request,
) -> (u16, Value) {
    let response = api.handle(request).await;
    let body = serde_json::from_str(&body_text(&response)).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

fn error_text(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_contact_is_blocked_read_and_unblocked_on_the_default_number() {
    let (api, blocklist) = api();
    // National form, with the default country code: keyed as the bundle keys contacts.
    let (status, body) = answer(&api, call("POST", "050-123-4567", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"contact": "972501234567", "from": FIRST, "blocked": true}));
    let (status, body) = answer(&api, call("GET", "%2B972501234567", None)).await;
    assert_eq!((status, &body["blocked"]), (200, &json!(true)));
    // Not on the other number.
    let (_, body) = answer(&api, call("GET", "972501234567", Some(SECOND))).await;
    assert_eq!(body["blocked"], json!(false));
    let (status, body) = answer(&api, call("DELETE", "972501234567", None)).await;
    assert_eq!((status, &body["blocked"]), (200, &json!(false)));
    let (_, body) = answer(&api, call("GET", "972501234567", None)).await;
    assert_eq!(body["blocked"], json!(false));
    assert_eq!(
        blocklist.state().changes,
        vec![
            (FIRST.to_owned(), "972501234567".to_owned(), BlockAction::Block),
            (FIRST.to_owned(), "972501234567".to_owned(), BlockAction::Unblock),
        ]
    );
}

#[tokio::test]
async fn a_business_scoped_user_id_and_another_number() {
    let (api, blocklist) = api();
    let (status, body) = answer(&api, call("POST", "US.13491208655302741918", Some(SECOND))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contact"], "US.13491208655302741918");
    assert_eq!(body["from"], SECOND);
    assert!(
        blocklist
            .state()
            .blocked
            .contains(&(SECOND.to_owned(), "US.13491208655302741918".to_owned()))
    );
    let (status, body) = answer(&api, call("POST", "972501234567", Some("999"))).await;
    assert_eq!(status, 400);
    assert!(error_text(&body).starts_with("from:"), "{body}");
}

#[tokio::test]
async fn a_contact_who_did_not_write_in_24_hours_is_422_with_meta_s_reason() {
    let (api, blocklist) = api();
    blocklist.state().silent.insert("972501234567".to_owned());
    let (status, body) = answer(&api, call("POST", "972501234567", None)).await;
    assert_eq!(status, 422, "{body}");
    let text = error_text(&body);
    assert!(text.contains("last 24 hours"), "{text}");
    assert!(
        text.contains("(#131047) Re-engagement required: User has not messaged in the last 24 hours"),
        "{text}"
    );
    assert!(blocklist.state().blocked.is_empty());
}

#[tokio::test]
async fn every_other_failure_of_meta_s_is_mapped_once() {
    fn refused(http_status: u16, code: i64, message: &str) -> BlockFailure {
        BlockFailure::Refused(Box::new(GraphError {
            http_status,
            code: Some(code),
            message: Some(message.to_owned()),
            ..GraphError::default()
        }))
    }
    type Case = (fn() -> BlockFailure, u16, &'static str);
    let cases: [Case; 6] = [
        (|| refused(400, 131021, "Self Block"), 422, "(#131021) Self Block"),
        (|| refused(400, 139101, "Blocklist limit reached"), 422, "(#139101)"),
        (
            || refused(400, 100, "Invalid parameter"),
            400,
            "(#100) Invalid parameter",
        ),
        (|| refused(401, 190, "Session has expired"), 503, "retry later"),
        (|| refused(400, 130429, "Rate limit hit"), 503, "retry later"),
        (|| BlockFailure::Unavailable("timed out".to_owned()), 503, "retry later"),
    ];
    for (method, (failure, status, words)) in ["POST", "DELETE", "GET", "POST", "DELETE", "GET"]
        .into_iter()
        .zip(cases)
    {
        let (api, blocklist) = api();
        blocklist.state().fail_next = Some(failure);
        let (got, body) = answer(&api, call(method, "972501234567", None)).await;
        assert_eq!(got, status, "{method}: {body}");
        assert!(error_text(&body).contains(words), "{method}: {body}");
        // Nothing internal in a 503.
        if status == 503 {
            assert_eq!(error_text(&body), "temporarily unavailable, retry later");
        }
    }
}

#[tokio::test]
async fn a_blocklist_longer_than_one_read_is_null() {
    let (api, blocklist) = api();
    blocklist.state().too_long = true;
    let (status, body) = answer(&api, call("GET", "972501234567", None)).await;
    assert_eq!((status, &body["blocked"]), (200, &Value::Null));
}

#[tokio::test]
async fn requests_refused_before_meta_is_asked() {
    let (api, blocklist) = api();
    let cases = [
        (call("POST", "not-a-number", None), 400, "contact:"),
        (call("POST", "%ZZ", None), 400, "contact:"),
        (call("PUT", "972501234567", None), 405, "GET, POST, DELETE"),
        (
            request(
                "POST",
                "/contacts/972501234567/block",
                &[("authorization", "Bearer wrong")],
                (),
            ),
            401,
            "API key",
        ),
    ];
    for (request, status, words) in cases {
        let (got, body) = answer(&api, request).await;
        assert_eq!(got, status, "{body}");
        assert!(error_text(&body).contains(words), "{body}");
    }
    assert!(blocklist.state().changes.is_empty());
    // Without an access token there is no blocklist: 503.
    let unconfigured = SendApi::new(config(), MemoryStore::new(), FakeQueue::new(), None::<FakeMediaLinks>);
    let (status, body) = answer(&unconfigured, call("POST", "972501234567", None)).await;
    assert_eq!(
        (status, error_text(&body)),
        (503, "temporarily unavailable, retry later")
    );
}
