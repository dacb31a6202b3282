//! The worker's sending side: one queued [`SendJob`] → one Graph API call, at most once per
//! message however often SQS delivers the job (a conditional claim comes first).
//!
//! - accepted: the wamid is stored; Meta's status webhooks move it on to sent/delivered/read.
//! - transient failure (429, 5xx, timeouts, 130429, 131056, 131000, …): the claim is released and
//!   the record goes back to SQS with an exponential visibility timeout; never a sleep here.
//! - permanent failure (131026, 131047, 132000-family, 100, 190, …): the message is `failed`
//!   with Meta's code, title, message and details, and not retried. 190 is logged as an alert.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::send_api::job_message;
use super::worker::RecordError;
use crate::domain::graph_error::{FailureClass, GraphError, backoff_seconds};
use crate::domain::outbound::{self, SendJob};
use crate::domain::records::InboundRecord;
use crate::metrics::{self, Metric};
use crate::ports::{Claim, NewOutbound, OutboundStore, Queue, Redelivery, StoredError, WhatsAppSender};

/// A claim older than this may be taken over (the worker that held it died mid-send).
pub const CLAIM_LEASE_SECONDS: i64 = 120;

/// What the worker does with send jobs and new inbound messages.
pub trait SendJobs: Send + Sync {
    /// Handles one `send-message` record; a short description of what happened.
    fn send(&self, record: &SqsMessage) -> impl Future<Output = Result<&'static str, RecordError>> + Send;
    /// Called for every inbound message of a processed record (new or redelivered).
    fn after_inbound(&self, record: &InboundRecord) -> impl Future<Output = Result<(), RecordError>> + Send;
}

/// No sending configured: send jobs cannot be processed (they end in the dead-letter queue).
impl SendJobs for () {
    async fn send(&self, _record: &SqsMessage) -> Result<&'static str, RecordError> {
        Err(RecordError::Permanent(
            "sending is not configured (WHATSAPP_ACCESS_TOKEN is not set)".to_owned(),
        ))
    }

    async fn after_inbound(&self, _record: &InboundRecord) -> Result<(), RecordError> {
        Ok(())
    }
}

/// Spaces sends evenly: at most `per_second` per instance.
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

pub struct Sending<O, W, R, Q> {
    pub store: O,
    pub graph: W,
    pub redelivery: R,
    pub queue: Q,
    pub limiter: RateLimiter,
    pub auto_reply_text: Option<String>,
    /// Mark every inbound message as read (best effort: a failure is logged, never retried).
    pub mark_as_read: bool,
}

fn stored(error: &GraphError) -> StoredError {
    StoredError {
        code: error.code,
        title: error.title.clone(),
        message: error.message.clone(),
        details: error.details.clone(),
    }
}

fn store_failure(error: crate::ports::StoreError) -> RecordError {
    use crate::ports::Transient;
    if error.is_transient() {
        RecordError::Transient(format!("store: {error}"))
    } else {
        RecordError::Permanent(format!("store: {error}"))
    }
}

