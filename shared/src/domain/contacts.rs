//! The contacts list (`GET /contacts`): each contact's last activity, as the contacts index keeps it
//! (one entry per contact, moved to the front by every inbound message, send and echo), and its
//! 24-hour windows with the business numbers.

use serde::Serialize;
use serde_json::Value;

use super::history::Position;
use super::webhook::Content;

/// The longest preview kept of a message (characters).
pub const PREVIEW_CHARS: usize = 80;

/// The 24-hour customer-service window, seconds (Meta's rule, the send API's check).
pub const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// What the cursors of the contacts list are bound to: no contact key has a `#`, so a cursor of a
/// conversation is refused here and one of this list there.
pub const CURSOR_SCOPE: &str = "#contacts";

/// One activity of a contact: what moves it to the front of the list, and what the list shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTouch {
    /// The contact's key (a phone number's digits or a business-scoped user id).
    pub key: String,
    /// When it happened, epoch milliseconds (an inbound message: Meta's time; a send: its queue time).
    pub at_ms: i64,
    /// `inbound` or `outbound`.
    pub direction: &'static str,
    /// The message's type (`text`, `image`, `template`, …).
    pub kind: String,
    /// The first [`PREVIEW_CHARS`] characters of what it says; empty when it says nothing showable.
    pub preview: String,
    /// The wamid (inbound, echo) or the bundle's message id (a send).
    pub id: String,
}

/// The first [`PREVIEW_CHARS`] characters of `text`, on one line.
pub fn preview(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(PREVIEW_CHARS).collect()
}

/// The preview of an inbound message or an echo.
pub fn preview_of_content(content: &Content) -> String {
    match content {
        Content::Text { body } => preview(body),
        Content::Media { media, .. } => preview(
            media
                .caption
                .as_deref()
                .or(media.filename.as_deref())
                .unwrap_or_default(),
        ),
        Content::Location(location) => preview(location.name.as_deref().unwrap_or_default()),
        Content::Reply(reply) => preview(reply.title.as_deref().unwrap_or_default()),
        Content::Reaction(reaction) => preview(reaction.emoji.as_deref().unwrap_or_default()),
        _ => String::new(),
    }
}

/// The preview of a send, from its Graph API body (`{"type": "text", "text": {"body": …}}`, …).
pub fn preview_of_send(payload: &Value) -> String {
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or_default();
    let part = payload.get(kind).unwrap_or(&Value::Null);
    let text = match kind {
        "text" => part.get("body"),
        "template" => part.get("name"),
        "interactive" => part.get("body").and_then(|body| body.get("text")),
        "reaction" => part.get("emoji"),
        _ => part.get("caption").or_else(|| part.get("filename")),
    };
    preview(text.and_then(Value::as_str).unwrap_or_default())
}

/// The last message of a contact, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastMessage {
    pub direction: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preview: String,
    /// RFC 3339 UTC, milliseconds.
    pub timestamp: String,
    pub id: String,
}

/// A contact's window with one business number: the last time the contact wrote to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub phone_number_id: String,
    /// Epoch seconds.
    pub last_inbound_at: i64,
}

/// One contact of the list, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSummary {
    pub key: String,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    /// The profile name of its newest message, else the WhatsApp Business app's address book's.
    pub name: Option<String>,
    pub username: Option<String>,
    pub last: LastMessage,
    /// Its newest inbound message, any number (epoch seconds).
    pub last_inbound_at: Option<i64>,
    pub windows: Vec<Window>,
}

/// One page of the list, newest activity first, and where the next starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactsPage {
    pub contacts: Vec<ContactSummary>,
    pub next: Option<Position>,
}

/// The window seen at `now` (epoch seconds): whether it is open, and the seconds left (0 when closed).
pub fn window_left(last_inbound_at: i64, now: i64) -> i64 {
    (last_inbound_at + WINDOW_SECONDS - now).clamp(0, WINDOW_SECONDS)
}

