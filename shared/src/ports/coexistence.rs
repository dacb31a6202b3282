//! The record of a number's coexistence syncs (`smb_app_data`): Meta takes each sync type once,
//! within 24 hours of onboarding, so a second request is refused before it is made.

use std::future::Future;

use super::StoreError;

/// A sync type requested for a number, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequested {
    pub sync_type: String,
    /// RFC 3339.
    pub requested_at: String,
}

pub trait CoexistenceLedger: Send + Sync {
    /// Takes `sync_type` for `phone_number_id` before it is requested from Meta: `None` when this
    /// call took it, else when it was requested before.
    fn claim_sync(
        &self,
        phone_number_id: &str,
        sync_type: &str,
        at: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Gives a claimed sync type back (Meta refused the request, so it may be made again).
    fn release_sync(
        &self,
        phone_number_id: &str,
        sync_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The sync types requested for `phone_number_id`.
    fn syncs(&self, phone_number_id: &str) -> impl Future<Output = Result<Vec<SyncRequested>, StoreError>> + Send;
}
