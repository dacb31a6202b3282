//! [`OutboundStore`]: the send state machine's table ([`crate::domain::outbound::machine`])
//! rendered as conditional writes on the `OUT#<message id>` item. Each [`Transition`] becomes one
//! `UpdateItem`: its from-states, holder and guards a `ConditionExpression`, its target and effects
//! an `UpdateExpression`. A refused condition answers the item as it is
//! (`ReturnValuesOnConditionCheckFailure`), so a claim of a message in another state costs no
//! read, and an attempt whose write was applied but whose answer was lost recognises its own.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::Utc;

use super::DynamoMessageStore;
use super::errors::{classify, update_error_is_rejection};
use super::item::{Item, number, rfc3339, string, text_of};
use super::keys::{
    BY_CONTACT_INDEX, CONTACT_SK, MESSAGE_SK, OUTBOUND_SK, PACE_SK, contact_pk, conversation_pk, conversation_sk,
    message_pk, outbound_pk, pace_pk, sent_pk, window_sk,
};
use super::view::outbound_view;
use crate::adapters::describe;
use crate::domain::ids::{AttemptId, ContactId, MessageId, PhoneNumberId, Wamid};
use crate::domain::outbound::machine::{Call, Effect, Guard, Holder, SendRecord, Transition, rank_of};
use crate::domain::outbound::{OutboundStatus, OutboundView, StoredError};
use crate::domain::status::DeliveryStatus;
use crate::ports::{Created, Moved, NewOutbound, OutboundStore, Pace, Paced, Sent, StoreError, WriteOutcome};

type Attributes = HashMap<String, AttributeValue>;

fn stored_errors(error: &StoredError) -> AttributeValue {
    let mut map = Item::default();
    map.put_opt("code", error.code.map(number))
        .put_opt("title", error.title.as_deref().map(string))
        .put_opt("message", error.message.as_deref().map(string))
        .put_opt("details", error.details.as_deref().map(string));
    AttributeValue::L(vec![AttributeValue::M(map.0)])
}

fn status_value(status: OutboundStatus) -> AttributeValue {
    string(status.as_str())
}

/// The state machine's part of an `OUT#` item.
fn send_record(item: &Attributes) -> Option<SendRecord> {
    let number_of = |name: &str| text_of(item, name).and_then(|n| n.parse::<i64>().ok());
    let count = |name: &str| number_of(name).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    Some(SendRecord {
        status: OutboundStatus::parse(&text_of(item, "status")?)?,
        attempt: text_of(item, "attempt_id").map(AttemptId::new),
        claimed_at: number_of("claimed_at"),
        reconcile_at: number_of("reconcile_at"),
        attempts: count("attempts"),
        resends: count("resends"),
        wamid: text_of(item, "wamid").map(Wamid::new),
        moved_from: text_of(item, "moved_from").and_then(|name| OutboundStatus::parse(&name)),
        accepted_by: text_of(item, "accepted_by").map(AttemptId::new),
    })
}

/// One transition of the table as an `UpdateItem`'s expressions.
struct Rendered {
    condition: String,
    update: String,
    values: Attributes,
}

