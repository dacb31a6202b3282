//! `wabridge webhook`: correctly signed Meta webhooks and Twilio requests, posted to a URL.

use bridge::domain::secret::Secret;
use bridge::domain::{form, meta_signature, twilio_signature};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::http_client;

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// A Meta webhook POST of exactly `body`, signed with `X-Hub-Signature-256` (HMAC-SHA256 of these bytes).
pub fn meta_webhook(url: &str, app_secret: &Secret, body: Vec<u8>) -> SignedRequest {
    let signature = meta_signature::sign(app_secret, &body);
    SignedRequest {
        url: url.to_owned(),
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Hub-Signature-256".to_owned(), signature),
            ("User-Agent".to_owned(), "facebookexternalua".to_owned()),
        ],
        body,
    }
}

/// A Twilio webhook POST of `params` to `url` (query included), signed with `X-Twilio-Signature`
/// over exactly that URL and the sorted parameters.
pub fn twilio_webhook(url: &str, auth_token: &Secret, params: &[(String, String)]) -> SignedRequest {
    let signature = twilio_signature::expected_signature(auth_token, url, params);
    let body: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", form::encode(name), form::encode(value)))
        .collect();
    SignedRequest {
        url: url.to_owned(),
        headers: vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("X-Twilio-Signature".to_owned(), signature),
            ("User-Agent".to_owned(), "TwilioProxy/1.1".to_owned()),
        ],
        body: body.join("&").into_bytes(),
    }
}

/// A text message webhook from `from` to the number `phone_number_id`, as Meta sends it.
pub fn text_message(phone_number_id: &str, display_phone_number: &str, from: &str, text: &str) -> Vec<u8> {
    let now = chrono::Utc::now();
    let wamid = format!("wamid.wabridge{}", now.timestamp_nanos_opt().unwrap_or_default());
    json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "wabridge"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": now.timestamp().to_string(), "type": "text", "text": {"body": text}}]
    }}]}]})
    .to_string()
    .into_bytes()
}

/// What an `events/` file (an API Gateway HTTP API event) or a plain payload holds.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// A Meta webhook body (the exact bytes to sign).
    Meta(Vec<u8>),
    /// A Twilio form: path (with query) and parameters.
    Twilio {
        path_and_query: String,
        params: Vec<(String, String)>,
    },
}

/// Reads an events/ file: an API Gateway event (its body, base64-decoded if need be; a form body
/// makes a Twilio request for its path) or, for anything else, the file itself as a Meta payload.
pub fn event_body(file_text: &str) -> Result<EventBody, CliError> {
    let Ok(event) = serde_json::from_str::<Value>(file_text) else {
        return Err(CliError::Config("the event file is not JSON".to_owned()));
    };
    let Some(raw_body) = event.get("body").filter(|_| event.get("requestContext").is_some()) else {
        // Not an API Gateway event: a webhook payload, signed byte for byte as it is.
        return Ok(EventBody::Meta(file_text.trim_end().as_bytes().to_vec()));
    };
    let text = raw_body.as_str().unwrap_or_default();
    let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| CliError::Config("the event's body is not valid base64".to_owned()))?
    } else {
        text.as_bytes().to_vec()
    };
    let content_type = event
        .pointer("/headers/content-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let path = event.get("rawPath").and_then(Value::as_str).unwrap_or("/");
        let query = event.get("rawQueryString").and_then(Value::as_str).unwrap_or_default();
        let params = form::parse(&body).map_err(|error| CliError::Config(format!("the event's form body: {error}")))?;
        Ok(EventBody::Twilio {
            path_and_query: if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            },
            params,
        })
    } else {
        Ok(EventBody::Meta(body))
    }
}

/// POSTs the request; the answer whatever its status.
pub async fn post(request: &SignedRequest) -> Result<Answer, CliError> {
    let http = http_client()?;
    let mut builder = http.post(&request.url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|error| {
        CliError::Failed(format!(
            "no answer from {}: {}",
            request.url,
            crate::graph::no_answer(&error)
        ))
    })?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn meta_signature_is_over_the_exact_bytes() {
        let secret = Secret::new("dev-only-app-secret");
        let request = meta_webhook("http://x/webhooks/whatsapp", &secret, br#"{"a":"\u00e9"}"#.to_vec());
        let header = &request.headers[1].1;
        assert!(meta_signature::verify(&secret, Some(header.as_bytes()), &request.body).is_ok());
    }

    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let request = twilio_webhook(
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &Secret::new("12345"),
            &params,
        );
        assert_eq!(request.headers[1].1, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn reads_api_gateway_events_and_plain_payloads() {
        let meta = include_str!("../../events/meta-webhook.json");
        assert!(matches!(event_body(meta).unwrap(), EventBody::Meta(body) if body.starts_with(b"{")));
        let twilio = include_str!("../../events/twilio-gather.json");
        match event_body(twilio).unwrap() {
            EventBody::Twilio { path_and_query, params } => {
                assert_eq!(path_and_query, "/twilio/gather?attempt=1");
                assert!(params.iter().any(|(k, _)| k == "CallSid"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            event_body(r#"{"object":"x"}"#).unwrap(),
            EventBody::Meta(br#"{"object":"x"}"#.to_vec())
        );
    }
}
