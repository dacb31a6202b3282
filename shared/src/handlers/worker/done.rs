//! What a queue record came to: one name per outcome, which the record's log line and the tests
//! read (`outcome`, `sends`, `media`).

use std::fmt;

/// What one record of the worker came to, when it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// An inbound message's media kept in the bucket.
    MediaKept,
    /// An inbound message's media failed for good (recorded).
    MediaFailed,
    /// An inbound message's media job again, its fate recorded before.
    MediaAlreadyRecorded,
    /// A `publish-events` job's events published.
    EventsPublished,
    /// A `publish-events` job with no bus configured.
    EventsDroppedNoBus,
    /// Meta accepted the send.
    Accepted,
    /// Meta refused it for good.
    FailedPermanently,
    /// Its retryable refusals outlasted the queue's receives.
    FailedRetriesExhausted,
    /// Every delivery of every copy of the job bounced: failed with the reason.
    FailedBounced,
    /// Its last receive bounced: a fresh copy is queued.
    Requeued,
    /// Waiting for the recipient's pacing slot (a delayed copy is queued).
    Paced,
    /// The message is settled: nothing to send.
    DuplicateJobIgnored,
    /// An unknown outcome resolved by a status recorded before its resend.
    ResolvedByStatus,
    /// Meta refused the resend of an unknown outcome: unknown still (recorded).
    UnknownAfterRefusal,
    /// As [`Done::UnknownAfterRefusal`], but another write had moved it already.
    UnknownAfterRefusalSuperseded,
    /// Meta answered, the table refused the outcome: queued as a `send-outcome` job.
    OutcomeQueued,
    /// A `send-outcome` job's release recorded.
    ReleaseRecorded,
    /// A `send-outcome` job's outcome recorded.
    OutcomeRecorded,
}

impl Done {
    pub fn as_str(self) -> &'static str {
        match self {
            Done::MediaKept => "media_kept",
            Done::MediaFailed => "media_failed",
            Done::MediaAlreadyRecorded => "media_already_recorded",
            Done::EventsPublished => "events_published",
            Done::EventsDroppedNoBus => "events_dropped_no_bus",
            Done::Accepted => "accepted",
            Done::FailedPermanently => "failed_permanently",
            Done::FailedRetriesExhausted => "failed_retries_exhausted",
            Done::FailedBounced => "failed_bounced",
            Done::Requeued => "requeued",
            Done::Paced => "paced",
            Done::DuplicateJobIgnored => "duplicate_job_ignored",
            Done::ResolvedByStatus => "resolved_by_status",
            Done::UnknownAfterRefusal => "unknown_after_refusal",
            Done::UnknownAfterRefusalSuperseded => "unknown_after_refusal_superseded",
            Done::OutcomeQueued => "outcome_queued",
            Done::ReleaseRecorded => "release_recorded",
            Done::OutcomeRecorded => "outcome_recorded",
        }
    }

    /// The names of `done`, comma-separated (a log field).
    pub fn joined(done: &[Done]) -> String {
        done.iter().map(|done| done.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for Done {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Done {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
