//! [`Queue`] on Amazon SQS.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::MessageAttributeValue;

use super::describe;
use crate::ports::{Queue, QueueError, QueueMessage};

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

impl crate::ports::Redelivery for SqsQueue {
    async fn retry_after(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|error| QueueError::Unavailable(describe(&error)))?;
        Ok(())
    }
}
