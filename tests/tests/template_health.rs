//! Templates and account health against the emulator: a signed `message_template_status_update` through
//! ingestion, the queue and the worker (DynamoDB on moto) reaches the send API at once — a paused template
//! refused with Meta's reason before anything is stored, an approval lifting it, a late pause changing
//! nothing — and the raw event stays recorded.

#![allow(clippy::unwrap_used)]

use bridge::adapters::dynamodb::keys::{event_pk, template_pk, template_sk};
use integration_tests::*;
use local_stack::queue::{batch_deadline, sqs_event};
use serde_json::{Value, json};

const API_KEY: &str = "test-send-api-key-template-health";

/// The loop with a WABA of its own (the emulator's table outlives runs, and other tests use the
/// stand-in's): the stand-in does not know it, so the catalog lookup fails and only the status decides.
async fn setup(waba: &str) -> SendLoop {
    let mut options = LoopOptions::new("tmplhealth", API_KEY);
    options.vars = vec![("GRAPH_API_VERSION", "v21.0"), ("WHATSAPP_BUSINESS_ACCOUNT_ID", waba)];
    SendLoop::start(options).await
}

fn status_webhook_of(waba: &str, event: &str, time: i64) -> Vec<u8> {
    let mut value = json!({"event": event, "message_template_id": 806_312_974_732_579_u64,
        "message_template_name": "order_confirmation", "message_template_language": "en_US", "reason": "NONE",
        "message_template_category": "UTILITY"});
    if event == "PAUSED" {
        value["other_info"] = json!({"title": "FIRST_PAUSE",
            "description": "Your WhatsApp message template has been paused for 3 hours because of low quality."});
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "time": time,
        "changes": [{"field": "message_template_status_update", "value": value}]}]})
    .to_string()
    .into_bytes()
}

/// The webhook signed, through ingestion, then the worker over the queue.
async fn through_the_worker(test: &SendLoop, body: &[u8]) {
    let answer = test
        .ingest
        .handle(signed_webhook(&test.emu.env["WHATSAPP_APP_SECRET"], body, false))
        .await;
    assert_eq!(answer.status(), 200);
    let messages = test.emu.receive_all(&test.queue.url).await;
    for batch in messages.chunks(10) {
        let event = sqs_event(batch, &test.queue.arn, "us-east-1").unwrap();
        let response = test.worker.handle(event, batch_deadline()).await;
        assert!(response.batch_item_failures.is_empty());
        for message in batch {
            test.emu.delete(&test.queue.url, message).await;
        }
    }
}

async fn send(test: &SendLoop) -> (u16, Value) {
    let body = json!({"to": "972571234567", "type": "template", "name": "order_confirmation", "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ayala"}]}]});
    test.call("POST", "/messages", "", &[], body.to_string().as_bytes())
        .await
}

#[tokio::test]
async fn a_paused_template_is_refused_by_the_send_api_at_once_and_sendable_again_once_approved() {
    let waba = format!("9{}", &unique("w").replace(|c: char| !c.is_ascii_digit(), "")[..]);
    let test = setup(&waba).await;
    let (status, answer) = send(&test).await;
    assert_eq!(status, 202, "{answer}");

    through_the_worker(&test, &status_webhook_of(&waba, "PAUSED", 1_763_816_820)).await;
    let item = test
        .emu
        .item(&template_pk(&waba), &template_sk("order_confirmation", "en_US"))
        .await
        .expect("the template's status item");
    assert_eq!(s(&item, "status"), "PAUSED");
    // The raw event is recorded as before.
    assert!(
        test.emu
            .items(&event_pk("message_template_status_update"))
            .await
            .iter()
            .any(|item| s(item, "sk").starts_with(&format!("{waba}#")))
    );
    let (status, answer) = send(&test).await;
    assert_eq!(status, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("PAUSED") && error.contains("paused for 3 hours"),
        "{error}"
    );

    through_the_worker(&test, &status_webhook_of(&waba, "APPROVED", 1_763_827_620)).await;
    let (status, answer) = send(&test).await;
    assert_eq!(status, 202, "approved again: {answer}");

    // The pause delivered again, late: older than the approval, it changes nothing.
    through_the_worker(&test, &status_webhook_of(&waba, "PAUSED", 1_763_816_820)).await;
    let (status, answer) = send(&test).await;
    assert_eq!(status, 202, "{answer}");

    through_the_worker(&test, &status_webhook_of(&waba, "DISABLED", 1_763_903_220)).await;
    let (status, answer) = send(&test).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("DISABLED"), "{answer}");
}

/// `GET /templates` reads the stand-in's WABA through the Graph adapter: every template with its
/// status, texts and the parameters each takes; a send built from a listing is accepted.
#[tokio::test]
async fn the_waba_s_templates_are_listed_with_their_parameters_and_a_send_built_from_one_is_accepted() {
    let test = setup(local_stack::graph_standin::WABA_ID).await;
    let (status, page) = test.call("GET", "/templates", "", &[], b"").await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<(String, String, String)> = page["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["language"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        listed.contains(&("shipping_update".into(), "es".into(), "APPROVED".into())),
        "{page}"
    );
    assert!(
        listed.contains(&("summer_sale".into(), "en_US".into(), "PENDING".into())),
        "{page}"
    );
    let reminder = page["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "appointment_reminder")
        .unwrap();
    assert_eq!(
        reminder["header"]["parameters"],
        json!([{"name": "image", "type": "image"}])
    );
    assert_eq!(reminder["buttons"][1]["parameters"][0]["example"], "42");
    // The parameters, given as listed, pass the send API's check against the same template.
    let parameters: Vec<Value> = reminder["body"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"type": "text", "text": p["example"]}))
        .collect();
    let body = json!({"to": "972571234567", "type": "template", "name": "appointment_reminder", "language": "en_US",
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.png"}}]},
            {"type": "body", "parameters": parameters},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]}]});
    let (status, answer) = test
        .call("POST", "/messages", "", &[], body.to_string().as_bytes())
        .await;
    assert_eq!(status, 202, "{answer}");
}
