//! Every send request shape of `POST /messages` (text, template, image, document, audio, video,
//! with context and callback data): parse, Meta's checks, recipient normalization, the Graph
//! body and its fingerprint; and the queued send job / outcome shapes the worker reads.
#![no_main]

use bridge::domain::outbound::{self, SendJob, SendOutcome};
use bridge::domain::phone;
use bridge::domain::send_request::{SendRequestBody, ValidSendRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<SendRequestBody>(data)
        && let Ok(valid) = ValidSendRequest::try_from(body)
    {
        for country in [None, Some("1"), Some("55")] {
            let Ok(to) = phone::normalize(valid.to(), country) else {
                continue;
            };
            assert!(
                !to.is_empty() && to.bytes().all(|b| b.is_ascii_digit()),
                "normalized to {to:?}"
            );
            let payload = valid.graph_payload(&to);
            assert_eq!(payload["to"].as_str(), Some(to.as_str()));
            assert_eq!(payload["messaging_product"].as_str(), Some("whatsapp"));
            let kind = valid.message().kind();
            assert!(payload.get(kind).is_some(), "the Graph body lacks its {kind} object");
            assert_eq!(outbound::fingerprint(&payload), outbound::fingerprint(&payload.clone()));
            let job = SendJob {
                message_id: outbound::id_for_key("fuzz", &to),
                to,
                payload,
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
        let _ = job.kind();
    }
    let _ = serde_json::from_slice::<SendOutcome>(data);
});
