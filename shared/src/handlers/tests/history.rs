//! `GET /contacts/{contact}/messages` and the media link of `GET /messages/{id}`, against the
//! in-memory store (the DynamoDB adapter's listing rules) and the fake link signer.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::SendApiConfig;
use crate::domain::ids::{ContactId, PhoneNumberId, Wamid};
use crate::domain::records::{BusinessNumbers, InboundRecord, Received, StatusRecord};
use crate::domain::send_request::MessageKind;
use crate::domain::status::DeliveryStatus;
use crate::domain::webhook::Content;
use crate::handlers::send_api::SendApi;
use crate::handlers::tests::send_api_config;
use crate::ports::MessageStore;
use crate::sends::SendMachine;
use crate::testing::{FakeMediaLinks, FakeQueue, Fault, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";
const CONTACT: &str = "972504370045";

type Api = SendApi<MemoryStore, FakeQueue, FakeMediaLinks>;

fn api() -> Api {
    let config = SendApiConfig {
        default_country_code: Some("972".to_owned()),
        phone_numbers: BusinessNumbers::new(["222".to_owned()]),
        retention_days: 30,
        media_bucket: Some("payloads".to_owned()),
        ..send_api_config(KEY)
    };
    let store = MemoryStore::new();
    // The contact wrote: free-form sends are allowed (the window is per number).
    store
        .tables()
        .windows
        .insert((CONTACT.to_owned(), "222".to_owned()), chrono::Utc::now().timestamp());
    SendApi::new(config, store, FakeQueue::new(), Some(FakeMediaLinks::new()))
}

fn get(uri: &str) -> lambda_http::Request {
    request("GET", uri, &[("authorization", &format!("Bearer {KEY}"))], ())
}

async fn answer(api: &Api, uri: &str) -> (u16, Value) {
    let response = api.handle(get(uri)).await;
    let body = serde_json::from_str(&body_text(&response)).expect("a JSON body");
    (response.status().as_u16(), body)
}

fn inbound(wamid: &str, from: &str, at: i64, content: Content) -> InboundRecord {
    InboundRecord {
        wamid: crate::domain::ids::Wamid::new(wamid),
        phone_number_id: Some(PhoneNumberId::new("222")),
        display_phone_number: None,
        wa_id: Some(from.to_owned()),
        user_id: None,
        profile_name: None,
        username: None,
        kind: match &content {
            Content::Media { kind, .. } => kind.clone(),
            _ => "text".to_owned(),
        },
        timestamp: Some(at),
        content,
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: "req".to_owned(),
        },
        imported: false,
    }
}

fn text(body: &str) -> Content {
    Content::Text { body: body.to_owned() }
}

fn image(caption: &str) -> Content {
    Content::Media {
        kind: "image".to_owned(),
        media: serde_json::from_value(json!({ "id": "7712345", "mime_type": "image/jpeg", "caption": caption }))
            .expect("media"),
    }
}

/// A send through the API, one clock second later.
async fn send(api: &Api, body: &str) -> String {
    api.store.advance(1);
    let request = request(
        "POST",
        "/messages",
        &[
            ("authorization", &format!("Bearer {KEY}")),
            ("content-type", "application/json"),
        ],
        json!({ "to": CONTACT, "type": "text", "body": body }).to_string(),
    );
    let response = api.handle(request).await;
    assert_eq!(response.status(), 202, "{}", body_text(&response));
    let answer: Value = serde_json::from_str(&body_text(&response)).expect("JSON");
    answer["id"].as_str().expect("id").to_owned()
}

/// 25 inbound and 25 outbound messages, alternating, one second apart; answers the ids, oldest first.
async fn conversation_of_fifty(api: &Api) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..25 {
        api.store.advance(1);
        let wamid = format!("wamid.IN{n:02}");
        api.store
            .record_inbound(&inbound(&wamid, CONTACT, api.store.now(), text(&format!("in {n}"))))
            .await
            .expect("recorded");
        ids.push(wamid);
        ids.push(send(api, &format!("out {n}")).await);
    }
    ids
}

