//! [`Queue`] in memory. Operation: `send`. The port has one error, so `Transient` and
//! `Permanent` both fail with [`QueueError::Unavailable`].

use super::{Faults, Shared, Step};
use crate::ports::{Queue, QueueError, QueueMessage};

#[derive(Debug, Clone, Default)]
pub struct FakeQueue {
    pub faults: Faults,
    sent: Shared<Vec<QueueMessage>>,
}

impl FakeQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message the queue accepted, in order.
    pub fn messages(&self) -> Vec<QueueMessage> {
        self.sent.lock().clone()
    }
}

impl Queue for FakeQueue {
    async fn send(&self, message: QueueMessage) -> Result<String, QueueError> {
        let step = self.faults.step("send").await;
        if let Step::Fail(fault) = step {
            return Err(QueueError::Unavailable(format!("injected {fault:?}")));
        }
        let id = {
            let mut sent = self.sent.lock();
            sent.push(message);
            format!("fake-message-{}", sent.len())
        };
        match step {
            Step::ApplyThenFail => Err(QueueError::Unavailable("injected: the answer was lost".to_owned())),
            _ => Ok(id),
        }
    }
}
