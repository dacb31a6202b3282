//! [`MessageStore`] on one DynamoDB table.
//!
//! Key design (documented in the README):
//! - message (inbound or outbound): `pk = MSG#<wamid>`, `sk = MSG`
//! - contact: `pk = CONTACT#<wa_id or user id>`, `sk = CONTACT`
//! - raw event: `pk = EVENT#<field>`, `sk = <entry id>#<sha256 of the event>`
//! - outbound message (send API): `pk = OUT#<message id>`, `sk = OUT`; its wamid's item carries `message_id`
//! - verification call: `pk = CALL#<CallSid>`, `sk = CODE#<code>` or `RECORDING#<RecordingSid>#<event>`
//! - GSI `by_contact`: `gsi1pk = CONTACT#<key>`, `gsi1sk = <message time>#<wamid>` lists a conversation;
//!   `gsi1pk = VERIFICATION#<called number digits>`, `gsi1sk = <capture time>#<CallSid>` lists the codes
//!   captured for a number.
//! - TTL attribute `expires_at` (epoch seconds), set when `RETENTION_DAYS` > 0.
//!
//! Every write is conditional where order or duplicates matter, so redelivery and
//! out-of-order webhooks converge to the same item without a read first.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::describe;
use crate::domain::records::{ContactActivity, InboundRecord, RawEventRecord, StatusRecord};
use crate::domain::status::DeliveryStatus;
use crate::domain::verification::{
    CapturedCode, EmailOutcome, Recording, StoredCode, code_index_key, code_index_sort_key,
};
use crate::domain::webhook::{Content, MetaError};
use crate::ports::{
    Claim, Created, MessageStore, NewOutbound, OutboundStore, StoreError, StoredError, VerificationStore, WriteOutcome,
};

pub const MESSAGE_SK: &str = "MSG";
pub const CONTACT_SK: &str = "CONTACT";

pub fn message_pk(wamid: &str) -> String {
    format!("MSG#{wamid}")
}

pub fn contact_pk(key: &str) -> String {
    format!("CONTACT#{key}")
}

pub fn call_pk(call_sid: &str) -> String {
    format!("CALL#{call_sid}")
}

pub fn event_pk(field: &str) -> String {
    format!("EVENT#{field}")
}

#[derive(Debug, Clone)]
pub struct DynamoMessageStore {
    client: Client,
    table: String,
    retention_days: u32,
}

impl DynamoMessageStore {
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
        }
    }

    /// Opens the connection during init (see [`crate::adapters::sqs::SqsQueue::warm_up`]).
    pub async fn warm_up(&self) {
        let result = self
            .client
            .describe_table()
            .table_name(&self.table)
            .customize()
            .config_override(aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled()))
            .send()
            .await;
        if let Err(error) = result {
            tracing::warn!(error = %describe(&error), "table warm-up failed");
        }
    }

    fn expires_at(&self, now: DateTime<Utc>) -> Option<AttributeValue> {
        (self.retention_days > 0)
            .then(|| number((now + chrono::Duration::days(i64::from(self.retention_days))).timestamp()))
    }
}

