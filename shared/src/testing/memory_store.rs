//! [`MessageStore`] and [`OutboundStore`] in memory, with the DynamoDB adapter's semantics (conditional
//! writes, status ranking, the send state machine's table) and a clock the test moves.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::{Fault, Faults};
use crate::domain::ids::{ContactId, MessageId, PhoneNumberId, Wamid};
use crate::domain::media::StoredMedia;
use crate::domain::outbound::machine::{Call, Effect, SendRecord, Transition, merged_status};
use crate::domain::outbound::{History, OutboundView, StoredError};
use crate::domain::records::{
    AddressBookRecord, CallRecord, ContactActivity, IdentityLink, InboundRecord, RawEventRecord, StatusRecord,
};
use crate::domain::records::{BUSINESS_APP_ORIGIN, EchoRecord};

mod contacts;
mod conversation;
mod templates;
mod usage;
pub use contacts::ContactEntry;
use conversation::media_of;

/// DynamoDB's largest item, which the fake enforces on raw events (the writes that can be that large).
pub const DYNAMODB_ITEM_LIMIT: usize = 400 * 1024;
use crate::ports::{
    Created, MessageStore, Moved, NewOutbound, OutboundStore, Pace, Paced, Sent, StatusWrite, StatusWritten,
    StoreError, WriteOutcome,
};

/// The bundle's record of a message it sends: the state machine's part (`record`, also read
/// through `Deref`: `item.status`), and the item's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundItem {
    pub message: NewOutbound,
    pub record: SendRecord,
    pub last_error: Option<StoredError>,
    pub errors: Option<StoredError>,
    pub history: BTreeMap<&'static str, i64>,
}

impl std::ops::Deref for OutboundItem {
    type Target = SendRecord;

    fn deref(&self) -> &SendRecord {
        &self.record
    }
}

impl OutboundItem {
    /// The state machine's part of the item.
    pub fn record(&self) -> SendRecord {
        self.record.clone()
    }

    /// `transition` applied for `call`, as the table says ([`Transition::apply`]), with the item's
    /// own fields (errors, times) as the DynamoDB adapter renders its effects.
    fn apply(&mut self, transition: &Transition, call: &Call<'_>) {
        transition.apply(&mut self.record, call);
        for effect in transition.effects {
            match effect {
                Effect::Reconcile => {
                    self.history.entry("unknown").or_insert(call.now);
                }
                Effect::LastError => self.last_error = call.error.cloned().or_else(|| Some(StoredError::default())),
                Effect::Errors => {
                    self.errors = call.error.cloned().or_else(|| Some(StoredError::default()));
                    self.history.insert("failed", call.now);
                }
                Effect::Wamid => {
                    self.history.entry("accepted").or_insert(call.now);
                }
                Effect::Claim | Effect::CountResend => {}
            }
        }
    }
}

/// A wamid's item: Meta's statuses, and the send it belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageItem {
    pub status: Option<String>,
    pub rank: Option<u8>,
    /// Status name → the time it was first seen.
    pub seen: BTreeMap<String, i64>,
    pub message_id: Option<MessageId>,
    pub kind: Option<String>,
    pub inbound: Option<InboundRecord>,
    /// The delivery (request id) that set `status`, as `status_request_id` in the table.
    pub status_request_id: Option<String>,
    /// Status name → the delivery that advanced the message to it (`<status>_advanced_by`).
    pub advanced_by: BTreeMap<String, String>,
    /// What the media job recorded of an inbound message's media.
    pub media: Option<StoredMedia>,
    /// The contact a status named (`recipient_id`, else `recipient_user_id`), first seen.
    pub contact: Option<String>,
    /// When the conversation lists it (the first status's or the echo's time), for a message the
    /// bundle did not send.
    pub listed_at: Option<i64>,
    /// What the business sent from the WhatsApp Business app, when this is such a message.
    pub echo: Option<EchoRecord>,
    /// The latest status's `pricing` that had one.
    pub pricing: Option<serde_json::Value>,
    /// Where the message is counted in the usage aggregate (`<month>#<cell>`), as `usage_cell`.
    pub usage_cell: Option<String>,
}