fn render(transition: &Transition, call: &Call<'_>) -> Result<Rendered, StoreError> {
    let mut values: Attributes = HashMap::new();
    let mut conditions = vec!["attribute_exists(pk)".to_owned()];
    let from: Vec<String> = transition
        .from
        .iter()
        .enumerate()
        .map(|(n, status)| {
            let name = format!(":from{n}");
            values.insert(name.clone(), status_value(*status));
            name
        })
        .collect();
    conditions.push(format!("#status IN ({})", from.join(", ")));
    let attempt = || {
        call.attempt.ok_or_else(|| {
            StoreError::Rejected(format!("the {} transition needs the caller's attempt", transition.name))
        })
    };
    match transition.holder {
        Holder::Anyone => {}
        Holder::Caller => {
            values.insert(":attempt".to_owned(), string(attempt()?.as_str()));
            conditions.push("attempt_id = :attempt".to_owned());
        }
        Holder::Observed => match call.observed {
            Some(observed) => {
                values.insert(":observed".to_owned(), string(observed.as_str()));
                conditions.push("attempt_id = :observed".to_owned());
            }
            None => conditions.push("attribute_not_exists(attempt_id)".to_owned()),
        },
    }
    if let Some(wamid) = call.wamid {
        values.insert(":wamid".to_owned(), string(wamid.as_str()));
    }
    let mut needs_one = false;
    for guard in transition.guards {
        match (guard, call.wamid) {
            (Guard::NoResendYet, _) => {
                needs_one = true;
                conditions.push("(attribute_not_exists(resends) OR resends < :one)".to_owned());
            }
            (Guard::WamidFreeOrSame, Some(_)) => {
                conditions.push("(attribute_not_exists(wamid) OR wamid = :wamid)".to_owned());
            }
            (Guard::WamidFreeOrSame, None) => {}
            (Guard::NotAcceptedAsCall, wamid) => {
                values.insert(":accepted".to_owned(), status_value(OutboundStatus::Accepted));
                conditions.push(if wamid.is_some() {
                    "NOT (#status = :accepted AND wamid = :wamid)".to_owned()
                } else {
                    "#status <> :accepted".to_owned()
                });
            }
        }
    }
    let now_text = string(rfc3339(Utc::now()));
    values.insert(":now_text".to_owned(), now_text);
    values.insert(":to".to_owned(), status_value(transition.to));
    values.insert(":rank".to_owned(), number(i64::from(transition.rank())));
    // Every operand reads the item as it was before the update: `moved_from` gets the old status.
    let mut sets = vec![
        "updated_at = :now_text",
        "moved_from = #status",
        "#status = :to",
        "status_rank = :rank",
    ];
    let error = || {
        call.error
            .map_or_else(|| stored_errors(&StoredError::default()), stored_errors)
    };
    for effect in transition.effects {
        match effect {
            Effect::Claim => {
                values.insert(":attempt".to_owned(), string(attempt()?.as_str()));
                values.insert(":now".to_owned(), number(call.now));
                values.insert(":zero".to_owned(), number(0));
                needs_one = true;
                sets.extend([
                    "attempt_id = :attempt",
                    "claimed_at = :now",
                    "attempts = if_not_exists(attempts, :zero) + :one",
                ]);
            }
            Effect::CountResend => {
                values.insert(":zero".to_owned(), number(0));
                needs_one = true;
                sets.push("resends = if_not_exists(resends, :zero) + :one");
            }
            Effect::Reconcile => {
                values.insert(":reconcile_at".to_owned(), number(call.reconcile_at));
                sets.extend([
                    "reconcile_at = :reconcile_at",
                    "unknown_at = if_not_exists(unknown_at, :now_text)",
                ]);
            }
            Effect::LastError => {
                values.insert(":error".to_owned(), error());
                sets.push("last_error = :error");
            }
            Effect::Errors => {
                values.insert(":error".to_owned(), error());
                sets.extend(["errors = :error", "failed_at = :now_text"]);
            }
            Effect::Wamid => {
                if call.wamid.is_some() {
                    sets.push("wamid = :wamid");
                }
                if let Some(attempt) = call.attempt {
                    values.insert(":accepted_by".to_owned(), string(attempt.as_str()));
                    sets.push("accepted_by = :accepted_by");
                }
                sets.push("accepted_at = if_not_exists(accepted_at, :now_text)");
            }
        }
    }
    if needs_one {
        values.insert(":one".to_owned(), number(1));
    }
    Ok(Rendered {
        condition: conditions.join(" AND "),
        update: format!("SET {}", sets.join(", ")),
        values,
    })
}