impl MessageStore for DynamoMessageStore {
    async fn record_inbound(&self, record: &InboundRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let message_time = record.timestamp.and_then(epoch_to_rfc3339);
        let mut item = Item::default();
        item.put("pk", string(message_pk(&record.wamid)))
            .put("sk", string(MESSAGE_SK))
            .put("item_type", string("message"))
            .put("wamid", string(&record.wamid))
            .put("direction", string("inbound"))
            .put("status", string("received"))
            .put("updated_at", string(rfc3339(now)))
            .put("received_at", string(rfc3339(record.received.at)))
            .put("request_id", string(&record.received.request_id))
            .put("type", string(&record.kind))
            .put("payload", string(&record.raw))
            .put_opt("phone_number_id", record.phone_number_id.as_deref().map(string))
            .put_opt(
                "display_phone_number",
                record.display_phone_number.as_deref().map(string),
            )
            .put_opt("wa_id", record.wa_id.as_deref().map(string))
            .put_opt("user_id", record.user_id.as_deref().map(string))
            .put_opt("profile_name", record.profile_name.as_deref().map(string))
            .put_opt("timestamp", record.timestamp.map(number))
            .put_opt("message_at", message_time.clone().map(string))
            .put_opt("context_message_id", record.context_message_id.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        if !record.errors.is_empty() {
            item.put("errors", errors(&record.errors));
        }
        if let Some(key) = record.contact_key() {
            let sort_time = message_time.unwrap_or_else(|| rfc3339(record.received.at));
            item.put("contact_key", string(key))
                .put("gsi1pk", string(contact_pk(key)))
                .put("gsi1sk", string(format!("{sort_time}#{}", record.wamid)));
        }
        put_content(&mut item, &record.content);

        self.put_once(item).await
    }

    async fn record_contact_activity(&self, activity: &ContactActivity) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut update = Update::default();
        update
            .set("item_type", string("contact"))
            .set("last_inbound_at", number(activity.last_inbound_at))
            .set_opt(
                "last_inbound_time",
                epoch_to_rfc3339(activity.last_inbound_at).map(string),
            )
            .set("last_inbound_wamid", string(&activity.last_inbound_wamid))
            .set("updated_at", string(rfc3339(now)))
            .set_opt("wa_id", activity.wa_id.as_deref().map(string))
            .set_opt("user_id", activity.user_id.as_deref().map(string))
            .set_opt("profile_name", activity.profile_name.as_deref().map(string));
        self.update(
            contact_pk(&activity.key),
            CONTACT_SK,
            update,
            Some((
                "attribute_not_exists(last_inbound_at) OR last_inbound_at < :activity_at",
                vec![(":activity_at", number(activity.last_inbound_at))],
            )),
        )
        .await
    }

    async fn record_status(&self, status: &StatusRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let status_time = status
            .timestamp
            .and_then(epoch_to_rfc3339)
            .unwrap_or_else(|| rfc3339(status.received.at));

        // What is always safe to merge: the time each status was first seen, and facts
        // about the message. The status itself only moves up, under a condition.
        let mut merge = Update::default();
        merge
            .set("wamid", string(&status.wamid))
            .set("updated_at", string(rfc3339(now)))
            .set_if_absent("item_type", string("message"))
            .set_if_absent("direction", string("outbound"))
            .set_opt_if_absent("phone_number_id", status.phone_number_id.as_deref().map(string))
            .set_opt_if_absent("recipient_id", status.recipient_id.as_deref().map(string))
            .set_opt_if_absent("recipient_user_id", status.recipient_user_id.as_deref().map(string))
            .set_opt_if_absent(
                "biz_opaque_callback_data",
                status.biz_opaque_callback_data.as_deref().map(string),
            )
            .set_opt("conversation", status.conversation.as_ref().map(json))
            .set_opt("pricing", status.pricing.as_ref().map(json))
            .set_opt_if_absent("expires_at", self.expires_at(now));
        if let Some(attribute) = timestamp_attribute(status) {
            merge.set_if_absent(&attribute, string(&status_time));
        }
        if let Some(recipient) = status.recipient_id.as_deref().or(status.recipient_user_id.as_deref()) {
            merge
                .set_if_absent("contact_key", string(recipient))
                .set_if_absent("gsi1pk", string(contact_pk(recipient)))
                .set_if_absent("gsi1sk", string(format!("{status_time}#{}", status.wamid)));
        }
        if !status.errors.is_empty() {
            merge.set("errors", errors(&status.errors));
        }

        if let Some(ranked) = status.status {
            let mut advance = merge.clone();
            advance
                .set("status", string(ranked.as_str()))
                .set("status_rank", number(i64::from(ranked.rank())))
                .set("status_at", string(&status_time));
            let condition = "attribute_not_exists(status_rank) OR status_rank < :new_rank";
            let new_rank = vec![(":new_rank", number(i64::from(ranked.rank())))];
            let result = self
                .update(
                    message_pk(&status.wamid),
                    MESSAGE_SK,
                    advance,
                    Some((condition, new_rank)),
                )
                .await;
            if result? == WriteOutcome::Applied {
                return Ok(WriteOutcome::Applied);
            }
        }
        // The message already has a status of equal or higher rank (or this status is unranked):
        // merge the timestamps and facts without touching the status.
        self.update(message_pk(&status.wamid), MESSAGE_SK, merge, None).await?;
        Ok(WriteOutcome::Superseded)
    }

