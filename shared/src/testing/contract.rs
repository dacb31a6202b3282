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

use crate::domain::ids::{AttemptId, MessageId, Wamid};
use crate::domain::outbound::{self, Origin, OutboundStatus, StoredError};
use crate::domain::records::{InboundRecord, Received, StatusRecord};
use crate::domain::status::DeliveryStatus;
use crate::domain::verification::{CaptureMethod, CapturedCode, EmailOutcome};
use crate::domain::webhook::Content;
use crate::ports::{
    Claim, ClaimTerms, Created, MessageStore, NewOutbound, OutboundStore, Pace, Paced, StateWrite, StatusWrite,
    StoreError, VerificationStore, WriteOutcome,
};
use crate::sends::SendMachine;

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
pub const CLAIM_EMAIL: Write = Write {
    fake: "claim_email",
    wire: "UpdateItem",
};

/// A backend under contract.
pub trait Harness: Sync {
    type Store: OutboundStore + MessageStore + Sync;
    type Verification: VerificationStore + Sync;
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

const TERMS: ClaimTerms = ClaimTerms {
    lease_seconds: 60,
    reconcile_after_seconds: 900,
};

/// A call that must not hang, bounded well past any backend's retries.
async fn bounded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap_or_else(|_| panic!("a store call did not answer in 20 s"))
}

fn error(text: &str) -> StoredError {
    StoredError {
        code: Some(131_000),
        message: Some(text.to_owned()),
        ..StoredError::default()
    }
}

async fn queued<H: Harness>(harness: &H, key: &str) -> (MessageId, String) {
    let message_id = outbound::id_for_key("contract", &harness.unique(key));
    let to = format!(
        "9725{}",
        &message_id.as_str()[4..12]
            .bytes()
            .map(|b| (b % 10).to_string())
            .collect::<String>()
    );
    let job = bounded(super::send_sim::queued_job(harness.store(), message_id, &to, "hi"))
        .await
        .expect("created");
    (job.message_id, to)
}

fn attempt(name: &str) -> AttemptId {
    outbound::new_attempt(&MessageId::new(name))
}

async fn claim<H: Harness>(harness: &H, id: &MessageId, attempt: &AttemptId) -> Claim {
    bounded(harness.store().claim(id, attempt, TERMS))
        .await
        .expect("claim answered")
}

async fn status_of<H: Harness>(harness: &H, id: &str) -> Option<String> {
    bounded(harness.store().view(id))
        .await
        .expect("view answered")
        .and_then(|view| view.status)
}

fn status_record(wamid: &Wamid, to: &str, status: DeliveryStatus, callback: Option<&MessageId>) -> StatusRecord {
    StatusRecord {
        wamid: wamid.as_str().to_owned(),
        status_name: status.as_str().to_owned(),
        status: Some(status),
        timestamp: Some(1_800_000_000 + i64::from(status.rank())),
        phone_number_id: Some("106540352242922".to_owned()),
        recipient_id: Some(to.to_owned()),
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

fn wamid<H: Harness>(harness: &H, key: &str) -> Wamid {
    Wamid::new(format!("wamid.{}", harness.unique(key)))
}

// ------------------------------------------------------------------ the send state machine

/// A queued message is claimed once; a second attempt finds it in flight; creating it again finds it.
pub async fn claims_are_exclusive<H: Harness>(harness: &H) {
    let (id, to) = queued(harness, "exclusive").await;
    let (first, second) = (attempt("a"), attempt("b"));
    assert_eq!(
        claim(harness, &id, &first).await,
        Claim::Claimed {
            attempts: 1,
            resend: false,
            resends: 0
        }
    );
    assert!(matches!(claim(harness, &id, &second).await, Claim::InFlight { .. }));
    let payload = serde_json::json!({"messaging_product":"whatsapp","to":to,"type":"text","text":{"body":"hi"}});
    let again = bounded(harness.store().create_outbound(&NewOutbound {
        message_id: id.clone(),
        to,
        from: None,
        kind: "text".to_owned(),
        fingerprint: outbound::fingerprint(&payload),
        payload: payload.clone(),
        origin: Origin::Api,
    }))
    .await
    .expect("answered");
    assert_eq!(
        again,
        Created::Exists {
            fingerprint: Some(outbound::fingerprint(&payload))
        }
    );
    let missing = outbound::id_for_key("contract", &harness.unique("missing"));
    assert_eq!(claim(harness, &missing, &first).await, Claim::Missing);
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("sending"));
}

/// Only the holder releases or fails its claim; a released message is claimed again (attempts 2).
pub async fn only_the_holder_moves_its_claim<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, _) = queued(harness, "holder").await;
    let (holder, other) = (attempt("holder"), attempt("other"));
    claim(harness, &id, &holder).await;
    let nothing = error("not sent");
    assert_eq!(
        bounded(store.release(&id, &other, &nothing)).await.expect("answered"),
        StateWrite::Superseded
    );
    assert_eq!(
        bounded(store.mark_failed(&id, &other, &nothing))
            .await
            .expect("answered"),
        StateWrite::Superseded
    );
    assert_eq!(
        bounded(store.release(&id, &holder, &nothing)).await.expect("answered"),
        StateWrite::Applied {
            from: OutboundStatus::Sending,
            resends: 0
        }
    );
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("queued"));
    let next = attempt("next");
    assert!(matches!(
        claim(harness, &id, &next).await,
        Claim::Claimed { attempts: 2, .. }
    ));
    assert_eq!(
        bounded(store.mark_failed(&id, &next, &error("refused")))
            .await
            .expect("answered"),
        StateWrite::Applied {
            from: OutboundStatus::Sending,
            resends: 0
        }
    );
    match claim(harness, &id, &attempt("late")).await {
        Claim::Settled { record } => assert_eq!(record.status, OutboundStatus::Failed),
        other => panic!("a failed message is settled, not {other:?}"),
    }
    // Meta's statuses never revive a failed send's record.
    let late = wamid(harness, "holder");
    assert_eq!(
        bounded(store.mark_accepted(&id, None, "", "", Some(&late)))
            .await
            .expect("answered"),
        StateWrite::Superseded
    );
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("failed"));
}

