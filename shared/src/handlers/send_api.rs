//! `POST /messages` and `GET /messages/{id}`: the owner's own applications send through
//! the bundle and follow each message to its end.
//!
//! Answers: 202 queued (with the id); 400 invalid request (naming the field); 401 wrong or
//! missing API key; 404 unknown message; 409 an `Idempotency-Key` reused for another message;
//! 422 a free-form message outside the 24-hour customer-service window; 503 retry later.

use chrono::Utc;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use super::http::{ApiError, request_id, respond};
use crate::config::SendApiConfig;
use crate::domain::outbound::{self, SendJob};
use crate::domain::send_request::{MessageBody, SendRequest, ValidationError};
use crate::domain::{phone, verify_token};
use crate::domain::outbound::Origin;
use crate::ports::{Created, NewOutbound, OutboundStore, Queue};

/// Free-form messages need the contact to have written within this many seconds.
pub const CUSTOMER_WINDOW_SECONDS: i64 = 24 * 60 * 60;
const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub struct SendApi<S, Q> {
    pub config: SendApiConfig,
    pub store: S,
    pub queue: Q,
}

fn invalid(error: &ValidationError) -> ApiError {
    ApiError::BadRequest(error.to_string())
}

impl<S: OutboundStore, Q: Queue> SendApi<S, Q> {
    pub fn new(config: SendApiConfig, store: S, queue: Q) -> Self {
        Self { config, store, queue }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request_id(&request);
        let presented = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .unwrap_or_default();
        if presented.is_empty() || !verify_token::tokens_equal(self.config.api_key.expose(), presented.trim()) {
            tracing::warn!(request_id, outcome = "unauthorized", status = 401, "send api");
            let mut response = ApiError::Unauthorized("missing or invalid API key").into_response();
            response
                .headers_mut()
                .insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
            return response;
        }
        let result = if request.method() == Method::GET {
            let id = request
                .path_parameters_ref()
                .and_then(|params| params.first("id").map(str::to_owned))
                .or_else(|| request.uri().path().rsplit('/').next().map(str::to_owned))
                .unwrap_or_default();
            self.get(&id, &request_id).await
        } else {
            self.send(&request, &request_id).await
        };
        result.unwrap_or_else(|error| {
            tracing::info!(
                request_id,
                outcome = "refused",
                status = error.status().as_u16(),
                reason = error.message(),
                "send api"
            );
            error.into_response()
        })
    }

    async fn get(&self, id: &str, request_id: &str) -> Result<Response<Body>, ApiError> {
        let view = self.store.view(id).await.map_err(|error| {
            tracing::error!(request_id, error = %error, "send api: message store unavailable");
            ApiError::Unavailable
        })?;
        let view = view.ok_or(ApiError::NotFound("no message with this id or wamid"))?;
        tracing::info!(request_id, outcome = "found", status = 200, id, "send api");
        let body = serde_json::to_string(&view).unwrap_or_default();
        Ok(respond(StatusCode::OK, "application/json", body))
    }

    async fn send(&self, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        let send: SendRequest =
            serde_json::from_slice(body).map_err(|error| ApiError::BadRequest(format!("invalid message: {error}")))?;
        send.validate().map_err(|error| invalid(&error))?;
        let to = phone::normalize(&send.to, self.config.default_country_code.as_deref())
            .map_err(|error| invalid(&ValidationError::from(error)))?;
        if !matches!(send.message, MessageBody::Template { .. }) {
            let last = self.store.last_inbound_at(&to).await.map_err(|error| {
                tracing::error!(request_id, error = %error, "send api: message store unavailable");
                ApiError::Unavailable
            })?;
            if last.is_none_or(|at| Utc::now().timestamp() - at > CUSTOMER_WINDOW_SECONDS) {
                return Err(ApiError::Unprocessable(
                    "type: the contact has not written in the last 24 hours (customer-service window closed); \
                     only a template message can be sent now"
                        .to_owned(),
                ));
            }
        }
        let payload = send.graph_payload(&to);
        let fingerprint = outbound::fingerprint(&payload);
        let message_id = match request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()) {
            Some(key) if !key.trim().is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN => {
                outbound::id_for_key("send-api", key.trim())
            }
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
                )));
            }
            None => outbound::new_id(request_id),
        };
        let created = self
            .store
            .create_outbound(&NewOutbound {
                message_id: message_id.clone(),
                to: to.clone(),
                kind: send.message.kind().to_owned(),
                payload: payload.clone(),
                fingerprint: fingerprint.clone(),
                origin: Origin::Api,
            })
            .await
            .map_err(|error| {
                tracing::error!(request_id, error = %error, "send api: message store unavailable");
                ApiError::Unavailable
            })?;
        if let Created::Exists { fingerprint: existing } = &created
            && existing.as_deref() != Some(fingerprint.as_str())
        {
            return Err(ApiError::Conflict(
                "Idempotency-Key was already used for a different message".to_owned(),
            ));
        }
        // Queued again on a retried request too: the worker's claim sends it once, and a
        // first attempt that stored the message but failed to queue it is repaired this way.
        let job = SendJob {
            message_id: message_id.clone(),
            to: to.clone(),
            payload,
        };
        self.queue.send(job.queue_message(request_id)).await.map_err(|error| {
            tracing::error!(request_id, message_id = %message_id, error = %error, "send api: not queued");
            ApiError::Unavailable
        })?;
        tracing::info!(
            request_id,
            message_id = %message_id,
            outcome = if created == Created::New {
                "queued"
            } else {
                "queued_again_idempotent"
            },
            status = 202,
            kind = send.message.kind(),
            "send api"
        );
        let body = json!({ "id": message_id.as_str(), "status": "queued", "to": to });
        Ok(respond(StatusCode::ACCEPTED, "application/json", body.to_string()))
    }
}
