//! Meta's Block Users API for the send API's `/contacts/{contact}/block` routes.

use std::future::Future;

pub use crate::domain::blocklist::BlockAction;
use crate::domain::graph_error::GraphError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockFailure {
    /// Meta answered with an error (this user's, when it named one).
    #[error("{}", crate::domain::blocklist::describe(.0))]
    Refused(Box<GraphError>),
    /// No answer (no connection, a timeout), or an answer that could not be read: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The blocklist of the business's numbers (`/{phone-number-id}/block_users`).
pub trait Blocklist: Send + Sync {
    /// Blocks or unblocks `user` (a phone number's digits or a business-scoped user id) on the
    /// number `from`.
    fn change(
        &self,
        from: &str,
        user: &str,
        action: BlockAction,
    ) -> impl Future<Output = Result<(), BlockFailure>> + Send;
    /// Whether `user` is on the blocklist of `from`: `None` when the list is longer than what one
    /// call reads (its pages are read in order, up to a bound).
    fn is_blocked(&self, from: &str, user: &str) -> impl Future<Output = Result<Option<bool>, BlockFailure>> + Send;
}

impl Blocklist for super::Absent {
    async fn change(&self, _from: &str, _user: &str, _action: BlockAction) -> Result<(), BlockFailure> {
        match *self {}
    }

    async fn is_blocked(&self, _from: &str, _user: &str) -> Result<Option<bool>, BlockFailure> {
        match *self {}
    }
}
