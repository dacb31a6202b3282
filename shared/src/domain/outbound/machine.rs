//! The send state machine as data: every transition of a message the bundle sends, in one table
//! ([`TRANSITIONS`]), and the rules read from it. Each store renders the table into its own form,
//! and nothing else about states is written anywhere: the DynamoDB adapter turns a [`Transition`]
//! into a `ConditionExpression` and an `UpdateExpression`; the in-memory store applies
//! [`Transition::allows`] and [`Transition::apply`]. One contract suite (`testing::contract`) runs
//! every transition against both.
//!
//! The diagram ([`diagram`], kept in `docs/reference.md` by a test):
//!
//! ```text
//! queued --claim--> sending
//! unknown --resend--> sending
//! sending --lapse--> unknown
//! sending, unknown --release--> queued
//! sending --mark_unknown--> unknown
//! sending, unknown --mark_failed--> failed
//! queued, sending, unknown, accepted --accept--> accepted
//! queued --abandon--> failed
//! ```
//!
//! Every transition also records the state it moved the message from (`moved_from`): an
//! attempt whose write was applied but whose answer was lost finds, on its retry, its own effect
//! and the state it came from ([`Transition::already_applied`]), instead of taking its own write
//! for another holder's.

use super::OutboundStatus;
use crate::domain::ids::{AttemptId, Wamid};
use crate::domain::outbound::StoredError;
use crate::domain::status::DeliveryStatus;
use crate::domain::write::WriteOutcome;

/// The part of a message's record the state machine reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    pub status: OutboundStatus,
    /// The attempt holding the claim (or that last held it).
    pub attempt: Option<AttemptId>,
    /// Epoch seconds of the last claim.
    pub claimed_at: Option<i64>,
    /// Epoch seconds: when an unknown outcome is resent if no status resolved it.
    pub reconcile_at: Option<i64>,
    pub attempts: u32,
    pub resends: u32,
    pub wamid: Option<Wamid>,
    /// The state the last transition moved the message from.
    pub moved_from: Option<OutboundStatus>,
    /// The attempt whose answer accepted it (`None`: a status webhook did, or not accepted).
    pub accepted_by: Option<AttemptId>,
}

impl SendRecord {
    /// A message just queued.
    pub fn queued() -> Self {
        Self {
            status: OutboundStatus::Queued,
            attempt: None,
            claimed_at: None,
            reconcile_at: None,
            attempts: 0,
            resends: 0,
            wamid: None,
            moved_from: None,
            accepted_by: None,
        }
    }
}

/// What one call of a transition brings: who asks, what it read, and the values it sets.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The caller's attempt (a claim's new attempt, or the attempt giving its outcome).
    pub attempt: Option<&'a AttemptId>,
    /// The attempt the caller read on the message (a lapse or a resend moves exactly that claim).
    pub observed: Option<&'a AttemptId>,
    /// Epoch seconds.
    pub now: i64,
    /// For [`Effect::Reconcile`].
    pub reconcile_at: i64,
    pub error: Option<&'a StoredError>,
    pub wamid: Option<&'a Wamid>,
}

impl<'a> Call<'a> {
    pub fn at(now: i64) -> Self {
        Self {
            attempt: None,
            observed: None,
            now,
            reconcile_at: now,
            error: None,
            wamid: None,
        }
    }

    pub fn by(mut self, attempt: &'a AttemptId) -> Self {
        self.attempt = Some(attempt);
        self
    }

    pub fn observing(mut self, attempt: Option<&'a AttemptId>) -> Self {
        self.observed = attempt;
        self
    }

    pub fn reconciling_at(mut self, at: i64) -> Self {
        self.reconcile_at = at;
        self
    }

    pub fn with_error(mut self, error: &'a StoredError) -> Self {
        self.error = Some(error);
        self
    }

    pub fn with_wamid(mut self, wamid: Option<&'a Wamid>) -> Self {
        self.wamid = wamid;
        self
    }
}

