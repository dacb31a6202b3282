//! The contacts list (`GET /contacts`) against the AWS emulator: a contact's inbound message through
//! a signed webhook and the worker puts it in the list with its window open; a reply through
//! `POST /messages` moves it forward as outbound; pages follow on with the cursor.

#![allow(clippy::unwrap_used)]

use integration_tests::*;
use serde_json::{Value, json};

const API_KEY: &str = "test-contacts-api-key-0123456789";

/// `contact`'s entry of the list, paging (the emulator's table is shared with other tests) until found.
async fn find(test: &SendLoop, contact: &str) -> (Value, usize) {
    let mut query = "limit=50".to_owned();
    for pages in 1..=40 {
        let (status, page) = test.call("GET", "/contacts", &query, &[], b"").await;
        assert_eq!(status, 200, "{page}");
        let listed = page["contacts"].as_array().unwrap();
        assert!(listed.len() <= 50);
        if let Some(entry) = listed.iter().find(|entry| entry["contact"] == contact) {
            return (entry.clone(), pages);
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=50&cursor={cursor}"),
            None => panic!("{contact} is not listed"),
        }
    }
    panic!("more than 40 pages");
}

#[tokio::test]
async fn an_inbound_message_lists_its_contact_and_a_reply_moves_it_forward() {
    let mut options = LoopOptions::new("contacts", API_KEY);
    options.vars = vec![
        ("WHATSAPP_LOOP_PHONE_NUMBER_IDS", ""),
        ("SEND_PACE_SECONDS", "0"),
        ("EVENT_BUS_NAME", ""),
    ];
    let test = SendLoop::start(options).await;
    let digits = unique("").replace('.', "");
    let contact = format!("972{}", &digits[digits.len() - 12..]);
    // A second contact of this test's own: the list has a next page however empty the table was.
    let other = format!("973{}", &digits[digits.len() - 12..]);
    for (from, text) in [(&other, "first"), (&contact, "<img src=x onerror=alert(1)>")] {
        let body = text_webhook(
            LOOP_PHONE_NUMBER_ID,
            &unique("wamid.IN"),
            from,
            chrono::Utc::now().timestamp(),
            text,
        );
        let response = test
            .ingest
            .handle(signed_webhook(&test.emu.env["WHATSAPP_APP_SECRET"], &body, false))
            .await;
        assert_eq!(response.status(), 200);
    }
    test.drain().await;

    let (entry, _) = find(&test, &contact).await;
    assert_eq!(entry["phone_number"], contact.as_str());
    assert_eq!(entry["name"], "Test User");
    assert_eq!(entry["last_message"]["direction"], "inbound");
    assert_eq!(entry["last_message"]["preview"], "<img src=x onerror=alert(1)>");
    assert_eq!(entry["window"]["open"], true, "{entry}");
    assert!(entry["window"]["seconds_left"].as_i64().unwrap() > 23 * 3600);
    assert_eq!(entry["windows"][0]["phone_number_id"], LOOP_PHONE_NUMBER_ID);

    let send = json!({ "to": format!("+{contact}"), "type": "text", "body": "thanks, on its way" });
    let (status, answer) = test
        .call("POST", "/messages", "", &[], send.to_string().as_bytes())
        .await;
    assert_eq!(status, 202, "{answer}");
    test.drain().await;
    let (entry, _) = find(&test, &contact).await;
    assert_eq!(entry["last_message"]["direction"], "outbound", "{entry}");
    assert_eq!(entry["last_message"]["preview"], "thanks, on its way");
    assert_eq!(entry["last_message"]["id"], answer["id"]);
    assert_eq!(entry["name"], "Test User", "a send keeps the name");

    // The list's cursor is refused elsewhere, and a wrong key sees nothing.
    let (_, page) = test.call("GET", "/contacts", "limit=1", &[], b"").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, refused) = test
        .call(
            "GET",
            &format!("/contacts/{contact}/messages"),
            &format!("cursor={cursor}"),
            &[],
            b"",
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = test
        .call(
            "GET",
            "/contacts",
            "",
            &[("Authorization", "Bearer wrong-key-wrong-key")],
            b"",
        )
        .await;
    assert_eq!(status, 401);
}
