//! The conversation with one contact (`GET /contacts/{contact}/messages`): the entries as the API
//! shows them, a place in the conversation, and the opaque cursor that carries it between pages.
//!
//! A cursor is the position (the index sort key and the table key of the last entry served)
//! authenticated with HMAC-SHA256 under a key derived from the API key, bound to the contact: a
//! cursor edited by hand, or one taken from another contact's conversation, is refused (400
//! naming `cursor`) instead of starting the query somewhere the caller did not page to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::phone;
use super::send_request::parse_user_id;

type HmacSha256 = Hmac<Sha256>;

/// Entries per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most entries one page may hold.
pub const MAX_LIMIT: u32 = 100;
/// How long a media link stays valid (15 minutes).
pub const MEDIA_LINK_SECONDS: u64 = 15 * 60;
/// A cursor longer than this is not one the API made (positions are a few hundred bytes).
const MAX_CURSOR_LEN: usize = 2048;
/// Bytes of the HMAC kept in a cursor (128 bits).
const TAG_LEN: usize = 16;

/// A place in a contact's conversation: the index sort key and the table key of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "t")]
    pub sort: String,
    #[serde(rename = "p")]
    pub pk: String,
    #[serde(rename = "s")]
    pub sk: String,
}

/// A media message's file: Meta's facts, and where the bundle keeps the bytes (`s3_key`, when the
/// worker stored them) or why it could not (`error`). `url` is filled by the API: a presigned GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MediaView {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// The object key in the payload bucket (`media/<phone_number_id>/<wamid>/<media id>`); not shown.
    #[serde(skip)]
    pub s3_key: Option<String>,
    /// A presigned S3 GET of the bytes, valid [`MEDIA_LINK_SECONDS`]; `null` while not stored.
    pub url: Option<String>,
    pub url_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One message of a conversation, either direction. Field names are the API's contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationEntry {
    /// `inbound` (the contact wrote) or `outbound` (the business sent).
    pub direction: String,
    /// The bundle's message id, for a message sent through it.
    pub id: Option<String>,
    pub wamid: Option<String>,
    /// The business number (phone number id) the message went through, when known.
    pub phone_number_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// When it was written (inbound: Meta's timestamp) or queued (outbound), RFC 3339 UTC.
    pub timestamp: String,
    /// `received` for inbound; the send's or Meta's latest status for outbound.
    pub status: Option<String>,
    /// Who sent an outbound message: `api` (the send API), `auto-reply`, or `business_app` (the
    /// owner, in the WhatsApp Business app); absent when the bundle does not know (inbound, or a
    /// message known only from its statuses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `true` for a message of the WhatsApp Business app's shared history (`history`), imported
    /// when the number joined the API; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<bool>,
    /// What it says, by type: `{"body"}` for text, `{"caption", "filename"}` for media, the reply's
    /// ids and titles, the location, the reaction; `{}` when there is nothing to show.
    pub content: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaView>,
    /// Meta's errors (a failed send or status), `[]` when none.
    pub errors: Value,
    /// An outbound message's per-message pricing, from the latest status that had one; absent before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Value>,
}

/// One page, newest first, and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationPage {
    pub entries: Vec<ConversationEntry>,
    pub next: Option<Position>,
}

/// Why a query parameter was refused; the message names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct ParameterError {
    pub parameter: &'static str,
    pub message: String,
}

impl ParameterError {
    pub fn new(parameter: &'static str, message: impl Into<String>) -> Self {
        Self {
            parameter,
            message: message.into(),
        }
    }
}

