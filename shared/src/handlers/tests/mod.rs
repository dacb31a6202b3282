//! Handler tests in process, against the in-memory fakes of [`crate::testing`]: every port
//! call a handler makes is failed at least once.

mod block;
mod codes;
mod contacts;
mod history;
mod ingest;
mod media;
mod send_api;
mod templates;
mod twilio;
mod verify;

use lambda_http::{Body, Request, Response};

/// A request as `lambda_http` hands it over.
/// The send API's configuration the handler tests start from (`..send_api_config(KEY)`): the key,
/// no business numbers, no country code, no bucket, no Graph API, no verification number.
pub fn send_api_config(api_key: &str) -> crate::config::SendApiConfig {
    crate::config::SendApiConfig {
        api_key: crate::domain::secret::Secret::new(api_key),
        table_name: "table".to_owned(),
        queue_url: "queue".to_owned(),
        default_country_code: None,
        phone_numbers: crate::domain::records::BusinessNumbers::default(),
        retention_days: 0,
        media_bucket: None,
        graph: None,
        verification_number: None,
    }
}

pub fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).expect("a valid request")
}

pub fn body_text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

/// `application/x-www-form-urlencoded`, every byte but letters and digits escaped.
pub fn form(params: &[(String, String)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}