#[derive(Debug, Default)]
pub struct Tables {
    pub outbound: HashMap<MessageId, OutboundItem>,
    pub messages: HashMap<String, MessageItem>,
    pub contacts: HashMap<String, i64>,
    /// Contact → its item's fields the contacts list reads (`GET /contacts`).
    pub contact_index: HashMap<String, ContactEntry>,
    /// (contact, business phone number id) → the last inbound time (the window per number).
    pub windows: HashMap<(String, String), i64>,
    /// Raw events by (field, entry id, digest), with the delivery (request id) that wrote each.
    pub events: HashMap<(String, String, String), String>,
    /// WhatsApp call events by (call id, step).
    pub calls: HashMap<(String, String), CallRecord>,
    /// Id → the other ids of the same customer (`record_link`, both ways).
    pub aliases: HashMap<String, std::collections::BTreeSet<String>>,
    /// Contact → what the WhatsApp Business app's address book says of it (the newest change).
    pub address_book: HashMap<String, AddressBookRecord>,
    /// Recipient → the next free send slot (epoch ms).
    pub pacing: HashMap<String, i64>,
    /// Caller → (the call that took the calls reply's turn, until when: epoch seconds).
    pub call_replies: HashMap<String, (String, i64)>,
    /// (month, cell key) → messages: the usage aggregate.
    pub usage: BTreeMap<(String, String), i64>,
    /// (WABA id, template name, language) → Meta's latest send-deciding status.
    pub templates: HashMap<(String, String, String), crate::domain::health::TemplateStatus>,
}

/// Cloning shares the tables, the clock and the faults.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    now: Arc<AtomicI64>,
    pub faults: Faults,
    /// The verification codes (the Twilio functions' writes, in DynamoDB the same table): what
    /// `latest_codes` reads.
    pub verification: super::verification_store::FakeVerificationStore,
}

fn injected(fault: Fault) -> StoreError {
    match fault {
        Fault::Permanent => StoreError::Rejected("injected".to_owned()),
        _ => StoreError::Unavailable("injected".to_owned()),
    }
}

impl MemoryStore {
    /// The clock starts at a fixed epoch second; [`Self::advance`] moves it.
    pub fn new() -> Self {
        let store = Self::default();
        store.now.store(1_800_000_000, Ordering::SeqCst);
        store
    }

    pub fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn outbound(&self, id: &MessageId) -> Option<OutboundItem> {
        self.tables().outbound.get(id).cloned()
    }

    /// Runs `write` unless the plan says this call fails. `AppliedThenTransient` applies the write
    /// and then reports a transient error (the answer lost on the way back).
    async fn call<T>(
        &self,
        operation: &'static str,
        write: impl FnOnce(&mut Tables, i64) -> T,
    ) -> Result<T, StoreError> {
        match self.faults.check(operation).await {
            None => Ok(write(&mut self.tables(), self.now())),
            Some(Fault::AppliedThenTransient) => {
                write(&mut self.tables(), self.now());
                Err(StoreError::Unavailable("injected after the write".to_owned()))
            }
            Some(fault) => Err(injected(fault)),
        }
    }
}

/// Whether two writes come from the same delivery (request id); one without an id (`-`) never does.
fn same_delivery(held: &str, request_id: &str) -> bool {
    held == request_id && !request_id.is_empty() && request_id != "-"
}

fn outcome(applied: bool) -> WriteOutcome {
    if applied {
        WriteOutcome::Applied
    } else {
        WriteOutcome::Superseded
    }
}