/// The contact of the path: a business-scoped user id when it has a letter (`US.1349…`), else a
/// phone number normalized as sends normalize `to` (so `+1 (415) 555-0123` and `14155550123` are
/// the same conversation). Answers the key the contact's messages are stored under.
pub fn contact_key(raw: &str, default_country_code: Option<&str>) -> Result<String, ParameterError> {
    let raw = raw.trim();
    let refused = |message: String| ParameterError::new("contact", message);
    if raw.chars().any(|c| c.is_ascii_alphabetic()) {
        return match parse_user_id(raw) {
            Ok(recipient) => Ok(recipient.key().to_owned()),
            Err(_) => Err(refused(
                "must be a phone number or a business-scoped user id such as \"US.13491208655302741918\"".to_owned(),
            )),
        };
    }
    phone::normalize(raw, default_country_code).map_err(|error| refused(error.to_string()))
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, ParameterError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<u32>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ParameterError::new(
            "limit",
            format!("must be a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// The key cursors are authenticated with, derived once from the API key.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

impl CursorKey {
    /// `HMAC(secret, "conversation-cursor-v1")`: the API key itself never signs anything else.
    pub fn derive(secret: &str) -> Self {
        let mut mac = mac_with(secret.as_bytes());
        mac.update(b"conversation-cursor-v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn tag(&self, contact: &str, payload: &[u8]) -> HmacSha256 {
        let mut mac = mac_with(&self.0);
        mac.update(contact.as_bytes());
        mac.update(b"\n");
        mac.update(payload);
        mac
    }

    /// The opaque cursor for `position` in `contact`'s conversation (URL-safe, no padding).
    pub fn seal(&self, contact: &str, position: &Position) -> String {
        let payload = serde_json::to_vec(position).unwrap_or_default();
        let tag = self.tag(contact, &payload).finalize().into_bytes();
        format!("{}.{}", BASE64URL.encode(&payload), BASE64URL.encode(&tag[..TAG_LEN]))
    }

    /// The position a cursor of `contact`'s conversation carries; any other string is refused.
    pub fn open(&self, contact: &str, cursor: &str) -> Result<Position, ParameterError> {
        let refused = || ParameterError::new("cursor", "is not a cursor this API returned for this contact");
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(refused());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(refused)?;
        let payload = BASE64URL.decode(payload).map_err(|_| refused())?;
        let tag = BASE64URL.decode(tag).map_err(|_| refused())?;
        if tag.len() != TAG_LEN {
            return Err(refused());
        }
        self.tag(contact, &payload)
            .verify_truncated_left(&tag)
            .map_err(|_| refused())?;
        serde_json::from_slice(&payload).map_err(|_| refused())
    }
}

/// Decodes `%XX` escapes in a path segment (`%2B14155550123`); `None` when one is malformed or
/// the result is not UTF-8.
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        Position {
            sort: "2026-12-01T10:00:00Z#wamid.A".to_owned(),
            pk: "MSG#wamid.A".to_owned(),
            sk: "MSG".to_owned(),
        }
    }

    #[test]
    fn a_cursor_opens_for_its_contact_only() {
        let key = CursorKey::derive("0123456789abcdef");
        let cursor = key.seal("14155550123", &position());
        assert!(
            cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{cursor}"
        );
        assert_eq!(key.open("14155550123", &cursor), Ok(position()));
        let other = key.open("14155550124", &cursor).expect_err("another contact");
        assert_eq!(other.parameter, "cursor");
        // Another deployment's (another API key's) cursor.
        let foreign = CursorKey::derive("another-api-key-0000").seal("14155550123", &position());
        assert!(key.open("14155550123", &foreign).is_err());
    }

    #[test]
    fn an_edited_cursor_is_refused() {
        let key = CursorKey::derive("0123456789abcdef");
        let cursor = key.seal("14155550123", &position());
        let (payload, tag) = cursor.split_once('.').expect("two parts");
        // The same tag over a position moved to another partition.
        let forged = Position {
            pk: "MSG#wamid.someone-else".to_owned(),
            ..position()
        };
        let forged_payload = BASE64URL.encode(serde_json::to_vec(&forged).expect("json"));
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", BASE64URL.encode([0u8; TAG_LEN])),
            format!("{payload}.{}", &tag[..tag.len() - 2]),
            payload.to_owned(),
            String::new(),
            "not a cursor".to_owned(),
            "x".repeat(5000),
            format!("{payload}.{tag}!"),
        ] {
            let error = key.open("14155550123", &bad).expect_err(&bad);
            assert_eq!(error.parameter, "cursor", "{bad}");
        }
    }

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "ten", "", "1.5", "99999999999999"] {
            assert_eq!(parse_limit(Some(bad)).expect_err(bad).parameter, "limit");
        }
    }

    #[test]
    fn contacts_are_normalized_as_sends_are() {
        assert_eq!(contact_key("+1 (415) 555-0123", None).as_deref(), Ok("14155550123"));
        assert_eq!(contact_key("14155550123", None).as_deref(), Ok("14155550123"));
        assert_eq!(contact_key("050-123-4567", Some("972")).as_deref(), Ok("972501234567"));
        assert_eq!(
            contact_key("US.13491208655302741918", None).as_deref(),
            Ok("US.13491208655302741918")
        );
        for bad in ["", "12", "US 1349", "+", "a/b"] {
            assert_eq!(contact_key(bad, None).expect_err(bad).parameter, "contact");
        }
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(percent_decode("%2B14155550123").as_deref(), Some("+14155550123"));
        assert_eq!(percent_decode("US.1349").as_deref(), Some("US.1349"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
