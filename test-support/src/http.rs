//! HTTP for the tests, over the bundle's own reqwest client (loopback only).

use std::sync::OnceLock;

/// The client every test shares (connections pooled across tests).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        bridge::adapters::http::client_builder()
            .build()
            .expect("an HTTP client")
    })
}

/// GETs `url` and returns the body; panics unless the answer is a success.
pub async fn get(url: &str) -> String {
    let response = client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(status.is_success(), "GET {url}: {status} {body}");
    body
}

/// POSTs `body` as JSON to `url` and returns the status; panics when no answer comes.
pub async fn post_json(url: &str, body: &serde_json::Value) -> u16 {
    client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
        .status()
        .as_u16()
}
