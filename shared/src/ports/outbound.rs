//! The send path's store: outbound messages and their state machine (see
//! [`crate::domain::outbound::machine`]), and the types its operations answer.

use std::future::Future;

use super::StoreError;
use crate::domain::ids::{AttemptId, ContactId, MessageId, PhoneNumberId, Wamid};
use crate::domain::outbound::machine::{Call, SendRecord, Transition};
use crate::domain::outbound::{Origin, OutboundView};
use crate::domain::pacing::{Pace, Paced};
use crate::domain::send_request::MessageKind;

/// A message the send API (or the auto-reply) accepted, to be stored as `queued`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbound {
    pub message_id: MessageId,
    pub to: ContactId,
    /// The business number it goes out from, when known at queue time.
    pub from: Option<PhoneNumberId>,
    pub kind: MessageKind,
    pub payload: serde_json::Value,
    pub fingerprint: String,
    pub origin: Origin,
}

impl NewOutbound {
    /// The contacts list's entry for this send, queued at `at_ms` (epoch milliseconds).
    pub fn touch(&self, at_ms: i64) -> crate::domain::contacts::ContactTouch {
        crate::domain::contacts::ContactTouch {
            key: self.to.key().to_owned(),
            at_ms,
            direction: "outbound",
            kind: self.kind.as_str().to_owned(),
            preview: crate::domain::contacts::preview_of_send(&self.payload),
            id: self.message_id.as_str().to_owned(),
        }
    }
}

/// What creating an outbound message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    /// The id exists already (a retried request); its body fingerprint.
    Exists {
        fingerprint: Option<String>,
    },
}

/// What claiming a message for sending found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This attempt holds the message and may call Meta now. `resend`: the first send's outcome
    /// stayed unknown past the reconciliation window; this is the one resend.
    /// `resends`: the message's resends so far, this one included (≥ 1: an earlier outcome was
    /// unknown, so Meta may have a copy whatever this attempt hears).
    Claimed { attempts: u32, resend: bool, resends: u32 },
    /// Nothing more to send (accepted, failed, or unknown after its one resend): the record as it is
    /// (a redelivered job re-announces what its settling write called for).
    Settled { record: SendRecord },
    /// The outcome was unknown and due for its resend, but Meta's statuses had named the message
    /// (or its send answer was linked): accepted as `wamid` now, never resent.
    Linked { wamid: Wamid, resends: u32 },
    /// Another attempt holds a fresh claim; it lapses in this many seconds.
    InFlight { lease_remaining_seconds: u32 },
    /// The outcome of an earlier attempt is unknown (just now, if that attempt's claim had
    /// lapsed); a status webhook may resolve it, else it is resent in this many seconds.
    /// `lapsed`: this call moved that attempt's lapsed claim to `unknown`.
    /// `record`: the message's record as this call left it (whose attempt's outcome is unknown).
    Unknown {
        reconcile_in_seconds: u32,
        lapsed: Option<LapsedClaim>,
        record: Option<SendRecord>,
    },
    /// No such message.
    Missing,
}

/// A claim that lapsed: its attempt, and the message's resends (≥ 1: no resend follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapsedClaim {
    pub attempt: AttemptId,
    pub resends: u32,
}

/// The send state machine's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTerms {
    /// A claim older than this has lost its holder (killed mid-send): its outcome is unknown.
    pub lease_seconds: u32,
    /// How long an unknown outcome waits for a status webhook before the one resend.
    pub reconcile_after_seconds: u32,
}

/// What the send path knows of a message it accepts: whom it went to and its type (a status
/// webhook's acceptance knows neither; its own write recorded the recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent<'a> {
    pub to: &'a ContactId,
    pub kind: MessageKind,
}

/// What a transition of the send state machine found ([`OutboundStore::transition`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// The condition held: the message moved; its record after the move (`moved_from` says from where).
    Applied(SendRecord),
    /// The condition did not hold: nothing changed; the record as it is (`None`: no such message).
    Refused(Option<SendRecord>),
}

/// Outbound messages and their state machine (see [`crate::domain::outbound::machine`]). A store
/// implements the table's rendering ([`Self::transition`]) and a few reads and writes; the
/// operations of the send path (claim, release, accept, …) are [`crate::sends::SendMachine`]'s,
/// written once over this trait.
pub trait OutboundStore: Send + Sync {
    fn create_outbound(&self, message: &NewOutbound) -> impl Future<Output = Result<Created, StoreError>> + Send;
    /// The store's clock, epoch seconds (what conditions on time compare with).
    fn now(&self) -> i64;
    /// Applies one transition of the table for `call`, atomically: the message moves only if the
    /// transition's condition holds on the record as it is in the store.
    fn transition(
        &self,
        message_id: &MessageId,
        transition: &'static Transition,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<Moved, StoreError>> + Send;
    /// The wamid's item learns which send it is (Meta's statuses may have created it already), and
    /// what the send path knows of it (`sent`). Idempotent.
    fn link(
        &self,
        message_id: &MessageId,
        sent: Option<Sent<'_>>,
        wamid: &Wamid,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The wamid of a message whose status webhooks named this send (`biz_opaque_callback_data`,
    /// recorded by [`MessageStore::record_status`]) or whose send answer was linked: proof that Meta
    /// has it, whatever the send's own record says.
    fn linked_wamid(&self, message_id: &MessageId) -> impl Future<Output = Result<Option<Wamid>, StoreError>> + Send;
    /// The message as the send API shows it, by bundle id or wamid.
    fn view(&self, id: &str) -> impl Future<Output = Result<Option<OutboundView>, StoreError>> + Send;
    /// Epoch seconds of the contact's last inbound message to the business number `business`
    /// (a phone number id), or to any of them (`None`: what one-number deployments recorded
    /// before windows were kept per number).
    fn last_inbound_at(
        &self,
        contact: &ContactId,
        business: Option<&PhoneNumberId>,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Takes a send slot for `recipient` under `pace` (shared by every worker), or says how long
    /// to wait for one.
    fn pace(&self, recipient: &ContactId, pace: Pace) -> impl Future<Output = Result<Paced, StoreError>> + Send;
    /// Takes the caller's turn for the calls reply (`CALLS_REPLY_TEXT`) for `call_id`: `true` unless
    /// another call of `caller` took it less than `cooldown_seconds` ago. The same call again (its
    /// webhook redelivered) finds the turn still its own, so its reply is queued again and sent once.
    fn call_reply_turn(
        &self,
        caller: &ContactId,
        call_id: &str,
        cooldown_seconds: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