/// A claim whose holder vanished lapses to `unknown` (once); the window passes; the one resend is
/// claimed; after it, the message is settled whatever happens.
pub async fn a_lapsed_claim_is_unknown_then_resent_once<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, _) = queued(harness, "lapse").await;
    let vanished = attempt("vanished");
    claim(harness, &id, &vanished).await;
    harness.advance(i64::from(TERMS.lease_seconds) + 1);
    match claim(harness, &id, &attempt("finder")).await {
        Claim::Unknown {
            lapsed: Some(lapsed), ..
        } => assert_eq!(lapsed.attempt, vanished),
        other => panic!("a lapsed claim becomes unknown, not {other:?}"),
    }
    assert!(matches!(
        claim(harness, &id, &attempt("waiter")).await,
        Claim::Unknown { lapsed: None, .. }
    ));
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("unknown"));
    harness.advance(i64::from(TERMS.reconcile_after_seconds));
    let resender = attempt("resender");
    assert_eq!(
        claim(harness, &id, &resender).await,
        Claim::Claimed {
            attempts: 2,
            resend: true,
            resends: 1
        }
    );
    assert_eq!(
        bounded(store.mark_unknown(&id, &resender, &error("no answer"), 900))
            .await
            .expect("answered"),
        WriteOutcome::Applied
    );
    harness.advance(i64::from(TERMS.reconcile_after_seconds) + 1);
    match claim(harness, &id, &attempt("third")).await {
        Claim::Settled { record } => {
            assert_eq!((record.status, record.resends), (OutboundStatus::Unknown, 1));
        }
        other => panic!("never a third copy: {other:?}"),
    }
}

/// What a lapsed attempt learns corrects its own lapse: its release (nothing reached Meta).
pub async fn a_lapsed_holder_may_still_release_or_fail<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, _) = queued(harness, "lapsed-release").await;
    let slow = attempt("slow");
    claim(harness, &id, &slow).await;
    harness.advance(i64::from(TERMS.lease_seconds) + 1);
    claim(harness, &id, &attempt("finder")).await;
    let write = bounded(store.release(&id, &slow, &error("never left")))
        .await
        .expect("answered");
    assert_eq!(
        write,
        StateWrite::Applied {
            from: OutboundStatus::Unknown,
            resends: 0
        }
    );
    assert!(write.resolves_unknown());
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("queued"));
}

