//! The codes the Twilio functions captured, read back (`GET /verification-codes`).

use std::future::Future;

use super::StoreError;
use crate::domain::verification::StoredCode;

/// The verification codes captured for a called number, newest first.
pub trait CodeLog: Send + Sync {
    /// At most `limit` codes captured for the called `number` (written any way: its digits name it),
    /// the latest first; none for a number without digits.
    fn latest_codes(
        &self,
        number: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredCode>, StoreError>> + Send;
}
