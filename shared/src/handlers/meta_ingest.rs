//! `POST /webhooks/whatsapp`: check Meta's signature over the raw bytes, queue the
//! payload durably, and only then answer 200.
//!
//! Answers: 200 queued; 403 missing or wrong signature (nothing queued); 400 signed
//! but not JSON (not UTF-8, a raw control character, or not framed as an object: see
//! `domain::json_frame`); 413 larger than a Lambda payload can be; 503 the queue did not take it
//! (Meta retries for up to 7 days, so nothing is lost), also when the S3 write and the SQS send
//! together do not finish within the invocation's deadline (one budget for both).

use std::time::{Duration, Instant};

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use tracing::Instrument;

use super::http::{ApiError, Refusal, RefusalMetrics, refuse, request_id, request_span, respond};
use crate::claim_check::{self, Enqueued};
use crate::config::IngestConfig;
use crate::domain::envelope::{Envelope, EventKind};
use crate::domain::{json_frame, meta_signature};
use crate::metrics::{self, Metric};
use crate::ports::{BlobStore, Queue};

/// Lambda's synchronous payload limit; API Gateway cannot deliver more.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The route, as API Gateway names it (`routeKey`), in every log line's span.
pub const ROUTE: &str = "POST /webhooks/whatsapp";

/// Refused webhooks by reason; signed ones the queue or bucket did not take.
const COUNTED: RefusalMetrics = RefusalMetrics {
    rejected: Some(Metric::WebhooksRejected),
    unavailable: Some(Metric::WebhooksNotQueued),
};

/// Kept back from the invocation's deadline to log and answer.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(750);

/// The budget of a request without a Lambda context (the local runner, tests): the template's
/// 10 s timeout less the margin.
pub const BUDGET_WITHOUT_DEADLINE: Duration = Duration::from_millis(9_250);

/// How long queueing may take: until the Lambda context's deadline, less [`ANSWER_MARGIN`].
///
/// A deadline already past when the request is handled is not one Lambda gives (a handler never
/// starts after its deadline) but one a local emulator stamped (`cargo lambda watch` does): it is
/// treated as no deadline. Deployed, that changes nothing: Lambda ends the invocation at its real
/// deadline either way, and Meta retries a timeout as it retries a 503.
pub fn enqueue_budget(request: &Request) -> Duration {
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let Some(context) = request.lambda_context_ref().filter(|context| context.deadline > now_ms) else {
        return BUDGET_WITHOUT_DEADLINE;
    };
    Duration::from_millis(context.deadline - now_ms).saturating_sub(ANSWER_MARGIN)
}

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
        let request_id = request_id(&request);
        let response = self
            .ingest(&request, &request_id)
            .instrument(request_span(ROUTE, &request_id))
            .await;
        metrics::flush();
        response
    }

    async fn ingest(&self, request: &Request, request_id: &str) -> Response<Body> {
        metrics::count(Metric::WebhooksReceived, 1);
        let started = Instant::now();
        // lambda_http has already decoded an `isBase64Encoded` body: these are the bytes Meta signed.
        let body: &[u8] = request.body().as_ref();
        let signature = request.headers().get(SIGNATURE_HEADER).map(|value| value.as_bytes());
        let envelope = match self.check(signature, body, request_id) {
            Ok(envelope) => envelope,
            Err(refusal) => return refuse(refusal, COUNTED),
        };
        // One budget for the S3 write and the SQS send together, from the invocation's deadline:
        // the answer is a 503 Meta retries, never the function's timeout.
        let budget = enqueue_budget(request);
        let enqueued = tokio::time::timeout(
            budget,
            claim_check::enqueue(&self.queue, &self.blobs, &envelope, self.config.inline_limit),
        )
        .await;
        let Ok(enqueued) = enqueued else {
            return refuse(
                Refusal::unavailable(format!(
                    "not queued within the invocation's {} ms left ({} bytes), Meta will retry",
                    budget.as_millis(),
                    body.len()
                )),
                COUNTED,
            );
        };
        match enqueued {
            Ok(Enqueued { message_id, offloaded }) => {
                metrics::count(Metric::WebhooksEnqueued, 1);
                // DEBUG: a queued webhook is counted (WebhooksEnqueued) and its worker line carries
                // this request's id and SQS message id; refusals log at WARN (`refuse`). A body
                // offloaded to the bucket stays at INFO. (`make cost`: INFO bytes per message.)
                let elapsed_ms = started.elapsed().as_millis() as u64;
                match &offloaded {
                    Some(pointer) => tracing::info!(
                        outcome = "queued",
                        status = 200,
                        bytes = body.len(),
                        sqs_message_id = message_id,
                        offloaded_to = pointer.key.as_str(),
                        elapsed_ms,
                        "meta webhook"
                    ),
                    None => tracing::debug!(
                        outcome = "queued",
                        status = 200,
                        bytes = body.len(),
                        sqs_message_id = message_id,
                        elapsed_ms,
                        "meta webhook"
                    ),
                }
                respond(StatusCode::OK, "text/plain; charset=utf-8", "EVENT_RECEIVED")
            }
            Err(error) => refuse(
                Refusal::unavailable(format!("not queued ({} bytes), Meta will retry: {error}", body.len())),
                COUNTED,
            ),
        }
    }

    /// Everything short of I/O: size, signature, JSON, envelope. Public for the benchmark.
    pub fn check<'b>(
        &self,
        signature: Option<&[u8]>,
        body: &'b [u8],
        request_id: &'b str,
    ) -> Result<Envelope<'b>, Refusal> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Refusal::new(
                ApiError::PayloadTooLarge(MAX_BODY_BYTES),
                format!("body too large ({} bytes)", body.len()),
            ));
        }
        meta_signature::verify(&self.config.app_secret, signature, body)
            .map_err(|error| Refusal::new(ApiError::Forbidden("invalid signature"), error.to_string()))?;
        // Exact for UTF-8, control characters and the object's frame; the worker parses in full
        // (json_frame says why a framed body that is still not JSON is harmless).
        let checked = json_frame::check(body).map_err(|error| {
            Refusal::new(
                ApiError::BadRequest("the body is not valid JSON".to_owned()),
                format!("invalid JSON ({} bytes): {error}", body.len()),
            )
        })?;
        Ok(Envelope::checked(
            EventKind::MetaWebhook,
            Utc::now(),
            request_id,
            checked,
        ))
    }
}