/// Meta's acceptance: the wamid on the record, the record found by its wamid; the same acceptance
/// again is the same; another wamid never replaces it; a status webhook resolves an unknown.
pub async fn acceptance_links_the_wamid_once<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, to) = queued(harness, "accept").await;
    let holder = attempt("holder");
    claim(harness, &id, &holder).await;
    let taken = wamid(harness, "accept");
    let write = bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken)))
        .await
        .expect("answered");
    assert_eq!(
        write,
        StateWrite::Applied {
            from: OutboundStatus::Sending,
            resends: 0
        }
    );
    assert!(!write.resolves_unknown());
    let by_wamid = bounded(store.view(taken.as_str()))
        .await
        .expect("answered")
        .expect("found by wamid");
    assert_eq!(by_wamid.id.as_deref(), Some(id.as_str()));
    assert_eq!(by_wamid.status.as_deref(), Some("accepted"));
    // The same attempt's acceptance again (its answer was lost): the same result.
    assert_eq!(
        bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken)))
            .await
            .expect("answered"),
        write
    );
    let other = wamid(harness, "other");
    assert_eq!(
        bounded(store.mark_accepted(&id, None, &to, "", Some(&other)))
            .await
            .expect("answered"),
        StateWrite::Superseded
    );
    assert_eq!(
        bounded(store.view(id.as_str()))
            .await
            .expect("answered")
            .and_then(|v| v.wamid),
        Some(taken.as_str().to_owned())
    );
    // Meta's statuses show through the record: the higher rank wins.
    bounded(store.record_status(&status_record(&taken, &to, DeliveryStatus::Read, Some(&id))))
        .await
        .expect("answered");
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("read"));

    // An unknown outcome resolved by a status webhook (no attempt).
    let (unknown, to) = queued(harness, "resolved").await;
    let holder = attempt("holder");
    claim(harness, &unknown, &holder).await;
    bounded(store.mark_unknown(&unknown, &holder, &error("no answer"), 900))
        .await
        .expect("answered");
    let seen = wamid(harness, "resolved");
    let write = bounded(store.mark_accepted(&unknown, None, &to, "", Some(&seen)))
        .await
        .expect("answered");
    assert_eq!(
        write,
        StateWrite::Applied {
            from: OutboundStatus::Unknown,
            resends: 0
        }
    );
    assert!(write.resolves_unknown());
}

/// A status webhook naming a send links its wamid by itself: the resend due after an unknown
/// outcome finds it and accepts instead of sending again, even though the acceptance write of the
/// webhook path never happened.
pub async fn a_recorded_status_stops_the_resend<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, to) = queued(harness, "status-first").await;
    let holder = attempt("holder");
    claim(harness, &id, &holder).await;
    bounded(store.mark_unknown(&id, &holder, &error("no answer"), 900))
        .await
        .expect("answered");
    let taken = wamid(harness, "status-first");
    bounded(store.record_status(&status_record(&taken, &to, DeliveryStatus::Delivered, Some(&id))))
        .await
        .expect("answered");
    assert_eq!(
        bounded(store.linked_wamid(&id)).await.expect("answered"),
        Some(taken.clone())
    );
    harness.advance(i64::from(TERMS.reconcile_after_seconds) + 1);
    assert_eq!(
        claim(harness, &id, &attempt("resender")).await,
        Claim::Linked {
            wamid: taken.clone(),
            resends: 0
        }
    );
    let view = bounded(store.view(id.as_str()))
        .await
        .expect("answered")
        .expect("found");
    assert_eq!(view.wamid.as_deref(), Some(taken.as_str()));
    assert_eq!(view.status.as_deref(), Some("delivered"));
    assert!(matches!(
        claim(harness, &id, &attempt("later")).await,
        Claim::Settled { .. }
    ));
}

