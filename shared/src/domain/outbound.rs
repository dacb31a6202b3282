//! Messages this bundle sends: ids, the queued send job, and what the send API shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The queue body of a send: everything the worker needs, so it sends without a read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendJob {
    pub message_id: String,
    /// The recipient, digits only.
    pub to: String,
    /// The exact Graph API request body.
    pub payload: Value,
}

/// A message id derived from an idempotency key: the same key always names the same message.
pub fn id_for_key(scope: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{scope}\u{0}{key}").as_bytes());
    format!("msg_{}", &hex::encode(digest)[..24])
}

/// A fresh message id, unique across instances (time, request id and a per-process counter hashed).
pub fn new_id(request_id: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!(
        "{}:{}:{}",
        now.as_nanos(),
        request_id,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    format!("msg_{}", &hex::encode(Sha256::digest(seed.as_bytes()))[..24])
}

/// The id of the auto-reply to an inbound message: one reply per wamid, however often it is redelivered.
pub fn auto_reply_id(inbound_wamid: &str) -> String {
    id_for_key("auto-reply", inbound_wamid)
}

/// A fingerprint of a request body, to refuse an idempotency key reused for another message.
pub fn fingerprint(payload: &Value) -> String {
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_keys_are_stable_and_scoped() {
        assert_eq!(id_for_key("api", "order-42"), id_for_key("api", "order-42"));
        assert_ne!(id_for_key("api", "order-42"), id_for_key("api", "order-43"));
        assert_ne!(id_for_key("api", "k"), id_for_key("auto-reply", "k"));
        assert!(id_for_key("api", "k").starts_with("msg_"));
        assert_eq!(id_for_key("api", "k").len(), 28);
    }

    #[test]
    fn fresh_ids_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| new_id("req")).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn the_job_round_trips() {
        let job = SendJob {
            message_id: "msg_1".into(),
            to: "972504370045".into(),
            payload: serde_json::json!({"messaging_product":"whatsapp","to":"972504370045","type":"text","text":{"body":"hi"}}),
        };
        let text = serde_json::to_string(&job).expect("serializes");
        assert_eq!(serde_json::from_str::<SendJob>(&text).expect("parses"), job);
    }
}
