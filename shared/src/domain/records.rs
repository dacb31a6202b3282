//! What one webhook payload asks the store to record: a pure function from the
//! parsed payload to a [`Plan`], so the worker's logic is testable without I/O.

use crate::domain::ids::{ContactId, PhoneNumberId, Wamid};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::health::{self, TemplateStatus};
use super::status::DeliveryStatus;
use super::webhook::{
    Change, Contact, Content, InboundMessage, MessagesValue, MetaError, StatusUpdate, WebhookPayload,
};

/// When and through which request the payload arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub at: DateTime<Utc>,
    pub request_id: String,
}

/// The phone number ids this deployment serves. Empty: all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneNumberFilter(Vec<String>);

impl PhoneNumberFilter {
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        Self(
            ids.into_iter()
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
                .collect(),
        )
    }

    /// A change without a phone number id is kept: it cannot be shown to be someone else's.
    pub fn serves(&self, phone_number_id: Option<&str>) -> bool {
        match phone_number_id {
            Some(id) => self.0.is_empty() || self.0.iter().any(|allowed| allowed == id),
            None => true,
        }
    }
}

/// The business phone number ids this deployment sends from, the first being the default
/// (`WHATSAPP_PHONE_NUMBER_ID`, then `WHATSAPP_PHONE_NUMBER_IDS`). Empty: not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessNumbers(Vec<String>);

impl BusinessNumbers {
    /// The ids in order, blanks and repeats dropped.
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        let mut kept: Vec<String> = Vec::new();
        for id in ids {
            let id = id.trim().to_owned();
            if !id.is_empty() && !kept.contains(&id) {
                kept.push(id);
            }
        }
        Self(kept)
    }

    /// The number a send without `from` goes out from.
    pub fn default_number(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|known| known == id)
    }

    pub fn ids(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The inbound filter these numbers make: their events only. (None makes an empty filter, which
    /// serves every number: `config` refuses to start a worker with one.)
    pub fn filter(&self) -> PhoneNumberFilter {
        PhoneNumberFilter::new(self.0.iter().cloned())
    }
}

/// An inbound message to store once, keyed by its wamid.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRecord {
    pub wamid: Wamid,
    pub phone_number_id: Option<PhoneNumberId>,
    pub display_phone_number: Option<String>,
    /// The sender's phone number, when Meta sends one.
    pub wa_id: Option<String>,
    /// The sender's business-scoped user id, when Meta sends one.
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    /// The sender's WhatsApp username (`contacts[].profile.username`), when they have one.
    pub username: Option<String>,
    pub kind: String,
    /// Meta's timestamp, epoch seconds.
    pub timestamp: Option<i64>,
    pub content: Content,
    pub context_message_id: Option<String>,
    pub errors: Vec<MetaError>,
    /// The message object as JSON, every field kept.
    pub raw: String,
    pub received: Received,
    /// From the WhatsApp Business app's shared history (`history`): kept and listed, never a
    /// reason to reply, read, announce it as received or open the 24-hour window.
    pub imported: bool,
}

impl InboundRecord {
    /// The key of the sender: the phone number, or the business-scoped id without one.
    pub fn contact_key(&self) -> Option<&str> {
        self.wa_id.as_deref().or(self.user_id.as_deref())
    }

    /// The sender: by phone number when Meta gave one (a reply goes `to` it), else by the
    /// business-scoped user id (`recipient`).
    pub fn contact(&self) -> Option<ContactId> {
        match (&self.wa_id, &self.user_id) {
            (Some(number), _) => Some(ContactId::Phone(number.clone())),
            (None, Some(user)) => Some(ContactId::User(user.clone())),
            (None, None) => None,
        }
    }
}

/// The latest inbound activity of a contact (the 24-hour customer-service window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactActivity {
    pub key: String,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    pub username: Option<String>,
    /// The business number written to: the window is kept per business number and contact.
    pub phone_number_id: Option<PhoneNumberId>,
    /// Epoch seconds of the newest inbound message.
    pub last_inbound_at: i64,
    pub last_inbound_wamid: String,
    /// The message's type and preview, for the contacts list (`domain::contacts`).
    pub kind: String,
    pub preview: String,
}

impl ContactActivity {
    /// The contacts list's entry for this message.
    pub fn touch(&self) -> super::contacts::ContactTouch {
        super::contacts::ContactTouch {
            key: self.key.clone(),
            at_ms: self.last_inbound_at.saturating_mul(1000),
            direction: "inbound",
            kind: self.kind.clone(),
            preview: self.preview.clone(),
            id: self.last_inbound_wamid.clone(),
        }
    }
}

/// A status webhook for an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    pub wamid: Wamid,
    /// Meta's status name as sent (`sent`, `delivered`, `read`, `failed`, or another).
    pub status_name: String,
    /// The ranked status, when it is one of the life cycle's.
    pub status: Option<DeliveryStatus>,
    pub timestamp: Option<i64>,
    pub phone_number_id: Option<PhoneNumberId>,
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub conversation: Option<Value>,
    pub pricing: Option<Value>,
    pub errors: Vec<MetaError>,
    pub biz_opaque_callback_data: Option<String>,
    pub raw: String,
    pub received: Received,
}

