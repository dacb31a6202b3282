//! A WhatsApp call to the business number, answered by policy (`CALLS_POLICY`): a Lambda function
//! cannot carry the call's audio, so by default the call is rejected at once through the Calling API
//! and the caller is not left ringing; with `CALLS_REPLY_TEXT`, the caller is then told in writing,
//! through the send path (sent once), at most once per caller per `CALLS_REPLY_COOLDOWN_SECONDS`.

use super::*;
use crate::domain::ids::ContactId;
use crate::domain::records::{CallRecord, CallsPolicy};
use crate::domain::send_request::MessageKind;

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    /// Rejects a ringing call (policy `reject`), as the number called, then queues the calls reply.
    /// A call Meta no longer takes the action for (it ended, or was answered elsewhere) is left alone
    /// (and still answered in writing); a reject that did not reach Meta fails the record, which comes
    /// back in seconds (rejecting again is harmless, and the reply is sent once whatever comes back).
    pub async fn answer_call(&self, call: &CallRecord, request_id: &str) -> Result<(), RecordError> {
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
            }
            Ok(Err(SendFailure::Refused(error))) => {
                tracing::warn!(call_id = call.call_id, error = %error, "call not rejected: Meta refused the action");
            }
            Ok(Err(failure)) => return Err(RecordError::retry_in(format!("call not rejected: {failure}"), 2)),
            Err(_) => {
                return Err(RecordError::retry_in(
                    "call not rejected: no answer in time".to_owned(),
                    2,
                ));
            }
        }
        Box::pin(self.reply_to_call(call, request_id)).await
    }

    /// The calls reply to the caller: its id is the call's, so a redelivered call webhook queues the
    /// same message again and the claim sends it once; the caller's turn (one per cooldown) is taken
    /// first, and kept by this call when its webhook comes back.
    async fn reply_to_call(&self, call: &CallRecord, request_id: &str) -> Result<(), RecordError> {
        let (Some(reply), Some(caller)) = (&self.calls_reply, call.from.as_deref()) else {
            return Ok(());
        };
        let to = ContactId::Phone(caller.to_owned());
        let turn = self
            .store_call(self.store.call_reply_turn(&to, &call.call_id, reply.cooldown_seconds))
            .await
            .map_err(RecordError::store)?;
        if !turn {
            tracing::info!(
                call_id = call.call_id,
                outcome = "call_reply_cooling_down",
                "calls reply not sent: the caller had one within the cooldown"
            );
            return Ok(());
        }
        let message_id = outbound::call_reply_id(&call.call_id);
        let payload = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.key(),
            "type": "text",
            "text": { "body": reply.text },
        });
        self.store_call(self.store.create_outbound(&NewOutbound {
            message_id: message_id.clone(),
            to: to.clone(),
            from: call.phone_number_id.clone(),
            kind: MessageKind::Text,
            fingerprint: outbound::fingerprint(&payload),
            payload: payload.clone(),
            origin: Origin::CallReply,
        }))
        .await
        .map_err(RecordError::store)?;
        let job = SendJob {
            message_id,
            to,
            // From the number that was called.
            from: call.phone_number_id.clone(),
            kind: MessageKind::Text,
            payload,
            requeued: 0,
        };
        self.queue_call(job.queue_message(request_id))
            .await
            .map_err(|error| RecordError::transient(format!("calls reply not queued: {error}")))?;
        tracing::info!(call_id = call.call_id, outcome = "call_reply_queued", "whatsapp call");
        Ok(())
    }
}
