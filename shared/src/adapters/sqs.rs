//! [`Queue`] on Amazon SQS.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::MessageAttributeValue;

use super::describe;
use crate::ports::{Queue, QueueError, QueueMessage, Redelivery};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Opens the connection (TLS handshake included) during init, so the first
    /// webhook does not pay for it. Failure is only logged: the first send retries.
    pub async fn warm_up(&self) {
        let result = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .customize()
            // One attempt: a warm-up that fails is only logged, so retrying it with
            // back-off would only lengthen the cold start (by up to seconds).
            .config_override(aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()))
            .send()
            .await;
        if let Err(error) = result {
            tracing::warn!(error = %describe(&error), "queue warm-up failed");
        }
    }
}

impl Queue for SqsQueue {
    async fn send(&self, message: QueueMessage) -> Result<String, QueueError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.body);
        if message.delay_seconds > 0 {
            request = request.delay_seconds(i32::try_from(message.delay_seconds.min(900)).unwrap_or(900));
        }
        for (name, value) in message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|error| QueueError::Unavailable(error.to_string()))?;
            request = request.message_attributes(name, value);
        }
        let output = request
            .send()
            .await
            .map_err(|error| QueueError::Unavailable(describe(&error)))?;
        Ok(output.message_id.unwrap_or_default())
    }
}

/// [`Redelivery`] on the queues the worker reads: a record goes back to the queue named by its
/// `eventSourceARN` (matched on the queue name, the last part of both the ARN and the URL).
#[derive(Debug, Clone)]
pub struct SqsRedelivery {
    client: Client,
    queue_urls: Vec<String>,
}

impl SqsRedelivery {
    pub fn new(client: Client, queue_urls: Vec<String>) -> Self {
        Self { client, queue_urls }
    }

    fn url_of(&self, queue_arn: &str) -> Option<&str> {
        let name = queue_arn.rsplit(':').next()?;
        self.queue_urls
            .iter()
            .find(|url| url.trim_end_matches('/').rsplit('/').next() == Some(name))
            .map(String::as_str)
    }
}

impl Redelivery for SqsRedelivery {
    async fn retry_after(&self, queue_arn: &str, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        let queue_url = self
            .url_of(queue_arn)
            .ok_or_else(|| QueueError::Unavailable(format!("no queue URL configured for {queue_arn}")))?;
        self.client
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds.min(43_200)).unwrap_or(43_200))
            .send()
            .await
            .map_err(|error| QueueError::Unavailable(describe(&error)))?;
        Ok(())
    }
}
