//! Conversation history against the AWS emulator: inbound messages recorded by the worker from
//! signed webhooks, sends through `POST /messages` → queue → worker → the Graph API stand-in →
//! status webhooks, then `GET /contacts/{contact}/messages` paged to the end; and a media link
//! presigned for an object in the bucket, fetched over HTTP.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use bridge::adapters::dynamodb::{MESSAGE_SK, message_pk};
use integration_tests::*;
use serde_json::{Value, json};

const API_KEY: &str = "test-history-api-key-0123456789";

struct Loop(SendLoop);

impl std::ops::Deref for Loop {
    type Target = SendLoop;

    fn deref(&self) -> &SendLoop {
        &self.0
    }
}

async fn setup() -> Loop {
    let mut options = LoopOptions::new("history", API_KEY);
    options.vars = vec![
        ("WHATSAPP_LOOP_PHONE_NUMBER_IDS", ""),
        // No pacing between sends to one contact: 26 sends in a row.
        ("SEND_PACE_SECONDS", "0"),
        ("EVENT_BUS_NAME", ""),
    ];
    Loop(SendLoop::start(options).await)
}

impl Loop {
    async fn history(&self, contact: &str, query: &str) -> (u16, Value) {
        self.call("GET", &format!("/contacts/{contact}/messages"), query, &[], b"")
            .await
    }

    async fn webhook(&self, body: &[u8]) {
        let response = self
            .ingest
            .handle(signed_webhook(&self.emu.env["WHATSAPP_APP_SECRET"], body, false))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Every page of the contact's conversation, `limit` at a time: the entries, and the page count.
    async fn every_page(&self, contact: &str, limit: u32) -> (Vec<Value>, usize) {
        let mut entries = Vec::new();
        let mut query = format!("limit={limit}");
        for pages in 1..=100 {
            let (status, page) = self.history(contact, &query).await;
            assert_eq!(status, 200, "{page}");
            let listed = page["messages"].as_array().unwrap();
            assert!(listed.len() <= limit as usize);
            entries.extend(listed.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit={limit}&cursor={cursor}"),
                None => return (entries, pages),
            }
        }
        panic!("more than 100 pages");
    }
}

fn id_of(entry: &Value) -> String {
    entry["id"]
        .as_str()
        .or_else(|| entry["wamid"].as_str())
        .unwrap()
        .to_owned()
}

/// A contact of this test alone (the emulator's table outlives a test run): 15 digits, the last
/// 12 from the clock's seconds and microseconds and this process's counter.
fn contact() -> String {
    let digits = unique("").replace('.', "");
    format!("972{}", &digits[digits.len() - 12..])
}

#[tokio::test]
async fn fifty_two_messages_in_both_directions_page_newest_first_without_gaps_or_repeats() {
    let test = setup().await;
    let contact = contact();
    let mut written = Vec::new();
    let mut first_inbound = None;
    for n in 0..26 {
        let wamid = unique("wamid.IN");
        let body = text_webhook(
            LOOP_PHONE_NUMBER_ID,
            &wamid,
            &contact,
            chrono::Utc::now().timestamp(),
            &format!("in {n}"),
        );
        test.webhook(&body).await;
        test.drain().await;
        first_inbound.get_or_insert(body);
        written.push(wamid);
        let send = json!({ "to": format!("+{contact}"), "type": "text", "body": format!("out {n}") });
        let (status, answer) = test
            .call("POST", "/messages", "", &[], send.to_string().as_bytes())
            .await;
        assert_eq!(status, 202, "{answer}");
        written.push(answer["id"].as_str().unwrap().to_owned());
        // The send goes out, the stand-in's sent/delivered/read webhooks come back and are recorded.
        test.drain().await;
    }
    // Meta redelivers the first webhook: recorded once, listed once.
    test.webhook(first_inbound.as_ref().unwrap()).await;
    test.drain().await;

    // The index is eventually consistent (moto: at once); a few tries at most.
    let mut listed = Vec::new();
    let mut pages = 0;
    for _ in 0..20 {
        (listed, pages) = test.every_page(&contact, 7).await;
        if listed.len() >= written.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ids: Vec<String> = listed.iter().map(id_of).collect();
    assert_eq!(ids.len(), 52, "{ids:?}");
    assert_eq!(pages, 8, "52 entries in pages of 7");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 52, "no entry twice: {ids:?}");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>(),
        written.iter().collect::<HashSet<_>>(),
        "every message written, nothing else"
    );
    let times: Vec<&str> = listed
        .iter()
        .map(|entry| entry["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first: {times:?}"
    );
    // Both directions, as written: the newest is the last send.
    assert_eq!(ids[0], written[51]);
    assert_eq!(ids[51], written[0]);
    let inbound: Vec<&Value> = listed.iter().filter(|e| e["direction"] == "inbound").collect();
    let outbound: Vec<&Value> = listed.iter().filter(|e| e["direction"] == "outbound").collect();
    assert_eq!((inbound.len(), outbound.len()), (26, 26));
    for entry in &inbound {
        assert_eq!(entry["status"], "received");
        assert_eq!(entry["type"], "text");
        assert!(entry["content"]["body"].as_str().unwrap().starts_with("in "), "{entry}");
        assert_eq!(entry["phone_number_id"], LOOP_PHONE_NUMBER_ID);
    }
    for entry in &outbound {
        // The stand-in reports sent, delivered, read: the send shows Meta's latest status, with its wamid.
        assert_eq!(entry["status"], "read", "{entry}");
        assert!(entry["wamid"].as_str().unwrap().starts_with("wamid."), "{entry}");
        assert!(
            entry["content"]["body"].as_str().unwrap().starts_with("out "),
            "{entry}"
        );
        assert_eq!(entry["phone_number_id"], LOOP_PHONE_NUMBER_ID, "{entry}");
    }

    // Paging by the largest page gives the same list.
    let (all, pages) = test.every_page(&contact, 100).await;
    assert_eq!(pages, 1);
    assert_eq!(all.iter().map(id_of).collect::<Vec<_>>(), ids);

    // A cursor of this conversation is refused for another contact (400 naming it).
    let (_, first) = test.history(&contact, "limit=5").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, body) = test.history("972520000001", &format!("cursor={cursor}")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("cursor:"), "{body}");
}