impl MessageStore for MemoryStore {
    async fn record_media(&self, wamid: &str, media: &StoredMedia) -> Result<WriteOutcome, StoreError> {
        self.call("record_media", |tables, _| {
            // As DynamoDB's condition: the message's own record, never over media already kept.
            let Some(item) = tables.messages.get_mut(wamid).filter(|item| item.inbound.is_some()) else {
                return WriteOutcome::Superseded;
            };
            if matches!(item.media, Some(StoredMedia::Kept { .. })) {
                return WriteOutcome::Superseded;
            }
            item.media = Some(media.clone());
            WriteOutcome::Applied
        })
        .await
    }

    async fn media_of(&self, wamid: &str) -> Result<Option<StoredMedia>, StoreError> {
        self.call("media_of", |tables, _| {
            tables.messages.get(wamid).and_then(|item| item.media.clone())
        })
        .await
    }

    async fn record_inbound(&self, record: &InboundRecord) -> Result<WriteOutcome, StoreError> {
        self.call("record_inbound", |tables, _| {
            let item = tables.messages.entry(record.wamid.to_string()).or_default();
            let new = item.inbound.is_none();
            if new {
                item.inbound = Some(record.clone());
                item.status = Some("received".to_owned());
            }
            // As the table: an item this very delivery wrote (an earlier attempt) counts as this write.
            let mine = item
                .inbound
                .as_ref()
                .is_some_and(|held| same_delivery(&held.received.request_id, &record.received.request_id));
            outcome(new || mine)
        })
        .await
    }

    async fn record_echo(&self, echo: &EchoRecord) -> Result<WriteOutcome, StoreError> {
        self.call("record_echo", |tables, _| {
            let item = tables.messages.entry(echo.wamid.to_string()).or_default();
            // As the table: listed in the contact's conversation at the time it was sent, whatever
            // statuses came first.
            if let Some(to) = &echo.to {
                item.contact.get_or_insert_with(|| to.key().to_owned());
                item.listed_at = Some(echo.timestamp.unwrap_or_else(|| echo.received.at.timestamp()));
            }
            item.kind = Some(echo.kind.clone());
            let mine = match &item.echo {
                None => true,
                Some(held) => same_delivery(&held.received.request_id, &echo.received.request_id),
            };
            if item.echo.is_none() {
                item.echo = Some(echo.clone());
            }
            if let Some(touch) = echo.touch() {
                contacts::touch(tables, &touch);
            }
            outcome(mine)
        })
        .await
    }

    async fn record_call(&self, call: &CallRecord) -> Result<WriteOutcome, StoreError> {
        self.call("record_call", |tables, _| {
            let key = (call.call_id.clone(), call.step.key());
            match tables.calls.get(&key) {
                // As the table: the same delivery again (an answer lost) is its own.
                Some(held) => outcome(same_delivery(&held.received.request_id, &call.received.request_id)),
                None => {
                    tables.calls.insert(key, call.clone());
                    WriteOutcome::Applied
                }
            }
        })
        .await
    }

    async fn record_link(&self, link: &IdentityLink) -> Result<WriteOutcome, StoreError> {
        self.call("record_link", |tables, _| {
            for (from, to) in [(&link.a, &link.b), (&link.b, &link.a)] {
                tables
                    .aliases
                    .entry(from.key().to_owned())
                    .or_default()
                    .insert(to.key().to_owned());
            }
            WriteOutcome::Applied
        })
        .await
    }

    async fn record_address_book(&self, entry: &AddressBookRecord) -> Result<WriteOutcome, StoreError> {
        self.call("record_address_book", |tables, _| {
            // As the table: the newest change wins; the same delivery again is still its own.
            let applies = match tables.address_book.get(&entry.contact) {
                None => true,
                Some(held) => {
                    held.at < entry.at || same_delivery(&held.received.request_id, &entry.received.request_id)
                }
            };
            if applies {
                tables.address_book.insert(entry.contact.clone(), entry.clone());
            }
            outcome(applies)
        })
        .await
    }

