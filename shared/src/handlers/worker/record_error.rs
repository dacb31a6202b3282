//! What can go wrong with one queue record, and what the worker does about it.

use crate::ports::{StoreError, Transient};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordError {
    /// May succeed on a later delivery: the record is reported failed, and comes back after
    /// `retry_in_seconds` (the visibility is set so) or the queue's visibility timeout.
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_in_seconds: Option<u32>,
    },
    /// Will fail the same way every time: the record ends in the dead-letter queue.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl RecordError {
    pub fn transient(reason: impl Into<String>) -> Self {
        RecordError::Transient {
            reason: reason.into(),
            retry_in_seconds: None,
        }
    }

    /// Comes back in `seconds` (at least 1, at most SQS's 12 hours).
    pub fn retry_in(reason: impl Into<String>, seconds: u32) -> Self {
        RecordError::Transient {
            reason: reason.into(),
            retry_in_seconds: Some(seconds.clamp(1, 43_200)),
        }
    }

    pub fn from_failure<E: Transient + std::fmt::Display>(what: &str, error: E) -> Self {
        if error.is_transient() {
            RecordError::transient(format!("{what}: {error}"))
        } else {
            RecordError::Permanent(format!("{what}: {error}"))
        }
    }

    pub fn store(error: StoreError) -> Self {
        Self::from_failure("store", error)
    }
}

/// How soon a record whose events the bus refused comes back.
pub const UNPUBLISHED_RETRY_SECONDS: u32 = 5;

impl From<crate::ports::PublishError> for RecordError {
    /// Events the bus did not take (after the resends): the record comes back soon.
    fn from(error: crate::ports::PublishError) -> Self {
        RecordError::retry_in(error.to_string(), UNPUBLISHED_RETRY_SECONDS)
    }
}
