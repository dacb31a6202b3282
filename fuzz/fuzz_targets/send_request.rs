//! Every send request shape of `POST /messages` (the short form and Meta's own message object, every
//! type, with context and callback data): parse, Meta's checks, recipient normalization (phone number
//! or business-scoped user id), the Graph body and its fingerprint; and the queued send job / outcome
//! shapes the worker reads.
#![no_main]

use bridge::domain::outbound::{self, SendJob, SendOutcome};
use bridge::domain::ids::{ContactId, PhoneNumberId};
use bridge::domain::send_request::ValidSendRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(valid) = ValidSendRequest::parse(data) {
        for country in [None, Some("1"), Some("55")] {
            let Ok(recipient) = valid.recipient(country) else {
                continue;
            };
            if let ContactId::Phone(digits) = &recipient {
                assert!(
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                    "normalized to {digits:?}"
                );
            }
            let payload = valid.graph_payload(&recipient);
            assert_eq!(payload[recipient.field()].as_str(), Some(recipient.key()));
            assert_eq!(payload["messaging_product"].as_str(), Some("whatsapp"));
            let kind = valid.kind().as_str();
            assert!(payload.get(kind).is_some(), "the Graph body lacks its {kind} object");
            assert_eq!(outbound::fingerprint(&payload), outbound::fingerprint(&payload.clone()));
            let job = SendJob {
                message_id: outbound::id_for_key("fuzz", recipient.key()),
                to: recipient.clone(),
                from: valid.from().map(PhoneNumberId::new),
                kind: valid.kind(),
                payload,
                requeued: 0,
            };
            let message = job.queue_message("fuzz");
            let back: SendJob = serde_json::from_str(&message.body).expect("a queued job reads back");
            assert_eq!(back, job);
            assert_eq!(
                back.outgoing_payload()["biz_opaque_callback_data"],
                job.message_id.as_str()
            );
        }
    }
    if let Ok(job) = serde_json::from_slice::<SendJob>(data) {
        let _ = job.outgoing_payload();
        assert_eq!(serde_json::from_str::<SendJob>(&serde_json::to_string(&job).expect("serializes")).ok(), Some(job));
    }
    let _ = serde_json::from_slice::<SendOutcome>(data);
});
