//! One contract per store port, written once against the traits and run on every backend: the
//! in-memory fakes in the library's unit tests, the DynamoDB adapter on moto in the integration
//! tests (`tests/tests/store_contract.rs`), through a fault layer at the SDK's HTTP layer. The fake
//! is only worth what this proves it shares with DynamoDB.
//!
//! A [`Harness`] gives a backend's stores, its clock, and three faults on a named write: its
//! answer lost after it was applied, refused (not applied) however often the client tries, or
//! never answered. The cases allow for what the backends' clients do differently and no more:
//! DynamoDB's SDK retries a lost answer itself (its retry then meets the first try's effect), the
//! fake reports it and the caller asks again; either way, asking again gets the first try's result.

use std::time::Duration;

use crate::domain::ids::{AttemptId, CallSid, ContactId, MessageId, PhoneNumberId, Wamid};
use crate::domain::outbound::{self, Origin, OutboundStatus, StoredError};
use crate::domain::records::{AddressBookRecord, CallRecord, CallStep, EchoRecord, IdentityLink};
use crate::domain::records::{InboundRecord, Received, StatusRecord};
use crate::domain::send_request::MessageKind;
use crate::domain::status::DeliveryStatus;
use crate::domain::verification::{CaptureMethod, CapturedCode, EmailOutcome};
use crate::domain::webhook::Content;
use crate::ports::{
    Claim, ClaimTerms, ConversationStore, Created, MessageStore, NewOutbound, OutboundStore, Pace, Paced, StateWrite,
    StatusWrite, StoreError, TemplateStatusStore, UsageStore, VerificationStore, WriteOutcome,
};
use crate::sends::SendMachine;

mod contacts;
mod sends;
mod stores;
mod templates;
mod usage;

pub use contacts::*;
pub use sends::*;
pub use stores::*;
pub use templates::*;
pub use usage::*;

/// A write a fault can be planned on: its name on the fake, and the wire operation the DynamoDB
/// adapter makes it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    pub fake: &'static str,
    pub wire: &'static str,
}

pub const CLAIM: Write = Write {
    fake: "claim",
    wire: "UpdateItem",
};
pub const RELEASE: Write = Write {
    fake: "release",
    wire: "UpdateItem",
};
pub const MARK_FAILED: Write = Write {
    fake: "mark_failed",
    wire: "UpdateItem",
};
pub const MARK_UNKNOWN: Write = Write {
    fake: "mark_unknown",
    wire: "UpdateItem",
};
/// The acceptance's transition, then (one write later) the link of the wamid's item.
pub const ACCEPT: Write = Write {
    fake: "mark_accepted",
    wire: "UpdateItem",
};
pub const CREATE: Write = Write {
    fake: "create_outbound",
    wire: "PutItem",
};
pub const RECORD_TEMPLATE_STATUS: Write = Write {
    fake: "record_template_status",
    wire: "PutItem",
};
pub const CLAIM_EMAIL: Write = Write {
    fake: "claim_email",
    wire: "UpdateItem",
};

/// A backend under contract.
pub trait Harness: Sync {
    type Store: OutboundStore
        + MessageStore
        + ConversationStore
        + crate::ports::ContactList
        + TemplateStatusStore
        + UsageStore
        + Sync;
    type Verification: VerificationStore + crate::ports::CodeLog + Sync;
    fn store(&self) -> &Self::Store;
    fn verification(&self) -> &Self::Verification;
    /// `seconds` pass on the send state machine's clock.
    fn advance(&self, seconds: i64);
    /// `write`, after `after` more of its kind went through, is applied and its answer lost.
    fn lose(&self, write: Write, after: usize);
    /// `write`, after `after` more went through, is refused (not applied), every time the client tries.
    fn refuse(&self, write: Write, after: usize);
    /// `write`, after `after` more went through, never answers.
    fn hang(&self, write: Write, after: usize);
    /// Forgets every planned fault.
    fn calm(&self);
    /// A name unique to this run (the emulator's table outlives it).
    fn unique(&self, prefix: &str) -> String;
}

pub(super) const TERMS: ClaimTerms = ClaimTerms {
    lease_seconds: 60,
    reconcile_after_seconds: 900,
};

/// A call that must not hang, bounded well past any backend's retries.
pub(super) async fn bounded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap_or_else(|_| panic!("a store call did not answer in 20 s"))
}

pub(super) fn error(text: &str) -> StoredError {
    StoredError {
        code: Some(131_000),
        message: Some(text.to_owned()),
        ..StoredError::default()
    }
}

pub(super) async fn queued<H: Harness>(harness: &H, key: &str) -> (MessageId, ContactId) {
    let message_id = outbound::id_for_key("contract", &harness.unique(key));
    let to = ContactId::Phone(format!(
        "9725{}",
        &message_id.as_str()[4..12]
            .bytes()
            .map(|b| (b % 10).to_string())
            .collect::<String>()
    ));
    let job = bounded(super::send_sim::queued_job(harness.store(), message_id, to.key(), "hi"))
        .await
        .expect("created");
    (job.message_id, to)
}

pub(super) fn attempt(name: &str) -> AttemptId {
    outbound::new_attempt(&MessageId::new(name))
}

pub(super) async fn claim<H: Harness>(harness: &H, id: &MessageId, attempt: &AttemptId) -> Claim {
    bounded(harness.store().claim(id, attempt, TERMS))
        .await
        .expect("claim answered")
}

