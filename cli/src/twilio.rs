//! The Twilio REST API reads of the doctor: the number's "A call comes in" webhook.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bridge::domain::form;
use bridge::domain::secret::Secret;
use serde_json::Value;

use crate::graph::http_client;

/// One incoming number as Twilio lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingNumber {
    pub phone_number: String,
    pub voice_url: String,
    pub voice_method: String,
}

/// Why the read failed.
#[derive(Debug, Clone, PartialEq)]
pub enum TwilioFailure {
    /// 401: wrong account SID or auth token.
    Unauthorized,
    Other(String),
}

/// `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=…` with basic auth.
pub async fn incoming_numbers(
    base: &str,
    account_sid: &str,
    auth_token: &Secret,
    phone_number: &str,
) -> Result<Vec<IncomingNumber>, TwilioFailure> {
    let http = http_client().map_err(|error| TwilioFailure::Other(error.to_string()))?;
    let url = format!(
        "{}/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json?PhoneNumber={}",
        base.trim_end_matches('/'),
        form::encode(account_sid),
        form::encode(phone_number)
    );
    let credentials = BASE64.encode(format!("{account_sid}:{}", auth_token.expose()));
    let response = http
        .get(url)
        .header(reqwest::header::AUTHORIZATION, format!("Basic {credentials}"))
        .send()
        .await
        .map_err(|error| {
            TwilioFailure::Other(format!(
                "no answer from the Twilio API at {base} ({})",
                crate::graph::no_answer(&error)
            ))
        })?;
    let status = response.status().as_u16();
    let body: Value = response.json_value().await;
    match status {
        200 => Ok(body
            .get("incoming_phone_numbers")
            .and_then(Value::as_array)
            .map(|numbers| {
                numbers
                    .iter()
                    .map(|n| IncomingNumber {
                        phone_number: text(n, "phone_number"),
                        voice_url: text(n, "voice_url"),
                        voice_method: text(n, "voice_method"),
                    })
                    .collect()
            })
            .unwrap_or_default()),
        401 => Err(TwilioFailure::Unauthorized),
        _ => Err(TwilioFailure::Other(format!(
            "Twilio answered HTTP {status}: {}",
            body.get("message").and_then(Value::as_str).unwrap_or("")
        ))),
    }
}

fn text(value: &Value, name: &str) -> String {
    value.get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let bytes = self.bytes().await.unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}
