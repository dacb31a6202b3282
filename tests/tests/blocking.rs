//! Blocking a contact end to end: the send API's `/contacts/{contact}/block` through the bundle's Graph
//! client to the stand-in's Block Users API, and Meta's refusal of a contact that did not write in the
//! last 24 hours answered with its words.

#![allow(clippy::unwrap_used)]

use integration_tests::*;
use local_stack::graph_standin::NOT_WRITTEN_PREFIX;

const API_KEY: &str = "test-block-api-key-0123456789";

#[tokio::test]
async fn a_contact_is_blocked_listed_and_unblocked_and_a_refusal_keeps_meta_s_words() {
    let mut options = LoopOptions::new("blocking", API_KEY);
    options.vars = vec![("EVENT_BUS_NAME", "")];
    let test = SendLoop::start(options).await;
    let contact = "972504370099";
    let path = format!("/contacts/{contact}/block");

    let (status, before) = test.call("GET", &path, "", &[], b"").await;
    assert_eq!(
        (status, &before["blocked"]),
        (200, &serde_json::json!(false)),
        "{before}"
    );
    let (status, blocked) = test.call("POST", &path, "", &[], b"").await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(blocked["blocked"], true);
    let (status, listed) = test.call("GET", &path, "", &[], b"").await;
    assert_eq!(
        (status, &listed["blocked"]),
        (200, &serde_json::json!(true)),
        "{listed}"
    );
    let (status, unblocked) = test.call("DELETE", &path, "", &[], b"").await;
    assert_eq!(
        (status, &unblocked["blocked"]),
        (200, &serde_json::json!(false)),
        "{unblocked}"
    );
    let (_, after) = test.call("GET", &path, "", &[], b"").await;
    assert_eq!(after["blocked"], false, "{after}");

    // A contact who did not write in the last 24 hours: Meta's 131047, a 422 with its words.
    let silent = format!("{NOT_WRITTEN_PREFIX}123");
    let (status, refused) = test
        .call("POST", &format!("/contacts/{silent}/block"), "", &[], b"")
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("131047"), "{refused}");
    let (_, still) = test
        .call("GET", &format!("/contacts/{silent}/block"), "", &[], b"")
        .await;
    assert_eq!(still["blocked"], false, "a refused block changes nothing: {still}");
}
