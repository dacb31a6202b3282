//! The send path's operations on any [`OutboundStore`], written once over the state machine's
//! table ([`crate::domain::outbound::machine`]): the store renders one transition at a time, and
//! everything about which transition to take, what a refusal means and how a lost answer is
//! recognised lives here, the same for DynamoDB and for the in-memory store.

use std::future::Future;

use crate::domain::ids::{AttemptId, MessageId, Wamid};
use crate::domain::outbound::machine::{
    ABANDON, ACCEPT, Call, ClaimDecision, LAPSE, MARK_FAILED, MARK_UNKNOWN, RELEASE, RESEND, SendRecord, Transition,
    decide_claim,
};
use crate::domain::outbound::{OutboundStatus, StoredError};
use crate::ports::{Claim, ClaimTerms, LapsedClaim, Moved, OutboundStore, Sent, StateWrite, StoreError, WriteOutcome};

/// Claims are retried this often when other attempts keep moving the message under this one.
const CLAIM_ROUNDS: usize = 4;

/// What one transition did for this call: the record after it when it (or an earlier try of this
/// very call, whose answer was lost) moved the message; else the record as it is.
enum Took {
    Moved(SendRecord),
    Refused(Option<SendRecord>),
}

async fn take<S: OutboundStore + ?Sized>(
    store: &S,
    message_id: &MessageId,
    transition: &'static Transition,
    call: &Call<'_>,
) -> Result<Took, StoreError> {
    Ok(match store.transition(message_id, transition, call).await? {
        Moved::Applied(record) => Took::Moved(record),
        Moved::Refused(Some(record)) if transition.already_applied(&record, call) => Took::Moved(record),
        Moved::Refused(record) => Took::Refused(record),
    })
}

/// A transition of the attempt holding the claim, with what it learnt (`error`).
async fn by_holder<S: OutboundStore + ?Sized>(
    store: &S,
    message_id: &MessageId,
    transition: &'static Transition,
    attempt: &AttemptId,
    error: &StoredError,
) -> Result<StateWrite, StoreError> {
    let call = Call::at(store.now()).by(attempt).with_error(error);
    Ok(state_write(take(store, message_id, transition, &call).await?))
}

fn state_write(took: Took) -> StateWrite {
    match took {
        Took::Moved(record) => StateWrite::Applied {
            from: record.moved_from.unwrap_or(OutboundStatus::Queued),
            resends: record.resends,
        },
        Took::Refused(_) => StateWrite::Superseded,
    }
}

/// The send path's operations (see [`crate::domain::outbound`]), for every [`OutboundStore`].
pub trait SendMachine: OutboundStore {
    /// Takes the message for `attempt`, or says why not (and moves a lapsed claim to `unknown`).
    /// A claim whose write was applied but whose answer was lost is this attempt's, on any retry.
    /// An unknown outcome due for its resend that a status webhook named (or whose send answer was
    /// linked) is accepted instead: never resent.
    fn claim(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        terms: ClaimTerms,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        async move {
            let now = self.now();
            // The common case, a queued message: one conditional write, whose refusal answers the record.
            let mut decision = ClaimDecision::Take(&crate::domain::outbound::machine::CLAIM);
            let mut observed: Option<SendRecord> = None;
            for _ in 0..CLAIM_ROUNDS {
                match decision {
                    ClaimDecision::Take(transition) => {
                        let resend = *transition == RESEND;
                        if resend && let Some(wamid) = self.linked_wamid(message_id).await? {
                            let resends = observed.as_ref().map_or(0, |record| record.resends);
                            // Accepted by this claim (`accepted_by`): its job announces the resolution.
                            self.mark_accepted(message_id, Some(attempt), None, Some(&wamid))
                                .await?;
                            return Ok(Claim::Linked { wamid, resends });
                        }
                        let call = Call::at(now)
                            .by(attempt)
                            .observing(observed.as_ref().and_then(|record| record.attempt.as_ref()));
                        match take(self, message_id, transition, &call).await? {
                            Took::Moved(record) => {
                                return Ok(Claim::Claimed {
                                    attempts: record.attempts,
                                    resend,
                                    resends: record.resends,
                                });
                            }
                            Took::Refused(None) => return Ok(Claim::Missing),
                            Took::Refused(record) => observed = record,
                        }
                    }
                    ClaimDecision::Lapse { reconcile_at } => {
                        let lapsed = observed.as_ref().and_then(|record| record.attempt.clone());
                        let call = Call::at(now).observing(lapsed.as_ref()).reconciling_at(reconcile_at);
                        match take(self, message_id, &LAPSE, &call).await? {
                            Took::Moved(record) => {
                                return Ok(Claim::Unknown {
                                    reconcile_in_seconds: u32::try_from(reconcile_at - now).unwrap_or(0),
                                    lapsed: lapsed.map(|attempt| LapsedClaim {
                                        attempt,
                                        resends: record.resends,
                                    }),
                                    record: Some(record),
                                });
                            }
                            Took::Refused(None) => return Ok(Claim::Missing),
                            Took::Refused(record) => observed = record,
                        }
                    }
                    ClaimDecision::InFlight {
                        lease_remaining_seconds,
                    } => {
                        return Ok(Claim::InFlight {
                            lease_remaining_seconds,
                        });
                    }
                    ClaimDecision::Wait { reconcile_in_seconds } => {
                        return Ok(Claim::Unknown {
                            reconcile_in_seconds,
                            lapsed: None,
                            record: observed,
                        });
                    }
                    ClaimDecision::Settled => {
                        let Some(record) = observed else {
                            return Ok(Claim::Missing);
                        };
                        return Ok(Claim::Settled { record });
                    }
                }
                decision = match &observed {
                    Some(record) => decide_claim(record, now, terms.lease_seconds, terms.reconcile_after_seconds),
                    None => return Ok(Claim::Missing),
                };
            }
            // Contended every round: another attempt is moving it right now.
            Ok(Claim::InFlight {
                lease_remaining_seconds: 1,
            })
        }
    }

