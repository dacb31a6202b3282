//! `wabridge redrive`: messages from the dead-letter queue back to the queue.
//!
//! Each message is sent to the queue with its body and message attributes unchanged (the
//! envelope travels in the attributes), and deleted from the dead-letter queue only after the
//! send succeeded: a crash in between duplicates a message, never loses one (the worker is
//! idempotent). A dry run receives with a zero visibility timeout, so the messages stay visible.

use std::collections::HashSet;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};

use crate::error::{CliError, aws_error};

/// One dead-lettered message.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    pub receive_count: Option<String>,
    pub sent_at: Option<String>,
    pub bytes: usize,
    /// The envelope kind attribute, when present.
    pub kind: Option<String>,
    /// The first characters of the body.
    pub preview: String,
}

impl DeadLetter {
    pub fn to_json(&self) -> Value {
        json!({"message_id": self.message_id, "receive_count": self.receive_count, "sent_at": self.sent_at,
               "bytes": self.bytes, "kind": self.kind, "preview": self.preview})
    }
}

#[derive(Debug, Clone, Default)]
pub struct RedriveReport {
    pub dry_run: bool,
    pub messages: Vec<DeadLetter>,
    pub moved: usize,
    pub failed: Vec<String>,
}

/// Lists (dry run) or moves up to `limit` messages from `dlq_url` to `queue_url`.
pub async fn redrive(
    sqs: &Client,
    dlq_url: &str,
    queue_url: &str,
    dry_run: bool,
    limit: usize,
) -> Result<RedriveReport, CliError> {
    let mut report = RedriveReport {
        dry_run,
        ..RedriveReport::default()
    };
    let mut seen = HashSet::new();
    let mut empty_polls = 0;
    while report.messages.len() < limit && empty_polls < 2 {
        let wanted = i32::try_from((limit - report.messages.len()).min(10)).unwrap_or(10);
        let mut receive = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(wanted)
            .wait_time_seconds(if empty_polls == 0 { 0 } else { 1 })
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All);
        if dry_run {
            // Seen once, still there for the next reader (or the real redrive).
            receive = receive.visibility_timeout(0);
        } else {
            receive = receive.visibility_timeout(60);
        }
        let batch = receive
            .send()
            .await
            .map_err(|error| {
                CliError::Failed(format!(
                    "cannot read the dead-letter queue {dlq_url}: {}",
                    aws_error(&error)
                ))
            })?
            .messages
            .unwrap_or_default();
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|message| message.message_id().is_some_and(|id| seen.insert(id.to_owned())))
            .collect();
        if fresh.is_empty() {
            empty_polls += 1;
            continue;
        }
        for message in fresh {
            let body = message.body().unwrap_or_default();
            let attributes = message.attributes();
            let letter = DeadLetter {
                message_id: message.message_id().unwrap_or_default().to_owned(),
                receive_count: attributes
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .cloned(),
                sent_at: attributes
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .cloned(),
                bytes: body.len(),
                kind: message
                    .message_attributes()
                    .and_then(|a| a.get("kind"))
                    .and_then(|v| v.string_value())
                    .map(str::to_owned),
                preview: body.chars().take(80).collect(),
            };
            if !dry_run {
                let sent = sqs
                    .send_message()
                    .queue_url(queue_url)
                    .message_body(body)
                    .set_message_attributes(message.message_attributes().cloned())
                    .send()
                    .await;
                match sent {
                    Ok(_) => {
                        let deleted = sqs
                            .delete_message()
                            .queue_url(dlq_url)
                            .receipt_handle(message.receipt_handle().unwrap_or_default())
                            .send()
                            .await;
                        match deleted {
                            Ok(_) => report.moved += 1,
                            Err(error) => report.failed.push(format!(
                                "{}: copied to the queue but not deleted from the dead-letter queue ({})",
                                letter.message_id,
                                aws_error(&error)
                            )),
                        }
                    }
                    Err(error) => report.failed.push(format!(
                        "{}: not sent to the queue ({})",
                        letter.message_id,
                        aws_error(&error)
                    )),
                }
            }
            report.messages.push(letter);
        }
    }
    Ok(report)
}