    async fn record_event(&self, event: &RawEventRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(event_pk(&event.field)))
            .put("sk", string(format!("{}#{}", event.entry_id, event.digest)))
            .put("item_type", string("event"))
            .put("field", string(&event.field))
            .put("entry_id", string(&event.entry_id))
            .put("payload", string(&event.payload))
            .put("received_at", string(rfc3339(event.received.at)))
            .put("request_id", string(&event.received.request_id))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("phone_number_id", event.phone_number_id.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        self.put_once(item).await
    }
}

impl VerificationStore for DynamoMessageStore {
    async fn record_code(&self, code: &CapturedCode) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(call_pk(&code.call_sid)))
            .put("sk", string(code.item()))
            .put("item_type", string("verification_code"))
            .put("call_sid", string(&code.call_sid))
            .put("code", string(&code.code))
            .put("captured_by", string(code.method.as_str()))
            .put("received_at", string(rfc3339(code.received_at)))
            .put("updated_at", string(rfc3339(now)))
            .put("email_status", string("pending"))
            .put_opt(
                "confidence",
                code.confidence.map(|c| AttributeValue::N(format!("{c:.4}"))),
            )
            .put_opt("heard", code.heard.as_deref().map(string))
            .put_opt("from", code.from.as_deref().map(string))
            .put_opt("to", code.to.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        // Listed under the called number too (index `by_contact`), so the command-line
        // companion can wait for the code of the number it is registering.
        if let Some((index_key, index_sort_key)) = code.index_keys() {
            item.put("gsi1pk", string(index_key))
                .put("gsi1sk", string(index_sort_key));
        }
        self.put_once(item).await
    }

    async fn record_email_outcome(&self, call_sid: &str, item: &str, outcome: &EmailOutcome) -> Result<(), StoreError> {
        let mut update = Update::default();
        update.set("updated_at", string(rfc3339(Utc::now())));
        match outcome {
            EmailOutcome::Sent { message_id } => {
                update
                    .set("email_status", string("sent"))
                    .set("email_message_id", string(message_id));
            }
            EmailOutcome::Failed { error } => {
                update
                    .set("email_status", string("failed"))
                    .set("email_error", string(error));
            }
        }
        self.update(call_pk(call_sid), item, update, None).await?;
        Ok(())
    }

    async fn record_recording(&self, recording: &Recording) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(call_pk(&recording.call_sid)))
            .put("sk", string(recording.item()))
            .put("item_type", string("verification_recording"))
            .put("call_sid", string(&recording.call_sid))
            .put("recording_sid", string(&recording.recording_sid))
            .put("event", string(&recording.event))
            .put("received_at", string(rfc3339(recording.received_at)))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("recording_url", recording.url.as_deref().map(string))
            .put_opt(
                "duration_seconds",
                recording.duration_seconds.map(|d| number(i64::from(d))),
            )
            .put_opt("transcription", recording.transcription.as_deref().map(string))
            .put_opt(
                "transcription_status",
                recording.transcription_status.as_deref().map(string),
            )
            .put_opt("code", recording.code.as_deref().map(string))
            .put_opt("from", recording.from.as_deref().map(string))
            .put_opt("to", recording.to.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        if recording.event == "transcription" {
            item.put("email_status", string("pending"));
        }
        self.put_once(item).await
    }
}

/// Name of the table's global secondary index (`gsi1pk`, `gsi1sk`).
pub const BY_CONTACT_INDEX: &str = "by_contact";