pub(super) async fn status_of<H: Harness>(harness: &H, id: &str) -> Option<String> {
    bounded(harness.store().view(id))
        .await
        .expect("view answered")
        .and_then(|view| view.status)
}

pub(super) fn status_record(
    wamid: &Wamid,
    to: &ContactId,
    status: DeliveryStatus,
    callback: Option<&MessageId>,
) -> StatusRecord {
    StatusRecord {
        wamid: wamid.clone(),
        status_name: status.as_str().to_owned(),
        status: Some(status),
        timestamp: Some(1_800_000_000 + i64::from(status.rank())),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        recipient_id: Some(to.key().to_owned()),
        recipient_user_id: None,
        conversation: None,
        pricing: None,
        errors: Vec::new(),
        biz_opaque_callback_data: callback.map(|id| id.as_str().to_owned()),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: format!("req-{}-{}", wamid.as_str(), status.as_str()),
        },
    }
}

/// `width` digits unique to this run and `key`: the tail of a fresh phone number or user id.
pub(super) fn fresh_digits<H: Harness>(harness: &H, key: &str, width: usize) -> String {
    let digits: String = harness.unique(key).bytes().map(|b| char::from(b'0' + b % 10)).collect();
    format!("{:0>width$}", &digits[digits.len().saturating_sub(width)..])
}

pub(super) fn wamid<H: Harness>(harness: &H, key: &str) -> Wamid {
    Wamid::new(format!("wamid.{}", harness.unique(key)))
}

/// Asks `call` once under a planned fault, then again: the second answer is the first try's own
/// result (DynamoDB's SDK retried inside the first call; the fake reported the loss).
pub(super) async fn lost_then_again<T: PartialEq + std::fmt::Debug>(
    first: Result<T, StoreError>,
    again: Result<T, StoreError>,
    expected: &T,
) {
    if let Ok(first) = &first {
        assert_eq!(
            first, expected,
            "the first call (its answer lost and retried by the client)"
        );
    }
    assert_eq!(
        &again.expect("the call asked again answers"),
        expected,
        "asked again after a lost answer"
    );
}

/// Every case, in order, on one harness.
pub async fn run_all<H: Harness>(harness: &H) {
    claims_are_exclusive(harness).await;
    only_the_holder_moves_its_claim(harness).await;
    a_lapsed_claim_is_unknown_then_resent_once(harness).await;
    a_lapsed_holder_may_still_release_or_fail(harness).await;
    acceptance_links_the_wamid_once(harness).await;
    a_recorded_status_stops_the_resend(harness).await;
    a_lost_answer_is_recognised_as_the_callers_own(harness).await;
    a_failed_link_is_made_on_the_retry(harness).await;
    refused_and_hung_writes_change_nothing(harness).await;
    pacing_spaces_a_recipients_sends(harness).await;
    a_callers_reply_turn_is_one_call_per_cooldown(harness).await;
    messages_and_statuses_converge(harness).await;
    echoes_are_outbound_messages_of_the_conversation(harness).await;
    imported_history_is_listed_and_flagged(harness).await;
    address_book_changes_keep_the_newest(harness).await;
    linked_ids_are_one_conversation(harness).await;
    contacts_are_listed_by_last_activity(harness).await;
    call_steps_are_recorded_once(harness).await;
    template_statuses_keep_the_latest(harness).await;
    verification_emails_are_claimed_once(harness).await;
    captured_codes_are_listed_latest_first(harness).await;
    run_usage(harness).await;
}

/// The in-memory backend.
pub mod memory {
    use super::{Harness, Write};
    use crate::testing::{FakeVerificationStore, Fault, MemoryStore};

    /// The fake's stores: one `MemoryStore`, whose verification codes are its own (as DynamoDB's are the
    /// table's), so what the Twilio side records is what the send API reads.
    #[derive(Default)]
    pub struct MemoryHarness {
        pub store: MemoryStore,
        counter: std::sync::atomic::AtomicU64,
    }

    impl MemoryHarness {
        pub fn new() -> Self {
            Self {
                store: MemoryStore::new(),
                ..Self::default()
            }
        }

        fn plan(&self, write: Write, after: usize, fault: Fault) {
            for faults in [&self.store.faults, &self.store.verification.faults] {
                faults.fail_after(write.fake, after, fault);
            }
        }
    }

    impl Harness for MemoryHarness {
        type Store = MemoryStore;
        type Verification = FakeVerificationStore;

        fn store(&self) -> &MemoryStore {
            &self.store
        }

        fn verification(&self) -> &FakeVerificationStore {
            &self.store.verification
        }

        fn advance(&self, seconds: i64) {
            self.store.advance(seconds);
        }

        fn lose(&self, write: Write, after: usize) {
            self.plan(write, after, Fault::AppliedThenTransient);
        }

        fn refuse(&self, write: Write, after: usize) {
            self.plan(write, after, Fault::Transient);
        }

        fn hang(&self, write: Write, after: usize) {
            self.plan(write, after, Fault::Hang);
        }

        fn calm(&self) {
            self.store.faults.clear();
            self.store.verification.faults.clear();
        }

        fn unique(&self, prefix: &str) -> String {
            let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("{prefix}-{n}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryHarness;

    #[tokio::test]
    async fn the_in_memory_stores_keep_the_contract() {
        super::run_all(&MemoryHarness::new()).await;
    }
}
