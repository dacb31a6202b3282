//! `GET /verification-codes`: the codes captured for a number, the latest first, behind the API key;
//! the number from the query, else `TWILIO_PHONE_NUMBER`; a bad number or limit is a 400 naming it.

use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;

use super::{body_text, request, send_api_config};
use crate::config::SendApiConfig;
use crate::domain::ids::CallSid;
use crate::domain::verification::{CaptureMethod, CapturedCode};
use crate::handlers::send_api::SendApi;
use crate::ports::VerificationStore;
use crate::testing::{FakeMediaLinks, FakeQueue, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";
const TWILIO_NUMBER: &str = "+15550783881";

fn api(configured: Option<&str>) -> SendApi<MemoryStore, FakeQueue, FakeMediaLinks> {
    let config = SendApiConfig {
        verification_number: configured.map(str::to_owned),
        ..send_api_config(KEY)
    };
    SendApi::new(config, MemoryStore::new(), FakeQueue::new(), None)
}

async fn capture(api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks>, call: &str, code: &str, to: &str, minute: i64) {
    let captured = CapturedCode {
        call_sid: CallSid::new(call),
        code: code.to_owned(),
        method: CaptureMethod::Speech,
        confidence: Some(0.93),
        heard: Some(format!("your code is {code}")),
        from: Some("+16505550100".to_owned()),
        to: Some(to.to_owned()),
        received_at: Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).single().expect("a time") + Duration::minutes(minute),
    };
    api.store.verification.record_code(&captured).await.expect("recorded");
}

async fn get(api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks>, uri: &str, key: &str) -> (u16, Value) {
    let bearer = format!("Bearer {key}");
    let response = api
        .handle(request("GET", uri, &[("authorization", bearer.as_str())], ()))
        .await;
    let body = body_text(&response);
    let parsed = serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {body}"));
    (response.status().as_u16(), parsed)
}

fn codes(body: &Value) -> Vec<&str> {
    body["codes"]
        .as_array()
        .map(|codes| codes.iter().filter_map(|code| code["code"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_configured_number_s_codes_are_listed_latest_first() {
    let api = api(Some(TWILIO_NUMBER));
    capture(&api, "CA01", "111111", "+1 (555) 078-3881", 0).await;
    capture(&api, "CA02", "222222", "15550783881", 5).await;
    capture(&api, "CA03", "333333", "+15550000000", 9).await;
    let (status, body) = get(&api, "/verification-codes", KEY).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), ["222222", "111111"], "{body}");
    assert_eq!(body["number"], TWILIO_NUMBER);
    let latest = &body["codes"][0];
    assert_eq!(
        (
            latest["captured_by"].as_str(),
            latest["call_sid"].as_str(),
            latest["received_at"].as_str()
        ),
        (Some("speech"), Some("CA02"), Some("2026-12-06T10:05:00.000Z"))
    );
    assert_eq!(latest["heard"], "your code is 222222");
    let (status, body) = get(&api, "/verification-codes?limit=1", KEY).await;
    assert_eq!((status, codes(&body)), (200, vec!["222222"]));
    // Another number, named in the query.
    let (status, body) = get(&api, "/verification-codes?number=%2B15550000000", KEY).await;
    assert_eq!((status, codes(&body)), (200, vec!["333333"]));
}

#[tokio::test]
async fn a_bad_number_or_limit_is_a_400_no_number_a_422_and_a_wrong_key_401() {
    let api = api(None);
    capture(&api, "CA01", "111111", TWILIO_NUMBER, 0).await;
    let (status, body) = get(&api, "/verification-codes", KEY).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().starts_with("number:"),
        "{body}"
    );
    let (status, body) = get(&api, "/verification-codes?number=abc", KEY).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("number"), "{body}");
    let (status, body) = get(&api, "/verification-codes?number=15550783881&limit=0", KEY).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&api, "/verification-codes?number=15550783881", "not-the-key-at-all-000").await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.to_string().contains("111111"));
    let (status, body) = get(&api, "/verification-codes?number=15550783881", KEY).await;
    assert_eq!((status, codes(&body)), (200, vec!["111111"]));
}

#[tokio::test]
async fn a_store_outage_is_a_503() {
    let api = api(Some(TWILIO_NUMBER));
    api.store
        .verification
        .faults
        .fail_next("latest_codes", 1, crate::testing::Fault::Transient);
    let (status, body) = get(&api, "/verification-codes", KEY).await;
    assert_eq!(status, 503, "{body}");
}