impl DynamoMessageStore {
    /// The codes captured for a called number (any format; its digits count) at or after
    /// `since`, oldest first. Reads the `by_contact` index (eventually consistent: a code
    /// appears there a moment after it is written).
    pub async fn captured_codes(&self, number: &str, since: DateTime<Utc>) -> Result<Vec<StoredCode>, StoreError> {
        let Some(index_key) = code_index_key(number) else {
            return Ok(Vec::new());
        };
        let lower = code_index_sort_key(since, "");
        let mut codes = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_CONTACT_INDEX)
                .key_condition_expression("gsi1pk = :key AND gsi1sk >= :since")
                .expression_attribute_values(":key", string(&index_key))
                .expression_attribute_values(":since", string(&lower))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| StoreError::Unavailable(describe(&error)))?;
            codes.extend(output.items().iter().filter_map(stored_code));
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(codes),
            }
        }
    }
}

fn stored_code(item: &HashMap<String, AttributeValue>) -> Option<StoredCode> {
    Some(StoredCode {
        call_sid: text_of(item, "call_sid")?,
        code: text_of(item, "code")?,
        captured_by: text_of(item, "captured_by").unwrap_or_default(),
        confidence: text_of(item, "confidence").and_then(|c| c.parse().ok()),
        heard: text_of(item, "heard"),
        from: text_of(item, "from"),
        to: text_of(item, "to"),
        received_at: text_of(item, "received_at").unwrap_or_default(),
    })
}

pub fn outbound_pk(message_id: &str) -> String {
    format!("OUT#{message_id}")
}

pub const OUTBOUND_SK: &str = "OUT";