/// A contact as the API answers it (`GET /contacts`), its windows seen at `now` (epoch seconds).
pub fn contact_json(contact: &ContactSummary, now: i64) -> Value {
    let windows: Vec<Value> = contact
        .windows
        .iter()
        .map(|window| {
            let left = window_left(window.last_inbound_at, now);
            serde_json::json!({
                "phone_number_id": window.phone_number_id,
                "open": left > 0,
                "seconds_left": left,
                "last_inbound_at": rfc3339(window.last_inbound_at),
            })
        })
        .collect();
    // Open with any number: the newest inbound message across them (the contact item's), so a
    // contact recorded before windows were kept per number shows its window too.
    let left = contact
        .windows
        .iter()
        .map(|window| window.last_inbound_at)
        .chain(contact.last_inbound_at)
        .max()
        .map_or(0, |at| window_left(at, now));
    serde_json::json!({
        "contact": contact.key,
        "phone_number": contact.wa_id,
        "user_id": contact.user_id,
        "name": contact.name,
        "username": contact.username,
        "last_message": contact.last,
        "window": {"open": left > 0, "seconds_left": left},
        "windows": windows,
    })
}

fn rfc3339(seconds: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(seconds, 0).map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The index sort key of a contact: its last activity (RFC 3339 UTC, milliseconds), then its key.
pub fn index_sort(at_ms: i64, key: &str) -> String {
    let time = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    format!("{}#{key}", time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_one_line_and_bounded() {
        assert_eq!(preview("  hello\n\n  world "), "hello world");
        assert_eq!(preview(&"é".repeat(200)).chars().count(), PREVIEW_CHARS);
        let send = serde_json::json!({"type": "text", "text": {"body": "hi <b>there</b>"}});
        assert_eq!(preview_of_send(&send), "hi <b>there</b>");
        let template = serde_json::json!({"type": "template", "template": {"name": "hello_world"}});
        assert_eq!(preview_of_send(&template), "hello_world");
        let image = serde_json::json!({"type": "image", "image": {"link": "https://x", "caption": "a cat"}});
        assert_eq!(preview_of_send(&image), "a cat");
        assert_eq!(preview_of_send(&serde_json::json!({})), "");
        assert_eq!(preview_of_content(&Content::Text { body: "yo".into() }), "yo");
    }

    #[test]
    fn a_window_is_open_for_24_hours_from_the_last_inbound_message() {
        assert_eq!(window_left(1_000, 1_000), WINDOW_SECONDS);
        assert_eq!(window_left(1_000, 1_000 + WINDOW_SECONDS - 1), 1);
        assert_eq!(window_left(1_000, 1_000 + WINDOW_SECONDS), 0);
        assert_eq!(window_left(1_000, 1_000 + 2 * WINDOW_SECONDS), 0);
        let contact = ContactSummary {
            key: "15550001".into(),
            wa_id: Some("15550001".into()),
            user_id: None,
            name: Some("<b>Ann</b>".into()),
            username: None,
            last: LastMessage {
                direction: "inbound".into(),
                kind: "text".into(),
                preview: "hi".into(),
                timestamp: "2027-01-15T08:00:00.000Z".into(),
                id: "wamid.1".into(),
            },
            last_inbound_at: Some(1_000),
            windows: vec![Window {
                phone_number_id: "111".into(),
                last_inbound_at: 900,
            }],
        };
        let json = contact_json(&contact, 1_100);
        assert_eq!(
            json["window"],
            serde_json::json!({"open": true, "seconds_left": WINDOW_SECONDS - 100})
        );
        assert_eq!(json["windows"][0]["seconds_left"], WINDOW_SECONDS - 200);
        assert_eq!(json["name"], "<b>Ann</b>");
        let closed = contact_json(&contact, 1_000 + WINDOW_SECONDS);
        assert_eq!(closed["window"]["open"], false);
        assert_eq!(closed["windows"][0]["open"], false);
    }

    #[test]
    fn the_index_sorts_by_time_then_key() {
        assert_eq!(index_sort(1_800_000_000_123, "1555"), "2027-01-15T08:00:00.123Z#1555");
        assert!(index_sort(1_000, "9") < index_sort(1_001, "1"));
    }
}
