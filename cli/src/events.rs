//! `wabridge events`: the bundle's EventBridge events as they arrive, read from a tap queue (locally the
//! one `make run` creates, `EVENTS_TAP_QUEUE_URL`; against a stack its `EventsTapQueueUrl` output, when
//! deployed with `EventsTapQueue=true`). Each event is deleted from the tap once printed.

use std::time::Duration;

use aws_sdk_sqs::Client;
use serde_json::Value;

use crate::error::{CliError, aws_error};

/// One event of the tap: EventBridge's envelope (`id`, `detail-type`, `source`, `time`, `detail`).
#[derive(Debug, Clone, PartialEq)]
pub struct TappedEvent {
    pub envelope: Value,
}

impl TappedEvent {
    /// `time  detail-type  event_id  the detail's main fields`.
    pub fn line(&self) -> String {
        let detail = &self.envelope["detail"];
        let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
        let what = match self.envelope["detail-type"].as_str().unwrap_or_default() {
            "message.received" => format!(
                "{} from {} {}",
                text(&detail["wamid"]),
                text(&detail["contact"]["wa_id"]),
                text(&detail["type"])
            ),
            "message.status" => format!("{} {}", text(&detail["wamid"]), text(&detail["status"])),
            "message.echo" => format!(
                "{} to {} {} (business app)",
                text(&detail["wamid"]),
                detail["contact"]["wa_id"]
                    .as_str()
                    .or(detail["contact"]["user_id"].as_str())
                    .unwrap_or("-"),
                text(&detail["type"])
            ),
            "history.progress" => format!(
                "phase {} chunk {} progress {} ({} messages){}",
                detail["phase"],
                detail["chunk_order"],
                detail["progress"],
                detail["messages"],
                if detail["declined"] == true { " declined" } else { "" }
            ),
            "call.received" | "call.ended" | "call.status" => format!(
                "{} from {} {}",
                text(&detail["call_id"]),
                text(&detail["from"]),
                detail["policy"].as_str().or(detail["status"].as_str()).unwrap_or("-")
            ),
            "template.status" => format!(
                "{} ({}) {} {}",
                text(&detail["name"]),
                text(&detail["language"]),
                text(&detail["status"]),
                text(&detail["reason"])
            ),
            "template.category" | "template.quality" => {
                format!("{} ({})", text(&detail["name"]), text(&detail["language"]))
            }
            "number.quality" => format!(
                "{} {} {}",
                text(&detail["display_phone_number"]),
                text(&detail["event"]),
                text(&detail["current_limit"])
            ),
            "account.update" => text(&detail["event"]),
            _ => text(&detail["field"]),
        };
        format!(
            "{}  {}  {}  {}",
            text(&self.envelope["time"]),
            text(&self.envelope["detail-type"]),
            text(&detail["event_id"]),
            what
        )
    }
}

/// Reads the events on `tap_url` (long polls of `wait`), calling `each` for every one, until the queue
/// is empty (`follow` false) or forever.
pub async fn read(
    sqs: &Client,
    tap_url: &str,
    follow: bool,
    wait: Duration,
    mut each: impl FnMut(TappedEvent),
) -> Result<usize, CliError> {
    let mut seen = 0;
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(tap_url)
            .max_number_of_messages(10)
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
            .send()
            .await
            .map_err(|error| CliError::Failed(format!("cannot read the tap queue {tap_url}: {}", aws_error(&error))))?
            .messages
            .unwrap_or_default();
        if batch.is_empty() && !follow {
            return Ok(seen);
        }
        for message in batch {
            let envelope = message
                .body()
                .and_then(|body| serde_json::from_str::<Value>(body).ok())
                .unwrap_or(Value::Null);
            each(TappedEvent { envelope });
            seen += 1;
            if let Some(receipt) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(tap_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|error| {
                        CliError::Failed(format!("cannot delete from the tap queue: {}", aws_error(&error)))
                    })?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_name_the_event() {
        let event = TappedEvent {
            envelope: json!({"time": "2026-12-01T12:00:00Z", "detail-type": "message.status",
                "detail": {"event_id": "abc", "wamid": "wamid.X", "status": "read"}}),
        };
        assert_eq!(event.line(), "2026-12-01T12:00:00Z  message.status  abc  wamid.X read");
        let echo = TappedEvent {
            envelope: json!({"time": "2026-12-01T12:00:00Z", "detail-type": "message.echo",
                "detail": {"event_id": "e1", "wamid": "wamid.E", "type": "text", "contact": {"wa_id": "14155550199", "user_id": null}}}),
        };
        assert_eq!(
            echo.line(),
            "2026-12-01T12:00:00Z  message.echo  e1  wamid.E to 14155550199 text (business app)"
        );
        let call = TappedEvent {
            envelope: json!({"time": "2026-12-01T12:00:00Z", "detail-type": "call.received",
                "detail": {"event_id": "c1", "call_id": "wacid.C", "from": "13175551399", "policy": "reject"}}),
        };
        assert_eq!(
            call.line(),
            "2026-12-01T12:00:00Z  call.received  c1  wacid.C from 13175551399 reject"
        );
        let paused = TappedEvent {
            envelope: json!({"time": "2026-12-01T12:00:00Z", "detail-type": "template.status",
                "detail": {"event_id": "def", "name": "order_confirmation", "language": "en_US",
                    "status": "PAUSED", "reason": "NONE"}}),
        };
        assert_eq!(
            paused.line(),
            "2026-12-01T12:00:00Z  template.status  def  order_confirmation (en_US) PAUSED NONE"
        );
    }
}