impl StatusRecord {
    /// The bundle's message this status is of, when Meta echoed the id the bundle sets on every send
    /// (`biz_opaque_callback_data`).
    pub fn sent_by_bundle(&self) -> Option<crate::domain::ids::MessageId> {
        crate::domain::ids::MessageId::parse(self.biz_opaque_callback_data.as_deref()?)
    }
}

/// A change for a phone number this deployment does not serve: acknowledged, logged, not processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignChange {
    pub entry_id: String,
    pub field: String,
    pub phone_number_id: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub inbound: Vec<InboundRecord>,
    /// What the business sent from the WhatsApp Business app: no contact activity, no reply.
    pub echoes: Vec<EchoRecord>,
    /// The chunks of the shared history (their messages are in `inbound` and `echoes`, imported).
    pub history: Vec<HistoryChunkRecord>,
    /// Changes to the WhatsApp Business app's address book (`smb_app_state_sync`).
    pub address_book: Vec<AddressBookRecord>,
    /// Two ids of one customer (both on a message, or a changed number or user id).
    pub links: Vec<IdentityLink>,
    /// WhatsApp voice call events (`calls`).
    pub calls: Vec<CallRecord>,
    pub contacts: Vec<ContactActivity>,
    pub statuses: Vec<StatusRecord>,
    pub events: Vec<RawEventRecord>,
    /// Template statuses that refuse or lift sends (`message_template_status_update`), recorded for the
    /// send API besides their raw event.
    pub template_statuses: Vec<TemplateStatus>,
    pub foreign: Vec<ForeignChange>,
}

impl Plan {
    pub fn writes(&self) -> usize {
        self.inbound.len()
            + self.echoes.len()
            + self.history.len()
            + self.address_book.len()
            + self.links.len()
            + self.calls.len()
            + self.contacts.len()
            + self.statuses.len()
            + self.events.len()
            + self.template_statuses.len()
    }
}

