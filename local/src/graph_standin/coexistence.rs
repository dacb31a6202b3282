//! Coexistence, as Meta plays it for a number used in the WhatsApp Business app and through the
//! Cloud API at once: `POST /{version}/{phone-number-id}/smb_app_data` (`sync_type`
//! `smb_app_state_sync` or `history`) starts a sync and the synced data arrives as signed webhooks
//! (`smb_app_state_sync`, `history`); and `/_standin/history`, `/_standin/state-sync` send a chunk or
//! an address-book change on demand.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::answers::{Answer, invalid, json_answer, obj};
use super::status_webhooks::StatusWebhooks;

/// The sync types `smb_app_data` takes, in the order Meta asks them to be requested.
pub const SYNC_TYPES: [&str; 2] = ["smb_app_state_sync", "history"];

/// The customer of the stand-in's demo history and address book.
const DEMO_CUSTOMER: &str = "14155550123";

/// The `smb_app_data` requests received so far: (phone number id, sync type).
#[derive(Default)]
pub struct Coexistence {
    requests: Mutex<Vec<(String, String)>>,
}

impl Coexistence {
    pub fn requests_json(&self) -> Value {
        let requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Value::Array(
            requests
                .iter()
                .map(|(phone_number_id, sync_type)| json!({"phone_number_id": phone_number_id, "sync_type": sync_type}))
                .collect(),
        )
    }

    /// `POST /{version}/{phone-number-id}/smb_app_data`: `{"success": true}` for a known sync type,
    /// then (from a spawned task) its webhook: one address-book contact, or one history chunk.
    pub fn request(&self, webhooks: &std::sync::Arc<StatusWebhooks>, phone_number_id: &str, body: &Value) -> Answer {
        if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return invalid("messaging_product must be \"whatsapp\"").answer();
        }
        let Some(sync_type) = body
            .get("sync_type")
            .and_then(Value::as_str)
            .filter(|kind| SYNC_TYPES.contains(kind))
        else {
            return invalid("sync_type must be smb_app_state_sync or history").answer();
        };
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((phone_number_id.to_owned(), sync_type.to_owned()));
        let (webhooks, phone_number_id, sync_type) = (
            std::sync::Arc::clone(webhooks),
            phone_number_id.to_owned(),
            sync_type.to_owned(),
        );
        tokio::spawn(async move {
            let sent = if sync_type == "history" {
                send_history(&webhooks, &phone_number_id, DEMO_CUSTOMER, 100)
                    .await
                    .map(drop)
            } else {
                send_state_sync(&webhooks, &phone_number_id, DEMO_CUSTOMER, Some("Dana Demo")).await
            };
            if let Err(reason) = sent {
                tracing::warn!(%reason, "graph stand-in: the synced data was not delivered");
            }
        });
        json_answer(200, &obj([("success", Value::Bool(true))]))
    }
}

/// One history chunk (phase 0, chunk 1, `progress`) of a thread with `customer`: a message from the
/// customer and the business's answer, with ids derived from the customer, so the same call twice
/// is the same chunk.
pub async fn send_history(
    webhooks: &StatusWebhooks,
    phone_number_id: &str,
    customer: &str,
    progress: i64,
) -> Result<Vec<String>, String> {
    let business = webhooks.display_phone_number().to_owned();
    let wamids = [format!("wamid.HISTORY{customer}A"), format!("wamid.HISTORY{customer}B")];
    let chunk = json!({
        "metadata": {"phase": 0, "chunk_order": 1, "progress": progress},
        "threads": [{"id": customer, "messages": [
            {"from": customer, "id": wamids[0], "timestamp": "1739230955", "type": "text",
             "text": {"body": "Do you open on Fridays?"}, "history_context": {"status": "READ"}},
            {"from": business, "to": customer, "id": wamids[1], "timestamp": "1739231000", "type": "text",
             "text": {"body": "Until 2pm."}, "history_context": {"status": "READ"}}
        ]}]
    });
    webhooks
        .post_change("history", phone_number_id, "history", vec![chunk])
        .await?;
    Ok(wamids.to_vec())
}