impl OutboundStore for DynamoMessageStore {
    async fn create_outbound(&self, message: &NewOutbound) -> Result<Created, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(outbound_pk(message.message_id.as_str())))
            .put("sk", string(OUTBOUND_SK))
            .put("item_type", string("outbound"))
            .put("message_id", string(message.message_id.as_str()))
            .put("direction", string("outbound"))
            .put("to", string(message.to.key()))
            .put("type", string(message.kind.as_str()))
            .put("payload", string(message.payload.to_string()))
            .put("fingerprint", string(&message.fingerprint))
            .put("origin", string(message.origin.as_str()))
            .put("status", status_value(OutboundStatus::Queued))
            .put("status_rank", number(i64::from(rank_of(OutboundStatus::Queued))))
            .put("attempts", number(0))
            .put("queued_at", string(rfc3339(now)))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("from", message.from.as_ref().map(|from| string(from.as_str())))
            .put_opt("expires_at", self.expires_at(now));
        let contact = message.to.key();
        if !contact.is_empty() {
            // Listed in the contact's conversation from the moment it is queued (see `keys`).
            item.put("contact_key", string(contact))
                .put("gsi1pk", string(conversation_pk(contact)))
                .put("gsi1sk", string(conversation_sk(now, message.message_id.as_str())));
        }
        let created = match self.put_once(item).await? {
            WriteOutcome::Applied => Created::New,
            WriteOutcome::Superseded => {
                let existing = self.get(outbound_pk(message.message_id.as_str()), OUTBOUND_SK).await?;
                Created::Exists {
                    fingerprint: existing.as_ref().and_then(|item| text_of(item, "fingerprint")),
                }
            }
        };
        // The contacts list's entry: for this send, or its retry (whose first try may have failed
        // here); never for another message under the same id (the API answers 409).
        let mine = match &created {
            Created::New => true,
            Created::Exists { fingerprint } => fingerprint.as_deref() == Some(message.fingerprint.as_str()),
        };
        if mine {
            self.touch_contact(&message.touch(now.timestamp_millis())).await?;
        }
        Ok(created)
    }

    fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_skew()
    }

    async fn transition(
        &self,
        message_id: &MessageId,
        transition: &'static Transition,
        call: &Call<'_>,
    ) -> Result<Moved, StoreError> {
        let rendered = render(transition, call)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(outbound_pk(message_id.as_str())))
            .key("sk", string(OUTBOUND_SK))
            .update_expression(rendered.update)
            .condition_expression(rendered.condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(rendered.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => send_record(&output.attributes.unwrap_or_default())
                .map(Moved::Applied)
                .ok_or_else(|| StoreError::Rejected(format!("outbound item {message_id} has no valid status"))),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Moved::Refused(failed.item().and_then(send_record)))
                }
                service => Err(classify(&error, service.map(update_error_is_rejection))),
            },
        }
    }

    async fn link(&self, message_id: &MessageId, sent: Option<Sent<'_>>, wamid: &Wamid) -> Result<(), StoreError> {
        let now = rfc3339(Utc::now());
        let accepted = DeliveryStatus::Accepted;
        let mut update = super::Update::default();
        update
            .set("message_id", string(message_id.as_str()))
            .set("wamid", string(wamid.as_str()))
            .set("updated_at", string(&now))
            // Out of the contact's conversation, where its `OUT#` item lists it (see `keys`):
            // a status webhook's `if_not_exists` never moves it back.
            .set("gsi1pk", string(sent_pk(message_id.as_str())))
            .set_if_absent("gsi1sk", string(conversation_sk(Utc::now(), wamid.as_str())))
            .set_if_absent("item_type", string("message"))
            .set_if_absent("direction", string("outbound"))
            .set_if_absent("status", string(accepted.as_str()))
            .set_if_absent("status_rank", number(i64::from(accepted.rank())))
            .set_if_absent("accepted_at", string(&now))
            .set_opt_if_absent("recipient_id", sent.map(|sent| string(sent.to.key())))
            .set_opt("type", sent.map(|sent| string(sent.kind.as_str())))
            .set_opt_if_absent("expires_at", self.expires_at(Utc::now()));
        self.update(message_pk(wamid.as_str()), MESSAGE_SK, update, None)
            .await?;
        Ok(())
    }

    async fn linked_wamid(&self, message_id: &MessageId) -> Result<Option<Wamid>, StoreError> {
        // The index `SENT#<message id>` holds the wamid's item once a status named the send (or its
        // answer was linked). Eventually consistent: statuses arrive seconds after a send, the
        // resend this guards comes minutes later.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CONTACT_INDEX)
            .key_condition_expression("gsi1pk = :sent")
            .expression_attribute_values(":sent", string(sent_pk(message_id.as_str())))
            .limit(1)
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(output
            .items
            .unwrap_or_default()
            .first()
            .and_then(|item| text_of(item, "wamid"))
            .map(Wamid::new))
    }

    async fn view(&self, id: &str) -> Result<Option<OutboundView>, StoreError> {
        let (outbound, message) = if id.starts_with("wamid.") {
            let message = self.get(message_pk(id), MESSAGE_SK).await?;
            let outbound = match message.as_ref().and_then(|m| text_of(m, "message_id")) {
                Some(message_id) => self.get(outbound_pk(&message_id), OUTBOUND_SK).await?,
                None => None,
            };
            (outbound, message)
        } else {
            let outbound = self.get(outbound_pk(id), OUTBOUND_SK).await?;
            let message = match outbound.as_ref().and_then(|o| text_of(o, "wamid")) {
                Some(wamid) => self.get(message_pk(&wamid), MESSAGE_SK).await?,
                None => None,
            };
            (outbound, message)
        };
        if outbound.is_none() && message.is_none() {
            return Ok(None);
        }
        Ok(Some(outbound_view(outbound.as_ref(), message.as_ref())))
    }

    async fn last_inbound_at(
        &self,
        contact: &ContactId,
        business: Option<&PhoneNumberId>,
    ) -> Result<Option<i64>, StoreError> {
        let sk = business.map_or_else(|| CONTACT_SK.to_owned(), |business| window_sk(business));
        let item = self.get(contact_pk(contact.key()), &sk).await?;
        Ok(item
            .as_ref()
            .and_then(|item| text_of(item, "last_inbound_at"))
            .and_then(|n| n.parse().ok()))
    }

    async fn call_reply_turn(
        &self,
        caller: &ContactId,
        call_id: &str,
        cooldown_seconds: u32,
    ) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp() + self.clock_skew();
        // On the caller's contact item (created if the caller never wrote): one conditional write.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(contact_pk(caller.key())))
            .key("sk", string(CONTACT_SK))
            .update_expression("SET call_reply_until = :until, call_reply_call = :call")
            .condition_expression(
                "attribute_not_exists(call_reply_until) OR call_reply_until <= :now OR call_reply_call = :call",
            )
            .expression_attribute_values(":until", number(now + i64::from(cooldown_seconds)))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":call", string(call_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                service => Err(classify(&error, service.map(update_error_is_rejection))),
            },
        }
    }

    async fn pace(&self, recipient: &ContactId, pace: Pace) -> Result<Paced, StoreError> {
        let recipient = recipient.key();
        // The send state machine's clock (the wall clock in production).
        let now_ms = Utc::now().timestamp_millis() + self.clock_skew() * 1000;
        // An idle recipient (the common case): one conditional write. Otherwise read the slot
        // and move it on exactly what was read, a few times under contention.
        let mut observed: Option<i64> = None;
        for _ in 0..4 {
            let next = match pace.decide(observed, now_ms) {
                Ok(next) => next,
                Err(seconds) => return Ok(Paced::Wait { seconds }),
            };
            let (condition, expected) = match observed {
                None => ("attribute_not_exists(tat) OR tat <= :now", number(now_ms)),
                Some(tat) => ("tat = :expected", number(tat)),
            };
            let name = if observed.is_none() { ":now" } else { ":expected" };
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", string(pace_pk(recipient)))
                .key("sk", string(PACE_SK))
                .update_expression("SET tat = :next, item_type = :type, expires_at = :expires")
                .condition_expression(condition)
                .expression_attribute_values(":next", number(next))
                .expression_attribute_values(":type", string("pace"))
                // Gone a day after its last slot (TTL): pacing state costs nothing at rest.
                .expression_attribute_values(":expires", number(next / 1000 + 86_400))
                .expression_attribute_values(name, expected)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Paced::Go),
                Err(error)
                    if matches!(
                        error.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    let item = self.get(pace_pk(recipient), PACE_SK).await?;
                    observed = item
                        .as_ref()
                        .and_then(|item| text_of(item, "tat"))
                        .and_then(|n| n.parse().ok());
                }
                Err(error) => {
                    return Err(classify(
                        &error,
                        error.as_service_error().map(update_error_is_rejection),
                    ));
                }
            }
        }
        Ok(Paced::Wait { seconds: 1 })
    }
}