#[tokio::test]
async fn a_stored_media_object_is_linked_for_fifteen_minutes_and_the_link_fetches_its_bytes() {
    let test = setup().await;
    let contact = contact();
    let wamid = unique("wamid.IMG");
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":LOOP_PHONE_NUMBER_ID},
        "contacts":[{"profile":{"name":"Test User"},"wa_id":contact}],
        "messages":[{"from":contact,"id":wamid,"timestamp":chrono::Utc::now().timestamp().to_string(),"type":"image",
            "image":{"id":"7712345678901234","mime_type":"image/jpeg","sha256":"abc","caption":"the receipt"}}]}}]}]})
    .to_string();
    test.webhook(body.as_bytes()).await;
    test.drain().await;

    let (status, page) = test.history(&contact, "").await;
    assert_eq!(status, 200, "{page}");
    let media = &page["messages"][0]["media"];
    assert_eq!(media["id"], "7712345678901234");
    assert_eq!(media["url"], Value::Null, "not stored yet: no link");

    // What the worker's media job does: the bytes under media/, the key on the message record.
    let key = format!("media/{LOOP_PHONE_NUMBER_ID}/{wamid}/7712345678901234");
    let bytes = b"\xff\xd8\xff\xe0 a jpeg, more or less".to_vec();
    test.emu
        .s3
        .put_object()
        .bucket(test.emu.bucket())
        .key(&key)
        .content_type("image/jpeg")
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    test.emu
        .dynamodb
        .update_item()
        .table_name(test.emu.table())
        .key("pk", AttributeValue::S(message_pk(&wamid)))
        .key("sk", AttributeValue::S(MESSAGE_SK.to_owned()))
        .update_expression("SET media_s3_key = :key")
        .expression_attribute_values(":key", AttributeValue::S(key.clone()))
        .send()
        .await
        .unwrap();

    let (_, page) = test.history(&contact, "").await;
    let entry = &page["messages"][0];
    assert_eq!(entry["content"]["caption"], "the receipt");
    let url = entry["media"]["url"].as_str().unwrap().to_owned();
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(
        url.starts_with(&format!("{}/{}/media/", test.emu.endpoint(), test.emu.bucket())),
        "{url}"
    );
    let expires = chrono::DateTime::parse_from_rfc3339(entry["media"]["url_expires_at"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((890..=900).contains(&left), "{left} s left");
    let fetched = test_support::http::client().get(&url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);

    // GET /messages/{wamid}: the same link.
    let (status, view) = test.call("GET", &format!("/messages/{wamid}"), "", &[], b"").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["direction"], "inbound");
    assert!(
        view["media"]["url"].as_str().unwrap().contains("X-Amz-Signature="),
        "{view}"
    );
}

