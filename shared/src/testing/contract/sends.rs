//! The contract of the send state machine's store ([`crate::ports::OutboundStore`]).

use super::*;
use crate::ports::Sent;

fn sent(to: &ContactId) -> Option<Sent<'_>> {
    Some(Sent {
        to,
        kind: MessageKind::Text,
    })
}

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
        kind: MessageKind::Text,
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
        bounded(store.mark_accepted(&id, None, None, Some(&late)))
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
    let write = bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken)))
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
        bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken)))
            .await
            .expect("answered"),
        write
    );
    let other = wamid(harness, "other");
    assert_eq!(
        bounded(store.mark_accepted(&id, None, None, Some(&other)))
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
    let (unknown, _) = queued(harness, "resolved").await;
    let holder = attempt("holder");
    claim(harness, &unknown, &holder).await;
    bounded(store.mark_unknown(&unknown, &holder, &error("no answer"), 900))
        .await
        .expect("answered");
    let seen = wamid(harness, "resolved");
    let write = bounded(store.mark_accepted(&unknown, None, None, Some(&seen)))
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
    let first = bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken))).await;
    harness.calm();
    let again = bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken))).await;
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
        to: ContactId::Phone("972500000001".to_owned()),
        from: None,
        kind: MessageKind::Text,
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
    let first = bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken))).await;
    harness.calm();
    assert!(
        first.is_err(),
        "the link was refused: the acceptance cannot report success"
    );
    bounded(store.mark_accepted(&id, Some(&holder), sent(&to), Some(&taken)))
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

/// The calls reply: one call of a caller takes the turn for the cooldown, and keeps it when its
/// webhook comes back; after the cooldown another call takes it.
pub async fn a_callers_reply_turn_is_one_call_per_cooldown<H: Harness>(harness: &H) {
    let caller = ContactId::Phone(harness.unique("caller"));
    let store = harness.store();
    let turn = |call: &'static str| bounded(store.call_reply_turn(&caller, call, 600));
    assert!(turn("wacid.A").await.expect("answered"), "the first call takes it");
    assert!(turn("wacid.A").await.expect("answered"), "the same call again keeps it");
    assert!(
        !turn("wacid.B").await.expect("answered"),
        "another call within the cooldown"
    );
    let other = ContactId::Phone(harness.unique("caller"));
    assert!(
        bounded(store.call_reply_turn(&other, "wacid.B", 600))
            .await
            .expect("answered"),
        "another caller's turn is its own"
    );
    harness.advance(601);
    assert!(turn("wacid.B").await.expect("answered"), "after the cooldown");
    assert!(!turn("wacid.A").await.expect("answered"), "the turn moved on");
}

/// Pacing: one slot per interval and recipient, shared by every caller.
pub async fn pacing_spaces_a_recipients_sends<H: Harness>(harness: &H) {
    let recipient = ContactId::Phone(harness.unique("pace"));
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
