//! Template sends against a known template: a parameter count that does not match is a 400 before
//! anything is stored; unknown templates and lookups that fail go through as before.

use serde_json::{Value, json};

use super::{body_text, request};
use crate::domain::templates::TemplateShape;
use crate::handlers::send_api::SendApi;
use crate::handlers::tests::send_api_config;
use crate::testing::{FakeMediaLinks, FakeQueue, FakeTemplates, FakeUploader, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";

fn api() -> (
    SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader, FakeTemplates>,
    FakeTemplates,
) {
    let config = send_api_config(KEY);
    let shipping = TemplateShape::from_graph(&json!({"name": "shipping_update", "language": "en_US",
        "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."}]}))
    .expect("a template");
    let templates = FakeTemplates::new(vec![shipping]);
    let api = SendApi::new(config, MemoryStore::new(), FakeQueue::new(), None::<FakeMediaLinks>)
        .with_media(None::<FakeUploader>)
        .with_templates(Some(templates.clone()));
    (api, templates)
}

fn template(name: &str, language: &str, body_parameters: usize) -> Value {
    let parameters = vec![json!({"type": "text", "text": "x"}); body_parameters];
    json!({"to": "14155550123", "type": "template", "name": name, "language": language,
           "components": [{"type": "body", "parameters": parameters}]})
}

async fn post(
    api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader, FakeTemplates>,
    body: &Value,
) -> (u16, String) {
    let bearer = format!("Bearer {KEY}");
    let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let response = api
        .handle(request("POST", "/messages", &headers, body.to_string()))
        .await;
    (response.status().as_u16(), body_text(&response))
}

#[tokio::test]
async fn a_known_template_with_the_wrong_parameter_count_is_refused_before_it_is_stored() {
    let (api, templates) = api();
    let (status, body) = post(&api, &template("shipping_update", "en_US", 1)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("template.components: the body takes 2 parameters in template \\\"shipping_update\\\" (en_US), the send gives 1"),
        "{body}"
    );
    assert!(api.queue.messages().is_empty(), "nothing queued");
    assert!(api.store.tables().outbound.is_empty(), "nothing stored");
    let (status, body) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(templates.state().lookups, 2);
}

#[tokio::test]
async fn an_unknown_template_or_language_or_a_failed_lookup_goes_through() {
    let (api, templates) = api();
    for body in [
        template("order_update", "en_US", 1),
        template("shipping_update", "es", 1),
    ] {
        let (status, answer) = post(&api, &body).await;
        assert_eq!(status, 202, "{body}: {answer}");
    }
    templates.state().down = true;
    let (status, answer) = post(&api, &template("shipping_update", "en_US", 1)).await;
    assert_eq!(status, 202, "Graph unreachable: sent unchecked ({answer})");
    assert_eq!(api.queue.messages().len(), 3);
    // Other types are never looked up.
    let lookups = templates.state().lookups;
    let (status, _) = post(
        &api,
        &json!({"to": "14155550123", "type": "image", "link": "https://x.test/a.jpg"}),
    )
    .await;
    assert_ne!(status, 400);
    assert_eq!(templates.state().lookups, lookups);
}

fn held(status: &str, at: i64) -> crate::domain::health::TemplateStatus {
    crate::domain::health::TemplateStatus {
        waba_id: crate::testing::templates::FAKE_WABA_ID.to_owned(),
        name: "shipping_update".to_owned(),
        language: "en_US".to_owned(),
        template_id: Some("806312974732579".to_owned()),
        status: status.to_owned(),
        reason: Some("SCAM".to_owned()),
        detail: None,
        at,
    }
}

#[tokio::test]
async fn a_template_meta_paused_disabled_or_rejected_is_refused_at_once_with_meta_s_reason() {
    use crate::ports::TemplateStatusStore;
    let (api, templates) = api();
    for (at, status) in [
        (1_800_000_000, "PAUSED"),
        (1_800_000_100, "DISABLED"),
        (1_800_000_200, "REJECTED"),
    ] {
        api.store
            .record_template_status(&held(status, at))
            .await
            .expect("recorded");
        let (code, body) = post(&api, &template("shipping_update", "en_US", 2)).await;
        assert_eq!(code, 422, "{status}: {body}");
        assert!(body.contains(status) && body.contains("SCAM"), "{body}");
        assert!(body.contains("shipping_update"), "{body}");
    }
    assert!(api.queue.messages().is_empty(), "nothing queued");
    assert!(api.store.tables().outbound.is_empty(), "nothing stored");
    assert_eq!(templates.state().lookups, 0, "refused before the catalog is asked");
    // Another language of the same name is another template.
    let (code, body) = post(&api, &template("shipping_update", "es", 1)).await;
    assert_eq!(code, 202, "{body}");
    // Approved again: sent, the catalog asked past its cache (the template may have been edited).
    api.store
        .record_template_status(&held("APPROVED", 1_800_000_300))
        .await
        .expect("recorded");
    let (code, body) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(templates.state().changed_at.last(), Some(&Some(1_800_000_300)));
}

