//! The SQS event source, locally: long-poll the queue, hand each batch to the worker
//! as the Lambda SQS event it would receive, delete only what succeeded.
//!
//! Records reported in `batchItemFailures` are left alone: they reappear after the
//! queue's visibility timeout and go to the dead-letter queue after its redrive limit,
//! as in AWS.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

/// The Lambda SQS event for messages received from `queue_arn`.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Result<SqsEvent, serde_json::Error> {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: Map<String, Value> = message
                .attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), json!(value)))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = message
                .message_attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.clone(),
                                json!({
                                    "stringValue": value.string_value(),
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                    "dataType": value.data_type(),
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records }))
}

/// How long one receive waits for a first message. Well under the SDK's 9 s operation timeout even
/// with a retry inside it (a pooled connection the emulator closed fails the first attempt, and the
/// retry polls again): a receive cut off by that timeout after moto handed a message out leaves the
/// message invisible for the queue's visibility timeout.
const LONG_POLL_SECONDS: i32 = 2;

/// Where the worker's batches come from, and how big they are.
#[derive(Debug, Clone)]
pub struct QueueSource {
    pub client: Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub batch_size: u32,
    pub batching_window: Duration,
}

impl QueueSource {
    /// Receives up to one batch: long-polls until a first message arrives, then keeps
    /// collecting for the batching window or until the batch is full.
    pub async fn receive_batch(&self) -> Result<Vec<Message>, String> {
        let mut batch: Vec<Message> = Vec::new();
        let deadline = tokio::time::Instant::now() + self.batching_window;
        loop {
            let wanted = (self.batch_size as usize).saturating_sub(batch.len()).clamp(1, 10);
            let wait = if batch.is_empty() { LONG_POLL_SECONDS } else { 0 };
            let output = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(wanted as i32)
                .wait_time_seconds(wait)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(error).to_string())?;
            let received = output.messages.unwrap_or_default();
            let got_none = received.is_empty();
            batch.extend(received);
            if batch.len() >= self.batch_size as usize
                || (!batch.is_empty() && (got_none || tokio::time::Instant::now() >= deadline))
            {
                return Ok(batch);
            }
            if batch.is_empty() {
                return Ok(batch);
            }
        }
    }

    /// Deletes the messages the worker did not report as failed.
    pub async fn acknowledge(&self, messages: &[Message], response: &SqsBatchResponse) -> Result<usize, String> {
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|message| !failed.contains(&message.message_id().unwrap_or_default()))
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{index}"))
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        let count = entries.len();
        for chunk in entries.chunks(10) {
            self.client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(error).to_string())?;
        }
        Ok(count)
    }

    /// Receives and processes batches forever with `handle` (the worker).
    pub async fn drain<F, Fut>(&self, handle: F)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: std::future::Future<Output = SqsBatchResponse>,
    {
        loop {
            let messages = match self.receive_batch().await {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(error, "receiving from the queue failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            let event = match sqs_event(&messages, &self.queue_arn, &self.region) {
                Ok(event) => event,
                Err(error) => {
                    tracing::error!(%error, "could not build the SQS event");
                    continue;
                }
            };
            let response = handle(event).await;
            if let Err(error) = self.acknowledge(&messages, &response).await {
                tracing::warn!(error, "deleting processed messages failed; they will be redelivered");
            }
        }
    }
}

/// The worker's timeout in the template: each local batch gets the deadline a Lambda would.
pub const WORKER_TIMEOUT: Duration = Duration::from_secs(30);

/// The invocation deadline of a batch received now.
pub fn batch_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + WORKER_TIMEOUT
}

/// The template's SQS event sources of `function`, each on its local queue (the URL the
/// function's variable names in local.env), as the Lambda service polls them.
pub async fn event_sources(
    stack: &crate::stack::Stack,
    function: &str,
    client: &Client,
    region: &str,
) -> Result<Vec<QueueSource>, String> {
    let mut sources = Vec::new();
    for source in stack
        .queue_event_sources
        .iter()
        .filter(|source| source.function == function)
    {
        let queue_url = source.queue_url.clone().ok_or_else(|| {
            format!(
                "no local URL for the queue {} (run scripts/local_stack.py)",
                source.queue
            )
        })?;
        let queue_arn = client
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(error).to_string())?
            .attributes
            .and_then(|mut attributes| attributes.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .unwrap_or_default();
        sources.push(QueueSource {
            client: client.clone(),
            queue_url,
            queue_arn,
            region: region.to_owned(),
            batch_size: source.batch_size,
            batching_window: Duration::from_secs(u64::from(source.batching_window_seconds)),
        });
    }
    if sources.is_empty() {
        return Err(format!("the template has no SQS event source for {function}"));
    }
    Ok(sources)
}

/// Drains every source at once with `handle` (one poller per queue, as Lambda runs them).
pub async fn drain_all<F, Fut>(sources: &[QueueSource], handle: F)
where
    F: Fn(SqsEvent) -> Fut,
    Fut: std::future::Future<Output = SqsBatchResponse>,
{
    futures_util::future::join_all(sources.iter().map(|source| source.drain(&handle))).await;
}