fn entry_id(entry: &Value) -> String {
    entry["id"]
        .as_str()
        .or_else(|| entry["wamid"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn fifty_messages_page_newest_first_without_gaps_or_repeats() {
    let api = api();
    let mut expected = conversation_of_fifty(&api).await;
    expected.reverse();
    let mut seen = Vec::new();
    let mut uri = format!("/contacts/{CONTACT}/messages?limit=7");
    let mut pages = 0;
    loop {
        let (status, page) = answer(&api, &uri).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["contact"], CONTACT);
        let entries = page["messages"].as_array().expect("messages");
        assert!(entries.len() <= 7);
        seen.extend(entries.iter().map(entry_id));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/contacts/{CONTACT}/messages?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 8, "50 entries in pages of 7");
    assert_eq!(seen, expected, "newest first, every message once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 50);
}

#[tokio::test]
async fn entries_carry_direction_status_type_content_and_time() {
    let api = api();
    api.store.advance(1);
    api.store
        .record_inbound(&inbound("wamid.HI", CONTACT, api.store.now(), text("hello")))
        .await
        .expect("recorded");
    let id = send(&api, "hi back").await;
    let (status, page) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    assert_eq!(status, 200);
    let entries = page["messages"].as_array().expect("messages");
    assert_eq!(entries.len(), 2);
    assert_eq!(page["next_cursor"], Value::Null, "one page: no cursor");
    let (out, inb) = (&entries[0], &entries[1]);
    assert_eq!(out["direction"], "outbound");
    assert_eq!(out["id"], id.as_str());
    assert_eq!(out["status"], "queued");
    assert_eq!(out["type"], "text");
    assert_eq!(out["content"], json!({ "body": "hi back" }));
    assert_eq!(out["phone_number_id"], "222");
    assert_eq!(inb["direction"], "inbound");
    assert_eq!(inb["wamid"], "wamid.HI");
    assert_eq!(inb["status"], "received");
    assert_eq!(inb["content"], json!({ "body": "hello" }));
    assert_eq!(inb["timestamp"], "2027-01-15T08:00:01.000Z");
    assert_eq!(out["timestamp"], "2027-01-15T08:00:02.000Z");
}

#[tokio::test]
async fn a_send_meta_reports_on_is_listed_once_with_metas_status() {
    let api = api();
    let id = send(&api, "tracked").await;
    let message_id = crate::domain::ids::MessageId::new(&id);
    let wamid = Wamid::new("wamid.SENT");
    api.store
        .mark_accepted(
            &message_id,
            None,
            Some(crate::ports::Sent {
                to: &ContactId::Phone(CONTACT.to_owned()),
                kind: MessageKind::Text,
            }),
            Some(&wamid),
        )
        .await
        .expect("accepted");
    api.store
        .record_status(&StatusRecord {
            wamid: crate::domain::ids::Wamid::new("wamid.SENT"),
            status_name: "read".to_owned(),
            status: DeliveryStatus::parse("read"),
            timestamp: Some(api.store.now()),
            phone_number_id: Some(PhoneNumberId::new("222")),
            recipient_id: Some(CONTACT.to_owned()),
            recipient_user_id: None,
            conversation: None,
            pricing: None,
            errors: Vec::new(),
            biz_opaque_callback_data: None,
            raw: "{}".to_owned(),
            received: Received {
                at: chrono::Utc::now(),
                request_id: "req".to_owned(),
            },
        })
        .await
        .expect("status");
    let (_, page) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    let entries = page["messages"].as_array().expect("messages");
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["status"], "read");
    assert_eq!(entries[0]["wamid"], "wamid.SENT");
}

#[tokio::test]
async fn the_contact_is_normalized_as_a_send_s_to_and_others_are_not_listed() {
    let api = api();
    api.store
        .record_inbound(&inbound("wamid.A", CONTACT, 1, text("mine")))
        .await
        .expect("recorded");
    api.store
        .record_inbound(&inbound("wamid.B", "14155550123", 2, text("someone else")))
        .await
        .expect("recorded");
    for written in ["972504370045", "%2B972%2050-437-0045", "050-437-0045", "0504370045"] {
        let (status, page) = answer(&api, &format!("/contacts/{written}/messages")).await;
        assert_eq!(status, 200, "{written}: {page}");
        assert_eq!(page["contact"], CONTACT, "{written}");
        let entries = page["messages"].as_array().expect("messages");
        assert_eq!(entries.len(), 1, "{written}");
        assert_eq!(entries[0]["wamid"], "wamid.A");
    }
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_400_naming_it() {
    let api = api();
    conversation_of_fifty(&api).await;
    for limit in ["0", "101", "abc", "-3", "", "2.5"] {
        let (status, body) = answer(&api, &format!("/contacts/{CONTACT}/messages?limit={limit}")).await;
        assert_eq!(status, 400, "limit={limit}");
        assert!(
            body["error"].as_str().unwrap_or_default().starts_with("limit:"),
            "{body}"
        );
    }
    let (_, first) = answer(&api, &format!("/contacts/{CONTACT}/messages?limit=5")).await;
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    for bad in [tampered.as_str(), "garbage", "e30.AAAAAAAAAAAAAAAAAAAAAA"] {
        let (status, body) = answer(&api, &format!("/contacts/{CONTACT}/messages?cursor={bad}")).await;
        assert_eq!(status, 400, "cursor={bad}");
        assert!(
            body["error"].as_str().unwrap_or_default().starts_with("cursor:"),
            "{body}"
        );
    }
    // A cursor of this contact's conversation, presented for another contact: refused.
    let (status, body) = answer(&api, &format!("/contacts/14155550123/messages?cursor={cursor}")).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap_or_default().starts_with("cursor:"),
        "{body}"
    );
    // The genuine cursor still works.
    let (status, _) = answer(&api, &format!("/contacts/{CONTACT}/messages?limit=5&cursor={cursor}")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_bad_contact_is_a_400_naming_it_and_the_key_is_required() {
    let api = api();
    for contact in ["12", "US%20x", "abc", "%zz"] {
        let (status, body) = answer(&api, &format!("/contacts/{contact}/messages")).await;
        assert_eq!(status, 400, "{contact}");
        assert!(
            body["error"].as_str().unwrap_or_default().starts_with("contact:"),
            "{body}"
        );
    }
    let anonymous = request("GET", &format!("/contacts/{CONTACT}/messages"), &[], ());
    assert_eq!(api.handle(anonymous).await.status(), 401);
    let wrong = request(
        "GET",
        &format!("/contacts/{CONTACT}/messages"),
        &[("authorization", "Bearer another-key-0000000")],
        (),
    );
    assert_eq!(api.handle(wrong).await.status(), 401);
}

#[tokio::test]
async fn a_business_scoped_user_id_is_a_contact() {
    let api = api();
    let mut record = inbound("wamid.U", "x", 1, text("from a user id"));
    record.wa_id = None;
    record.user_id = Some("US.13491208655302741918".to_owned());
    api.store.record_inbound(&record).await.expect("recorded");
    let (status, page) = answer(&api, "/contacts/US.13491208655302741918/messages").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["messages"][0]["wamid"], "wamid.U");
}

#[tokio::test]
async fn the_store_failing_is_a_503() {
    let api = api();
    api.store.faults.fail_next("conversation", 1, Fault::Transient);
    let (status, _) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn stored_media_gets_a_fifteen_minute_link_in_the_history_and_by_id() {
    let api = api();
    api.store
        .record_inbound(&inbound("wamid.IMG", CONTACT, 5, image("look")))
        .await
        .expect("recorded");
    // Before the worker stored the bytes: Meta's facts, no link.
    let (_, page) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    let media = &page["messages"][0]["media"];
    assert_eq!(media["id"], "7712345");
    assert_eq!(media["url"], Value::Null, "{page}");

    api.store
        .set_media("wamid.IMG", Some("media/222/wamid.IMG/7712345"), None);
    let (_, page) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    let entry = &page["messages"][0];
    assert_eq!(entry["content"], json!({ "caption": "look" }));
    assert_eq!(
        entry["media"]["url"],
        "https://media.test/media/222/wamid.IMG/7712345?ttl=900"
    );
    assert_eq!(entry["media"]["mime_type"], "image/jpeg");
    // Signed at the fake's epoch second + 900 s.
    assert_eq!(entry["media"]["url_expires_at"], "2027-01-15T08:15:00Z");
    assert!(entry["media"].get("s3_key").is_none(), "the key itself is not shown");

    let (status, view) = answer(&api, "/messages/wamid.IMG").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["direction"], "inbound");
    assert_eq!(
        view["media"]["url"],
        "https://media.test/media/222/wamid.IMG/7712345?ttl=900"
    );
    assert_eq!(api.links.as_ref().expect("links").linked().len(), 2);
}

#[tokio::test]
async fn a_media_error_is_shown_and_a_failing_signer_leaves_the_link_out() {
    let api = api();
    api.store
        .record_inbound(&inbound("wamid.BAD", CONTACT, 5, image("x")))
        .await
        .expect("recorded");
    api.store.set_media("wamid.BAD", None, Some("media id refused by Meta"));
    api.store
        .record_inbound(&inbound("wamid.OK", CONTACT, 6, image("y")))
        .await
        .expect("recorded");
    api.store
        .set_media("wamid.OK", Some("media/222/wamid.OK/7712345"), None);
    api.links
        .as_ref()
        .expect("links")
        .faults
        .fail_next("link", 1, Fault::Transient);
    let (status, page) = answer(&api, &format!("/contacts/{CONTACT}/messages")).await;
    assert_eq!(status, 200, "the page is served without the link");
    assert_eq!(page["messages"][0]["wamid"], "wamid.OK");
    assert_eq!(page["messages"][0]["media"]["url"], Value::Null);
    assert_eq!(page["messages"][1]["media"]["error"], "media id refused by Meta");
    assert_eq!(page["messages"][1]["media"]["url"], Value::Null);
}
