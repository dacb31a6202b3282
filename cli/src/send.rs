//! `wabridge send` / `wabridge status`: through the deployed send API, following a message's status.

use std::time::{Duration, Instant};

use bridge::domain::secret::Secret;
use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::http_client;

/// The send API of a deployment (`POST /messages`, `GET /messages/{id}`).
#[derive(Debug, Clone)]
pub struct SendApi {
    http: reqwest::Client,
    base: String,
    api_key: Secret,
}

/// Status ranks as the bundle stores them; `failed` is final.
pub fn rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "sending" => 1,
        "accepted" => 2,
        "sent" => 3,
        "delivered" => 4,
        "read" => 5,
        _ => 0,
    }
}

impl SendApi {
    pub fn new(base: &str, api_key: Secret) -> Result<Self, CliError> {
        Ok(Self {
            http: http_client()?,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
        })
    }

    /// Sends `body` (the send API's request); the 202 answer (`id`, `status`, `to`).
    pub async fn send(&self, body: &Value, idempotency_key: Option<&str>) -> Result<Value, CliError> {
        let mut request = self
            .http
            .post(format!("{}/messages", self.base))
            .bearer_auth(self.api_key.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.call(request, "send").await
    }

    /// The message's view (`GET /messages/{id}`, by message id or wamid).
    pub async fn status(&self, id: &str) -> Result<Value, CliError> {
        let request = self
            .http
            .get(format!("{}/messages/{}", self.base, bridge::domain::form::encode(id)))
            .bearer_auth(self.api_key.expose());
        self.call(request, "status").await
    }

    /// One page of the conversation with `contact` (`GET /contacts/{contact}/messages`), newest
    /// first: `contact`, `messages`, `next_cursor`.
    pub async fn history(&self, contact: &str, limit: u32, cursor: Option<&str>) -> Result<Value, CliError> {
        let mut query = format!("limit={limit}");
        if let Some(cursor) = cursor {
            query.push_str(&format!("&cursor={}", bridge::domain::form::encode(cursor)));
        }
        let request = self
            .http
            .get(format!(
                "{}/contacts/{}/messages?{query}",
                self.base,
                bridge::domain::form::encode(contact)
            ))
            .bearer_auth(self.api_key.expose());
        self.call(request, "history").await
    }

    /// Blocks (`block` true: `POST`) or unblocks (`DELETE`) `contact` on the business number `from`
    /// (`None`: the deployment's default): the answer (`contact`, `from`, `blocked`).
    pub async fn block(&self, contact: &str, block: bool, from: Option<&str>) -> Result<Value, CliError> {
        let mut url = format!("{}/contacts/{}/block", self.base, bridge::domain::form::encode(contact));
        if let Some(from) = from {
            url.push_str(&format!("?from={}", bridge::domain::form::encode(from)));
        }
        let (method, what) = if block {
            (reqwest::Method::POST, "block")
        } else {
            (reqwest::Method::DELETE, "unblock")
        };
        let request = self.http.request(method, url).bearer_auth(self.api_key.expose());
        self.call(request, what).await
    }

    async fn call(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, CliError> {
        let response = request.send().await.map_err(|error| {
            CliError::Failed(format!(
                "{what}: no answer from the send API at {} ({}). Check SEND_API_URL (stack output SendApiUrl).",
                self.base,
                crate::graph::no_answer(&error)
            ))
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let json: Value =
            serde_json::from_slice(&body).unwrap_or_else(|_| json!({"message": String::from_utf8_lossy(&body)}));
        let message = json
            .get("message")
            .or_else(|| json.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match status {
            200..=299 => Ok(json),
            401 => Err(CliError::Config(format!(
                "{what}: the send API refused the key (401): set API_KEY to the deployment's key (stack parameter api-key)"
            ))),
            400 => Err(CliError::Config(format!(
                "{what}: the request is invalid (400): {message}"
            ))),
            404 => Err(CliError::Failed(format!("{what}: no such message (404)"))),
            409 => Err(CliError::Failed(format!(
                "{what}: that Idempotency-Key was already used for a different message (409)"
            ))),
            422 if matches!(what, "block" | "unblock") => {
                Err(CliError::Failed(format!("{what}: Meta refused (422): {message}")))
            }
            422 => Err(CliError::Failed(format!(
                "{what}: the contact's 24-hour window is closed (422): send a template instead. {message}"
            ))),
            _ => Err(CliError::Failed(format!(
                "{what}: the send API answered HTTP {status}: {message}"
            ))),
        }
    }

    /// Follows `id` until its status ranks at least `until` or is `failed`: the last view.
    /// A timeout is [`CliError::TimedOut`] naming the last status.
    pub async fn follow(
        &self,
        id: &str,
        until: &str,
        timeout: Duration,
        poll: Duration,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Value, CliError> {
        let started = Instant::now();
        let mut last_status = String::new();
        loop {
            let view = self.status(id).await?;
            let status = view.get("status").and_then(Value::as_str).unwrap_or("").to_owned();
            if status != last_status {
                progress(&status);
                last_status.clone_from(&status);
            }
            if status == "failed" || rank(&status) >= rank(until) {
                return Ok(view);
            }
            if started.elapsed() >= timeout {
                return Err(CliError::TimedOut(format!(
                    "message {id} is still {status} after {} s (waiting for {until}); `wabridge status {id}` shows it later. A business whose recipients turned read receipts off never sees `read`: use --until delivered.",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// The send API body for the `send` flags.
pub fn message_body(to: &str, text: Option<&str>, template: Option<&str>, language: &str) -> Result<Value, CliError> {
    match (text, template) {
        (Some(text), None) => Ok(json!({"to": to, "type": "text", "body": text})),
        (None, Some(name)) => Ok(json!({"to": to, "type": "template", "name": name, "language": language})),
        _ => Err(CliError::Config(
            "give exactly one of --text or --template (or --body FILE)".to_owned(),
        )),
    }
}
