//! A successful send answer:
//! `{"messaging_product":"whatsapp","contacts":[{"input":..,"wa_id":..}],
//! "messages":[{"id":"wamid...","message_status":"accepted"}]}`.
//!
//! HTTP 200 only means Meta accepted the message; delivery comes later in status webhooks.

use serde::Deserialize;
use thiserror::Error;

/// The accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAccepted {
    /// The message id, to match later status webhooks.
    pub wamid: String,
    /// The recipient's WhatsApp id as Meta resolved it (may differ from the input number).
    pub wa_id: Option<String>,
    /// `accepted`, `held_for_quality_assessment`, `paused`… when Meta says.
    pub message_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendResponseError {
    #[error("send response is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("send response has no message id (messages[0].id)")]
    MissingWamid,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    contacts: Vec<RawContact>,
    #[serde(default)]
    messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
struct RawContact {
    #[serde(default)]
    wa_id: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message_status: Option<String>,
}

impl SendAccepted {
    /// Parses the body of a 2xx answer to `POST /{phone-number-id}/messages`.
    pub fn parse(body: &[u8]) -> Result<SendAccepted, SendResponseError> {
        let raw: Raw = serde_json::from_slice(body).map_err(|e| SendResponseError::InvalidJson(e.to_string()))?;
        let message = raw.messages.into_iter().next();
        let (wamid, message_status) = match message {
            Some(RawMessage {
                id: Some(id),
                message_status,
            }) if !id.trim().is_empty() => (id, message_status),
            _ => return Err(SendResponseError::MissingWamid),
        };
        let wa_id = raw
            .contacts
            .into_iter()
            .next()
            .and_then(|c| c.wa_id)
            .filter(|w| !w.is_empty());
        Ok(SendAccepted {
            wamid,
            wa_id,
            message_status: message_status.filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<SendAccepted, SendResponseError> {
        SendAccepted::parse(value.to_string().as_bytes())
    }

    #[test]
    fn parses_accepted_answers() {
        let cases = [
            (
                json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{ "input": "972504370045", "wa_id": "972504370045" }],
                    "messages": [{ "id": "wamid.HBgLOTcy", "message_status": "accepted" }]
                }),
                SendAccepted {
                    wamid: "wamid.HBgLOTcy".into(),
                    wa_id: Some("972504370045".into()),
                    message_status: Some("accepted".into()),
                },
            ),
            (
                json!({ "messages": [{ "id": "wamid.A" }] }),
                SendAccepted {
                    wamid: "wamid.A".into(),
                    wa_id: None,
                    message_status: None,
                },
            ),
            (
                json!({
                    "contacts": [{ "input": "+1 415", "user_id": "US.123" }],
                    "messages": [{ "id": "wamid.B", "message_status": "held_for_quality_assessment", "x": 1 }],
                    "unknown": true
                }),
                SendAccepted {
                    wamid: "wamid.B".into(),
                    wa_id: None,
                    message_status: Some("held_for_quality_assessment".into()),
                },
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body.clone()), Ok(expected), "{body}");
        }
    }

    #[test]
    fn missing_wamid_is_an_error() {
        let cases = [
            json!({}),
            json!({ "messaging_product": "whatsapp", "messages": [] }),
            json!({ "messages": [{ "message_status": "accepted" }] }),
            json!({ "messages": [{ "id": "" }] }),
            json!({ "messages": [{ "id": null }] }),
        ];
        for body in cases {
            assert_eq!(parse(body.clone()), Err(SendResponseError::MissingWamid), "{body}");
        }
    }

    #[test]
    fn invalid_json_is_an_error() {
        let bodies: [&[u8]; 4] = [b"", b"not json", br#"{"messages": "x"}"#, br#"{"messages":[{"id":5}]}"#];
        for body in bodies {
            assert!(
                matches!(SendAccepted::parse(body), Err(SendResponseError::InvalidJson(_))),
                "{body:?}"
            );
        }
    }
}
