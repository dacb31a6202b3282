//! The signed status webhooks (`sent`, `delivered`, `read`, or `sent`, `failed`) the stand-in POSTs back for
//! each accepted message, shaped, serialized and signed as Meta does.

use std::sync::Arc;
use std::time::Duration;

use bridge::domain::meta_signature;
use bridge::domain::secret::Secret;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};

use super::answers::{MAX_BODY_BYTES, obj};
use super::ids::{WABA_ID, epoch_seconds, random_hex};

/// Webhook delivery: tries in all, first backoff, and the timeout of one try.
const WEBHOOK_TRIES: u32 = 5;
const WEBHOOK_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const WEBHOOK_TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The status webhooks due for an accepted message.
pub struct Delivery {
    /// The `{phone_number_id}` the message was sent from (`metadata.phone_number_id`).
    pub phone_number_id: String,
    pub wamid: String,
    /// Recipient digits (`recipient_id`).
    pub digits: String,
    /// A business-scoped user id the send was addressed to (`recipient_user_id` instead).
    pub user_id: Option<String>,
    /// `sent` then `failed` instead of `sent`, `delivered`, `read`.
    pub fail: bool,
    /// Echoed in every status object, as Meta does, when the send carried it.
    pub biz_opaque_callback_data: Option<String>,
    /// Wait before the first webhook (zero: right away).
    pub first_delay: Duration,
}