#[tokio::test]
async fn a_message_meta_reports_that_the_bundle_did_not_send_is_listed_as_outbound() {
    let test = setup().await;
    let contact = contact();
    let wamid = unique("wamid.ELSEWHERE");
    let status = json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":LOOP_PHONE_NUMBER_ID},
        "statuses":[{"id":wamid,"status":"delivered","timestamp":chrono::Utc::now().timestamp().to_string(),"recipient_id":contact}]}}]}]})
    .to_string();
    test.webhook(status.as_bytes()).await;
    test.drain().await;
    let (code, page) = test.history(&contact, "").await;
    assert_eq!(code, 200, "{page}");
    let entries = page["messages"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["direction"], "outbound");
    assert_eq!(entries[0]["wamid"], wamid.as_str());
    assert_eq!(entries[0]["status"], "delivered");
    assert_eq!(entries[0]["id"], Value::Null);
}

/// Coexistence: what the owner types in the WhatsApp Business app arrives as an `smb_message_echoes`
/// webhook (the stand-in's `/_standin/echo`, signed like Meta's) and shows in the customer's history
/// and by its wamid as outbound, origin `business_app`, advanced by its statuses — with no auto-reply.
#[tokio::test]
async fn an_echo_of_the_business_app_is_an_outbound_message_of_the_conversation() {
    // A worker that would reply to, and mark as read, a message from the customer.
    let mut options = LoopOptions::new("history-echo", API_KEY);
    options.vars = vec![
        ("EVENT_BUS_NAME", ""),
        ("AUTO_REPLY_TEXT", "Thanks, we will answer soon."),
        ("MARK_AS_READ", "true"),
    ];
    let test = Loop(SendLoop::start(options).await);
    let contact = contact();
    let echoed = integration_tests::http::client()
        .post(format!("{}/_standin/echo", test.graph_base))
        .header("content-type", "application/json")
        .body(json!({"phone_number_id": LOOP_PHONE_NUMBER_ID, "to": contact, "text": "typed in the app"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 200);
    let answer: Value = serde_json::from_str(&echoed.text().await.unwrap()).unwrap();
    let wamid = answer["wamid"].as_str().unwrap().to_owned();
    let mut view = Value::Null;
    for _ in 0..50 {
        test.drain().await;
        let (status, shown) = test.call("GET", &format!("/messages/{wamid}"), "", &[], b"").await;
        if status == 200 && shown["status"] == "read" {
            view = shown;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["direction"], "outbound", "{view}");
    assert_eq!(view["origin"], "business_app", "{view}");
    assert_eq!(view["to"], contact.as_str(), "{view}");
    let (entries, _) = test.every_page(&contact, 10).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["wamid"], wamid.as_str());
    assert_eq!(entries[0]["origin"], "business_app");
    assert_eq!(entries[0]["content"]["body"], "typed in the app");
    assert!(
        test.standin.requests().is_empty(),
        "nothing was sent to Meta: no auto-reply, no read receipt"
    );
}

#[tokio::test]
async fn a_username_only_sender_is_recorded_listed_by_user_id_and_answered_by_it() {
    let mut options = LoopOptions::new("history-username", API_KEY);
    options.vars = vec![
        ("EVENT_BUS_NAME", ""),
        ("AUTO_REPLY_TEXT", "Thanks, we will answer soon."),
    ];
    let test = Loop(SendLoop::start(options).await);
    let user_id = format!("US.{}", &contact()[1..]);
    let sent = integration_tests::http::client()
        .post(format!("{}/_standin/inbound", test.graph_base))
        .header("content-type", "application/json")
        .body(
            json!({"phone_number_id": LOOP_PHONE_NUMBER_ID, "user_id": user_id, "username": "pablo.builds",
                "name": "Pablo", "text": "hi, no number here"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let answer: Value = serde_json::from_str(&sent.text().await.unwrap()).unwrap();
    let wamid = answer["wamid"].as_str().unwrap().to_owned();
    let mut replies = Vec::new();
    for _ in 0..50 {
        test.drain().await;
        replies = test.standin.requests();
        if !replies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (entries, _) = test.every_page(&user_id, 10).await;
    let inbound: Vec<&Value> = entries.iter().filter(|entry| entry["direction"] == "inbound").collect();
    assert_eq!(inbound.len(), 1, "{entries:?}");
    assert_eq!(inbound[0]["wamid"], wamid.as_str());
    assert_eq!(inbound[0]["content"]["body"], "hi, no number here");
    // The auto-reply went to the user id (`recipient`), the only address Meta gave.
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].recipient(), Some(user_id.as_str()));
    assert!(replies[0].body.get("to").is_none(), "{}", replies[0].body);
}
