//! [`OutboundStore`]: the send state machine of [`crate::domain::outbound`] as conditional writes
//! on the `OUT#<message id>` item. The common claim (a queued message) is one write; any other
//! state is read, decided by [`decide_claim`], and written on the condition that it is still
//! exactly what was read, so two attempts never both win.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::Utc;

use super::DynamoMessageStore;
use super::errors::{classify, update_error_is_rejection};
use super::item::{Item, attribute_to_json, number, rfc3339, string, text_of};
use super::keys::{
    CONTACT_SK, MESSAGE_SK, OUTBOUND_SK, PACE_SK, contact_pk, conversation_pk, conversation_sk, message_pk,
    outbound_pk, pace_pk, sent_pk, window_sk,
};
use crate::domain::ids::{AttemptId, MessageId, Wamid};
use crate::domain::outbound::{
    ClaimDecision, ClaimState, History, OutboundStatus, OutboundView, StoredError, decide_claim,
};
use crate::domain::status::DeliveryStatus;
use crate::ports::{Claim, ClaimTerms, Created, NewOutbound, OutboundStore, Pace, Paced, StoreError, WriteOutcome};

type Attributes = HashMap<String, AttributeValue>;

/// The rank the view compares with Meta's statuses: the bundle's own states rank as `queued`
/// until Meta accepted the message.
fn rank_of(status: OutboundStatus) -> u8 {
    match status {
        OutboundStatus::Queued | OutboundStatus::Sending | OutboundStatus::Unknown => DeliveryStatus::Queued.rank(),
        OutboundStatus::Accepted => DeliveryStatus::Accepted.rank(),
        OutboundStatus::Failed => DeliveryStatus::Failed.rank(),
    }
}

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

fn claim_state(item: &Attributes) -> Option<ClaimState> {
    let number_of = |name: &str| text_of(item, name).and_then(|n| n.parse::<i64>().ok());
    Some(ClaimState {
        status: OutboundStatus::parse(&text_of(item, "status")?)?,
        attempt: text_of(item, "attempt_id").map(AttemptId::new),
        claimed_at: number_of("claimed_at"),
        reconcile_at: number_of("reconcile_at"),
        resends: number_of("resends").and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
    })
}

/// One conditional `SET` on an outbound item. `#status` is always bound to `status`.
struct Transition {
    set: Vec<&'static str>,
    condition: String,
    values: Attributes,
}

impl Transition {
    fn new(condition: impl Into<String>) -> Self {
        Self {
            set: Vec::new(),
            condition: condition.into(),
            values: HashMap::new(),
        }
    }

    fn set(mut self, clause: &'static str) -> Self {
        self.set.push(clause);
        self
    }

    fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }

    /// The condition on the attempt holding the claim.
    fn held_by(attempt: &AttemptId) -> Self {
        Self::new("#status = :sending AND attempt_id = :attempt")
            .value(":sending", status_value(OutboundStatus::Sending))
            .value(":attempt", string(attempt.as_str()))
    }
}