/// Everything `payload` asks to record.
pub fn plan(payload: &WebhookPayload, filter: &PhoneNumberFilter, received: &Received) -> Plan {
    let mut plan = Plan::default();
    for entry in &payload.entry {
        let time = health::entry_time(&entry.extra);
        for change in &entry.changes {
            plan_change(&mut plan, (&entry.id, time), change, filter, received);
        }
    }
    plan.contacts = newest_per_contact(std::mem::take(&mut plan.contacts));
    // One write per link a payload makes, however many of its messages make it.
    let mut seen = Vec::new();
    plan.links.retain(|link| {
        let key = (link.a.clone(), link.b.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    plan
}

fn plan_change(
    plan: &mut Plan,
    (entry_id, entry_time): (&str, Option<i64>),
    change: &Change,
    filter: &PhoneNumberFilter,
    received: &Received,
) {
    let phone_number_id = change
        .value
        .pointer("/metadata/phone_number_id")
        .and_then(Value::as_str);
    if !filter.serves(phone_number_id) {
        plan.foreign.push(ForeignChange {
            entry_id: entry_id.to_owned(),
            field: change.field.clone(),
            phone_number_id: phone_number_id.unwrap_or_default().to_owned(),
        });
        return;
    }
    let raw_event = |field: &str, value: &Value| RawEventRecord {
        entry_time,
        ..raw_event(field, entry_id, phone_number_id, value, received)
    };
    match change.calls_value() {
        // Recorded and announced typed; kept raw only when unreadable.
        Some(Ok(value)) => return calls::plan_calls(plan, &value, &change.value, received),
        Some(Err(_)) => return plan.events.push(raw_event(&change.field, &change.value)),
        None => {}
    }
    if let Some(Ok(value)) = change.state_sync_value() {
        // Kept raw as before (nothing dropped), and each change on its contact.
        address_book::plan_address_book(plan, &value, received);
    }
    match change.history_value() {
        Some(Ok(value)) => return history::plan_history(plan, entry_id, &value, received),
        Some(Err(_)) => return plan.events.push(raw_event(&change.field, &change.value)),
        None => {}
    }
    let value = match change.messages_value() {
        Some(Ok(value)) => value,
        // Another field, or a `messages` value of a shape this code cannot read: kept raw.
        Some(Err(_)) | None => {
            plan.events.push(raw_event(&change.field, &change.value));
            if change.field == health::TEMPLATE_STATUS_FIELD
                && let Some(status) =
                    health::template_status(entry_id, entry_time, &change.value, received.at.timestamp())
            {
                plan.template_statuses.push(status);
            }
            return;
        }
    };
    for message in &value.messages {
        match inbound_record(&value, message, received) {
            Some(record) => {
                if let Some(key) = record.contact_key()
                    && let Some(last_inbound_at) = record.timestamp
                {
                    plan.contacts.push(ContactActivity {
                        key: key.to_owned(),
                        wa_id: record.wa_id.clone(),
                        user_id: record.user_id.clone(),
                        profile_name: record.profile_name.clone(),
                        username: record.username.clone(),
                        phone_number_id: record.phone_number_id.clone(),
                        last_inbound_at,
                        last_inbound_wamid: record.wamid.to_string(),
                        kind: record.kind.clone(),
                        preview: super::contacts::preview_of_content(&record.content),
                    });
                }
                plan.links.extend(identity::links_of(&record));
                plan.inbound.push(record);
            }
            None => plan.events.push(raw_event("messages.unidentified", &to_value(message))),
        }
    }
    for echo in &value.message_echoes {
        match EchoRecord::of(&value.metadata, echo, received) {
            Some(record) => plan.echoes.push(record),
            None => plan
                .events
                .push(raw_event("message_echoes.unidentified", &to_value(echo))),
        }
    }
    for status in &value.statuses {
        match status_record(&value, status, received) {
            Some(record) => plan.statuses.push(record),
            None => plan.events.push(raw_event("statuses.unidentified", &to_value(status))),
        }
    }
    if !value.errors.is_empty() {
        plan.events.push(raw_event("messages.errors", &change.value));
    }
}

fn inbound_record(value: &MessagesValue, message: &InboundMessage, received: &Received) -> Option<InboundRecord> {
    let wamid = message.id.clone().filter(|id| !id.is_empty()).map(Wamid::new)?;
    let contact = sender_contact(&value.contacts, message);
    Some(InboundRecord {
        wamid,
        phone_number_id: value.metadata.phone_number_id.clone(),
        display_phone_number: value.metadata.display_phone_number.clone(),
        wa_id: message.from.clone().or_else(|| contact.and_then(|c| c.wa_id.clone())),
        user_id: message
            .from_user_id
            .clone()
            .or_else(|| contact.and_then(|c| c.user_id.clone())),
        profile_name: contact.and_then(|c| c.profile.as_ref()).and_then(|p| p.name.clone()),
        username: contact
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.username.clone()),
        kind: message.kind.clone(),
        timestamp: message.timestamp,
        content: message.content(),
        context_message_id: message.context.as_ref().and_then(|c| c.id.clone()),
        errors: message.errors.clone(),
        raw: to_value(message).to_string(),
        received: received.clone(),
        imported: false,
    })
}

/// The `contacts[]` entry of the message's sender: matched on wa_id or user id,
/// or the only contact when there is exactly one.
fn sender_contact<'a>(contacts: &'a [Contact], message: &InboundMessage) -> Option<&'a Contact> {
    contacts
        .iter()
        .find(|contact| {
            (message.from.is_some() && contact.wa_id == message.from)
                || (message.from_user_id.is_some() && contact.user_id == message.from_user_id)
        })
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        })
}

fn status_record(value: &MessagesValue, status: &StatusUpdate, received: &Received) -> Option<StatusRecord> {
    let wamid = status.id.clone().filter(|id| !id.is_empty()).map(Wamid::new)?;
    Some(StatusRecord {
        wamid,
        status: DeliveryStatus::parse(&status.status),
        status_name: status.status.clone(),
        timestamp: status.timestamp,
        phone_number_id: value.metadata.phone_number_id.clone(),
        recipient_id: status.recipient_id.clone(),
        recipient_user_id: status.recipient_user_id.clone(),
        conversation: status.conversation.clone(),
        pricing: status.pricing.clone(),
        errors: status.errors.clone(),
        biz_opaque_callback_data: status.biz_opaque_callback_data.clone(),
        raw: to_value(status).to_string(),
        received: received.clone(),
    })
}

/// One write per contact and business number per payload: the newest message wins.
fn newest_per_contact(mut activities: Vec<ContactActivity>) -> Vec<ContactActivity> {
    activities.sort_by(|a, b| {
        (&a.key, &a.phone_number_id)
            .cmp(&(&b.key, &b.phone_number_id))
            .then(b.last_inbound_at.cmp(&a.last_inbound_at))
    });
    activities.dedup_by(|later, kept| later.key == kept.key && later.phone_number_id == kept.phone_number_id);
    activities
}

fn to_value<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

mod address_book;
mod calls;
mod echoes;
mod history;
mod identity;
mod raw_event;

pub use address_book::AddressBookRecord;
pub use calls::{CallRecord, CallStep, CallsPolicy, CallsReply};
pub use echoes::{BUSINESS_APP_ORIGIN, EchoRecord};
pub use history::HistoryChunkRecord;
pub use identity::{IdentityLink, SAME_MESSAGE};
use raw_event::raw_event;
pub use raw_event::{MAX_INLINE_EVENT_PAYLOAD, RawEventRecord};

#[cfg(test)]
mod tests;
