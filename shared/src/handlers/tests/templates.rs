//! Template sends against a known template: a parameter count that does not match is a 400 before
//! anything is stored; unknown templates and lookups that fail go through as before.

use serde_json::{Value, json};

use super::{body_text, request};
use crate::config::SendApiConfig;
use crate::domain::records::BusinessNumbers;
use crate::domain::secret::Secret;
use crate::domain::templates::TemplateShape;
use crate::handlers::send_api::SendApi;
use crate::testing::{FakeMediaLinks, FakeQueue, FakeTemplates, FakeUploader, MemoryStore};

const KEY: &str = "the-api-key-of-16-chars";

fn api() -> (
    SendApi<MemoryStore, FakeQueue, FakeMediaLinks, FakeUploader, FakeTemplates>,
    FakeTemplates,
) {
    let config = SendApiConfig {
        api_key: Secret::new(KEY),
        table_name: "table".to_owned(),
        queue_url: "queue".to_owned(),
        default_country_code: None,
        phone_numbers: BusinessNumbers::default(),
        retention_days: 0,
        graph: None,
        media_bucket: None,
    };
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
