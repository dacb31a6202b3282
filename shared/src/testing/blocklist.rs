//! [`Blocklist`] in memory: the blocked users of each number, every change it took, the users Meta
//! would refuse (not written in the last 24 hours), and a failure to give instead of an answer.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::blocklist::BlockAction;
use crate::domain::graph_error::GraphError;
use crate::ports::{BlockFailure, Blocklist};

#[derive(Debug, Default)]
pub struct BlocklistState {
    /// (number, user) blocked.
    pub blocked: BTreeSet<(String, String)>,
    /// Every change taken: (number, user, action).
    pub changes: Vec<(String, String, BlockAction)>,
    /// Users who did not write in the last 24 hours: a block is refused with 131047, as Meta does.
    pub silent: HashSet<String>,
    /// The next call fails with this.
    pub fail_next: Option<fn() -> BlockFailure>,
    /// Reads answer that the list is longer than one call reads.
    pub too_long: bool,
}

/// Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct FakeBlocklist {
    state: Arc<Mutex<BlocklistState>>,
}

impl FakeBlocklist {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self) -> MutexGuard<'_, BlocklistState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Blocklist for FakeBlocklist {
    async fn change(&self, from: &str, user: &str, action: BlockAction) -> Result<(), BlockFailure> {
        let mut state = self.state();
        if let Some(failure) = state.fail_next.take() {
            return Err(failure());
        }
        if action == BlockAction::Block && state.silent.contains(user) {
            return Err(BlockFailure::Refused(Box::new(GraphError {
                http_status: 400,
                code: Some(131047),
                message: Some("Re-engagement required".to_owned()),
                details: Some("User has not messaged in the last 24 hours".to_owned()),
                ..GraphError::default()
            })));
        }
        let key = (from.to_owned(), user.to_owned());
        match action {
            BlockAction::Block => state.blocked.insert(key),
            BlockAction::Unblock => state.blocked.remove(&key),
        };
        state.changes.push((from.to_owned(), user.to_owned(), action));
        Ok(())
    }

    async fn is_blocked(&self, from: &str, user: &str) -> Result<Option<bool>, BlockFailure> {
        let mut state = self.state();
        if let Some(failure) = state.fail_next.take() {
            return Err(failure());
        }
        let listed = state.blocked.contains(&(from.to_owned(), user.to_owned()));
        Ok(if !listed && state.too_long { None } else { Some(listed) })
    }
}
