//! The send property: one job's life under faults, and what must hold at its end.

use std::time::Duration;

use super::{SEND_QUEUE_ARN, Sim, SimStore};
use crate::domain::outbound::SendJob;
use crate::testing::GraphAnswer;

/// One send job's life under faults: Meta's answers, the store's faults (by the fake's operation
/// names: `claim`, `mark_accepted`, `release`, `mark_failed`, `mark_unknown`), a queue fault, duplicate
/// deliveries, crashes, and when Meta's status webhook comes.
#[derive(Debug, Clone)]
pub struct SendSchedule {
    pub answers: Vec<GraphAnswer>,
    pub store_faults: Vec<(&'static str, usize, crate::testing::Fault)>,
    pub queue_fault: Option<crate::testing::Fault>,
    /// Extra deliveries of the same job (SQS at-least-once, a client's retried request), delays in s.
    pub duplicates: Vec<i64>,
    /// Steps of the simulation at which the invocation is killed, and after how long (ms).
    pub crashes: Vec<(usize, u64)>,
    /// Meta's status webhook for a taken message, this many seconds later; `None`: never.
    pub status_delay: Option<i64>,
}

/// The store operations a schedule's faults name.
pub const STORE_WRITES: [&str; 5] = ["claim", "mark_accepted", "release", "mark_failed", "mark_unknown"];

/// Runs `schedule` for `job` (already created on the sim's store, its answers scripted and its faults
/// planned by the caller) and checks the send property: Meta (the fake's ground truth) took it exactly
/// once, or twice only through the one resend of an unknown outcome that no status resolved; never
/// lost; its fate known; `failed` only ever the truth.
pub async fn check_send<S: SimStore>(mut sim: Sim<S>, job: &SendJob, schedule: &SendSchedule) -> Result<(), String> {
    let body = serde_json::to_string(job).map_err(|error| error.to_string())?;
    sim.push("send-message", body.clone(), SEND_QUEUE_ARN, 0);
    for delay in &schedule.duplicates {
        sim.push("send-message", body.clone(), SEND_QUEUE_ARN, *delay);
    }
    let mut settled = false;
    for step in 0..400 {
        if let Some((_, after_ms)) = schedule.crashes.iter().find(|(at, _)| *at == step) {
            sim.crash_after = Some(Duration::from_millis(*after_ms));
        }
        if !sim.step().await {
            settled = true;
            break;
        }
    }
    let fail = |text: String| Err::<(), String>(text);
    if !settled {
        return fail(format!(
            "the simulation did not settle: {} messages left",
            sim.queue.len()
        ));
    }
    let view = sim
        .fakes
        .store
        .view(job.message_id.as_str())
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the message is gone")?;
    let status = view.status.clone().unwrap_or_default();
    let resends = usize::try_from(view.resends.unwrap_or(0)).unwrap_or(usize::MAX);
    let taken = sim.fakes.graph.taken_count(job.message_id.as_str());
    let accepted = matches!(status.as_str(), "accepted" | "sent" | "delivered" | "read");
    if resends > 1 {
        return fail(format!("resent {resends} times"));
    }
    if taken > 1 + resends {
        return fail(format!("taken {taken} times, {resends} resends"));
    }
    if schedule.status_delay.is_some() && taken > 1 {
        // A status webhook always arrives before the reconcile window closes: never a resend.
        return fail(format!("taken {taken} times although a status could resolve it"));
    }
    if sim.dead_letters.iter().any(|m| m.kind == "send-message") {
        return fail("a send job reached the dead-letter queue".to_owned());
    }
    // Never lost: Meta took it, or it is recorded failed with Meta's refusal or its last error, or
    // — only when nothing could record that a send never reached Meta: the invocation was killed
    // first, or the table refused the release (or the `failed` record) twice and the queue refused
    // it in between, or Meta answered a 5xx or 131000, which do not say it did not take the message
    // (the fake took nothing, the worker cannot know) — `unknown`, which the caller sees and which is
    // never sent a third time. Never silently queued forever.
    let unknown = status == "unknown";
    let excused = !schedule.crashes.is_empty() || release_and_queue_down(schedule) || answered_ambiguously(schedule);
    if !(taken >= 1 || status == "failed" || (unknown && excused)) {
        return fail(format!("the message was lost: {status}, never taken"));
    }
    if !(accepted || unknown || status == "failed") {
        return fail(format!("its fate is not known: {status}"));
    }
    if taken >= 1 && !(accepted || unknown) {
        return fail(format!("Meta took it, but it is recorded {status}"));
    }
    if status == "failed" {
        // `failed` is only ever the truth: a message Meta took (or may have: a resend counted) is
        // never recorded failed, whatever refused a later copy.
        if taken != 0 || resends != 0 {
            return fail(format!(
                "a message Meta took or may have is recorded failed (taken {taken}, resends {resends})"
            ));
        }
        if !schedule
            .answers
            .iter()
            .any(|answer| matches!(answer, GraphAnswer::Refuse(_)))
        {
            return fail("failed although Meta never refused it".to_owned());
        }
    }
    Ok(())
}

/// The schedule makes the table refuse twice the write that records a send never reached Meta (its
/// release, or its `failed` after Meta's refusal) and the queue refuse once: the one documented hole.
pub fn release_and_queue_down(schedule: &SendSchedule) -> bool {
    let refusals: usize = schedule
        .store_faults
        .iter()
        .filter(|(operation, _, _)| matches!(*operation, "release" | "mark_failed"))
        .map(|(_, count, _)| count)
        .sum();
    refusals >= 2 && schedule.queue_fault.is_some()
}

/// Meta answered the schedule's send with a refusal that may come after it took the message (a
/// 5xx, 131000): the worker reconciles it as `unknown` and cannot tell it was not taken.
pub fn answered_ambiguously(schedule: &SendSchedule) -> bool {
    schedule.answers.iter().any(|answer| {
        matches!(answer, GraphAnswer::Refuse(error)
            if error.class() == crate::domain::graph_error::FailureClass::Ambiguous)
    })
}

/// The schedules the property draws from (proptest strategies), shared by every backend's run.
pub mod strategies {
    use proptest::prelude::*;

