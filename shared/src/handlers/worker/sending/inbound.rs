//! After an inbound message: the read receipt and the auto-reply.

use super::*;
use crate::domain::send_request::MessageKind;

impl<O: OutboundStore, W: WhatsAppSender, Q: Queue, E: EventPublisher> Sending<O, W, Q, E> {
    /// After an inbound message is recorded (new or redelivered): the read receipt and the
    /// auto-reply, concurrently; the read receipt is best effort and short.
    pub async fn after_inbound(&self, record: &InboundRecord, request_id: &str) -> Result<(), RecordError> {
        let read = async {
            if !self.mark_as_read {
                return;
            }
            let wamid = record.wamid.clone();
            // As the number that received it.
            let from = self.sender_of(record.phone_number_id.as_ref());
            let call = self.graph.mark_read(from, &wamid, self.typing_indicator);
            let result = tokio::time::timeout(self.policy.mark_read_timeout, call).await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(wamid = record.wamid.as_str(), error = %error, "mark as read failed"),
                Err(_) => tracing::warn!(wamid = record.wamid.as_str(), "mark as read timed out"),
            }
        };
        let (_, reply) = tokio::join!(read, self.auto_reply(record, request_id));
        reply
    }

    pub(super) async fn auto_reply(&self, record: &InboundRecord, request_id: &str) -> Result<(), RecordError> {
        let Some(text) = &self.auto_reply_text else {
            return Ok(());
        };
        // The phone number when Meta gave one, else the business-scoped user id (`recipient`).
        let Some(to) = record.contact() else {
            return Ok(());
        };
        // One reply per inbound wamid: its id is derived from the wamid, so a redelivered
        // message finds it already there, and the claim sends it once however often it is queued.
        let message_id = outbound::auto_reply_id(record.wamid.as_str());
        let payload = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            to.field(): to.key(),
            "type": "text",
            "text": { "body": text },
            "context": { "message_id": record.wamid.as_str() },
        });
        self.store_call(self.store.create_outbound(&NewOutbound {
            message_id: message_id.clone(),
            to: to.clone(),
            from: record.phone_number_id.clone(),
            kind: MessageKind::Text,
            fingerprint: outbound::fingerprint(&payload),
            payload: payload.clone(),
            origin: Origin::AutoReply,
        }))
        .await
        .map_err(RecordError::store)?;
        let job = SendJob {
            message_id,
            to,
            // From the number that received the message.
            from: record.phone_number_id.clone(),
            kind: MessageKind::Text,
            payload,
            requeued: 0,
        };
        self.queue_call(job.queue_message(request_id))
            .await
            .map_err(|error| RecordError::transient(format!("auto-reply not queued: {error}")))?;
        Ok(())
    }
}