#[tokio::test]
async fn a_template_status_that_cannot_be_read_lets_the_send_through() {
    use crate::ports::TemplateStatusStore;
    let (api, templates) = api();
    api.store
        .record_template_status(&held("PAUSED", 1_800_000_000))
        .await
        .expect("recorded");
    api.store
        .faults
        .fail_next("template_status", 1, crate::testing::Fault::Transient);
    let (code, body) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(code, 202, "the table unreachable for the read: Meta checks it ({body})");
    assert_eq!(templates.state().changed_at, vec![None]);
    let (code, _) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(code, 422, "read again on the next send");
}

/// The whole way, on one table: the worker records Meta's pause from the webhook, and the send API (another
/// function, its catalog warm) refuses the template's next send at once.
#[tokio::test]
async fn a_pause_webhook_reaches_the_send_api_at_once() {
    use crate::testing::send_sim::{self, EVENTS_QUEUE_ARN, SimTimes};
    let (api, templates) = api();
    let (code, _) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(code, 202, "approved and looked up: the catalog keeps it");
    let (worker, _fakes) = send_sim::worker(api.store.clone(), SimTimes::IN_MEMORY, None, false);
    let webhook = json!({"object": "whatsapp_business_account", "entry": [{"id": crate::testing::templates::FAKE_WABA_ID,
        "time": 1_800_000_500, "changes": [{"field": "message_template_status_update", "value": {
            "event": "PAUSED", "message_template_id": 806_312_974_732_579_u64, "message_template_name": "shipping_update",
            "message_template_language": "en_US", "reason": "NONE",
            "other_info": {"title": "SECOND_PAUSE", "description": "Paused for 6 hours because of low quality."}}}]}]});
    let batch = send_sim::event(vec![send_sim::record(
        "w",
        Some("meta-webhook"),
        &webhook.to_string(),
        1,
        EVENTS_QUEUE_ARN,
    )]);
    assert!(
        worker
            .handle(batch, send_sim::deadline())
            .await
            .batch_item_failures
            .is_empty()
    );
    let (code, body) = post(&api, &template("shipping_update", "en_US", 2)).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("PAUSED") && body.contains("Paused for 6 hours"), "{body}");
    assert_eq!(templates.state().lookups, 1);
}

#[tokio::test]
async fn a_retry_of_a_send_accepted_before_the_pause_gets_its_first_answer() {
    use crate::ports::TemplateStatusStore;
    let (api, _) = api();
    let bearer = format!("Bearer {KEY}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "order-42"),
    ];
    let body = template("shipping_update", "en_US", 2).to_string();
    let first = api.handle(request("POST", "/messages", &headers, body.clone())).await;
    assert_eq!(first.status().as_u16(), 202);
    api.store
        .record_template_status(&held("PAUSED", 1_800_000_000))
        .await
        .expect("recorded");
    let retry = api.handle(request("POST", "/messages", &headers, body)).await;
    assert_eq!(retry.status().as_u16(), 202, "{}", body_text(&retry));
    assert_eq!(body_text(&retry), body_text(&first), "the first answer");
}

async fn get_templates(
    api: &SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader, FakeTemplates>,
) -> (u16, Value) {
    let bearer = format!("Bearer {KEY}");
    let response = api
        .handle(request("GET", "/templates", &[("authorization", bearer.as_str())], ()))
        .await;
    let body = body_text(&response);
    let parsed = serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {body}"));
    (response.status().as_u16(), parsed)
}

#[tokio::test]
async fn the_waba_s_templates_are_listed_with_the_parameters_each_takes() {
    let (api, templates) = api();
    let listing = crate::domain::template_list::TemplateListing::from_graph(&json!({"name": "shipping_update",
        "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped.",
                        "example": {"body_text": [["Ayala", "#1042"]]}}]}))
    .expect("a template");
    templates.state().listings = vec![listing];
    let (status, body) = get_templates(&api).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["waba_id"], crate::testing::templates::FAKE_WABA_ID);
    assert_eq!(body["templates"][0]["name"], "shipping_update");
    assert_eq!(
        body["templates"][0]["body"]["parameters"],
        json!([{"name": "1", "type": "text", "example": "Ayala"}, {"name": "2", "type": "text", "example": "#1042"}])
    );
    // Meta unreachable: 503, retry later; nothing about the token in the answer.
    templates.state().down = true;
    let (status, body) = get_templates(&api).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily unavailable, retry later");
}

#[tokio::test]
async fn without_a_waba_the_template_list_is_503_and_a_wrong_key_401() {
    let api = SendApi::new(
        send_api_config(KEY),
        MemoryStore::new(),
        FakeQueue::new(),
        None::<FakeMediaLinks>,
    )
    .with_media(None::<FakeUploader>)
    .with_templates(None::<FakeTemplates>);
    let (status, body) = get_templates(&api).await;
    assert_eq!(status, 503, "{body}");
    let response = api
        .handle(request(
            "GET",
            "/templates",
            &[("authorization", "Bearer not-the-key-0000000")],
            (),
        ))
        .await;
    assert_eq!(response.status(), 401);
}