    /// Gives the claim back after Meta clearly did not take the message (`queued` again): while
    /// `attempt` holds it, or after its claim lapsed to `unknown` (it provably never reached Meta).
    fn release(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send {
        by_holder(self, message_id, &RELEASE, attempt, error)
    }

    /// Meta accepted it: the wamid on the message, the message id on the wamid's item. From the
    /// send's answer (`attempt` given) or from a status webhook carrying the message's id.
    /// Idempotent; `Superseded` when the message already had this or another wamid.
    fn mark_accepted(
        &self,
        message_id: &MessageId,
        attempt: Option<&AttemptId>,
        sent: Option<Sent<'_>>,
        wamid: Option<&Wamid>,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send {
        async move {
            let mut call = Call::at(self.now()).with_wamid(wamid);
            if let Some(attempt) = attempt {
                call = call.by(attempt);
            }
            // The send's answer (its attempt holds the claim, so its acceptance is all but certain):
            // the acceptance and the wamid's link written together, one round trip on the send's
            // path instead of two. Meta accepted this wamid for this message, so the link is true
            // whatever the acceptance meets: a retry that finds the acceptance already there (the
            // link may be what failed), or (a lapsed claim resent by another attempt) another wamid
            // already accepted, a second copy at Meta whose statuses belong to this message too.
            if let (Some(_), Some(wamid)) = (attempt, wamid) {
                let (took, linked) = Box::pin(async {
                    futures_util::join!(
                        take(self, message_id, &ACCEPT, &call),
                        self.link(message_id, sent, wamid)
                    )
                })
                .await;
                linked?;
                return Ok(state_write(took?));
            }
            let took = take(self, message_id, &ACCEPT, &call).await?;
            // A status webhook links the item itself (`record_status` records the message id it
            // names), so from there only a first acceptance links.
            let link = match (&took, wamid) {
                (Took::Moved(record), Some(wamid)) => (record.wamid.as_ref() == Some(wamid)).then_some(wamid),
                _ => None,
            };
            if let Some(wamid) = link {
                self.link(message_id, sent, wamid).await?;
            }
            Ok(state_write(took))
        }
    }

    /// A queued message none of whose deliveries could try: failed with `error`. `Superseded` when
    /// it is not queued (claimed, unknown or settled: those move on by themselves).
    fn abandon(
        &self,
        message_id: &MessageId,
        error: &StoredError,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send {
        async move {
            let call = Call::at(self.now()).with_error(error);
            Ok(state_write(take(self, message_id, &ABANDON, &call).await?))
        }
    }

    /// The attempt cannot know whether Meta has the message.
    fn mark_unknown(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
        reconcile_after_seconds: u32,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send {
        async move {
            let now = self.now();
            let call = Call::at(now)
                .by(attempt)
                .with_error(error)
                .reconciling_at(now + i64::from(reconcile_after_seconds));
            Ok(state_write(take(self, message_id, &MARK_UNKNOWN, &call).await?).outcome())
        }
    }

    /// It can never be sent (Meta refused it for good, or its retries are exhausted): while
    /// `attempt` holds it, or after its claim lapsed to `unknown` (its answer was definite).
    fn mark_failed(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send {
        by_holder(self, message_id, &MARK_FAILED, attempt, error)
    }
}

impl<S: OutboundStore + ?Sized> SendMachine for S {}
