//! `POST /webhooks/whatsapp`: check Meta's signature over the raw bytes, queue the
//! payload durably, and only then answer 200.
//!
//! Answers: 200 queued; 403 missing or wrong signature (nothing queued); 400 signed
//! but not JSON; 413 larger than a Lambda payload can be; 503 the queue did not take it
//! (Meta retries for up to 7 days, so nothing is lost).

use std::time::Instant;

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::http::{ApiError, request_id, respond};
use crate::claim_check::{self, Enqueued};
use crate::config::IngestConfig;
use crate::domain::envelope::{Envelope, EventKind};
use crate::domain::meta_signature;
use crate::metrics::{self, Metric};
use crate::ports::{BlobStore, Queue};

/// Lambda's synchronous payload limit; API Gateway cannot deliver more.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

pub struct Ingest<Q, B> {
    pub config: IngestConfig,
    pub queue: Q,
    pub blobs: B,
}

impl<Q: Queue, B: BlobStore> Ingest<Q, B> {
    pub fn new(config: IngestConfig, queue: Q, blobs: B) -> Self {
        Self { config, queue, blobs }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let response = self.ingest(request).await;
        metrics::flush();
        response
    }

    async fn ingest(&self, request: Request) -> Response<Body> {
        metrics::count(Metric::WebhooksReceived, 1);
        let started = Instant::now();
        let request_id = request_id(&request);
        // lambda_http has already decoded an `isBase64Encoded` body: these are the bytes Meta signed.
        let body: &[u8] = request.body().as_ref();
        let signature = request.headers().get(SIGNATURE_HEADER).map(|value| value.as_bytes());
        let envelope = match self.check(signature, body, &request_id) {
            Ok(envelope) => envelope,
            Err((error, reason)) => {
                let kind = match error {
                    ApiError::Forbidden(_) => "signature",
                    ApiError::PayloadTooLarge(_) => "too_large",
                    _ => "malformed",
                };
                metrics::count_by(Metric::WebhooksRejected, "Reason", kind, 1);
                tracing::warn!(
                    request_id,
                    outcome = "rejected",
                    status = error.status().as_u16(),
                    reason,
                    bytes = body.len(),
                    "meta webhook"
                );
                return error.into_response();
            }
        };
        match claim_check::enqueue(&self.queue, &self.blobs, &envelope, self.config.inline_limit).await {
            Ok(Enqueued { message_id, offloaded }) => {
                metrics::count(Metric::WebhooksEnqueued, 1);
                tracing::info!(
                    request_id,
                    outcome = "queued",
                    status = 200,
                    bytes = body.len(),
                    sqs_message_id = message_id,
                    offloaded_to = offloaded.as_ref().map(|pointer| pointer.key.as_str()),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "meta webhook"
                );
                respond(StatusCode::OK, "text/plain; charset=utf-8", "EVENT_RECEIVED")
            }
            Err(error) => {
                metrics::count(Metric::WebhooksNotQueued, 1);
                tracing::error!(
                    request_id,
                    outcome = "enqueue_failed",
                    status = 503,
                    bytes = body.len(),
                    error = %error,
                    "meta webhook: not queued, Meta will retry"
                );
                ApiError::Unavailable.into_response()
            }
        }
    }

    /// Everything short of I/O: size, signature, JSON, envelope. Public for the benchmark.
    pub fn check<'b>(
        &self,
        signature: Option<&[u8]>,
        body: &'b [u8],
        request_id: &str,
    ) -> Result<Envelope<'b>, (ApiError, String)> {
        if body.len() > MAX_BODY_BYTES {
            return Err((ApiError::PayloadTooLarge(MAX_BODY_BYTES), "body too large".to_owned()));
        }
        meta_signature::verify(&self.config.app_secret, signature, body)
            .map_err(|error| (ApiError::Forbidden("invalid signature"), error.to_string()))?;
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|error| {
            (
                ApiError::BadRequest("the body is not valid JSON".to_owned()),
                format!("invalid JSON: {error}"),
            )
        })?;
        Ok(Envelope {
            kind: EventKind::MetaWebhook,
            received_at: Utc::now(),
            request_id: request_id.to_owned(),
            body,
        })
    }
}
