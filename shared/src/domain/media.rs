//! Inbound media kept in the payload bucket: the job that fetches one message's media after the message
//! is recorded, where its bytes go, and the checks they pass on the way (size, Meta's SHA-256), as pure
//! values and a byte-by-byte [`Verifier`]. The worker's `media` module does the I/O.

/// Where kept media lives in the payload bucket (`media/<phone number id>/<wamid>/<media id>`), and
/// the only keys the send API links or uploads from.
pub const MEDIA_PREFIX: &str = "media/";

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::envelope::{Envelope, EventKind, QueueMessage};
use super::ids::{PhoneNumberId, Wamid};
use super::records::InboundRecord;
use super::webhook::Content;

/// Meta's largest media file: 100 MB documents (images 5 MB, audio and video 16 MB, stickers 500 KB). The
/// default of `MEDIA_MAX_BYTES`.
pub const META_MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

/// One inbound message's media to fetch (`GET /{media-id}`, download, the bucket), queued by the worker
/// after the message is recorded, as an `inbound-media` record of the events queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaJob {
    pub wamid: Wamid,
    /// The business number that received the message (the key's first part; `unknown` without one).
    pub phone_number_id: Option<PhoneNumberId>,
    pub media_id: String,
    /// `image`, `audio`, `video`, `document`, `sticker`.
    pub kind: String,
    /// What the webhook said of the media (Meta's).
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// The `message.received` detail of the message, without its media's fate: published by the job once
    /// the media is kept or has failed for good. `None` when no bus is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
}

impl MediaJob {
    /// The job for `record`, when it is a media message naming a media id.
    pub fn for_record(record: &InboundRecord, event: Option<Value>) -> Option<Self> {
        let Content::Media { kind, media } = &record.content else {
            return None;
        };
        let media_id = media.id.clone().filter(|id| !id.trim().is_empty())?;
        Some(Self {
            wamid: record.wamid.clone(),
            phone_number_id: record.phone_number_id.clone(),
            media_id,
            kind: kind.clone(),
            mime_type: media.mime_type.clone(),
            sha256: media.sha256.clone(),
            event,
        })
    }

    /// Where the bytes go in the payload bucket: `media/<phone_number_id>/<wamid>/<media-id>`, each part
    /// made safe for a key (one object per message and media id, so a retry writes the same object).
    pub fn key(&self) -> String {
        format!(
            "media/{}/{}/{}",
            key_part(self.phone_number_id.as_deref().unwrap_or("unknown")),
            key_part(&self.wamid),
            key_part(&self.media_id)
        )
    }

    /// The queue message of this job (the envelope's attributes, kind `inbound-media`).
    pub fn queue_message(&self, request_id: &str) -> QueueMessage {
        // Serializing this plain struct cannot fail.
        let body = serde_json::to_string(self).unwrap_or_default();
        let envelope = Envelope::new(EventKind::InboundMedia, chrono::Utc::now(), request_id, body.as_bytes());
        let attributes = envelope
            .attributes()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        QueueMessage::new(body, attributes)
    }
}

/// What `GET /{version}/{media-id}` answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    /// The short-lived download URL (fetched with the bearer token).
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Lowercase hex SHA-256 of the bytes.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
    #[serde(default)]
    pub id: Option<String>,
}

/// What is recorded on the message of a media message once its job is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredMedia {
    /// Kept: the object, its content type, Meta's SHA-256 (checked) and its size.
    Kept {
        bucket: String,
        key: String,
        mime_type: String,
        sha256: String,
        size: u64,
    },
    /// Can never be fetched (Meta refused the id, over the size cap, or retries exhausted): why.
    Failed { error: String },
}

impl StoredMedia {
    /// The `media` member's fate in `message.received`.
    pub fn outcome(&self) -> super::events::MediaOutcome {
        match self {
            StoredMedia::Kept { bucket, key, size, .. } => super::events::MediaOutcome::Stored {
                bucket: bucket.clone(),
                key: key.clone(),
                size: *size,
            },
            StoredMedia::Failed { error } => super::events::MediaOutcome::Failed { error: error.clone() },
        }
    }
}

/// The `message.received` event of a job's message with its media's fate: the detail the webhook's
/// record built, `media` completed (`s3_bucket`, `s3_key`, `size`, or `error`). Same `event_id`.
pub fn received_event(detail: &Value, stored: &StoredMedia) -> Option<super::events::BusEvent> {
    let mut detail = detail.clone();
    let event_id = detail.get("event_id")?.as_str()?.to_owned();
    let media = detail.get_mut("media")?.as_object_mut()?;
    super::events::add_media_outcome(media, &stored.outcome());
    if let StoredMedia::Kept { mime_type, sha256, .. } = stored {
        // Meta's webhook may leave them out; the retrieval gives both.
        for (name, value) in [("mime_type", mime_type), ("sha256", sha256)] {
            if media.get(name).is_none_or(Value::is_null) {
                media.insert(name.to_owned(), Value::from(value.as_str()));
            }
        }
    }
    Some(super::events::BusEvent {
        detail_type: super::events::MESSAGE_RECEIVED.to_owned(),
        detail_json: detail.to_string(),
        detail,
        event_id,
    })
}