/// Whose claim a transition moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Anyone's (or none).
    Anyone,
    /// The caller's own: `attempt_id` is [`Call::attempt`].
    Caller,
    /// Exactly the one the caller read: `attempt_id` is [`Call::observed`] (absent when it read none).
    Observed,
}

/// A further condition of a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The message has not been resent yet (`resends` < 1).
    NoResendYet,
    /// The message has no wamid, or the call's.
    WamidFreeOrSame,
    /// The message is not accepted already as the call says (with the call's wamid; without one:
    /// accepted at all).
    NotAcceptedAsCall,
}

/// What a transition sets besides the status (and `moved_from`, `status_rank`, `updated_at`,
/// which every transition sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `attempt_id` = the caller's attempt, `claimed_at` = now, `attempts` + 1.
    Claim,
    /// `resends` + 1.
    CountResend,
    /// `reconcile_at` = [`Call::reconcile_at`]; `unknown_at` stamped once.
    Reconcile,
    /// `last_error` = [`Call::error`].
    LastError,
    /// `errors` = [`Call::error`]; `failed_at` = now.
    Errors,
    /// `wamid` = [`Call::wamid`] (when the call has one); `accepted_by` = [`Call::attempt`] (when
    /// the call has one: the send's answer); `accepted_at` stamped once.
    Wamid,
}

/// One transition of the send state machine.
#[derive(Debug, PartialEq, Eq)]
pub struct Transition {
    pub name: &'static str,
    pub from: &'static [OutboundStatus],
    pub holder: Holder,
    pub guards: &'static [Guard],
    pub to: OutboundStatus,
    pub effects: &'static [Effect],
}

use OutboundStatus::{Accepted, Failed, Queued, Sending, Unknown};

/// An attempt takes a queued message to call Meta.
pub const CLAIM: Transition = Transition {
    name: "claim",
    from: &[Queued],
    holder: Holder::Anyone,
    guards: &[],
    to: Sending,
    effects: &[Effect::Claim],
};

/// The one resend of an unknown outcome no status resolved within the window.
pub const RESEND: Transition = Transition {
    name: "resend",
    from: &[Unknown],
    holder: Holder::Observed,
    guards: &[Guard::NoResendYet],
    to: Sending,
    effects: &[Effect::Claim, Effect::CountResend],
};

/// A claim whose holder vanished (killed mid-send): it may have posted.
pub const LAPSE: Transition = Transition {
    name: "lapse",
    from: &[Sending],
    holder: Holder::Observed,
    guards: &[],
    to: Unknown,
    effects: &[Effect::Reconcile],
};

/// Meta clearly did not take the attempt's copy: the claim goes back. Also after the attempt's
/// own claim lapsed to `unknown` (what it learnt corrects its lapse).
pub const RELEASE: Transition = Transition {
    name: "release",
    from: &[Sending, Unknown],
    holder: Holder::Caller,
    guards: &[],
    to: Queued,
    effects: &[Effect::LastError],
};

/// The attempt cannot know whether Meta has its copy.
pub const MARK_UNKNOWN: Transition = Transition {
    name: "mark_unknown",
    from: &[Sending],
    holder: Holder::Caller,
    guards: &[],
    to: Unknown,
    effects: &[Effect::Reconcile, Effect::LastError],
};

/// Meta refused the only copy for good (or its retries ran out).
pub const MARK_FAILED: Transition = Transition {
    name: "mark_failed",
    from: &[Sending, Unknown],
    holder: Holder::Caller,
    guards: &[],
    to: Failed,
    effects: &[Effect::Errors],
};

/// Meta has it: from the send's answer, or from a status webhook carrying the message's id.
pub const ACCEPT: Transition = Transition {
    name: "accept",
    from: &[Queued, Sending, Unknown, Accepted],
    holder: Holder::Anyone,
    guards: &[Guard::WamidFreeOrSame, Guard::NotAcceptedAsCall],
    to: Accepted,
    effects: &[Effect::Wamid],
};

