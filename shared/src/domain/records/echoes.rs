//! Messages the business sent from the WhatsApp Business app on a number in coexistence with the
//! Cloud API (the `smb_message_echoes` webhook field): outbound messages of the conversation the
//! bundle did not send. Recorded by their wamid, listed in the customer's conversation with their
//! origin, advanced by their statuses like any other outbound message — and never a reason to
//! reply, mark as read, or open the customer's 24-hour window (the customer did not write).

use super::Received;
use crate::domain::ids::{ContactId, PhoneNumberId, Wamid};
use crate::domain::webhook::{Content, EchoMessage, MetaError, Metadata};

/// Where an outbound message the bundle did not send came from.
pub const BUSINESS_APP_ORIGIN: &str = "business_app";

/// One echo to record, keyed by its wamid.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoRecord {
    pub wamid: Wamid,
    /// The business number it went out from.
    pub phone_number_id: Option<PhoneNumberId>,
    pub display_phone_number: Option<String>,
    /// The customer it went to: the phone number, else the business-scoped user id.
    pub to: Option<ContactId>,
    /// Meta's type name as sent (`text`, `image`, …; `edit` and `revoke` are kept as they come).
    pub kind: String,
    /// Meta's timestamp, epoch seconds.
    pub timestamp: Option<i64>,
    pub content: Content,
    pub context_message_id: Option<String>,
    pub errors: Vec<MetaError>,
    /// The echo as JSON, every field kept.
    pub raw: String,
    pub received: Received,
    /// From the shared history (`history`) rather than a live echo: kept and listed, not announced.
    pub imported: bool,
    /// An imported message's `history_context.status` (`READ`, `DELIVERED`, …).
    pub history_status: Option<String>,
}

impl EchoRecord {
    /// The contacts list's entry for this message (its customer's), when it names one.
    pub fn touch(&self) -> Option<crate::domain::contacts::ContactTouch> {
        let to = self.to.as_ref()?;
        let at = self
            .timestamp
            .map_or_else(|| self.received.at.timestamp_millis(), |at| at.saturating_mul(1000));
        Some(crate::domain::contacts::ContactTouch {
            key: to.key().to_owned(),
            at_ms: at,
            direction: "outbound",
            kind: self.kind.clone(),
            preview: crate::domain::contacts::preview_of_content(&self.content),
            id: self.wamid.to_string(),
        })
    }

    /// The record of `echo`, when it has a wamid.
    pub fn of(metadata: &Metadata, echo: &EchoMessage, received: &Received) -> Option<Self> {
        let message = &echo.message;
        let wamid = message.id.clone().filter(|id| !id.is_empty()).map(Wamid::new)?;
        let digits = echo.to.clone().filter(|to| !to.is_empty());
        let user = echo.to_user_id.clone().filter(|to| !to.is_empty());
        Some(Self {
            wamid,
            phone_number_id: metadata.phone_number_id.clone(),
            display_phone_number: metadata.display_phone_number.clone(),
            to: digits.map(ContactId::Phone).or(user.map(ContactId::User)),
            kind: message.kind.clone(),
            timestamp: message.timestamp,
            content: message.content(),
            context_message_id: message.context.as_ref().and_then(|c| c.id.clone()),
            errors: message.errors.clone(),
            raw: serde_json::to_value(echo).unwrap_or_default().to_string(),
            received: received.clone(),
            imported: false,
            history_status: None,
        })
    }
}
