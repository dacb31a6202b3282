//! [`MessageStore`] and [`OutboundStore`] in memory, with the DynamoDB adapter's semantics
//! (conditional writes, status ranking, the send state machine) and a clock the test moves.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::{Fault, Faults};
use crate::domain::ids::{AttemptId, MessageId, Wamid};
use crate::domain::media::StoredMedia;
use crate::domain::outbound::{
    ClaimDecision, ClaimState, History, OutboundStatus, OutboundView, StoredError, decide_claim,
};
use crate::domain::records::{ContactActivity, InboundRecord, RawEventRecord, StatusRecord};

/// DynamoDB's largest item, which the fake enforces on raw events (the writes that can be that large).
pub const DYNAMODB_ITEM_LIMIT: usize = 400 * 1024;
use crate::ports::{
    Claim, ClaimTerms, Created, MessageStore, NewOutbound, OutboundStore, Pace, Paced, StatusWrite, StoreError,
    WriteOutcome,
};

/// The bundle's record of a message it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundItem {
    pub message: NewOutbound,
    pub status: OutboundStatus,
    pub attempt: Option<AttemptId>,
    pub claimed_at: Option<i64>,
    pub reconcile_at: Option<i64>,
    pub attempts: u32,
    pub resends: u32,
    pub wamid: Option<Wamid>,
    pub last_error: Option<StoredError>,
    pub errors: Option<StoredError>,
    pub history: BTreeMap<&'static str, i64>,
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
    /// What the media job recorded of an inbound message's media.
    pub media: Option<StoredMedia>,
}

#[derive(Debug, Default)]
pub struct Tables {
    pub outbound: HashMap<MessageId, OutboundItem>,
    pub messages: HashMap<String, MessageItem>,
    pub contacts: HashMap<String, i64>,
    /// (contact, business phone number id) → the last inbound time (the window per number).
    pub windows: HashMap<(String, String), i64>,
    pub events: HashSet<(String, String, String)>,
    /// Recipient → the next free send slot (epoch ms).
    pub pacing: HashMap<String, i64>,
}

/// Cloning shares the tables, the clock and the faults.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    now: Arc<AtomicI64>,
    pub faults: Faults,
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

/// The item's claim, if `attempt` still holds it.
fn held<'a>(tables: &'a mut Tables, id: &MessageId, attempt: &AttemptId) -> Option<&'a mut OutboundItem> {
    tables
        .outbound
        .get_mut(id)
        .filter(|item| item.status == OutboundStatus::Sending && item.attempt.as_ref() == Some(attempt))
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
            let item = tables.messages.entry(record.wamid.clone()).or_default();
            let new = item.inbound.is_none();
            if new {
                item.inbound = Some(record.clone());
                item.status = Some("received".to_owned());
            }
            outcome(new)
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
            if let Some(business) = &activity.phone_number_id {
                let window = tables
                    .windows
                    .entry((activity.key.clone(), business.clone()))
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

    async fn record_status(&self, status: &StatusRecord) -> Result<StatusWrite, StoreError> {
        self.call("record_status", |tables, now| {
            let item = tables.messages.entry(status.wamid.clone()).or_default();
            item.seen
                .entry(status.status_name.clone())
                .or_insert(status.timestamp.unwrap_or(now));
            let Some(ranked) = status.status else {
                return StatusWrite::Stale;
            };
            if item.rank.is_none_or(|rank| rank < ranked.rank()) {
                item.rank = Some(ranked.rank());
                item.status = Some(ranked.as_str().to_owned());
                StatusWrite::Advanced
            } else if item.status.as_deref() == Some(ranked.as_str()) {
                StatusWrite::Current
            } else {
                StatusWrite::Stale
            }
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
            outcome(tables.events.insert(key))
        })
        .await
    }
}

impl OutboundStore for MemoryStore {
    async fn create_outbound(&self, message: &NewOutbound) -> Result<Created, StoreError> {
        self.call("create_outbound", |tables, now| {
            if let Some(existing) = tables.outbound.get(&message.message_id) {
                return Created::Exists {
                    fingerprint: Some(existing.message.fingerprint.clone()),
                };
            }
            let item = OutboundItem {
                message: message.clone(),
                status: OutboundStatus::Queued,
                attempt: None,
                claimed_at: None,
                reconcile_at: None,
                attempts: 0,
                resends: 0,
                wamid: None,
                last_error: None,
                errors: None,
                history: BTreeMap::from([("queued", now)]),
            };
            tables.outbound.insert(message.message_id.clone(), item);
            Created::New
        })
        .await
    }