/// A queued message none of whose deliveries could even try (each bounced: no time, the table down):
/// its fate recorded instead of a job left to the dead-letter queue.
pub const ABANDON: Transition = Transition {
    name: "abandon",
    from: &[Queued],
    holder: Holder::Anyone,
    guards: &[],
    to: Failed,
    effects: &[Effect::Errors],
};

/// Every transition; nothing else moves a message.
pub const TRANSITIONS: [&Transition; 8] = [
    &CLAIM,
    &RESEND,
    &LAPSE,
    &RELEASE,
    &MARK_UNKNOWN,
    &MARK_FAILED,
    &ACCEPT,
    &ABANDON,
];

impl Transition {
    /// Whether the transition may move `record` for `call` (the in-memory rendering of its
    /// condition; the DynamoDB adapter renders the same table as a condition expression).
    pub fn allows(&self, record: &SendRecord, call: &Call<'_>) -> bool {
        let holder = match self.holder {
            Holder::Anyone => true,
            Holder::Caller => call.attempt.is_some() && record.attempt.as_ref() == call.attempt,
            Holder::Observed => record.attempt.as_ref() == call.observed,
        };
        self.from.contains(&record.status) && holder && self.guards.iter().all(|guard| guard.holds(record, call))
    }

    /// Moves `record` (whose [`Self::allows`] held).
    pub fn apply(&self, record: &mut SendRecord, call: &Call<'_>) {
        record.moved_from = Some(record.status);
        record.status = self.to;
        for effect in self.effects {
            match effect {
                Effect::Claim => {
                    record.attempt = call.attempt.cloned();
                    record.claimed_at = Some(call.now);
                    record.attempts += 1;
                }
                Effect::CountResend => record.resends += 1,
                Effect::Reconcile => record.reconcile_at = Some(call.reconcile_at),
                Effect::Wamid => {
                    if let Some(wamid) = call.wamid {
                        record.wamid = Some(wamid.clone());
                    }
                    if let Some(attempt) = call.attempt {
                        record.accepted_by = Some(attempt.clone());
                    }
                }
                Effect::LastError | Effect::Errors => {}
            }
        }
    }

    /// Whether `record`, which this transition's condition refused, already shows this very call's
    /// effect: its write was applied and its answer lost (the SDK retried it, or the caller did).
    /// The caller's attempt ids are its own (fresh per claim), so finding one is proof.
    pub fn already_applied(&self, record: &SendRecord, call: &Call<'_>) -> bool {
        if record.status != self.to {
            return false;
        }
        let mine = call.attempt.is_some() && record.attempt.as_ref() == call.attempt;
        let same_wamid = call.wamid.is_none() || record.wamid.as_ref() == call.wamid;
        match (self.holder, self.effects.contains(&Effect::Claim)) {
            (_, true) => mine,
            (Holder::Observed, false) => record.attempt.as_ref() == call.observed,
            // An acceptance from a status webhook names no attempt: never taken for its own.
            _ => mine && same_wamid,
        }
    }

    /// The status rank every transition writes (the view compares it with Meta's statuses).
    pub fn rank(&self) -> u8 {
        rank_of(self.to)
    }
}

impl Guard {
    fn holds(self, record: &SendRecord, call: &Call<'_>) -> bool {
        match self {
            Guard::NoResendYet => record.resends < 1,
            Guard::WamidFreeOrSame => {
                call.wamid.is_none() || record.wamid.is_none() || record.wamid.as_ref() == call.wamid
            }
            Guard::NotAcceptedAsCall => match call.wamid {
                Some(wamid) => !(record.status == Accepted && record.wamid.as_ref() == Some(wamid)),
                None => record.status != Accepted,
            },
        }
    }
}