/// Asks `call` once under a planned fault, then again: the second answer is the first try's own
/// result (DynamoDB's SDK retried inside the first call; the fake reported the loss).
async fn lost_then_again<T: PartialEq + std::fmt::Debug>(
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

/// Every transition whose write was applied and whose answer was lost is, asked again by the same
/// caller, its own: never taken for another holder's.
pub async fn a_lost_answer_is_recognised_as_the_callers_own<H: Harness>(harness: &H) {
    let store = harness.store();
    // The claim.
    let (id, to) = queued(harness, "lost-claim").await;
    let mine = attempt("mine");
    harness.lose(CLAIM, 0);
    let first = bounded(store.claim(&id, &mine, TERMS)).await;
    harness.calm();
    let again = bounded(store.claim(&id, &mine, TERMS)).await;
    let claimed = Claim::Claimed {
        attempts: 1,
        resend: false,
        resends: 0,
    };
    lost_then_again(first, again, &claimed).await;
    // The release.
    harness.lose(RELEASE, 0);
    let first = bounded(store.release(&id, &mine, &error("not sent"))).await;
    harness.calm();
    let again = bounded(store.release(&id, &mine, &error("not sent"))).await;
    let released = StateWrite::Applied {
        from: OutboundStatus::Sending,
        resends: 0,
    };
    lost_then_again(first, again, &released).await;
    // Unknown, then failed by the same holder.
    let next = attempt("next");
    claim(harness, &id, &next).await;
    harness.lose(MARK_UNKNOWN, 0);
    let first = bounded(store.mark_unknown(&id, &next, &error("no answer"), 900)).await;
    harness.calm();
    let again = bounded(store.mark_unknown(&id, &next, &error("no answer"), 900)).await;
    lost_then_again(first, again, &WriteOutcome::Applied).await;
    harness.lose(MARK_FAILED, 0);
    let first = bounded(store.mark_failed(&id, &next, &error("refused"))).await;
    harness.calm();
    let again = bounded(store.mark_failed(&id, &next, &error("refused"))).await;
    let failed = StateWrite::Applied {
        from: OutboundStatus::Unknown,
        resends: 0,
    };
    lost_then_again(first, again, &failed).await;
    // The acceptance.
    let (id, _) = queued(harness, "lost-accept").await;
    let holder = attempt("holder");
    claim(harness, &id, &holder).await;
    let taken = wamid(harness, "lost-accept");
    harness.lose(ACCEPT, 0);
    let first = bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken))).await;
    harness.calm();
    let again = bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken))).await;
    let accepted = StateWrite::Applied {
        from: OutboundStatus::Sending,
        resends: 0,
    };
    lost_then_again(first, again, &accepted).await;
    // Creation.
    let key = harness.unique("lost-create");
    let id = outbound::id_for_key("contract", &key);
    let payload =
        serde_json::json!({"messaging_product":"whatsapp","to":"972500000001","type":"text","text":{"body":"x"}});
    let message = NewOutbound {
        message_id: id,
        to: "972500000001".to_owned(),
        from: None,
        kind: "text".to_owned(),
        fingerprint: outbound::fingerprint(&payload),
        payload,
        origin: Origin::Api,
    };
    harness.lose(CREATE, 0);
    let first = bounded(store.create_outbound(&message)).await;
    harness.calm();
    let again = bounded(store.create_outbound(&message)).await.expect("answered");
    assert!(first.is_err() || matches!(first, Ok(Created::New) | Ok(Created::Exists { .. })));
    assert_eq!(
        again,
        Created::Exists {
            fingerprint: Some(message.fingerprint.clone())
        }
    );
}

/// A link whose write failed after the acceptance was applied happens when the acceptance is asked
/// again: the send is found by its wamid.
pub async fn a_failed_link_is_made_on_the_retry<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, to) = queued(harness, "link").await;
    let holder = attempt("holder");
    claim(harness, &id, &holder).await;
    let taken = wamid(harness, "link");
    harness.refuse(ACCEPT, 1);
    let first = bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken))).await;
    harness.calm();
    assert!(
        first.is_err(),
        "the link was refused: the acceptance cannot report success"
    );
    bounded(store.mark_accepted(&id, Some(&holder), &to, "text", Some(&taken)))
        .await
        .expect("answered");
    let view = bounded(store.view(taken.as_str()))
        .await
        .expect("answered")
        .expect("found by wamid");
    assert_eq!(view.id.as_deref(), Some(id.as_str()));
}

/// A write refused every time changes nothing; one that hangs leaves the store as it was.
pub async fn refused_and_hung_writes_change_nothing<H: Harness>(harness: &H) {
    let store = harness.store();
    let (id, _) = queued(harness, "refused").await;
    harness.refuse(CLAIM, 0);
    let refused = bounded(store.claim(&id, &attempt("refused"), TERMS)).await;
    harness.calm();
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    assert_eq!(status_of(harness, id.as_str()).await.as_deref(), Some("queued"));
    harness.hang(CLAIM, 0);
    let hung = tokio::time::timeout(Duration::from_millis(300), store.claim(&id, &attempt("hung"), TERMS)).await;
    harness.calm();
    assert!(hung.is_err(), "a hung write never answers: {hung:?}");
    assert!(matches!(
        claim(harness, &id, &attempt("after")).await,
        Claim::Claimed { attempts: 1, .. }
    ));
}

/// Pacing: one slot per interval and recipient, shared by every caller.
pub async fn pacing_spaces_a_recipients_sends<H: Harness>(harness: &H) {
    let recipient = harness.unique("pace");
    let pace = Pace {
        interval_ms: 60_000,
        burst: 1,
    };
    let store = harness.store();
    assert_eq!(
        bounded(store.pace(&recipient, pace)).await.expect("answered"),
        Paced::Go
    );
    assert!(matches!(
        bounded(store.pace(&recipient, pace)).await.expect("answered"),
        Paced::Wait { .. }
    ));
}

// ------------------------------------------------------------------ the message store

