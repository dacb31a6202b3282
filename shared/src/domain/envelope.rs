//! The queue envelope: how a webhook travels from ingestion to the worker.
//!
//! The SQS message body is the webhook payload itself, byte for byte; when and by
//! which request it arrived travel as SQS message attributes. A payload too large
//! for one SQS message (or not representable as SQS text) goes to S3 instead and the
//! body carries a pointer in the format of the AWS SQS Extended Client Library
//! (`["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName", "s3Key"}]`,
//! with the `ExtendedPayloadSize` attribute), so other tools can read it too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::json_frame::{Checked, first_not_sqs};

/// Message attribute: what the body is (see [`EventKind`]).
pub const ATTR_KIND: &str = "kind";
/// Message attribute: when the bundle received the event (RFC 3339).
pub const ATTR_RECEIVED_AT: &str = "received_at";
/// Message attribute: the API Gateway request id that brought it.
pub const ATTR_REQUEST_ID: &str = "request_id";
/// Message attribute set by the SQS Extended Client when the body is an S3 pointer.
pub const ATTR_EXTENDED_PAYLOAD_SIZE: &str = "ExtendedPayloadSize";

const S3_POINTER_CLASS: &str = "software.amazon.payloadoffloading.PayloadS3Pointer";

/// SQS allows 1 MiB per message, attributes included. Payloads above this many bytes
/// go through S3 so that a 3 MB Meta payload is never dropped; the default leaves
/// room for the attributes and works with emulators still at the old 256 KiB limit.
pub const DEFAULT_INLINE_LIMIT: usize = 250 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A signed POST from Meta to `/webhooks/whatsapp`.
    MetaWebhook,
    /// A message to send through the Graph API (a [`crate::domain::outbound::SendJob`]).
    SendMessage,
    /// What Meta answered to a send whose record could not be written at once (a
    /// [`crate::domain::outbound::SendOutcome`]): recorded later, never sent again.
    SendOutcome,
    /// An inbound message's media to fetch into the payload bucket (a
    /// [`crate::domain::media::MediaJob`]), queued after the message was recorded.
    InboundMedia,
    /// Events the bus refused after the write they describe (a list of `detail_type` + `detail`),
    /// published from the queue with their ids.
    PublishEvents,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MetaWebhook => "meta-webhook",
            EventKind::SendMessage => "send-message",
            EventKind::SendOutcome => "send-outcome",
            EventKind::InboundMedia => "inbound-media",
            EventKind::PublishEvents => "publish-events",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "meta-webhook" => Some(EventKind::MetaWebhook),
            "send-message" => Some(EventKind::SendMessage),
            "send-outcome" => Some(EventKind::SendOutcome),
            "inbound-media" => Some(EventKind::InboundMedia),
            "publish-events" => Some(EventKind::PublishEvents),
            _ => None,
        }
    }
}

/// A message for the queue: its body, string attributes, and how long SQS keeps it
/// invisible before the first delivery (0 to 900 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    pub attributes: Vec<(String, String)>,
    pub delay_seconds: u32,
}

impl QueueMessage {
    pub fn new(body: String, attributes: Vec<(String, String)>) -> Self {
        Self {
            body,
            attributes,
            delay_seconds: 0,
        }
    }
}

/// An event as received, ready to be queued. It borrows the request body: the only
/// copy made on the way to SQS is the one the SDK request needs.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub kind: EventKind,
    pub received_at: DateTime<Utc>,
    /// Borrowed from the invocation: ingestion allocates nothing for it.
    pub request_id: &'a str,
    pub body: &'a [u8],
    /// The body as SQS text, when SQS takes it ([`sqs_text`]): found once, by the constructor.
    text: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    pub fn new(kind: EventKind, received_at: DateTime<Utc>, request_id: &'a str, body: &'a [u8]) -> Self {
        Self {
            kind,
            received_at,
            request_id,
            body,
            text: sqs_text(body),
        }
    }

    /// The envelope of a body that passed ingestion's JSON check, whose pass also found whether SQS
    /// takes it: the body is not scanned again.
    pub fn checked(kind: EventKind, received_at: DateTime<Utc>, request_id: &'a str, body: Checked<'a>) -> Self {
        Self {
            kind,
            received_at,
            request_id,
            body: body.text.as_bytes(),
            text: body.sqs_text.then_some(body.text),
        }
    }

    /// The attributes that travel beside the body.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        vec![
            (ATTR_KIND, self.kind.as_str().to_owned()),
            (
                ATTR_RECEIVED_AT,
                self.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            (ATTR_REQUEST_ID, self.request_id.to_owned()),
        ]
    }

    /// The object key under which an oversized body is stored.
    pub fn blob_key(&self) -> String {
        format!(
            "webhooks/{}/{}",
            self.received_at.format("%Y/%m/%d"),
            sanitize_key(self.request_id)
        )
    }

    /// The body as an SQS message body, when it can travel inline.
    pub fn inline_body(&self, inline_limit: usize) -> Option<&'a str> {
        self.text.filter(|text| text.len() <= inline_limit)
    }
}