    async fn record_contact_activity(&self, activity: &ContactActivity) -> Result<WriteOutcome, StoreError> {
        self.call("record_contact_activity", |tables, _| {
            let last = tables.contacts.entry(activity.key.clone()).or_insert(i64::MIN);
            let mut newer = *last < activity.last_inbound_at;
            if newer {
                *last = activity.last_inbound_at;
            }
            contacts::inbound(tables, activity);
            contacts::touch(tables, &activity.touch());
            if let Some(business) = &activity.phone_number_id {
                let window = tables
                    .windows
                    .entry((activity.key.clone(), business.to_string()))
                    .or_insert(i64::MIN);
                if *window < activity.last_inbound_at {
                    *window = activity.last_inbound_at;
                    newer = true;
                }
            }
            outcome(newer)
        })
        .await
    }

    async fn record_status(&self, status: &StatusRecord) -> Result<StatusWritten, StoreError> {
        self.call("record_status", |tables, now| {
            let item = tables.messages.entry(status.wamid.to_string()).or_default();
            if item.contact.is_none() {
                item.contact = status.recipient_id.clone().or_else(|| status.recipient_user_id.clone());
                item.listed_at = Some(status.timestamp.unwrap_or(now));
            }
            item.seen
                .entry(status.status_name.clone())
                .or_insert(status.timestamp.unwrap_or(now));
            // As the table: a status naming a send of the bundle links its item to it.
            if let Some(message_id) = status.sent_by_bundle() {
                item.message_id = Some(message_id);
            }
            let write = rank(item, status);
            usage::record_pricing(tables, status, write)
        })
        .await
    }

    async fn record_event(&self, event: &RawEventRecord) -> Result<WriteOutcome, StoreError> {
        // DynamoDB refuses an item over 400 KB, every time.
        if event.payload.len() > DYNAMODB_ITEM_LIMIT {
            return Err(StoreError::Rejected(
                "Item size has exceeded the maximum allowed size".to_owned(),
            ));
        }
        self.call("record_event", |tables, _| {
            let key = (event.field.clone(), event.entry_id.clone(), event.digest.clone());
            match tables.events.get(&key) {
                Some(held) => outcome(same_delivery(held, &event.received.request_id)),
                None => {
                    tables.events.insert(key, event.received.request_id.clone());
                    WriteOutcome::Applied
                }
            }
        })
        .await
    }
}

impl OutboundStore for MemoryStore {
    async fn create_outbound(&self, message: &NewOutbound) -> Result<Created, StoreError> {
        self.call("create_outbound", |tables, now| {
            let touch = message.touch(now.saturating_mul(1000));
            if let Some(existing) = tables.outbound.get(&message.message_id) {
                let fingerprint = existing.message.fingerprint.clone();
                // As the table: a retry of this send touches the list again; another message never.
                if fingerprint == message.fingerprint {
                    contacts::touch(tables, &touch);
                }
                return Created::Exists {
                    fingerprint: Some(fingerprint),
                };
            }
            contacts::touch(tables, &touch);
            let item = OutboundItem {
                message: message.clone(),
                record: SendRecord::queued(),
                last_error: None,
                errors: None,
                history: BTreeMap::from([("queued", now)]),
            };
            tables.outbound.insert(message.message_id.clone(), item);
            Created::New
        })
        .await
    }

    fn now(&self) -> i64 {
        MemoryStore::now(self)
    }

    async fn transition(
        &self,
        message_id: &MessageId,
        transition: &'static Transition,
        call: &Call<'_>,
    ) -> Result<Moved, StoreError> {
        self.call(fault_name(transition), |tables, _| {
            let Some(item) = tables.outbound.get_mut(message_id) else {
                return Moved::Refused(None);
            };
            if transition.allows(&item.record, call) {
                item.apply(transition, call);
                Moved::Applied(item.record())
            } else {
                Moved::Refused(Some(item.record()))
            }
        })
        .await
    }