/// Inbound messages once; statuses only move up in rank, a redelivery is `Current`, an older one `Stale`.
pub async fn messages_and_statuses_converge<H: Harness>(harness: &H) {
    let store = harness.store();
    let inbound_wamid = format!("wamid.{}", harness.unique("inbound"));
    let inbound = InboundRecord {
        wamid: inbound_wamid.clone(),
        phone_number_id: Some("106540352242922".to_owned()),
        display_phone_number: None,
        wa_id: Some("972504370045".to_owned()),
        user_id: None,
        profile_name: None,
        kind: "text".to_owned(),
        timestamp: Some(1_800_000_000),
        content: Content::Text { body: "hi".to_owned() },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: harness.unique("req"),
        },
    };
    assert_eq!(
        bounded(store.record_inbound(&inbound)).await.expect("answered"),
        WriteOutcome::Applied
    );
    let redelivered = InboundRecord {
        received: Received {
            at: chrono::Utc::now(),
            request_id: harness.unique("other-req"),
        },
        ..inbound
    };
    assert_eq!(
        bounded(store.record_inbound(&redelivered)).await.expect("answered"),
        WriteOutcome::Superseded
    );
    let sent = wamid(harness, "statuses");
    let to = "972504370045";
    let record = |status| status_record(&sent, to, status, None);
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Delivered)))
            .await
            .expect("answered"),
        StatusWrite::Advanced
    );
    assert_eq!(
        bounded(store.record_status(&StatusRecord {
            received: Received {
                at: chrono::Utc::now(),
                request_id: harness.unique("again"),
            },
            ..record(DeliveryStatus::Delivered)
        }))
        .await
        .expect("answered"),
        StatusWrite::Current
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Sent)))
            .await
            .expect("answered"),
        StatusWrite::Stale
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Read)))
            .await
            .expect("answered"),
        StatusWrite::Advanced
    );
    // The delivery that advanced it to `delivered`, again after `read`: overtaken, not merely stale.
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Delivered)))
            .await
            .expect("answered"),
        StatusWrite::Overtaken
    );
}

// ------------------------------------------------------------------ the verification store

/// A code is stored once; its email is claimed by one request; a claim whose answer was lost is
/// still its request's; a sent email is never claimed again.
pub async fn verification_emails_are_claimed_once<H: Harness>(harness: &H) {
    let store = harness.verification();
    let call_sid = format!("CA{}", harness.unique("call").replace(['-', '_'], ""));
    let code = CapturedCode {
        call_sid: call_sid.clone(),
        code: "123456".to_owned(),
        method: CaptureMethod::Speech,
        confidence: Some(0.9),
        heard: Some("one two three four five six".to_owned()),
        from: Some("+15550100000".to_owned()),
        to: Some("+15550101234".to_owned()),
        received_at: chrono::Utc::now(),
    };
    assert_eq!(
        bounded(store.record_code(&code)).await.expect("answered"),
        WriteOutcome::Applied
    );
    assert_eq!(
        bounded(store.record_code(&code)).await.expect("answered"),
        WriteOutcome::Superseded
    );
    let item = code.item();
    let lease = Duration::from_secs(60);
    harness.lose(CLAIM_EMAIL, 0);
    let first = bounded(store.claim_email(&call_sid, &item, "claim_mine", lease)).await;
    harness.calm();
    let again = bounded(store.claim_email(&call_sid, &item, "claim_mine", lease)).await;
    lost_then_again(first, again, &WriteOutcome::Applied).await;
    assert_eq!(
        bounded(store.claim_email(&call_sid, &item, "claim_other", lease))
            .await
            .expect("answered"),
        WriteOutcome::Superseded
    );
    bounded(store.record_email_outcome(
        &call_sid,
        &item,
        &EmailOutcome::Sent {
            message_id: "ses-1".to_owned(),
        },
    ))
    .await
    .expect("answered");
    assert_eq!(
        bounded(store.claim_email(&call_sid, &item, "claim_late", Duration::ZERO))
            .await
            .expect("answered"),
        WriteOutcome::Superseded
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
    messages_and_statuses_converge(harness).await;
    verification_emails_are_claimed_once(harness).await;
}

/// The in-memory backend.
pub mod memory {
    use super::{Harness, Write};
    use crate::testing::{FakeVerificationStore, Fault, MemoryStore};

    #[derive(Default)]
    pub struct MemoryHarness {
        pub store: MemoryStore,
        pub verification: FakeVerificationStore,
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
            for faults in [&self.store.faults, &self.verification.faults] {
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
            &self.verification
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
            self.verification.faults.clear();
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
