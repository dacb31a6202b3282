//! The send property (`bridge::testing::send_sim`) on the DynamoDB adapter against the emulator:
//! random Graph answers, duplicate deliveries, crashes, a queue fault, and store faults injected at
//! the SDK's HTTP layer (a write applied and its answer lost, refused on every attempt, hung). Each
//! case must end with Meta (the fake's ground truth) having the message once, its fate recorded.
//!
//! `SEND_PROPERTY_CASES` (default 24) cases from a fixed seed, `PROPTEST_RNG_SEED` another.

#![allow(clippy::unwrap_used)]

use bridge::domain::outbound;
use bridge::testing::Fault;
use bridge::testing::send_sim::{self, SendSchedule, Sim, SimTimes, check_send, strategies::send_schedule};
use integration_tests::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// The wire faults that do to the DynamoDB adapter what `fault` does to the fake's operation.
fn wire_faults(fault: Fault) -> Vec<WireFault> {
    match fault {
        // Refused on every attempt the SDK makes: the call fails, nothing applied.
        Fault::Transient | Fault::Permanent => vec![WireFault::Refused; SDK_ATTEMPTS as usize],
        Fault::Hang => vec![WireFault::Hang],
        // Applied, then every answer lost or refused: the caller hears an error after the write.
        Fault::AppliedThenTransient => vec![
            WireFault::AppliedThenLost,
            WireFault::AppliedThenLost,
            WireFault::Refused,
        ],
    }
}

async fn run_case(emu: &Emulator, schedule: &SendSchedule) -> Result<(), String> {
    let plan = FaultPlan::new();
    let store = faulty_dynamo_store(emu, &plan).await;
    let (worker, fakes) = send_sim::worker(store, SimTimes::OVER_HTTP, None, false);
    let message_id = outbound::id_for_key("property", &unique("case"));
    // A recipient of its own: pacing state is per recipient, and the table outlives the case.
    let to = unique_number().trim_start_matches('+').to_owned();
    let job = send_sim::queued_job(&fakes.store, message_id, &to, "hello")
        .await
        .map_err(|error| error.to_string())?;
    fakes.graph.script(schedule.answers.clone());
    // The fake's operations are all `UpdateItem`s here: each planned fault meets the state machine's
    // writes from the n-th on, n the operation's place in the send path.
    for (operation, count, fault) in &schedule.store_faults {
        let place = send_sim::STORE_WRITES
            .iter()
            .position(|name| name == operation)
            .unwrap_or(0);
        let faults = wire_faults(*fault);
        for _ in 0..*count {
            plan.fail_after("UpdateItem", place, faults[0]);
            for later in &faults[1..] {
                plan.fail_next("UpdateItem", 1, *later);
            }
        }
    }
    if let Some(fault) = schedule.queue_fault {
        fakes.queue.faults.fail_next("send", 1, fault);
    }
    let sim = Sim::new(worker, fakes, schedule.status_delay).with_times(SimTimes::OVER_HTTP);
    check_send(sim, &job, schedule)
        .await
        .map_err(|error| format!("{error}; wire faults: {}", plan.summary()))
}

#[test]
fn a_send_on_dynamodb_under_random_faults_goes_out_once_and_is_never_lost() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let emu = runtime.block_on(Emulator::connect());
    let cases = std::env::var("SEND_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut config = Config {
        cases,
        failure_persistence: None,
        // Shrinking replays cases against the emulator: a few rounds are enough to read a failure.
        max_shrink_iters: 32,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(21);
    }
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    runner
        .run(&send_schedule(), |schedule| {
            runtime.block_on(run_case(&emu, &schedule)).map_err(TestCaseError::fail)
        })
        .unwrap_or_else(|error| panic!("{error}"));
    println!(
        "send-property on DynamoDB (moto): {cases} cases, 0 duplicates, 0 lost, every fate known, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