    use super::{STORE_WRITES, SendSchedule};
    use crate::testing::{Fault, GraphAnswer};

    pub fn graph_answer() -> impl Strategy<Value = GraphAnswer> {
        prop_oneof![
            4 => Just(GraphAnswer::Accept),
            1 => Just(GraphAnswer::AcceptBodyLost),
            1 => Just(GraphAnswer::AcceptThenAmbiguous),
            1 => Just(GraphAnswer::AcceptThenHang),
            1 => Just(GraphAnswer::NotSent),
            1 => Just(GraphAnswer::refuse(500, 131000)),
            1 => Just(GraphAnswer::refuse(429, 130429)),
            1 => Just(GraphAnswer::refuse(400, 131026)),
        ]
    }

    pub fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            Just(Fault::Transient),
            Just(Fault::Permanent),
            Just(Fault::Hang),
            Just(Fault::AppliedThenTransient),
        ]
    }

    pub fn send_schedule() -> impl Strategy<Value = SendSchedule> {
        (
            proptest::collection::vec(graph_answer(), 0..4),
            proptest::collection::vec(
                (proptest::sample::select(STORE_WRITES.to_vec()), 1usize..=2, fault()),
                0..3,
            ),
            proptest::option::of(prop_oneof![Just(Fault::Transient), Just(Fault::Hang)]),
            proptest::collection::vec(0i64..400, 0..3),
            proptest::collection::vec((0usize..6, 1u64..80), 0..3),
            proptest::option::of(1i64..300),
        )
            .prop_map(
                |(answers, store_faults, queue_fault, duplicates, crashes, status_delay)| SendSchedule {
                    answers,
                    store_faults,
                    queue_fault,
                    duplicates,
                    crashes,
                    status_delay,
                },
            )
    }
}
