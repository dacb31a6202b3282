//! One customer, however identified: a phone number, a business-scoped user id, or both over time.
//! What links two ids — a message carrying both (`from` and `from_user_id`), a system message saying
//! the user changed their number (`user_changed_number`: `from` the old one, `system.wa_id` the new)
//! or their user id (`user_changed_user_id`: `system.previous_user_id` the old one, or failing it the
//! id that sent it, and `system.user_id` the new) — is recorded both ways, and a conversation read by
//! either id shows the messages of both. A number change also regenerates the user id: since August
//! 2026 both system messages carry `previous_user_id` beside `user_id`, and that pair is linked too.
//! (Meta's changelog of 11 August 2026: BSUID changes arrive only as these system messages on the
//! `messages` field; `user_id_update` "is not a subscribable webhook field".)

use super::{InboundRecord, Received};
use crate::domain::ids::ContactId;
use crate::domain::webhook::Content;

/// The reason of a link made by a message carrying both ids (`a` the number, `b` the user id).
pub const SAME_MESSAGE: &str = "same_message";

/// Two ids of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityLink {
    pub a: ContactId,
    pub b: ContactId,
    /// `same_message` (a message carried both), `user_changed_number` or `user_changed_user_id`.
    pub reason: &'static str,
    /// The message that said so.
    pub wamid: String,
    pub received: Received,
}

/// The links an inbound message makes.
pub(super) fn links_of(record: &InboundRecord) -> Vec<IdentityLink> {
    let link = |a: ContactId, b: ContactId, reason| IdentityLink {
        a,
        b,
        reason,
        wamid: record.wamid.to_string(),
        received: record.received.clone(),
    };
    let phone = record.wa_id.clone().filter(|id| !id.is_empty()).map(ContactId::Phone);
    let user = record.user_id.clone().filter(|id| !id.is_empty()).map(ContactId::User);
    let mut links = Vec::new();
    if let (Some(phone), Some(user)) = (&phone, &user) {
        links.push(link(phone.clone(), user.clone(), SAME_MESSAGE));
    }
    if let Content::System(system) = &record.content {
        let text = |name: &str| system.get(name).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
        match text("type") {
            Some("user_changed_number") => {
                if let (Some(old), Some(new)) = (&phone, text("wa_id")) {
                    links.push(link(
                        old.clone(),
                        ContactId::Phone(new.to_owned()),
                        "user_changed_number",
                    ));
                }
                // The user id the number change regenerated.
                if let (Some(old), Some(new)) = (text("previous_user_id"), text("user_id")) {
                    links.push(link(
                        ContactId::User(old.to_owned()),
                        ContactId::User(new.to_owned()),
                        "user_changed_number",
                    ));
                }
            }
            Some("user_changed_user_id") => {
                let old = text("previous_user_id")
                    .map(|old| ContactId::User(old.to_owned()))
                    .or_else(|| user.clone())
                    .or_else(|| phone.clone());
                if let (Some(old), Some(new)) = (old, text("user_id")) {
                    links.push(link(old, ContactId::User(new.to_owned()), "user_changed_user_id"));
                }
            }
            _ => {}
        }
    }
    links.retain(|link| link.a != link.b);
    links
}