impl DynamoMessageStore {
    /// Puts the item unless one with its key exists: `Superseded` for a duplicate.
    async fn put_once(&self, item: Item) -> Result<WriteOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.0))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        put_outcome(result)
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(output.item)
    }

    async fn update(
        &self,
        pk: String,
        sk: &str,
        update: Update,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<WriteOutcome, StoreError> {
        let (expression, mut names, mut values) = update.build();
        if let Some((condition, _)) = &condition
            && condition.contains("#status")
        {
            names.insert("#status".to_owned(), "status".to_owned());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names));
        if let Some((condition, extra_values)) = condition {
            values.extend(extra_values.into_iter().map(|(name, value)| (name.to_owned(), value)));
            request = request.condition_expression(condition);
        }
        update_outcome(request.set_expression_attribute_values(Some(values)).send().await)
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

impl OutboundStore for DynamoMessageStore {
    async fn create_outbound(&self, message: &NewOutbound) -> Result<Created, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(outbound_pk(&message.message_id)))
            .put("sk", string(OUTBOUND_SK))
            .put("item_type", string("outbound"))
            .put("message_id", string(&message.message_id))
            .put("direction", string("outbound"))
            .put("to", string(&message.to))
            .put("type", string(&message.kind))
            .put("payload", string(message.payload.to_string()))
            .put("fingerprint", string(&message.fingerprint))
            .put("origin", string(&message.origin))
            .put("status", string(DeliveryStatus::Queued.as_str()))
            .put("status_rank", number(i64::from(DeliveryStatus::Queued.rank())))
            .put("attempts", number(0))
            .put("queued_at", string(rfc3339(now)))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("expires_at", self.expires_at(now));
        match self.put_once(item).await? {
            WriteOutcome::Applied => Ok(Created::New),
            WriteOutcome::Superseded => {
                let existing = self.get(outbound_pk(&message.message_id), OUTBOUND_SK).await?;
                Ok(Created::Exists {
                    fingerprint: existing.as_ref().and_then(|item| text_of(item, "fingerprint")),
                })
            }
        }
    }

    async fn claim(&self, message_id: &str, lease_seconds: i64) -> Result<Claim, StoreError> {
        let now = Utc::now();
        let mut update = Update::default();
        update
            .set("status", string("sending"))
            .set("claimed_at", number(now.timestamp()))
            .set("updated_at", string(rfc3339(now)));
        let (expression, mut names, mut values) = update.build();
        names.insert("#status".to_owned(), "status".to_owned());
        values.insert(":queued".to_owned(), string(DeliveryStatus::Queued.as_str()));
        values.insert(":sending".to_owned(), string("sending"));
        values.insert(":stale".to_owned(), number(now.timestamp() - lease_seconds));
        values.insert(":one".to_owned(), number(1));
        values.insert(":zero".to_owned(), number(0));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(outbound_pk(message_id)))
            .key("sk", string(OUTBOUND_SK))
            .update_expression(format!(
                "{expression}, attempts = if_not_exists(attempts, :zero) + :one"
            ))
            .condition_expression(
                "attribute_exists(pk) AND (#status = :queued OR (#status = :sending AND claimed_at < :stale))",
            )
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let attempts = output
                    .attributes
                    .as_ref()
                    .and_then(|item| text_of(item, "attempts"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Claim::Claimed { attempts })
            }
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                match self.get(outbound_pk(message_id), OUTBOUND_SK).await? {
                    None => Ok(Claim::Missing),
                    Some(item) => match text_of(&item, "status").as_deref() {
                        Some("sending") => Ok(Claim::InFlight),
                        status => Ok(Claim::AlreadyDone {
                            status: status.unwrap_or("unknown").to_owned(),
                        }),
                    },
                }
            }
            Err(error) => Err(classify(
                &error,
                error.as_service_error().map(update_error_is_rejection),
            )),
        }
    }

    async fn release(&self, message_id: &str, error: &StoredError) -> Result<(), StoreError> {
        let mut update = Update::default();
        update
            .set("status", string(DeliveryStatus::Queued.as_str()))
            .set("last_error", stored_errors(error))
            .set("updated_at", string(rfc3339(Utc::now())));
        self.update(
            outbound_pk(message_id),
            OUTBOUND_SK,
            update,
            Some(("#status = :sending", vec![(":sending", string("sending"))])),
        )
        .await?;
        Ok(())
    }

    async fn mark_accepted(&self, message_id: &str, to: &str, kind: &str, wamid: &str) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut update = Update::default();
        update
            .set("status", string(DeliveryStatus::Accepted.as_str()))
            .set("status_rank", number(i64::from(DeliveryStatus::Accepted.rank())))
            .set("wamid", string(wamid))
            .set("accepted_at", string(rfc3339(now)))
            .set("updated_at", string(rfc3339(now)));
        self.update(outbound_pk(message_id), OUTBOUND_SK, update, None).await?;
        // The wamid's own item: Meta's status webhooks land here, possibly before this write.
        let accepted = StatusRecord {
            wamid: wamid.to_owned(),
            status_name: DeliveryStatus::Accepted.as_str().to_owned(),
            status: Some(DeliveryStatus::Accepted),
            timestamp: Some(now.timestamp()),
            phone_number_id: None,
            recipient_id: Some(to.to_owned()),
            recipient_user_id: None,
            conversation: None,
            pricing: None,
            errors: Vec::new(),
            biz_opaque_callback_data: None,
            raw: String::new(),
            received: crate::domain::records::Received {
                at: now,
                request_id: message_id.to_owned(),
            },
        };
        self.record_status(&accepted).await?;
        let mut link = Update::default();
        link.set("message_id", string(message_id)).set("type", string(kind));
        self.update(message_pk(wamid), MESSAGE_SK, link, None).await?;
        Ok(())
    }

    async fn mark_failed(&self, message_id: &str, error: &StoredError) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut update = Update::default();
        update
            .set("status", string(DeliveryStatus::Failed.as_str()))
            .set("status_rank", number(i64::from(DeliveryStatus::Failed.rank())))
            .set("errors", stored_errors(error))
            .set("failed_at", string(rfc3339(now)))
            .set("updated_at", string(rfc3339(now)));
        self.update(outbound_pk(message_id), OUTBOUND_SK, update, None).await?;
        Ok(())
    }

    async fn view(&self, id: &str) -> Result<Option<Value>, StoreError> {
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

    async fn last_inbound_at(&self, contact: &str) -> Result<Option<i64>, StoreError> {
        let item = self.get(contact_pk(contact), CONTACT_SK).await?;
        Ok(item
            .as_ref()
            .and_then(|item| text_of(item, "last_inbound_at"))
            .and_then(|n| n.parse().ok()))
    }
}