    async fn link(&self, message_id: &MessageId, sent: Option<Sent<'_>>, wamid: &Wamid) -> Result<(), StoreError> {
        self.call("mark_accepted", |tables, now| {
            let message = tables.messages.entry(wamid.as_str().to_owned()).or_default();
            message.message_id = Some(message_id.clone());
            if let Some(sent) = sent {
                message.kind = Some(sent.kind.as_str().to_owned());
            }
            message.seen.entry("accepted".to_owned()).or_insert(now);
            if message.rank.is_none() {
                message.rank = Some(crate::domain::status::DeliveryStatus::Accepted.rank());
                message.status = Some("accepted".to_owned());
            }
        })
        .await
    }

    async fn linked_wamid(&self, message_id: &MessageId) -> Result<Option<Wamid>, StoreError> {
        self.call("linked_wamid", |tables, _| {
            tables
                .messages
                .iter()
                .find(|(_, message)| message.message_id.as_ref() == Some(message_id))
                .map(|(wamid, _)| Wamid::new(wamid.clone()))
        })
        .await
    }

    async fn view(&self, id: &str) -> Result<Option<OutboundView>, StoreError> {
        self.call("view", |tables, _| {
            if let Some(message) = tables.messages.get(id)
                && let Some(record) = &message.inbound
            {
                return Some(OutboundView {
                    wamid: Some(record.wamid.to_string()),
                    direction: Some("inbound".to_owned()),
                    kind: Some(record.kind.clone()),
                    status: message.status.clone(),
                    errors: serde_json::Value::Array(Vec::new()),
                    media: media_of(message),
                    ..OutboundView::default()
                });
            }
            // A message the bundle did not send, known by its wamid: an echo of the WhatsApp Business
            // app, or only its statuses.
            if let Some(message) = tables.messages.get(id)
                && message.message_id.is_none()
            {
                let seen = |name: &str| message.seen.get(name).map(|at| at.to_string());
                return Some(OutboundView {
                    wamid: Some(id.to_owned()),
                    direction: Some("outbound".to_owned()),
                    to: message.contact.clone(),
                    kind: message.kind.clone(),
                    status: message.status.clone(),
                    origin: message.echo.as_ref().map(|_| BUSINESS_APP_ORIGIN.to_owned()),
                    history: History {
                        sent: seen("sent"),
                        delivered: seen("delivered"),
                        read: seen("read"),
                        failed: seen("failed"),
                        ..History::default()
                    },
                    errors: serde_json::Value::Array(Vec::new()),
                    pricing: message.pricing.clone(),
                    ..OutboundView::default()
                });
            }
            let item = match MessageId::parse(id) {
                Some(message_id) => tables.outbound.get(&message_id),
                None => tables
                    .messages
                    .get(id)
                    .and_then(|message| message.message_id.as_ref())
                    .and_then(|message_id| tables.outbound.get(message_id)),
            }?;
            let message = item
                .wamid
                .as_ref()
                .and_then(|wamid| tables.messages.get(wamid.as_str()));
            let merged_status = merged_status(item.status, message.and_then(|m| Some((m.rank?, m.status.as_deref()?))));
            let time = |name: &str| {
                item.history
                    .get(name)
                    .or_else(|| message.and_then(|m| m.seen.get(name)))
                    .map(|at| at.to_string())
            };
            Some(OutboundView {
                id: Some(item.message.message_id.as_str().to_owned()),
                wamid: item.wamid.as_ref().map(|w| w.as_str().to_owned()),
                direction: Some("outbound".to_owned()),
                to: Some(item.message.to.key().to_owned()),
                kind: Some(item.message.kind.as_str().to_owned()),
                status: Some(merged_status),
                origin: Some(item.message.origin.as_str().to_owned()),
                history: History {
                    queued: time("queued"),
                    accepted: time("accepted"),
                    unknown: time("unknown"),
                    sent: time("sent"),
                    delivered: time("delivered"),
                    read: time("read"),
                    failed: time("failed"),
                },
                errors: serde_json::to_value(item.errors.iter().collect::<Vec<_>>()).unwrap_or_default(),
                last_error: item.last_error.as_ref().and_then(|e| serde_json::to_value([e]).ok()),
                attempts: Some(i64::from(item.attempts)),
                updated_at: None,
                callback_data: item
                    .message
                    .payload
                    .get("biz_opaque_callback_data")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                resends: (item.resends > 0).then_some(i64::from(item.resends)),
                media: None,
                pricing: message.and_then(|m| m.pricing.clone()),
            })
        })
        .await
    }