impl<O: OutboundStore, W: WhatsAppSender, R: Redelivery, Q: Queue> SendJobs for Sending<O, W, R, Q> {
    async fn send(&self, record: &SqsMessage) -> Result<&'static str, RecordError> {
        let body = record.body.as_deref().unwrap_or_default();
        let job: SendJob =
            serde_json::from_str(body).map_err(|error| RecordError::Permanent(format!("not a send job: {error}")))?;
        match self
            .store
            .claim(&job.message_id, CLAIM_LEASE_SECONDS)
            .await
            .map_err(store_failure)?
        {
            Claim::Claimed { .. } => {}
            Claim::AlreadyDone { .. } => return Ok("duplicate_job_ignored"),
            Claim::InFlight => return Ok("in_flight_elsewhere"),
            Claim::Missing => return Err(RecordError::Permanent(format!("no message {}", job.message_id))),
        }
        self.limiter.acquire().await;
        let kind = job
            .payload
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("text")
            .to_owned();
        match self.graph.send(&job.payload).await {
            Ok(accepted) => {
                self.store
                    .mark_accepted(&job.message_id, &job.to, &kind, &accepted.wamid)
                    .await
                    .map_err(store_failure)?;
                tracing::info!(
                    message_id = job.message_id,
                    wamid = accepted.wamid,
                    outcome = "accepted",
                    "send"
                );
                metrics::count(Metric::MessagesAccepted, 1);
                Ok("accepted")
            }
            Err(error) => match error.class() {
                FailureClass::Transient { retry_after_seconds } => {
                    let receive_count: u32 = record
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|count| count.parse().ok())
                        .unwrap_or(1);
                    let delay = backoff_seconds(receive_count, retry_after_seconds);
                    self.store
                        .release(&job.message_id, &stored(&error))
                        .await
                        .map_err(store_failure)?;
                    if let Some(receipt) = record.receipt_handle.as_deref()
                        && let Err(queue_error) = self.redelivery.retry_after(receipt, delay).await
                    {
                        tracing::warn!(message_id = job.message_id, error = %queue_error, "could not set the retry delay");
                    }
                    Err(RecordError::Transient(format!(
                        "graph API {}: retry in {delay} s (attempt {receive_count})",
                        error
                    )))
                }
                class => {
                    self.store
                        .mark_failed(&job.message_id, &stored(&error))
                        .await
                        .map_err(store_failure)?;
                    let code = error
                        .code
                        .map_or_else(|| format!("http_{}", error.http_status), |code| code.to_string());
                    metrics::count_by(Metric::MessagesFailed, "ErrorCode", code, 1);
                    if class == FailureClass::ExpiredToken {
                        metrics::count(Metric::AccessTokenExpired, 1);
                        tracing::error!(
                            alert = "whatsapp_access_token_expired",
                            message_id = job.message_id,
                            code = error.code,
                            "the WhatsApp access token is expired or invalid: every send fails until it is replaced"
                        );
                    }
                    tracing::warn!(message_id = job.message_id, outcome = "failed", error = %error, "send");
                    Ok("failed_permanently")
                }
            },
        }
    }

    async fn after_inbound(&self, record: &InboundRecord) -> Result<(), RecordError> {
        if self.mark_as_read
            && let Err(error) = self.graph.mark_read(&record.wamid).await
        {
            tracing::warn!(wamid = record.wamid, error = %error, "mark as read failed");
        }
        let (Some(text), Some(to)) = (&self.auto_reply_text, record.wa_id.as_deref()) else {
            return Ok(());
        };
        // One reply per inbound wamid: its id is derived from the wamid, so a redelivered
        // message finds it already there, and the claim sends it once however often it is queued.
        let message_id = outbound::auto_reply_id(&record.wamid);
        let payload = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": { "body": text },
            "context": { "message_id": record.wamid },
        });
        self.store
            .create_outbound(&NewOutbound {
                message_id: message_id.clone(),
                to: to.to_owned(),
                kind: "text".to_owned(),
                fingerprint: outbound::fingerprint(&payload),
                payload: payload.clone(),
                origin: "auto-reply".to_owned(),
            })
            .await
            .map_err(store_failure)?;
        let job = SendJob {
            message_id,
            to: to.to_owned(),
            payload,
        };
        self.queue
            .send(job_message(&job, &record.received.request_id))
            .await
            .map_err(|error| RecordError::Transient(format!("auto-reply not queued: {error}")))?;
        Ok(())
    }
}

/// Sending when configured, the `()` behaviour otherwise.
impl<T: SendJobs> SendJobs for Option<T> {
    async fn send(&self, record: &SqsMessage) -> Result<&'static str, RecordError> {
        match self {
            Some(sending) => sending.send(record).await,
            None => ().send(record).await,
        }
    }

    async fn after_inbound(&self, record: &InboundRecord) -> Result<(), RecordError> {
        match self {
            Some(sending) => sending.after_inbound(record).await,
            None => Ok(()),
        }
    }
}