/// Where an offloaded body lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Pointer {
    #[serde(rename = "s3BucketName")]
    pub bucket: String,
    #[serde(rename = "s3Key")]
    pub key: String,
}

impl S3Pointer {
    /// The SQS body the Extended Client Library writes for this pointer.
    pub fn to_body(&self) -> String {
        serde_json::json!([S3_POINTER_CLASS, self]).to_string()
    }

    /// Reads a pointer body; `None` if the body is not one.
    pub fn from_body(body: &str) -> Option<Self> {
        let (class, pointer): (String, S3Pointer) = serde_json::from_str(body).ok()?;
        (class == S3_POINTER_CLASS).then_some(pointer)
    }
}

/// The bytes as an SQS message body, if SQS accepts them (UTF-8 without the characters
/// [`first_not_sqs`] finds).
pub fn sqs_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    first_not_sqs(bytes).is_none().then_some(text)
}

fn sanitize_key(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn envelope(body: &[u8]) -> Envelope<'_> {
        Envelope::new(
            EventKind::MetaWebhook,
            Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 0)
                .single()
                .expect("valid date"),
            "req/1:2",
            body,
        )
    }

    #[test]
    fn attributes_carry_kind_time_and_request() {
        let attributes = envelope(b"{}").attributes();
        assert_eq!(
            attributes,
            vec![
                (ATTR_KIND, "meta-webhook".to_owned()),
                (ATTR_RECEIVED_AT, "2026-11-22T10:30:00.000Z".to_owned()),
                (ATTR_REQUEST_ID, "req/1:2".to_owned()),
            ]
        );
    }

    #[test]
    fn small_text_bodies_travel_inline_byte_exact() {
        let body = br#"{"text":"caf\u00e9 \u05e9\u05dc\u05d5\u05dd"}"#;
        assert_eq!(
            envelope(body).inline_body(DEFAULT_INLINE_LIMIT).map(str::as_bytes),
            Some(&body[..])
        );
    }

    #[test]
    fn large_or_non_sqs_bodies_are_offloaded() {
        let large = vec![b'a'; DEFAULT_INLINE_LIMIT + 1];
        assert_eq!(envelope(&large).inline_body(DEFAULT_INLINE_LIMIT), None);
        assert_eq!(envelope(b"{\"a\":\"\x01\"}").inline_body(DEFAULT_INLINE_LIMIT), None);
        assert_eq!(envelope(b"\xff\xfe").inline_body(DEFAULT_INLINE_LIMIT), None);
        let exactly = vec![b'a'; DEFAULT_INLINE_LIMIT];
        assert!(envelope(&exactly).inline_body(DEFAULT_INLINE_LIMIT).is_some());
    }

    #[test]
    fn the_sqs_character_set_is_checked_exactly() {
        /// The character-by-character definition the byte scan replaces.
        fn by_chars(bytes: &[u8]) -> Option<&str> {
            let text = std::str::from_utf8(bytes).ok()?;
            text.chars()
                .all(|c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
                .then_some(text)
        }
        let mut samples: Vec<Vec<u8>> = (0u8..=0x7f).map(|b| vec![b'{', b, b'}']).collect();
        for c in [
            '\u{D7FF}',
            '\u{E000}',
            '\u{EFFF}',
            '\u{FEFF}',
            '\u{FFFD}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{10000}',
            '\u{10FFFF}',
        ] {
            samples.push(format!("ab{c}cd").into_bytes());
            samples.push(format!("{}{c}{c}", "x".repeat(62)).into_bytes());
        }
        samples.push(b"\xef\xbf".to_vec());
        samples.push(b"\xed\xa0\x80".to_vec());
        for sample in samples {
            assert_eq!(sqs_text(&sample), by_chars(&sample), "{sample:x?}");
        }
    }

    #[test]
    fn pointer_round_trips_in_extended_client_format() {
        let pointer = S3Pointer {
            bucket: "payloads".to_owned(),
            key: "webhooks/2026/11/22/abc".to_owned(),
        };
        let body = pointer.to_body();
        assert_eq!(
            body,
            r#"["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"payloads","s3Key":"webhooks/2026/11/22/abc"}]"#
        );
        assert_eq!(S3Pointer::from_body(&body), Some(pointer));
        assert_eq!(S3Pointer::from_body(r#"{"object":"whatsapp_business_account"}"#), None);
        assert_eq!(
            S3Pointer::from_body(r#"["other.Class",{"s3BucketName":"b","s3Key":"k"}]"#),
            None
        );
    }

    #[test]
    fn blob_keys_are_dated_and_safe() {
        assert_eq!(envelope(b"{}").blob_key(), "webhooks/2026/11/22/req_1_2");
    }
}
