//! [`WhatsAppSender`] over HTTPS: `POST {base}/{version}/{phone number id}/messages`.

use std::time::Duration;

use serde_json::Value;

use crate::domain::graph_error::GraphError;
use crate::domain::graph_response::SendAccepted;
use crate::domain::secret::Secret;
use crate::ports::WhatsAppSender;

#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    messages_url: String,
    access_token: Secret,
}

impl GraphClient {
    /// `base_url` is `https://graph.facebook.com` in production, the local stand-in otherwise.
    pub fn new(base_url: &str, version: &str, phone_number_id: &str, access_token: Secret) -> Result<Self, String> {
        let http = super::http::client_builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| error.to_string())?;
        let messages_url = format!(
            "{}/{}/{}/messages",
            base_url.trim_end_matches('/'),
            version,
            phone_number_id
        );
        Ok(Self {
            http,
            messages_url,
            access_token,
        })
    }

    /// Opens the TLS connection during init so the first send does not pay for the handshake.
    pub async fn warm_up(&self) {
        let origin = self.messages_url.split('/').take(3).collect::<Vec<_>>().join("/");
        if let Err(error) = self.http.head(origin).send().await {
            tracing::warn!(error = %error.without_url(), "graph API warm-up failed");
        }
    }
}

impl WhatsAppSender for GraphClient {
    async fn send(&self, payload: &Value) -> Result<SendAccepted, GraphError> {
        let (status, body) = self.post(payload).await?;
        SendAccepted::parse(&body).map_err(|_| GraphError::parse(status, &body))
    }

    async fn mark_read(&self, wamid: &str) -> Result<(), GraphError> {
        let payload = serde_json::json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        self.post(&payload).await.map(|_| ())
    }
}

impl GraphClient {
    /// POSTs to the messages endpoint: the 2xx status and body, or Meta's error.
    async fn post(&self, payload: &Value) -> Result<(u16, Vec<u8>), GraphError> {
        let response = self
            .http
            .post(&self.messages_url)
            .bearer_auth(self.access_token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_string())
            .send()
            .await
            // Network error or timeout: no answer, so Meta may or may not have it; the claim
            // and a later retry decide. `without_url` keeps tokens in query strings out of logs.
            .map_err(|_| GraphError::network())?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|_| GraphError::network())?;
        if (200..300).contains(&status) {
            Ok((status, body.to_vec()))
        } else {
            Err(GraphError::parse(status, &body))
        }
    }
}