/// Where and how the status webhooks go.
pub struct StatusWebhooks {
    app_secret: Secret,
    webhook_url: String,
    uri: Option<Uri>,
    display_phone_number: String,
    status_delay: Duration,
    enabled: bool,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl StatusWebhooks {
    /// `webhook_url` must be plain `http://`; otherwise (when `enabled`) a warning, and no webhooks.
    pub fn new(
        app_secret: &str,
        webhook_url: &str,
        display_phone_number: &str,
        status_delay: Duration,
        enabled: bool,
    ) -> Self {
        let uri = match webhook_url.parse::<Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => Some(uri),
            Ok(_) | Err(_) => {
                if enabled {
                    tracing::warn!(url = %webhook_url, "graph stand-in: webhook_url is not a plain http URL; status webhooks disabled");
                }
                None
            }
        };
        Self {
            app_secret: Secret::new(app_secret),
            webhook_url: webhook_url.to_owned(),
            uri,
            display_phone_number: display_phone_number.to_owned(),
            status_delay,
            enabled,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends the delivery's webhooks from a spawned task (nothing when disabled).
    pub fn schedule(self: &Arc<Self>, delivery: Delivery) {
        if self.enabled {
            let me = Arc::clone(self);
            tokio::spawn(async move { me.deliver(delivery).await });
        }
    }

    async fn deliver(&self, delivery: Delivery) {
        let Some(uri) = self.uri.clone() else {
            tracing::warn!(url = %self.webhook_url, "graph stand-in: no usable webhook_url; statuses dropped");
            return;
        };
        if !delivery.first_delay.is_zero() {
            tokio::time::sleep(delivery.first_delay).await;
        }
        let conversation_id = random_hex(32);
        let statuses: &[&str] = if delivery.fail {
            &["sent", "failed"]
        } else {
            &["sent", "delivered", "read"]
        };
        for (index, status) in statuses.iter().enumerate() {
            if index > 0 && !self.status_delay.is_zero() {
                tokio::time::sleep(self.status_delay).await;
            }
            let mut status_object = status_json(status, &delivery.wamid, &delivery.digits, &conversation_id);
            if let (Some(user_id), Some(fields)) = (&delivery.user_id, status_object.as_object_mut()) {
                fields.remove("recipient_id");
                fields.insert("recipient_user_id".into(), Value::from(user_id.as_str()));
            }
            if let (Some(data), Value::Object(fields)) = (&delivery.biz_opaque_callback_data, &mut status_object) {
                fields.insert("biz_opaque_callback_data".into(), Value::from(data.as_str()));
            }
            let body = webhook_body(
                "messages",
                &self.display_phone_number,
                &delivery.phone_number_id,
                ("statuses", status_object),
            );
            self.post(&uri, body, status, &delivery.wamid).await;
        }
    }

    /// Posts an echo of a message the owner typed in the WhatsApp Business app (the
    /// `smb_message_echoes` field), then — from a spawned task — its `sent`, `delivered`, `read`
    /// statuses. The wamid once the receiver took the echo, else why not.
    pub async fn echo(self: &Arc<Self>, phone_number_id: &str, to: &str, text: &str) -> Result<String, String> {
        let Some(uri) = self.uri.clone() else {
            return Err(format!("no usable webhook_url ({})", self.webhook_url));
        };
        let wamid = super::ids::new_wamid(to);
        let echo = obj([
            ("from", Value::from(self.display_phone_number.as_str())),
            ("to", Value::from(to)),
            ("id", Value::from(wamid.as_str())),
            ("timestamp", Value::from(epoch_seconds().to_string())),
            ("type", Value::from("text")),
            ("text", obj([("body", Value::from(text))])),
        ]);
        let body = webhook_body(
            "smb_message_echoes",
            &self.display_phone_number,
            phone_number_id,
            ("message_echoes", echo),
        );
        if !self.post(&uri, body, "echo", &wamid).await {
            return Err("the webhook receiver did not take the echo".to_owned());
        }
        self.schedule(Delivery {
            phone_number_id: phone_number_id.to_owned(),
            wamid: wamid.clone(),
            digits: to.to_owned(),
            user_id: None,
            fail: false,
            biz_opaque_callback_data: None,
            first_delay: Duration::ZERO,
        });
        Ok(wamid)
    }

    /// Posts one signed change of `field` whose value lists `objects` under `member` (e.g.
    /// `history`, `state_sync`) beside the number's metadata: whether the receiver took it.
    pub async fn post_change(
        &self,
        field: &str,
        phone_number_id: &str,
        member: &str,
        objects: Vec<Value>,
    ) -> Result<(), String> {
        self.post_members(field, phone_number_id, vec![(member, objects)]).await
    }

    /// As [`Self::post_change`], with several lists in the value (a message's `contacts` and `messages`).
    pub async fn post_members(
        &self,
        field: &str,
        phone_number_id: &str,
        members: Vec<(&str, Vec<Value>)>,
    ) -> Result<(), String> {
        let Some(uri) = self.uri.clone() else {
            return Err(format!("no usable webhook_url ({})", self.webhook_url));
        };
        let body = webhook_body_list(field, &self.display_phone_number, phone_number_id, members);
        if self.post(&uri, body, field, "-").await {
            Ok(())
        } else {
            Err(format!("the webhook receiver did not take the {field} webhook"))
        }
    }

    /// The business number as the webhooks show it (`metadata.display_phone_number`).
    pub fn display_phone_number(&self) -> &str {
        &self.display_phone_number
    }

    /// Whether the receiver answered `200` within the tries.
    async fn post(&self, uri: &Uri, body: Vec<u8>, status: &str, wamid: &str) -> bool {
        let Ok(signature) = HeaderValue::from_str(&meta_signature::sign(&self.app_secret, &body)) else {
            tracing::error!("graph stand-in: signature is not a valid header value");
            return false;
        };
        let body = Bytes::from(body);
        let mut backoff = WEBHOOK_FIRST_BACKOFF;
        for attempt in 1..=WEBHOOK_TRIES {
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = Method::POST;
            *request.uri_mut() = uri.clone();
            let headers = request.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(USER_AGENT, HeaderValue::from_static("facebookexternalua"));
            headers.insert("x-hub-signature-256", signature.clone());
            let result = tokio::time::timeout(WEBHOOK_TRY_TIMEOUT, async {
                let response = self.client.request(request).await.map_err(|error| error.to_string())?;
                let code = response.status();
                // Drain the answer so the connection can be reused; its content does not matter.
                let _ = Limited::new(response.into_body(), MAX_BODY_BYTES).collect().await;
                Ok::<StatusCode, String>(code)
            })
            .await;
            let failure = match result {
                Ok(Ok(code)) if code == StatusCode::OK => return true,
                Ok(Ok(code)) => format!("answered {code}"),
                Ok(Err(error)) => error,
                Err(_) => format!("no answer within {WEBHOOK_TRY_TIMEOUT:?}"),
            };
            if attempt == WEBHOOK_TRIES {
                tracing::warn!(%status, %wamid, %failure, "graph stand-in: status webhook given up after {attempt} tries");
                return false;
            }
            tracing::debug!(%status, %wamid, %failure, attempt, "graph stand-in: status webhook failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        false
    }
}

fn status_json(status: &str, wamid: &str, digits: &str, conversation_id: &str) -> Value {
    let mut fields = Map::new();
    fields.insert("id".into(), Value::from(wamid));
    fields.insert("status".into(), Value::from(status));
    fields.insert("timestamp".into(), Value::from(epoch_seconds().to_string()));
    fields.insert("recipient_id".into(), Value::from(digits));
    match status {
        "sent" | "delivered" => {
            fields.insert(
                "conversation".into(),
                obj([
                    ("id", Value::from(conversation_id)),
                    ("origin", obj([("type", Value::from("service"))])),
                ]),
            );
            fields.insert(
                "pricing".into(),
                // Per-message pricing as Meta sends it since July 2025: a reply in the customer
                // service window is free (`wabridge usage` counts it under service, free).
                obj([
                    ("billable", Value::from(false)),
                    ("pricing_model", Value::from("PMP")),
                    ("category", Value::from("service")),
                    ("type", Value::from("free_customer_service")),
                ]),
            );
        }
        "failed" => {
            fields.insert(
                "errors".into(),
                Value::Array(vec![obj([
                    ("code", Value::from(131026)),
                    ("title", Value::from("Message undeliverable")),
                    ("message", Value::from("Message undeliverable")),
                    (
                        "error_data",
                        obj([(
                            "details",
                            Value::from("Message could not be delivered to the recipient"),
                        )]),
                    ),
                ])]),
            );
        }
        _ => {}
    }
    Value::Object(fields)
}

/// A complete Meta webhook body of `field` holding one object in the list `member` names (a status
/// under `statuses`, an echo under `message_echoes`), serialized as Meta does.
fn webhook_body(
    field: &str,
    display_phone_number: &str,
    phone_number_id: &str,
    (list, object): (&str, Value),
) -> Vec<u8> {
    webhook_body_list(field, display_phone_number, phone_number_id, vec![(list, vec![object])])
}

/// [`webhook_body`] with every object of the list.
fn webhook_body_list(
    field: &str,
    display_phone_number: &str,
    phone_number_id: &str,
    members: Vec<(&str, Vec<Value>)>,
) -> Vec<u8> {
    let mut value = obj([
        ("messaging_product", Value::from("whatsapp")),
        (
            "metadata",
            obj([
                ("display_phone_number", Value::from(display_phone_number)),
                ("phone_number_id", Value::from(phone_number_id)),
            ]),
        ),
    ]);
    for (list, objects) in members {
        value[list] = Value::Array(objects);
    }
    let change = obj([("value", value), ("field", Value::from(field))]);
    let entry = obj([("id", Value::from(WABA_ID)), ("changes", Value::Array(vec![change]))]);
    let webhook = obj([
        ("object", Value::from("whatsapp_business_account")),
        ("entry", Value::Array(vec![entry])),
    ]);
    meta_json(&webhook)
}

/// Compact JSON with non-ASCII characters as `\uXXXX` (UTF-16) and `/` as `\/`, as Meta sends it.
fn meta_json(value: &Value) -> Vec<u8> {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len());
    // serde_json never escapes `/` or non-ASCII, and both can only occur inside strings, so escaping
    // them here keeps the JSON valid and equal in meaning.
    for c in compact.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn meta_json_escapes_like_meta_and_stays_equal() {
        let value = serde_json::json!({"a": "é/😀", "b": [1, "x"]});
        let bytes = meta_json(&value);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text, r#"{"a":"\u00e9\/\ud83d\ude00","b":[1,"x"]}"#);
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);
    }
}