    async fn last_inbound_at(
        &self,
        contact: &ContactId,
        business: Option<&PhoneNumberId>,
    ) -> Result<Option<i64>, StoreError> {
        let contact = contact.key();
        self.call("last_inbound_at", |tables, _| match business {
            Some(business) => tables.windows.get(&(contact.to_owned(), business.to_string())).copied(),
            None => tables.contacts.get(contact).copied(),
        })
        .await
    }

    async fn pace(&self, recipient: &ContactId, pace: Pace) -> Result<Paced, StoreError> {
        let recipient = recipient.key();
        self.call("pace", |tables, now| {
            let tat = tables.pacing.get(recipient).copied();
            match pace.decide(tat, now * 1000) {
                Ok(next) => {
                    tables.pacing.insert(recipient.to_owned(), next);
                    Paced::Go
                }
                Err(seconds) => Paced::Wait { seconds },
            }
        })
        .await
    }

    async fn call_reply_turn(
        &self,
        caller: &ContactId,
        call_id: &str,
        cooldown_seconds: u32,
    ) -> Result<bool, StoreError> {
        let caller = caller.key();
        self.call("call_reply_turn", |tables, now| {
            let free = match tables.call_replies.get(caller) {
                Some((holder, until)) => holder == call_id || *until <= now,
                None => true,
            };
            if free {
                let until = now + i64::from(cooldown_seconds);
                tables
                    .call_replies
                    .insert(caller.to_owned(), (call_id.to_owned(), until));
            }
            free
        })
        .await
    }
}

/// The operation a test's fault plan names for a transition: the send path's operations as the
/// worker calls them (a claim may take, lapse or resend).
fn fault_name(transition: &Transition) -> &'static str {
    use crate::domain::outbound::machine::{ACCEPT, CLAIM, LAPSE, RESEND};
    if [CLAIM, RESEND, LAPSE].contains(transition) {
        "claim"
    } else if *transition == ACCEPT {
        "mark_accepted"
    } else {
        transition.name
    }
}

/// A status's rank on its message item, as the table's conditional advance and merge decide.
fn rank(item: &mut MessageItem, status: &StatusRecord) -> StatusWrite {
    let Some(ranked) = status.status else {
        return StatusWrite::Stale;
    };
    if item.rank.is_none_or(|rank| rank < ranked.rank()) {
        item.rank = Some(ranked.rank());
        item.status = Some(ranked.as_str().to_owned());
        item.status_request_id = Some(status.received.request_id.clone());
        item.advanced_by
            .insert(ranked.as_str().to_owned(), status.received.request_id.clone());
        StatusWrite::Advanced
    } else if item.status.as_deref() == Some(ranked.as_str()) {
        let mine = item
            .status_request_id
            .as_deref()
            .is_some_and(|held| same_delivery(held, &status.received.request_id));
        if mine {
            StatusWrite::Advanced
        } else {
            StatusWrite::Current
        }
    } else if item
        .advanced_by
        .get(ranked.as_str())
        .is_some_and(|held| same_delivery(held, &status.received.request_id))
    {
        StatusWrite::Overtaken
    } else {
        StatusWrite::Stale
    }
}
