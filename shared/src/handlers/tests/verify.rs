use std::collections::HashMap;

use lambda_http::RequestExt;

use super::{body_text, request};
use crate::config::VerifyConfig;
use crate::domain::secret::Secret;
use crate::handlers::meta_verify;

fn handshake(params: &[(&str, &str)]) -> lambda_http::Request {
    let query: HashMap<String, String> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    request("GET", "/webhooks/whatsapp", &[], ()).with_query_string_parameters(query)
}

fn config() -> VerifyConfig {
    VerifyConfig {
        verify_token: Secret::new("the-verify-token"),
    }
}

#[tokio::test]
async fn the_right_token_echoes_the_challenge() {
    let response = meta_verify::handle(
        &config(),
        handshake(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "the-verify-token"),
            ("hub.challenge", "1158201444"),
        ]),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(body_text(&response), "1158201444");
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_missing_parameters_are_a_bad_request() {
    let wrong = meta_verify::handle(
        &config(),
        handshake(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "guess"),
            ("hub.challenge", "1"),
        ]),
    )
    .await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(body_text(&wrong), r#"{"error":"verification refused"}"#);
    let missing = meta_verify::handle(&config(), handshake(&[])).await;
    assert_eq!(missing.status(), 400);
}