/// An address-book change for `customer`: added (with `name`) or, without one, removed.
pub async fn send_state_sync(
    webhooks: &StatusWebhooks,
    phone_number_id: &str,
    customer: &str,
    name: Option<&str>,
) -> Result<(), String> {
    let now = super::ids::epoch_seconds().to_string();
    let change = match name {
        Some(name) => json!({"type": "contact", "action": "add", "metadata": {"timestamp": now},
            "contact": {"full_name": name, "first_name": name.split(' ').next().unwrap_or(name), "phone_number": customer}}),
        None => json!({"type": "contact", "action": "remove", "metadata": {"timestamp": now},
            "contact": {"phone_number": customer}}),
    };
    webhooks
        .post_change("smb_app_state_sync", phone_number_id, "state_sync", vec![change])
        .await
}

/// Meta's Calling API as the stand-in plays it: every call action it was asked for, and a ringing
/// call it places to the bundle on demand.
#[derive(Default)]
pub struct Calls {
    actions: Mutex<Vec<(String, String, String)>>,
}

impl Calls {
    /// `POST /{version}/{phone-number-id}/calls` `{"messaging_product","call_id","action"}`:
    /// `{"success": true}`, logged with the call id.
    pub fn action(&self, phone_number_id: &str, body: &Value) -> Answer {
        let text = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
        if text("messaging_product") != Some("whatsapp") {
            return invalid("messaging_product must be \"whatsapp\"").answer();
        }
        let (Some(call_id), Some(action)) = (text("call_id"), text("action")) else {
            return invalid("call_id and action are required").answer();
        };
        if !["pre_accept", "accept", "reject", "terminate"].contains(&action) {
            return invalid("action must be pre_accept, accept, reject or terminate").answer();
        }
        tracing::info!(call_id, action, "graph stand-in: call action");
        self.actions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((phone_number_id.to_owned(), call_id.to_owned(), action.to_owned()));
        json_answer(200, &obj([("success", Value::Bool(true))]))
    }

    pub fn actions_json(&self) -> Value {
        let actions = self.actions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Value::Array(
            actions
                .iter()
                .map(|(phone_number_id, call_id, action)| {
                    json!({"phone_number_id": phone_number_id, "call_id": call_id, "action": action})
                })
                .collect(),
        )
    }
}

/// A user-initiated call from `caller` to the business number, ringing (`calls`, `connect`).
pub async fn send_call(webhooks: &StatusWebhooks, phone_number_id: &str, caller: &str) -> Result<String, String> {
    let call_id = format!("wacid.{}", super::ids::random_hex(24));
    let call = json!({
        "id": call_id, "from": caller, "to": webhooks.display_phone_number(), "event": "connect",
        "direction": "USER_INITIATED", "timestamp": super::ids::epoch_seconds().to_string(),
        "session": {"sdp_type": "offer", "sdp": "v=0\r\n"}
    });
    webhooks
        .post_change("calls", phone_number_id, "calls", vec![call])
        .await?;
    Ok(call_id)
}

/// Who writes to the business number through `POST /_standin/inbound`: a phone number, a
/// business-scoped user id, or both; a sender with a user id and no number is a username-only user
/// (mid-2026: `contacts[].user_id` and `profile.username`, `messages[].from_user_id`, no `from`/`wa_id`).
pub struct Sender<'a> {
    pub phone: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub name: &'a str,
}

/// A signed `messages` webhook: `sender` writes `text` to the business number. Its wamid.
pub async fn send_inbound(
    webhooks: &StatusWebhooks,
    phone_number_id: &str,
    sender: &Sender<'_>,
    text: &str,
) -> Result<String, String> {
    let wamid = format!("wamid.{}", super::ids::random_hex(24));
    let mut profile = json!({"name": sender.name});
    let mut contact = json!({});
    let mut message = json!({
        "id": wamid, "timestamp": super::ids::epoch_seconds().to_string(), "type": "text", "text": {"body": text}
    });
    if let Some(username) = sender.username {
        profile["username"] = json!(username);
    }
    contact["profile"] = profile;
    if let Some(phone) = sender.phone {
        contact["wa_id"] = json!(phone);
        message["from"] = json!(phone);
    }
    if let Some(user_id) = sender.user_id {
        contact["user_id"] = json!(user_id);
        message["from_user_id"] = json!(user_id);
    }
    webhooks
        .post_members(
            "messages",
            phone_number_id,
            vec![("contacts", vec![contact]), ("messages", vec![message])],
        )
        .await?;
    Ok(wamid)
}