impl DynamoMessageStore {
    /// Applies `transition` to the message: `None` when its condition failed, else the item after it.
    async fn transition(
        &self,
        message_id: &MessageId,
        transition: Transition,
    ) -> Result<Option<Attributes>, StoreError> {
        let mut values = transition.values;
        values.insert(":now_text".to_owned(), string(rfc3339(Utc::now())));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(outbound_pk(message_id.as_str())))
            .key("sk", string(OUTBOUND_SK))
            .update_expression(format!("SET updated_at = :now_text, {}", transition.set.join(", ")))
            .condition_expression(format!("attribute_exists(pk) AND ({})", transition.condition))
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(output.attributes.unwrap_or_default())),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(
                &error,
                error.as_service_error().map(update_error_is_rejection),
            )),
        }
    }

    /// Takes the claim from `from` (the state just read, or `None`: expected `queued`).
    async fn take(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        now: i64,
        from: Option<&ClaimState>,
        resend: bool,
    ) -> Result<Option<u32>, StoreError> {
        let condition = match from.map(|state| (state.status, state.attempt.as_ref())) {
            Some((OutboundStatus::Unknown, Some(observed))) => Transition::new(
                "#status = :unknown AND attempt_id = :observed AND (attribute_not_exists(resends) OR resends < :one)",
            )
            .value(":unknown", status_value(OutboundStatus::Unknown))
            .value(":observed", string(observed.as_str())),
            Some((OutboundStatus::Unknown, None)) => {
                Transition::new("#status = :unknown AND (attribute_not_exists(resends) OR resends < :one)")
                    .value(":unknown", status_value(OutboundStatus::Unknown))
            }
            _ => Transition::new("#status = :queued").value(":queued", status_value(OutboundStatus::Queued)),
        };
        let mut transition = condition
            .set("#status = :sending")
            .set("attempt_id = :attempt")
            .set("claimed_at = :now")
            .set("attempts = if_not_exists(attempts, :zero) + :one")
            .value(":sending", status_value(OutboundStatus::Sending))
            .value(":attempt", string(attempt.as_str()))
            .value(":now", number(now))
            .value(":zero", number(0))
            .value(":one", number(1));
        if resend {
            transition = transition.set("resends = if_not_exists(resends, :zero) + :one");
        }
        let item = self.transition(message_id, transition).await?;
        Ok(item.map(|item| text_of(&item, "attempts").and_then(|n| n.parse().ok()).unwrap_or(1)))
    }
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
            .put("to", string(&message.to))
            .put("type", string(&message.kind))
            .put("payload", string(message.payload.to_string()))
            .put("fingerprint", string(&message.fingerprint))
            .put("origin", string(message.origin.as_str()))
            .put("status", status_value(OutboundStatus::Queued))
            .put("status_rank", number(i64::from(rank_of(OutboundStatus::Queued))))
            .put("attempts", number(0))
            .put("queued_at", string(rfc3339(now)))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("from", message.from.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        if !message.to.is_empty() {
            // Listed in the contact's conversation from the moment it is queued (see `keys`).
            item.put("contact_key", string(&message.to))
                .put("gsi1pk", string(conversation_pk(&message.to)))
                .put("gsi1sk", string(conversation_sk(now, message.message_id.as_str())));
        }
        match self.put_once(item).await? {
            WriteOutcome::Applied => Ok(Created::New),
            WriteOutcome::Superseded => {
                let existing = self.get(outbound_pk(message.message_id.as_str()), OUTBOUND_SK).await?;
                Ok(Created::Exists {
                    fingerprint: existing.as_ref().and_then(|item| text_of(item, "fingerprint")),
                })
            }
        }
    }

    async fn claim(&self, message_id: &MessageId, attempt: &AttemptId, terms: ClaimTerms) -> Result<Claim, StoreError> {
        let now = Utc::now().timestamp();
        // The common case: a queued message, one conditional write.
        if let Some(attempts) = self.take(message_id, attempt, now, None, false).await? {
            return Ok(Claim::Claimed {
                attempts,
                resend: false,
            });
        }
        // Another state (or a race): read it, decide, write on exactly what was read.
        for _ in 0..3 {
            let Some(item) = self.get(outbound_pk(message_id.as_str()), OUTBOUND_SK).await? else {
                return Ok(Claim::Missing);
            };
            let Some(state) = claim_state(&item) else {
                return Err(StoreError::Rejected(format!(
                    "outbound item {message_id} has no valid status"
                )));
            };
            match decide_claim(&state, now, terms.lease_seconds, terms.reconcile_after_seconds) {
                ClaimDecision::Take { resend } => {
                    if let Some(attempts) = self.take(message_id, attempt, now, Some(&state), resend).await? {
                        return Ok(Claim::Claimed { attempts, resend });
                    }
                }
                ClaimDecision::Lapse { reconcile_at } => {
                    let observed = state.attempt.as_ref().map_or("", AttemptId::as_str);
                    let lapse = Transition::new("#status = :sending AND attempt_id = :observed")
                        .set("#status = :unknown")
                        .set("reconcile_at = :reconcile_at")
                        .set("unknown_at = if_not_exists(unknown_at, :now_text)")
                        .value(":sending", status_value(OutboundStatus::Sending))
                        .value(":unknown", status_value(OutboundStatus::Unknown))
                        .value(":observed", string(observed))
                        .value(":reconcile_at", number(reconcile_at));
                    if self.transition(message_id, lapse).await?.is_some() {
                        return Ok(Claim::Unknown {
                            reconcile_in_seconds: u32::try_from(reconcile_at - now).unwrap_or(0),
                        });
                    }
                }
                ClaimDecision::InFlight {
                    lease_remaining_seconds,
                } => {
                    return Ok(Claim::InFlight {
                        lease_remaining_seconds,
                    });
                }
                ClaimDecision::Wait { reconcile_in_seconds } => return Ok(Claim::Unknown { reconcile_in_seconds }),
                ClaimDecision::Settled => return Ok(Claim::Settled { status: state.status }),
            }
        }
        // Contended three times over: another attempt is moving it right now.
        Ok(Claim::InFlight {
            lease_remaining_seconds: 1,
        })
    }

    async fn release(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> Result<WriteOutcome, StoreError> {
        let transition = Transition::held_by(attempt)
            .set("#status = :queued")
            .set("last_error = :error")
            .value(":queued", status_value(OutboundStatus::Queued))
            .value(":error", stored_errors(error));
        Ok(applied(self.transition(message_id, transition).await?))
    }

    async fn mark_accepted(
        &self,
        message_id: &MessageId,
        attempt: Option<&AttemptId>,
        to: &str,
        kind: &str,
        wamid: Option<&Wamid>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut transition = match wamid {
            Some(wamid) => Transition::new(
                "#status <> :failed AND (attribute_not_exists(wamid) OR wamid = :wamid) \
                 AND NOT (#status = :accepted AND wamid = :wamid)",
            )
            .set("wamid = :wamid")
            .value(":wamid", string(wamid.as_str())),
            None => Transition::new("#status <> :failed AND #status <> :accepted"),
        };
        transition = transition
            .set("#status = :accepted")
            .set("status_rank = :rank")
            .set("accepted_at = if_not_exists(accepted_at, :now_text)")
            .value(":failed", status_value(OutboundStatus::Failed))
            .value(":accepted", status_value(OutboundStatus::Accepted))
            .value(":rank", number(i64::from(rank_of(OutboundStatus::Accepted))));
        let record = self.transition(message_id, transition);
        let Some(wamid) = wamid else {
            return Ok(applied(record.await?));
        };
        if attempt.is_none() {
            // From a status webhook: only a send it resolves needs its wamid item linked.
            let outcome = applied(record.await?);
            if outcome == WriteOutcome::Applied {
                self.link(message_id, to, kind, wamid).await?;
            }
            return Ok(outcome);
        }
        // From the send's own answer: both items at once; a retry re-applies both.
        let (record, link) = tokio::join!(record, self.link(message_id, to, kind, wamid));
        link?;
        Ok(applied(record?))
    }

    async fn mark_unknown(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
        reconcile_after_seconds: u32,
    ) -> Result<WriteOutcome, StoreError> {
        let reconcile_at = Utc::now().timestamp() + i64::from(reconcile_after_seconds);
        let transition = Transition::held_by(attempt)
            .set("#status = :unknown")
            .set("reconcile_at = :reconcile_at")
            .set("last_error = :error")
            .set("unknown_at = if_not_exists(unknown_at, :now_text)")
            .value(":unknown", status_value(OutboundStatus::Unknown))
            .value(":reconcile_at", number(reconcile_at))
            .value(":error", stored_errors(error));
        Ok(applied(self.transition(message_id, transition).await?))
    }

    async fn mark_failed(
        &self,
        message_id: &MessageId,
        attempt: &AttemptId,
        error: &StoredError,
    ) -> Result<WriteOutcome, StoreError> {
        let transition = Transition::held_by(attempt)
            .set("#status = :failed")
            .set("status_rank = :rank")
            .set("errors = :error")
            .set("failed_at = :now_text")
            .value(":failed", status_value(OutboundStatus::Failed))
            .value(":rank", number(i64::from(rank_of(OutboundStatus::Failed))))
            .value(":error", stored_errors(error));
        Ok(applied(self.transition(message_id, transition).await?))
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

    async fn last_inbound_at(&self, contact: &str, business: Option<&str>) -> Result<Option<i64>, StoreError> {
        let sk = business.map_or_else(|| CONTACT_SK.to_owned(), window_sk);
        let item = self.get(contact_pk(contact), &sk).await?;
        Ok(item
            .as_ref()
            .and_then(|item| text_of(item, "last_inbound_at"))
            .and_then(|n| n.parse().ok()))
    }

    async fn pace(&self, recipient: &str, pace: Pace) -> Result<Paced, StoreError> {
        let now_ms = Utc::now().timestamp_millis();
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

impl DynamoMessageStore {
    /// The wamid's item learns which send it is (Meta's statuses may have created it already).
    async fn link(&self, message_id: &MessageId, to: &str, kind: &str, wamid: &Wamid) -> Result<(), StoreError> {
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
            .set_opt_if_absent("recipient_id", (!to.is_empty()).then(|| string(to)))
            .set_opt("type", (!kind.is_empty()).then(|| string(kind)))
            .set_opt_if_absent("expires_at", self.expires_at(Utc::now()));
        self.update(message_pk(wamid.as_str()), MESSAGE_SK, update, None)
            .await?;
        Ok(())
    }
}

fn applied(item: Option<Attributes>) -> WriteOutcome {
    if item.is_some() {
        WriteOutcome::Applied
    } else {
        WriteOutcome::Superseded
    }
}

/// The send API's view of a message: the bundle's record and Meta's statuses merged,
/// the status being whichever ranks higher.
pub(super) fn outbound_view(outbound: Option<&Attributes>, message: Option<&Attributes>) -> OutboundView {
    let field = |name: &str| {
        message
            .and_then(|m| text_of(m, name))
            .or_else(|| outbound.and_then(|o| text_of(o, name)))
    };
    let from_outbound = |name: &str| outbound.and_then(|o| text_of(o, name));
    let rank = |item: Option<&Attributes>| {
        item.and_then(|i| text_of(i, "status_rank"))
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let status = if rank(message) >= rank(outbound) {
        message.and_then(|m| text_of(m, "status"))
    } else {
        from_outbound("status")
    };
    let errors = message
        .and_then(|m| m.get("errors"))
        .or_else(|| outbound.and_then(|o| o.get("errors")))
        .map(attribute_to_json)
        .unwrap_or(serde_json::Value::Array(Vec::new()));
    let callback_data = from_outbound("payload")
        .and_then(|payload| serde_json::from_str::<serde_json::Value>(&payload).ok())
        .and_then(|payload| payload.get("biz_opaque_callback_data")?.as_str().map(str::to_owned));
    OutboundView {
        id: from_outbound("message_id").or_else(|| field("message_id")),
        wamid: field("wamid"),
        direction: field("direction"),
        to: from_outbound("to").or_else(|| field("recipient_id")),
        kind: field("type"),
        status,
        history: History {
            queued: field("queued_at"),
            accepted: field("accepted_at"),
            unknown: from_outbound("unknown_at"),
            sent: field("sent_at"),
            delivered: field("delivered_at"),
            read: field("read_at"),
            failed: field("failed_at"),
        },
        errors,
        last_error: outbound.and_then(|o| o.get("last_error")).map(attribute_to_json),
        attempts: from_outbound("attempts").and_then(|n| n.parse::<i64>().ok()),
        updated_at: field("updated_at"),
        callback_data,
        resends: from_outbound("resends").and_then(|n| n.parse::<i64>().ok()),
        media: message.and_then(super::conversation::media_of),
    }
}
