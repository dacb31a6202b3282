//! [`Queue`] and [`Redelivery`] in memory.

use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::{Fault, Faults};
use crate::ports::{Queue, QueueError, QueueMessage, Redelivery};

#[derive(Debug, Default)]
pub struct QueueState {
    pub sent: Vec<QueueMessage>,
    /// `(queue ARN, receipt handle, seconds)` of every record handed back with a delay.
    pub redelivered: Vec<(String, String, u32)>,
}

/// Cloning shares the messages and the faults. Operations: `send`, `retry_after`.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    state: Arc<Mutex<QueueState>>,
    pub faults: Faults,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The messages sent so far, taken out.
    pub fn take_sent(&self) -> Vec<QueueMessage> {
        std::mem::take(&mut self.state().sent)
    }

    async fn check(&self, operation: &'static str) -> Result<(), (QueueError, bool)> {
        match self.faults.check(operation).await {
            None => Ok(()),
            // Applied, answer lost: the caller sees an error although the queue has it.
            Some(Fault::AppliedThenTransient) => Err((QueueError::Unavailable("injected after the write".to_owned()), true)),
            Some(_) => Err((QueueError::Unavailable("injected".to_owned()), false)),
        }
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: QueueMessage) -> Result<String, QueueError> {
        match self.check("send").await {
            Ok(()) => {
                let mut state = self.state();
                state.sent.push(message);
                Ok(format!("mem-{}", state.sent.len()))
            }
            Err((error, applied)) => {
                if applied {
                    self.state().sent.push(message);
                }
                Err(error)
            }
        }
    }
}

impl Redelivery for MemoryQueue {
    async fn retry_after(&self, queue_arn: &str, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.check("retry_after").await.map_err(|(error, _)| error)?;
        self.state()
            .redelivered
            .push((queue_arn.to_owned(), receipt_handle.to_owned(), seconds));
        Ok(())
    }
}