    async fn claim(&self, message_id: &MessageId, attempt: &AttemptId, terms: ClaimTerms) -> Result<Claim, StoreError> {
        self.call("claim", |tables, now| {
            let Some(item) = tables.outbound.get_mut(message_id) else {
                return Claim::Missing;
            };
            let state = ClaimState {
                status: item.status,
                attempt: item.attempt.clone(),
                claimed_at: item.claimed_at,
                reconcile_at: item.reconcile_at,
                resends: item.resends,
            };
            match decide_claim(&state, now, terms.lease_seconds, terms.reconcile_after_seconds) {
                ClaimDecision::Take { resend } => {
                    item.status = OutboundStatus::Sending;
                    item.attempt = Some(attempt.clone());
                    item.claimed_at = Some(now);
                    item.attempts += 1;
                    if resend {
                        item.resends += 1;
                    }
                    Claim::Claimed {
                        attempts: item.attempts,
                        resend,
                    }
                }
                ClaimDecision::Lapse { reconcile_at } => {
                    item.status = OutboundStatus::Unknown;
                    item.reconcile_at = Some(reconcile_at);
                    item.history.entry("unknown").or_insert(now);
                    Claim::Unknown {
                        reconcile_in_seconds: u32::try_from(reconcile_at - now).unwrap_or(0),
                    }
                }
                ClaimDecision::InFlight {
                    lease_remaining_seconds,
                } => Claim::InFlight {
                    lease_remaining_seconds,
                },
                ClaimDecision::Wait { reconcile_in_seconds } => Claim::Unknown { reconcile_in_seconds },
                ClaimDecision::Settled => Claim::Settled { status: item.status },
            }
        })
        .await
    }

    async fn release(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> Result<WriteOutcome, StoreError> {
        self.call("release", |tables, _| {
            let Some(item) = held(tables, message_id, attempt) else {
                return WriteOutcome::Superseded;
            };
            item.status = OutboundStatus::Queued;
            item.last_error = Some(error.clone());
            WriteOutcome::Applied
        })
        .await
    }

    async fn mark_accepted(
        &self,
        message_id: &MessageId,
        _attempt: Option<&AttemptId>,
        _to: &str,
        kind: &str,
        wamid: Option<&Wamid>,
    ) -> Result<WriteOutcome, StoreError> {
        self.call("mark_accepted", |tables, now| {
            let Some(item) = tables.outbound.get_mut(message_id) else {
                return WriteOutcome::Superseded;
            };
            let applies = item.status != OutboundStatus::Failed
                && (item.wamid.is_none() || item.wamid.as_ref() == wamid)
                && !(item.status == OutboundStatus::Accepted && (wamid.is_none() || item.wamid.as_ref() == wamid));
            if applies {
                item.status = OutboundStatus::Accepted;
                item.history.entry("accepted").or_insert(now);
                if let Some(wamid) = wamid {
                    item.wamid = Some(wamid.clone());
                }
            }
            if let Some(wamid) = wamid {
                let message = tables.messages.entry(wamid.as_str().to_owned()).or_default();
                message.message_id = Some(message_id.clone());
                if !kind.is_empty() {
                    message.kind = Some(kind.to_owned());
                }
                message.seen.entry("accepted".to_owned()).or_insert(now);
                if message.rank.is_none() {
                    message.rank = Some(crate::domain::status::DeliveryStatus::Accepted.rank());
                    message.status = Some("accepted".to_owned());
                }
            }
            outcome(applies)
        })
        .await
    }

    async fn mark_unknown(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
        reconcile_after_seconds: u32,
    ) -> Result<WriteOutcome, StoreError> {
        self.call("mark_unknown", |tables, now| {
            let Some(item) = held(tables, message_id, attempt) else {
                return WriteOutcome::Superseded;
            };
            item.status = OutboundStatus::Unknown;
            item.reconcile_at = Some(now + i64::from(reconcile_after_seconds));
            item.last_error = Some(error.clone());
            item.history.entry("unknown").or_insert(now);
            WriteOutcome::Applied
        })
        .await
    }

    async fn mark_failed(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> Result<WriteOutcome, StoreError> {
        self.call("mark_failed", |tables, now| {
            let Some(item) = held(tables, message_id, attempt) else {
                return WriteOutcome::Superseded;
            };
            item.status = OutboundStatus::Failed;
            item.errors = Some(error.clone());
            item.history.entry("failed").or_insert(now);
            WriteOutcome::Applied
        })
        .await
    }

    async fn view(&self, id: &str) -> Result<Option<OutboundView>, StoreError> {
        self.call("view", |tables, _| {
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
            let merged_status = match message.and_then(|m| m.rank.zip(m.status.clone())) {
                Some((rank, status)) if rank > crate::domain::status::DeliveryStatus::Accepted.rank() => status,
                _ => item.status.as_str().to_owned(),
            };
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
                to: Some(item.message.to.clone()),
                kind: Some(item.message.kind.clone()),
                status: Some(merged_status),
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
            })
        })
        .await
    }

    async fn last_inbound_at(&self, contact: &str, business: Option<&str>) -> Result<Option<i64>, StoreError> {
        self.call("last_inbound_at", |tables, _| match business {
            Some(business) => tables.windows.get(&(contact.to_owned(), business.to_owned())).copied(),
            None => tables.contacts.get(contact).copied(),
        })
        .await
    }

    async fn pace(&self, recipient: &str, pace: Pace) -> Result<Paced, StoreError> {
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
}
