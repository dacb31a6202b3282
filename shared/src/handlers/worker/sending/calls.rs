//! A WhatsApp call to the business number, answered by policy (`CALLS_POLICY`): a Lambda function
//! cannot carry the call's audio, so by default the call is rejected at once through the Calling API
//! and the caller is not left ringing.

use super::*;
use crate::domain::records::{CallRecord, CallsPolicy};

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    /// Rejects a ringing call (policy `reject`), as the number called. A call Meta no longer takes
    /// the action for (it ended, or was answered elsewhere) is left alone; a reject that did not reach
    /// Meta fails the record, which comes back in seconds (rejecting again is harmless).
    pub async fn answer_call(&self, call: &CallRecord) -> Result<(), RecordError> {
        if self.calls_policy == CallsPolicy::Ignore || !call.is_incoming() {
            return Ok(());
        }
        let from = self.sender_of(call.phone_number_id.as_ref());
        let asked = tokio::time::timeout(
            self.policy.graph_timeout,
            self.graph.call_action(from, &call.call_id, "reject"),
        )
        .await;
        match asked {
            Ok(Ok(())) => {
                tracing::info!(call_id = call.call_id, outcome = "call_rejected", "whatsapp call");
                Ok(())
            }
            Ok(Err(SendFailure::Refused(error))) => {
                tracing::warn!(call_id = call.call_id, error = %error, "call not rejected: Meta refused the action");
                Ok(())
            }
            Ok(Err(failure)) => Err(RecordError::retry_in(format!("call not rejected: {failure}"), 2)),
            Err(_) => Err(RecordError::retry_in(
                "call not rejected: no answer in time".to_owned(),
                2,
            )),
        }
    }
}
