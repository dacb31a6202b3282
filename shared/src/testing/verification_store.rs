//! [`VerificationStore`] in memory, with the DynamoDB adapter's idempotency: a code is stored
//! once per call and code, a recording once per recording and event (a repeat is
//! `Superseded` and changes nothing); an email outcome is set on its item (an upsert).
//! An email is claimed once (`claim_email`: a stored code or transcription without an outcome
//! and without a live claim).
//! Operations: `record_code`, `claim_email`, `record_email_outcome`, `record_recording`, `latest_codes` (a read). `Transient` fails
//! with [`StoreError::Unavailable`], `Permanent` with [`StoreError::Rejected`].

use std::collections::BTreeMap;

use super::{Fault, Faults, Shared, Step};
use crate::domain::ids::CallSid;
use crate::domain::verification::{CapturedCode, EmailOutcome, Recording, StoredCode, code_index_key};
use crate::ports::{CodeLog, StoreError, VerificationStore, WriteOutcome};

/// An item's key: `(call SID, item)`, as the table's `(pk, sk)`.
pub type ItemKey = (String, String);

#[derive(Debug, Default)]
struct State {
    codes: BTreeMap<ItemKey, CapturedCode>,
    recordings: BTreeMap<ItemKey, Recording>,
    email_outcomes: BTreeMap<ItemKey, EmailOutcome>,
    /// Live email claims: when each was taken, and by which claimant.
    email_claims: BTreeMap<ItemKey, (std::time::Instant, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeVerificationStore {
    pub faults: Faults,
    state: Shared<State>,
}

fn key(call_sid: &str, item: &str) -> ItemKey {
    (call_sid.to_owned(), item.to_owned())
}

fn injected(fault: Fault) -> StoreError {
    match fault {
        Fault::Permanent => StoreError::Rejected("injected Permanent".to_owned()),
        _ => StoreError::Unavailable(format!("injected {fault:?}")),
    }
}

/// The answer after the write: lost on the way back, or as it is.
fn answer<T>(step: Step, value: T) -> Result<T, StoreError> {
    match step {
        Step::ApplyThenFail => Err(StoreError::Unavailable("injected: the answer was lost".to_owned())),
        _ => Ok(value),
    }
}

/// Inserts once: `Superseded` when the key is there already.
fn put_once<V>(items: &mut BTreeMap<ItemKey, V>, key: ItemKey, value: V) -> WriteOutcome {
    if items.contains_key(&key) {
        return WriteOutcome::Superseded;
    }
    items.insert(key, value);
    WriteOutcome::Applied
}

impl FakeVerificationStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stored codes by `(call SID, item)`.
    pub fn codes(&self) -> BTreeMap<ItemKey, CapturedCode> {
        self.state.lock().codes.clone()
    }

    /// Stored recordings and transcriptions by `(call SID, item)`.
    pub fn recordings(&self) -> BTreeMap<ItemKey, Recording> {
        self.state.lock().recordings.clone()
    }

    /// Recorded email outcomes by `(call SID, item)`.
    pub fn email_outcomes(&self) -> BTreeMap<ItemKey, EmailOutcome> {
        self.state.lock().email_outcomes.clone()
    }
}

impl VerificationStore for FakeVerificationStore {
    async fn record_code(&self, code: &CapturedCode) -> Result<WriteOutcome, StoreError> {
        let step = self.faults.step("record_code").await;
        if let Step::Fail(fault) = step {
            return Err(injected(fault));
        }
        let outcome = put_once(
            &mut self.state.lock().codes,
            key(&code.call_sid, &code.item()),
            code.clone(),
        );
        answer(step, outcome)
    }

    async fn claim_email(
        &self,
        call_sid: &CallSid,
        item: &str,
        claimant: &str,
        lease: std::time::Duration,
    ) -> Result<WriteOutcome, StoreError> {
        let step = self.faults.step("claim_email").await;
        if let Step::Fail(fault) = step {
            return Err(injected(fault));
        }
        let key = key(call_sid, item);
        let mut state = self.state.lock();
        let emailed = state.codes.contains_key(&key)
            || state
                .recordings
                .get(&key)
                .is_some_and(|recording| recording.event == "transcription");
        let claim = state.email_claims.get(&key);
        let held = claim.is_some_and(|(claimed, _)| claimed.elapsed() < lease);
        let mine = claim.is_some_and(|(_, holder)| holder == claimant);
        let sent = state.email_outcomes.contains_key(&key);
        let outcome = if emailed && !held && !sent {
            state
                .email_claims
                .insert(key, (std::time::Instant::now(), claimant.to_owned()));
            WriteOutcome::Applied
        } else if emailed && !sent && mine {
            // This very claim, applied before (its answer lost): still this request's.
            WriteOutcome::Applied
        } else {
            WriteOutcome::Superseded
        };
        drop(state);
        answer(step, outcome)
    }

    async fn record_email_outcome(
        &self,
        call_sid: &CallSid,
        item: &str,
        outcome: &EmailOutcome,
    ) -> Result<(), StoreError> {
        let step = self.faults.step("record_email_outcome").await;
        if let Step::Fail(fault) = step {
            return Err(injected(fault));
        }
        self.state
            .lock()
            .email_outcomes
            .insert(key(call_sid, item), outcome.clone());
        answer(step, ())
    }

    async fn record_recording(&self, recording: &Recording) -> Result<WriteOutcome, StoreError> {
        let step = self.faults.step("record_recording").await;
        if let Step::Fail(fault) = step {
            return Err(injected(fault));
        }
        let key = key(&recording.call_sid, &recording.item());
        let outcome = put_once(&mut self.state.lock().recordings, key, recording.clone());
        answer(step, outcome)
    }
}

impl CodeLog for FakeVerificationStore {
    async fn latest_codes(&self, number: &str, limit: usize) -> Result<Vec<StoredCode>, StoreError> {
        if let Step::Fail(fault) = self.faults.step("latest_codes").await {
            return Err(injected(fault));
        }
        let Some(wanted) = code_index_key(number) else {
            return Ok(Vec::new());
        };
        // The index's order: (gsi1pk, gsi1sk), read backwards.
        let mut listed: Vec<((String, String), CapturedCode)> = self
            .state
            .lock()
            .codes
            .values()
            .filter_map(|code| code.index_keys().map(|keys| (keys, code.clone())))
            .filter(|((key, _), _)| *key == wanted)
            .collect();
        listed.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(listed.into_iter().take(limit).map(|(_, code)| code.stored()).collect())
    }
}
