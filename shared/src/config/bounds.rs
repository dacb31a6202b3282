//! The limits settings are checked against: what SQS, S3 and DynamoDB take, and the queue worker's
//! timeout, which bounds every send setting.

use super::Env;

/// The longest retention a `*_RETENTION_DAYS` setting may ask for: 100 years (DynamoDB TTL is epoch
/// seconds; far larger values overflow the time arithmetic).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The most `MEDIA_MAX_BYTES` may say: S3's limit for one `PutObject`, 5 GiB.
pub const MAX_MEDIA_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The largest body sent inline on SQS: its 1 MiB message limit less room for the attributes.
pub const MAX_INLINE_LIMIT: usize = 1_048_576 - 8 * 1024;

/// The queue worker's Lambda timeout (template.yaml's `QueueWorkerFunction` `Timeout`; a test keeps
/// them equal). The send settings are checked against it.
pub const WORKER_TIMEOUT_SECONDS: u32 = 30;

/// The bound of each AWS call of the worker, in seconds (`handlers::worker::WORKER_AWS_CALL_TIMEOUT`;
/// a test keeps them equal).
pub const WORKER_AWS_CALL_SECONDS: u32 = 4;

/// The longest `GRAPH_TIMEOUT_MS`. The worker starts a send only while the invocation has its send
/// budget left (`SendPolicy::send_budget`: the Graph call plus 3 AWS calls: the claim, the outcome
/// and its fallback), and checks that budget twice: before the pacing call and again after the
/// claim. A send that passes the first check must pass the second even when the pacing call and the
/// claim take their whole bound, so the budget plus those two calls fits in the timeout:
/// GRAPH_TIMEOUT_MS + 5 × 4 s ≤ 30 s. Longer, a claimed message can be given back for want of time
/// (each time costing one of the send queue's receives); from 18 s on, no send ever starts.
pub const MAX_GRAPH_TIMEOUT_MS: u64 = (WORKER_TIMEOUT_SECONDS as u64 - 5 * WORKER_AWS_CALL_SECONDS as u64) * 1000;

/// The least time an unknown outcome waits for its status webhooks before its one resend, counted
/// from the last moment Meta could have taken the first copy. Meta's status webhooks normally arrive
/// within seconds of the send; 60 s also covers the events queue's batching and a short backlog.
/// (Meta retries a webhook it could not deliver for hours: the default window, 900 s, is a choice
/// between a late resend and a duplicate, not this floor.)
pub const RECONCILE_STATUS_SECONDS: u32 = 60;

/// The longest `SEND_RECONCILE_SECONDS`: 12 h, the longest a job can wait on the send queue at once
/// (SQS's longest visibility timeout). Longer, the wait for the resend spends several of the queue's
/// receives and the job can reach the dead-letter queue before the resend.
pub const MAX_RECONCILE_SECONDS: u32 = 43_200;

// The send settings, each read and checked against the worker's timeout and the send queue; every
// problem names the variable, the limit and why.

/// `GRAPH_TIMEOUT_MS` (default 10000): 100 to [`MAX_GRAPH_TIMEOUT_MS`].
pub(super) fn graph_timeout_ms<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> u64 {
    let graph_timeout_ms = env.number("GRAPH_TIMEOUT_MS", 10_000u64);
    if !(100..=MAX_GRAPH_TIMEOUT_MS).contains(&graph_timeout_ms) {
        env.problem(format!(
            "GRAPH_TIMEOUT_MS must be between 100 and {MAX_GRAPH_TIMEOUT_MS}, got {graph_timeout_ms}: \
             the worker's send budget (GRAPH_TIMEOUT_MS + 3 × its {WORKER_AWS_CALL_SECONDS} s AWS call \
             bound) and the pacing call and claim before it ({WORKER_AWS_CALL_SECONDS} s each) must \
             fit in its {WORKER_TIMEOUT_SECONDS} s timeout"
        ));
    }
    graph_timeout_ms
}

/// `SEND_CLAIM_LEASE_SECONDS` (default 60): more than [`WORKER_TIMEOUT_SECONDS`].
pub(super) fn claim_lease_seconds<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> u32 {
    // A live holder is never taken over: its invocation ends before its claim lapses.
    let claim_lease_seconds = env.number("SEND_CLAIM_LEASE_SECONDS", 60u32);
    if claim_lease_seconds <= WORKER_TIMEOUT_SECONDS {
        env.problem(format!(
            "SEND_CLAIM_LEASE_SECONDS must exceed the worker's {WORKER_TIMEOUT_SECONDS} s timeout, \
             got {claim_lease_seconds}"
        ));
    }
    claim_lease_seconds
}

/// `SEND_RECONCILE_SECONDS` (default 900): from the lease + [`RECONCILE_STATUS_SECONDS`] to
/// [`MAX_RECONCILE_SECONDS`].
pub(super) fn reconcile_after_seconds<F: Fn(&str) -> Option<String>>(
    env: &mut Env<F>,
    claim_lease_seconds: u32,
) -> u32 {
    // The reconcile window runs from the claim (a lapsed one too): it outlasts the lease by
    // RECONCILE_STATUS_SECONDS, so a lapsed claim is resent only after its own status webhooks
    // had that long (and an ambiguous answer, at least twice that).
    let reconcile_after_seconds = env.number("SEND_RECONCILE_SECONDS", 900u32);
    let least_reconcile = claim_lease_seconds.saturating_add(RECONCILE_STATUS_SECONDS);
    if reconcile_after_seconds < least_reconcile {
        env.problem(format!(
            "SEND_RECONCILE_SECONDS must be at least SEND_CLAIM_LEASE_SECONDS + {RECONCILE_STATUS_SECONDS} \
             ({least_reconcile}), got {reconcile_after_seconds}: an unknown outcome is resent only after \
             its status webhooks had {RECONCILE_STATUS_SECONDS} s to arrive, a lapsed claim's too"
        ));
    } else if reconcile_after_seconds > MAX_RECONCILE_SECONDS {
        env.problem(format!(
            "SEND_RECONCILE_SECONDS must be at most {MAX_RECONCILE_SECONDS} (12 h, the longest a job \
             waits on the send queue at once), got {reconcile_after_seconds}"
        ));
    }
    reconcile_after_seconds
}

/// `SEND_MAX_RECEIVES` (default 10): 2 to 1000.
pub(super) fn send_max_receives<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> u32 {
    // SQS's maxReceiveCount is 1 to 1000; the worker's last receive must be one the queue gives.
    let max_receives = env.number("SEND_MAX_RECEIVES", 10u32);
    if !(2..=1000).contains(&max_receives) {
        env.problem(format!(
            "SEND_MAX_RECEIVES must be between 2 and 1000 (the send queue's maxReceiveCount), got {max_receives}"
        ));
    }
    max_receives
}
