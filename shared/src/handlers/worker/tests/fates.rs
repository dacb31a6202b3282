//! The true fate of a send is told: a send that provably never reached Meta is not parked
//! `unknown`, and one Meta may have a copy of is not called `failed` (issue 16's findings).

use super::*;
use crate::testing::GraphAnswer;

#[tokio::test]
async fn a_send_that_never_reached_meta_goes_out_even_when_its_releases_fail() {
    // Both attempts never leave (connection refused) and the table refuses both releases: the
    // worker knew nothing was sent each time, and the store must learn it.
    let (status, taken, sim, message_id) = simulate(
        "never-left",
        vec![GraphAnswer::NotSent, GraphAnswer::NotSent],
        &[("release", 0, Fault::Transient), ("release", 0, Fault::Transient)],
        None,
    )
    .await;
    assert_eq!(
        (status, taken),
        (OutboundStatus::Accepted, 1),
        "sent once, not parked unknown"
    );
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.resends, 0, "nothing was ever in doubt: no resend counted");
    assert!(sim.dead_letters.is_empty());
}

#[tokio::test]
async fn a_refused_resend_after_an_unknown_outcome_is_not_recorded_failed() {
    // The first copy went out but its answer was lost; no status came; the one resend was refused
    // for good. Meta has the first copy: `failed` would be false.
    let (status, taken, sim, message_id) = simulate(
        "refused-resend",
        vec![GraphAnswer::AcceptThenAmbiguous, GraphAnswer::refuse(400, 131026)],
        &[],
        None,
    )
    .await;
    assert_eq!(taken, 1);
    assert_eq!(status, OutboundStatus::Unknown, "Meta may have it: not failed");
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.resends, 1);
    assert_eq!(item.last_error.as_ref().and_then(|e| e.code), Some(131026));
    // Never a third copy.
    assert_eq!(sim.fakes.graph.state().calls.len(), 2);

    // The same when the resend's retries run out on retryable refusals.
    let mut answers = vec![GraphAnswer::AcceptThenAmbiguous];
    answers.extend(std::iter::repeat_n(GraphAnswer::refuse(400, 130429), 20));
    let (status, taken, ..) = simulate("exhausted-resend", answers, &[], None).await;
    assert_eq!((status, taken), (OutboundStatus::Unknown, 1));
}

#[tokio::test]
async fn a_late_status_of_the_first_copy_resolves_a_refused_resend() {
    let (_, _, mut sim, message_id) = simulate(
        "late-status",
        vec![GraphAnswer::AcceptThenAmbiguous, GraphAnswer::refuse(400, 131026)],
        &[],
        None,
    )
    .await;
    let wamid = sim.fakes.graph.state().taken[0].1.clone();
    sim.push(
        "meta-webhook",
        status_webhook(wamid.as_str(), "delivered", Some(message_id.as_str())),
        EVENTS_QUEUE_ARN,
        0,
    );
    sim.run().await;
    let item = sim.fakes.store.outbound(&message_id).unwrap();
    assert_eq!(item.status, OutboundStatus::Accepted);
    assert_eq!(item.wamid.as_ref(), Some(&wamid));
}

#[tokio::test]
async fn a_5xx_after_the_request_was_written_is_unknown_not_resent_and_its_status_resolves_it() {
    // Issue 21, hole 3: a 502/504 from Meta's edge, or 131000, comes after the request was
    // written: Meta may have taken the message. Resending it 10 s later would be a guess.
    let bad_gateway = GraphAnswer::Refuse(crate::domain::graph_error::GraphError {
        http_status: 502,
        ..Default::default()
    });
    for (key, answer) in [
        ("bad-gateway", bad_gateway),
        ("something-went-wrong", GraphAnswer::refuse(500, 131000)),
    ] {
        let (worker, fakes) = worker(None, false);
        let job = queued_message(&fakes.store, key).await;
        fakes.graph.script([answer]);
        let mut sim = Sim::new(worker, fakes, None);
        sim.push("send-message", serde_json::to_string(&job).unwrap(), SEND_QUEUE_ARN, 0);
        assert!(sim.step().await);
        let item = sim.fakes.store.outbound(&job.message_id).unwrap();
        assert_eq!(item.status, OutboundStatus::Unknown, "{key}: Meta may have it");
        assert_eq!(item.resends, 0, "{key}");
        // What Meta answered is kept, even an answer that said nothing (never an empty error).
        let kept = item.last_error.clone().unwrap_or_default();
        assert!(kept.code.is_some() || kept.message.is_some(), "{key}: {kept:?}");
        if key == "bad-gateway" {
            assert_eq!(kept.message.as_deref(), Some("graph api: http 502"), "{key}");
        }
        // The job waits for the reconciliation window, not for a retry's backoff.
        let next = sim.queue.iter().map(|m| m.visible_at).min().unwrap();
        assert!(
            next - sim.fakes.store.now() > i64::from(RECONCILE_SECONDS),
            "{key}: back in {} s",
            next - sim.fakes.store.now()
        );

        // Meta did take it: its status webhook, carrying the message id, comes 30 s later.
        sim.push(
            "meta-webhook",
            status_webhook("wamid.took-it", "delivered", Some(job.message_id.as_str())),
            EVENTS_QUEUE_ARN,
            30,
        );
        sim.run().await;
        let item = sim.fakes.store.outbound(&job.message_id).unwrap();
        assert_eq!(item.status, OutboundStatus::Accepted, "{key}");
        assert_eq!(item.wamid.as_ref().map(|w| w.as_str()), Some("wamid.took-it"), "{key}");
        assert_eq!(item.resends, 0, "{key}");
        assert_eq!(sim.fakes.graph.state().calls.len(), 1, "{key}: never sent again");
        let view = sim.fakes.store.view(job.message_id.as_str()).await.unwrap().unwrap();
        assert_eq!(view.status.as_deref(), Some("delivered"), "{key}");
    }
}
