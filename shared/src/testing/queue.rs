//! [`Queue`] and [`Redelivery`] in memory. Operations: `send`, `retry_after`. The port has one
//! error, so `Transient` and `Permanent` both fail with [`QueueError::Unavailable`].

use super::{Faults, Shared, Step};
use crate::ports::{Queue, QueueError, QueueMessage, Redelivery};

#[derive(Debug, Clone, Default)]
pub struct FakeQueue {
    pub faults: Faults,
    sent: Shared<Vec<QueueMessage>>,
    /// `(queue ARN, receipt handle, seconds)` of every record handed back with a delay.
    redelivered: Shared<Vec<(String, String, u32)>>,
}

impl FakeQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message the queue accepted, in order.
    pub fn messages(&self) -> Vec<QueueMessage> {
        self.sent.lock().clone()
    }

    /// The messages accepted so far, taken out (as a consumer receives them).
    pub fn take_sent(&self) -> Vec<QueueMessage> {
        std::mem::take(&mut *self.sent.lock())
    }

    pub fn redelivered(&self) -> Vec<(String, String, u32)> {
        self.redelivered.lock().clone()
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

impl Redelivery for FakeQueue {
    async fn retry_after(&self, queue_arn: &str, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        if let Step::Fail(fault) = self.faults.step("retry_after").await {
            return Err(QueueError::Unavailable(format!("injected {fault:?}")));
        }
        self.redelivered
            .lock()
            .push((queue_arn.to_owned(), receipt_handle.to_owned(), seconds));
        Ok(())
    }
}