/// A transition of a message's send state: applied, from the state the message was in (and the
/// resends it had), or not (its condition failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateWrite {
    Applied { from: OutboundStatus, resends: u32 },
    Superseded,
}

impl StateWrite {
    pub fn outcome(self) -> WriteOutcome {
        match self {
            StateWrite::Applied { .. } => WriteOutcome::Applied,
            StateWrite::Superseded => WriteOutcome::Superseded,
        }
    }

    /// The write settled an outcome that was unknown: the message was `unknown`, or an unknown
    /// outcome had been resent (`resends` ≥ 1) and the message was not settled yet.
    pub fn resolves_unknown(self) -> bool {
        match self {
            StateWrite::Applied { from, resends } => {
                from == OutboundStatus::Unknown || (resends >= 1 && !from.is_settled())
            }
            StateWrite::Superseded => false,
        }
    }
}

/// The rank the bundle's own states take beside Meta's statuses: `queued` until Meta accepted it.
pub fn rank_of(status: OutboundStatus) -> u8 {
    match status {
        Queued | Sending | Unknown => DeliveryStatus::Queued.rank(),
        Accepted => DeliveryStatus::Accepted.rank(),
        Failed => DeliveryStatus::Failed.rank(),
    }
}

/// The status a send shows: Meta's latest status (on the wamid's item, `rank`/`status`) when it
/// ranks at least as high as the bundle's own state, else the bundle's.
pub fn merged_status(own: OutboundStatus, meta: Option<(u8, &str)>) -> String {
    match meta {
        Some((rank, status)) if rank >= rank_of(own) => status.to_owned(),
        _ => own.as_str().to_owned(),
    }
}

/// The diagram of [`TRANSITIONS`], one line per transition.
pub fn diagram() -> String {
    TRANSITIONS
        .iter()
        .map(|transition| {
            let from: Vec<&str> = transition.from.iter().map(|status| status.as_str()).collect();
            format!(
                "{} --{}--> {}\n",
                from.join(", "),
                transition.name,
                transition.to.as_str()
            )
        })
        .collect()
}

/// What a claim does to a message in `record`'s state at `now` (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Take it: [`CLAIM`], or [`RESEND`] (out of `unknown`, past the window, the one resend).
    Take(&'static Transition),
    /// The holder's lease lapsed: it may have posted, so the message becomes unknown ([`LAPSE`]).
    Lapse {
        reconcile_at: i64,
    },
    InFlight {
        lease_remaining_seconds: u32,
    },
    Wait {
        reconcile_in_seconds: u32,
    },
    Settled,
}

fn seconds_until(at: i64, now: i64) -> u32 {
    u32::try_from(at.saturating_sub(now)).unwrap_or(0)
}

pub fn decide_claim(record: &SendRecord, now: i64, lease_seconds: u32, reconcile_after_seconds: u32) -> ClaimDecision {
    match record.status {
        Queued => ClaimDecision::Take(&CLAIM),
        Sending => {
            let claimed_at = record.claimed_at.unwrap_or(0);
            let lapses_at = claimed_at.saturating_add(i64::from(lease_seconds));
            if now >= lapses_at {
                ClaimDecision::Lapse {
                    reconcile_at: claimed_at.saturating_add(i64::from(reconcile_after_seconds)).max(now),
                }
            } else {
                ClaimDecision::InFlight {
                    lease_remaining_seconds: seconds_until(lapses_at, now).max(1),
                }
            }
        }
        Unknown if record.resends >= 1 => ClaimDecision::Settled,
        Unknown => match record.reconcile_at {
            Some(at) if at > now => ClaimDecision::Wait {
                reconcile_in_seconds: seconds_until(at, now),
            },
            _ => ClaimDecision::Take(&RESEND),
        },
        Accepted | Failed => ClaimDecision::Settled,
    }
}

#[cfg(test)]
mod tests;