/// The send API's view of a message: the bundle's record and Meta's statuses merged,
/// the status being whichever ranks higher.
fn outbound_view(
    outbound: Option<&HashMap<String, AttributeValue>>,
    message: Option<&HashMap<String, AttributeValue>>,
) -> Value {
    let field = |name: &str| {
        message
            .and_then(|m| text_of(m, name))
            .or_else(|| outbound.and_then(|o| text_of(o, name)))
    };
    let rank = |item: Option<&HashMap<String, AttributeValue>>| {
        item.and_then(|i| text_of(i, "status_rank"))
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let status = if rank(message) >= rank(outbound) {
        message.and_then(|m| text_of(m, "status"))
    } else {
        outbound.and_then(|o| text_of(o, "status"))
    };
    let mut history = serde_json::Map::new();
    for name in [
        "queued_at",
        "accepted_at",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
    ] {
        if let Some(time) = field(name) {
            history.insert(name.trim_end_matches("_at").to_owned(), Value::String(time));
        }
    }
    let errors = message
        .and_then(|m| m.get("errors"))
        .or_else(|| outbound.and_then(|o| o.get("errors")))
        .map(attribute_to_json)
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::json!({
        "id": outbound.and_then(|o| text_of(o, "message_id")).or_else(|| field("message_id")),
        "wamid": field("wamid"),
        "direction": field("direction"),
        "to": outbound.and_then(|o| text_of(o, "to")).or_else(|| field("recipient_id")),
        "type": field("type"),
        "status": status,
        "history": history,
        "errors": errors,
        "last_error": outbound.and_then(|o| o.get("last_error")).map(attribute_to_json),
        "attempts": outbound.and_then(|o| text_of(o, "attempts")).and_then(|n| n.parse::<i64>().ok()),
        "updated_at": field("updated_at"),
    })
}

fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(text) => Some(text.clone()),
        AttributeValue::N(number) => Some(number.clone()),
        _ => None,
    }
}

/// A DynamoDB attribute as JSON (numbers as numbers where they parse).
pub fn attribute_to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(number) => number
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| number.parse::<f64>().map(Value::from))
            .unwrap_or(Value::Null),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), attribute_to_json(v))).collect()),
        _ => Value::Null,
    }
}

/// `read_at` for `read`; for a status outside the ranked life cycle, `<name>_at`
/// when the name is a plain lowercase word (never an attribute name made of arbitrary input).
fn timestamp_attribute(status: &StatusRecord) -> Option<String> {
    match status.status {
        Some(ranked) => Some(ranked.timestamp_attribute().to_owned()),
        None => {
            let name = status.status_name.as_str();
            let plain =
                !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            plain.then(|| format!("{name}_at"))
        }
    }
}

fn put_content(item: &mut Item, content: &Content) {
    match content {
        Content::Text { body } => {
            item.put("text_body", string(body));
        }
        Content::Media { media, .. } => {
            item.put_opt("media_id", media.id.as_deref().map(string))
                .put_opt("media_mime_type", media.mime_type.as_deref().map(string))
                .put_opt("media_sha256", media.sha256.as_deref().map(string))
                .put_opt("caption", media.caption.as_deref().map(string))
                .put_opt("filename", media.filename.as_deref().map(string));
        }
        Content::Location(location) => {
            item.put_opt("latitude", location.latitude.map(|v| AttributeValue::N(v.to_string())))
                .put_opt(
                    "longitude",
                    location.longitude.map(|v| AttributeValue::N(v.to_string())),
                )
                .put_opt("location_name", location.name.as_deref().map(string))
                .put_opt("location_address", location.address.as_deref().map(string));
        }
        Content::Reply(reply) => {
            item.put("reply_kind", string(&reply.kind))
                .put_opt("reply_id", reply.id.as_deref().map(string))
                .put_opt("reply_title", reply.title.as_deref().map(string));
        }
        Content::Reaction(reaction) => {
            item.put_opt("reaction_message_id", reaction.message_id.as_deref().map(string))
                .put_opt("reaction_emoji", reaction.emoji.as_deref().map(string));
        }
        Content::Contacts(value) | Content::Order(value) | Content::System(value) | Content::Other(value) => {
            if !value.is_null() {
                item.put("content", json(value));
            }
        }
    }
}

