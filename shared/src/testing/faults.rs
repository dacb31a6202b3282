//! Fault injection for the in-memory fakes: fail the next N calls of a named operation
//! with a transient or a permanent error, or hang (never answer) so a deadline fires.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// What an injected failure does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The port's retryable error (throttling, timeout, 5xx).
    Transient,
    /// The port's error that no retry can fix (a rejected item, a refused message).
    Permanent,
    /// The call never completes (the caller's deadline or a dropped future ends it).
    Hang,
    /// The call takes effect, then reports a transient error: an answer lost on the way back.
    AppliedThenTransient,
}

#[derive(Debug, Default)]
struct State {
    /// Per operation: what the upcoming calls do (`None`: succeed), front first.
    plans: HashMap<&'static str, VecDeque<Option<Fault>>>,
    calls: HashMap<&'static str, usize>,
}

/// Shared by a fake and its test: the test plans failures, the fake consults them on every call.
/// Cloning shares the plan.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<State>>);

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the plan from the others.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next `count` calls of `operation` fail with `fault`.
    pub fn fail_next(&self, operation: &'static str, count: usize, fault: Fault) -> &Self {
        self.state()
            .plans
            .entry(operation)
            .or_default()
            .extend(std::iter::repeat_n(Some(fault), count));
        self
    }

    /// The call of `operation` after `successes` more successful ones fails with `fault`.
    pub fn fail_after(&self, operation: &'static str, successes: usize, fault: Fault) -> &Self {
        let mut state = self.state();
        let plan = state.plans.entry(operation).or_default();
        plan.extend(std::iter::repeat_n(None, successes));
        plan.push_back(Some(fault));
        self
    }

    /// Every planned failure forgotten (the calls already counted stay).
    pub fn clear(&self) {
        self.state().plans.clear();
    }

    /// How often `operation` was called (failed calls included).
    pub fn calls(&self, operation: &str) -> usize {
        self.state().calls.get(operation).copied().unwrap_or(0)
    }

    /// Counts the call and returns its planned fault. A `Hang` never returns: the future stays
    /// pending until the caller's deadline drops it.
    pub async fn check(&self, operation: &'static str) -> Option<Fault> {
        let fault = {
            let mut state = self.state();
            *state.calls.entry(operation).or_default() += 1;
            state.plans.get_mut(operation).and_then(VecDeque::pop_front).flatten()
        };
        if fault == Some(Fault::Hang) {
            std::future::pending::<()>().await;
        }
        fault
    }
}

/// What a fake does with one call, as its plan says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Do it and succeed.
    Apply,
    /// Do nothing and fail with this fault (`Transient` or `Permanent`).
    Fail(Fault),
    /// Do it, then report a transient error.
    ApplyThenFail,
}

impl Faults {
    /// [`Faults::check`] as the step a fake takes (a `Hang` never returns).
    pub async fn step(&self, operation: &'static str) -> Step {
        match self.check(operation).await {
            None | Some(Fault::Hang) => Step::Apply,
            Some(Fault::AppliedThenTransient) => Step::ApplyThenFail,
            Some(fault) => Step::Fail(fault),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plans_are_per_operation_and_in_order() {
        let faults = Faults::new();
        faults
            .fail_next("put", 2, Fault::Transient)
            .fail_after("get", 1, Fault::Permanent);
        assert_eq!(faults.check("put").await, Some(Fault::Transient));
        assert_eq!(faults.check("get").await, None);
        assert_eq!(faults.check("put").await, Some(Fault::Transient));
        assert_eq!(faults.check("put").await, None);
        assert_eq!(faults.check("get").await, Some(Fault::Permanent));
        assert_eq!(faults.check("get").await, None);
        assert_eq!(
            (faults.calls("put"), faults.calls("get"), faults.calls("other")),
            (3, 3, 0)
        );
    }

    #[tokio::test]
    async fn a_hang_never_answers() {
        let faults = Faults::new();
        faults.fail_next("send", 1, Fault::Hang);
        let hung = tokio::time::timeout(std::time::Duration::from_millis(20), faults.check("send")).await;
        assert!(hung.is_err(), "a hang must outlast any deadline");
        assert_eq!(faults.check("send").await, None);
    }
}