/// Why the bytes of a download were not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("the download brought more than the {expected} bytes Meta announced")]
    TooLong { expected: u64 },
    #[error("the download ended after {got} of the {expected} bytes Meta announced")]
    TooShort { got: u64, expected: u64 },
    #[error("SHA-256 {got} of the download is not Meta's {expected}")]
    Sha256 { got: String, expected: String },
}

/// Checks a download as it streams: never more bytes than announced, and at the end exactly as many, with
/// Meta's SHA-256 (hex; base64 also accepted). Holds nothing but the running hash.
#[derive(Debug, Clone)]
pub struct Verifier {
    hasher: Sha256,
    seen: u64,
    expected_size: u64,
    expected_sha256: Option<String>,
}

impl Verifier {
    pub fn new(expected_size: u64, expected_sha256: Option<&str>) -> Self {
        Self {
            hasher: Sha256::new(),
            seen: 0,
            expected_size,
            expected_sha256: expected_sha256
                .map(str::trim)
                .filter(|sha| !sha.is_empty())
                .map(str::to_owned),
        }
    }

    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// One more chunk.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if self.seen > self.expected_size {
            return Err(Mismatch::TooLong {
                expected: self.expected_size,
            });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// The download ended: the hex SHA-256 when everything matched.
    pub fn finish(self) -> Result<String, Mismatch> {
        if self.seen != self.expected_size {
            return Err(Mismatch::TooShort {
                got: self.seen,
                expected: self.expected_size,
            });
        }
        let digest = self.hasher.finalize();
        let hex = hex::encode(digest);
        match self.expected_sha256 {
            Some(expected) if !sha256_matches(&expected, &hex, &digest) => Err(Mismatch::Sha256 { got: hex, expected }),
            _ => Ok(hex),
        }
    }
}

fn sha256_matches(expected: &str, hex: &str, digest: &[u8]) -> bool {
    use base64::Engine as _;
    expected.eq_ignore_ascii_case(hex)
        || base64::engine::general_purpose::STANDARD
            .decode(expected)
            .is_ok_and(|bytes| bytes == digest)
}

/// A key part: ASCII letters, digits, `.`, `-`, `_`, `=` kept, anything else `_`, at most 200 characters.
fn key_part(text: &str) -> String {
    let part: String = text
        .chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() || part.chars().all(|c| c == '.') {
        "_".to_owned()
    } else {
        part
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> MediaJob {
        MediaJob {
            wamid: Wamid::new("wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQTdGOUVBNjhFRkE2MTZBMDVBMwA="),
            phone_number_id: Some(PhoneNumberId::new("106540352242922")),
            media_id: "7712345678901234".into(),
            kind: "image".into(),
            mime_type: Some("image/jpeg".into()),
            sha256: None,
            event: None,
        }
    }

    #[test]
    fn keys_are_per_number_message_and_media_and_safe() {
        assert_eq!(
            job().key(),
            "media/106540352242922/wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQTdGOUVBNjhFRkE2MTZBMDVBMwA=/7712345678901234"
        );
        let odd = MediaJob {
            phone_number_id: None,
            wamid: Wamid::new("../a/b c"),
            media_id: "..".into(),
            ..job()
        };
        assert_eq!(odd.key(), "media/unknown/.._a_b_c/_");
    }

    #[test]
    fn the_job_round_trips_as_json() {
        let body = serde_json::to_string(&job()).expect("serializes");
        assert_eq!(serde_json::from_str::<MediaJob>(&body).expect("parses"), job());
        let message = job().queue_message("req-1");
        assert!(
            message
                .attributes
                .contains(&("kind".to_owned(), "inbound-media".to_owned()))
        );
    }

    #[test]
    fn the_verifier_takes_exactly_the_announced_bytes_and_hash() {
        let bytes = b"hello media";
        let hex = hex::encode(Sha256::digest(bytes));
        let mut ok = Verifier::new(bytes.len() as u64, Some(&hex.to_uppercase()));
        ok.update(&bytes[..5]).expect("within");
        ok.update(&bytes[5..]).expect("within");
        assert_eq!(ok.finish(), Ok(hex.clone()));

        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes));
        let mut ok = Verifier::new(bytes.len() as u64, Some(&b64));
        ok.update(bytes).expect("within");
        assert!(ok.finish().is_ok());

        let mut wrong = Verifier::new(bytes.len() as u64, Some(&"0".repeat(64)));
        wrong.update(bytes).expect("within");
        assert!(matches!(wrong.finish(), Err(Mismatch::Sha256 { .. })));

        let mut long = Verifier::new(4, None);
        assert_eq!(long.update(bytes), Err(Mismatch::TooLong { expected: 4 }));

        let mut short = Verifier::new(100, None);
        short.update(bytes).expect("within");
        assert_eq!(short.finish(), Err(Mismatch::TooShort { got: 11, expected: 100 }));
    }
}
