use super::*;

fn record(status: OutboundStatus, claimed_at: Option<i64>, reconcile_at: Option<i64>, resends: u32) -> SendRecord {
    SendRecord {
        status,
        claimed_at,
        reconcile_at,
        resends,
        ..SendRecord::queued()
    }
}

#[test]
fn every_state_has_one_claim_answer() {
    let decide = |r: &SendRecord| decide_claim(r, 1_000, 60, 900);
    assert_eq!(decide(&record(Queued, None, None, 0)), ClaimDecision::Take(&CLAIM));
    assert_eq!(
        decide(&record(Sending, Some(990), None, 0)),
        ClaimDecision::InFlight {
            lease_remaining_seconds: 50
        }
    );
    assert_eq!(
        decide(&record(Sending, Some(900), None, 0)),
        ClaimDecision::Lapse { reconcile_at: 1_800 }
    );
    assert_eq!(
        decide(&record(Unknown, None, Some(1_300), 0)),
        ClaimDecision::Wait {
            reconcile_in_seconds: 300
        }
    );
    assert_eq!(
        decide(&record(Unknown, None, Some(1_000), 0)),
        ClaimDecision::Take(&RESEND)
    );
    assert_eq!(decide(&record(Unknown, None, Some(0), 1)), ClaimDecision::Settled);
    assert_eq!(decide(&record(Accepted, None, None, 0)), ClaimDecision::Settled);
    assert_eq!(decide(&record(Failed, None, None, 0)), ClaimDecision::Settled);
}

#[test]
fn only_the_holder_moves_its_claim_and_a_lost_answer_is_recognised() {
    let (mine, other) = (AttemptId::new("att_mine"), AttemptId::new("att_other"));
    let mut held = SendRecord::queued();
    let claim = Call::at(10).by(&mine);
    assert!(CLAIM.allows(&held, &claim));
    CLAIM.apply(&mut held, &claim);
    assert_eq!(
        (held.status, held.attempts, held.moved_from),
        (Sending, 1, Some(Queued))
    );
    // The retry of the applied claim: refused, and recognised as its own.
    assert!(!CLAIM.allows(&held, &claim));
    assert!(CLAIM.already_applied(&held, &claim));
    assert!(!CLAIM.already_applied(&held, &Call::at(10).by(&other)));
    let error = StoredError::default();
    assert!(!RELEASE.allows(&held, &Call::at(11).by(&other).with_error(&error)));
    let release = Call::at(11).by(&mine).with_error(&error);
    assert!(RELEASE.allows(&held, &release));
    RELEASE.apply(&mut held, &release);
    assert!(RELEASE.already_applied(&held, &release));
    assert!(!RELEASE.already_applied(&held, &Call::at(11).by(&other)));
}

#[test]
fn acceptance_is_idempotent_and_never_changes_a_wamid() {
    let (first, second) = (Wamid::new("wamid.1"), Wamid::new("wamid.2"));
    let attempt = AttemptId::new("att_1");
    let mut accepted = SendRecord {
        attempt: Some(attempt.clone()),
        ..record(Unknown, None, None, 0)
    };
    let call = Call::at(5).by(&attempt).with_wamid(Some(&first));
    assert!(ACCEPT.allows(&accepted, &call));
    ACCEPT.apply(&mut accepted, &call);
    assert_eq!((accepted.status, accepted.moved_from), (Accepted, Some(Unknown)));
    assert!(!ACCEPT.allows(&accepted, &call));
    assert!(ACCEPT.already_applied(&accepted, &call));
    // A status webhook's acceptance names no attempt: a repeat is only superseded.
    assert!(!ACCEPT.already_applied(&accepted, &Call::at(5).with_wamid(Some(&first))));
    let other = Call::at(5).by(&attempt).with_wamid(Some(&second));
    assert!(!ACCEPT.allows(&accepted, &other));
    assert!(!ACCEPT.already_applied(&accepted, &other));
    // Accepted without a wamid (the 2xx body was lost) learns it from a status.
    let mut bodiless = record(Sending, None, None, 0);
    ACCEPT.apply(&mut bodiless, &Call::at(5));
    assert!(ACCEPT.allows(&bodiless, &call));
    assert!(!ACCEPT.allows(&record(Failed, None, None, 0), &call));
}

#[test]
fn the_documented_diagram_is_the_table() {
    let documented = include_str!("../../../../../docs/reference.md");
    assert!(
        documented.contains(&diagram()),
        "docs/reference.md must hold the state machine's diagram as generated:\n{}",
        diagram()
    );
    let module_doc = include_str!("../machine.rs");
    for line in diagram().lines() {
        assert!(
            module_doc.contains(&format!("//! {line}")),
            "machine.rs's diagram lacks {line}"
        );
    }
}

#[test]
fn the_view_takes_the_higher_rank_and_meta_on_a_tie() {
    let accepted = DeliveryStatus::Accepted.rank();
    assert_eq!(merged_status(Unknown, Some((accepted, "accepted"))), "accepted");
    assert_eq!(merged_status(Accepted, Some((accepted, "accepted"))), "accepted");
    assert_eq!(
        merged_status(Accepted, Some((DeliveryStatus::Read.rank(), "read"))),
        "read"
    );
    assert_eq!(
        merged_status(Failed, Some((DeliveryStatus::Read.rank(), "read"))),
        "failed"
    );
    assert_eq!(merged_status(Sending, None), "sending");
}