fn errors(errors: &[MetaError]) -> AttributeValue {
    AttributeValue::L(
        errors
            .iter()
            .map(|error| {
                let mut map = Item::default();
                map.put_opt("code", error.code.map(number))
                    .put_opt("title", error.title.as_deref().map(string))
                    .put_opt("message", error.message.as_deref().map(string))
                    .put_opt("details", error.details().map(string))
                    .put_opt("href", error.href.as_deref().map(string));
                AttributeValue::M(map.0)
            })
            .collect(),
    )
}

/// A JSON value as a native DynamoDB document (maps, lists, numbers), queryable in place.
pub fn json(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(json).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn epoch_to_rfc3339(seconds: i64) -> Option<String> {
    DateTime::from_timestamp(seconds, 0).map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An item under construction.
#[derive(Debug, Default)]
pub struct Item(pub HashMap<String, AttributeValue>);

impl Item {
    pub fn put(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.put(name, value);
        }
        self
    }
}

/// A `SET` update expression under construction; every attribute goes through
/// expression attribute names, so reserved words (`status`, `timestamp`) are safe.
#[derive(Debug, Default, Clone)]
pub struct Update {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn placeholder(&mut self, name: &str, value: AttributeValue) -> (String, String) {
        let index = self.clauses.len();
        let (name_ref, value_ref) = (format!("#a{index}"), format!(":v{index}"));
        self.names.insert(name_ref.clone(), name.to_owned());
        self.values.insert(value_ref.clone(), value);
        (name_ref, value_ref)
    }

    pub fn set(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        let (n, v) = self.placeholder(name, value);
        self.clauses.push(format!("{n} = {v}"));
        self
    }

    /// Sets the attribute only if the item does not have it yet.
    pub fn set_if_absent(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        let (n, v) = self.placeholder(name, value);
        self.clauses.push(format!("{n} = if_not_exists({n}, {v})"));
        self
    }

    pub fn set_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.set(name, value);
        }
        self
    }

    pub fn set_opt_if_absent(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.set_if_absent(name, value);
        }
        self
    }

    /// The update expression with its attribute names and values.
    pub fn build(self) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
        (format!("SET {}", self.clauses.join(", ")), self.names, self.values)
    }
}

fn put_outcome<R, R2>(result: Result<R, SdkError<PutItemError, R2>>) -> Result<WriteOutcome, StoreError>
where
    R2: std::fmt::Debug,
    SdkError<PutItemError, R2>: std::error::Error,
{
    match result {
        Ok(_) => Ok(WriteOutcome::Applied),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(WriteOutcome::Superseded),
            service => Err(classify(&error, service.map(put_error_is_rejection))),
        },
    }
}

fn update_outcome<R, R2>(result: Result<R, SdkError<UpdateItemError, R2>>) -> Result<WriteOutcome, StoreError>
where
    R2: std::fmt::Debug,
    SdkError<UpdateItemError, R2>: std::error::Error,
{
    match result {
        Ok(_) => Ok(WriteOutcome::Applied),
        Err(error) => match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(WriteOutcome::Superseded),
            service => Err(classify(&error, service.map(update_error_is_rejection))),
        },
    }
}

/// Throttling, timeouts and server errors are transient; a validation error
/// (an item over 400 KB, say) will fail the same way every time.
fn classify<E: std::error::Error>(error: &E, rejected: Option<bool>) -> StoreError {
    if rejected == Some(true) {
        StoreError::Rejected(describe(error))
    } else {
        StoreError::Unavailable(describe(error))
    }
}

fn put_error_is_rejection(error: &PutItemError) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    error.code() == Some("ValidationException")
}

fn update_error_is_rejection(error: &UpdateItemError) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    error.code() == Some("ValidationException")
}
