//! Per-message pricing: what a status write answers, and the month's aggregate
//! ([`crate::domain::usage`]), read by `wabridge usage`.

use std::future::Future;

use serde_json::Value;

use super::{StatusWrite, StoreError};
use crate::domain::usage::UsageMonth;

/// What a status webhook did to its message, and the pricing the message holds after it: the latest
/// status that carried one (a status without pricing, such as `read`, keeps the earlier one).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusWritten {
    pub write: StatusWrite,
    pub pricing: Option<Value>,
}

/// The usage aggregate, kept by [`super::MessageStore::record_status`].
pub trait UsageStore: Send + Sync {
    /// The month's (`YYYY-MM`, UTC) messages by pricing category, type and billable: one key read
    /// of the month's counters, never a scan.
    fn usage(&self, month: &str) -> impl Future<Output = Result<UsageMonth, StoreError>> + Send;
}
