//! [`MessageStore`]: inbound messages, contacts, statuses and raw events.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::content::content_attributes;
use super::errors::put_outcome;
use super::item::{Item, Update, attribute_to_json, epoch_to_rfc3339, json, number, rfc3339, string, text_of};
use super::keys::{
    CONTACT_SK, MESSAGE_SK, alias_sk, contact_pk, conversation_pk, conversation_sk, conversation_time, event_pk,
    event_sk, message_pk, sent_pk, wa_call_pk, window_sk,
};
use super::{DynamoMessageStore, STATUS_REQUEST_ID};
use crate::domain::ids::ContactId;
use crate::domain::media::StoredMedia;
use crate::domain::records::{AddressBookRecord, BUSINESS_APP_ORIGIN, EchoRecord};
use crate::domain::records::{
    CallRecord, ContactActivity, IdentityLink, InboundRecord, RawEventRecord, SAME_MESSAGE, StatusRecord,
};
use crate::domain::usage::UsageCell;
use crate::domain::webhook::MetaError;
use crate::ports::{MessageStore, StatusWrite, StatusWritten, StoreError, WriteOutcome};

impl MessageStore for DynamoMessageStore {
    async fn record_inbound(&self, record: &InboundRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let message_time = record.timestamp.and_then(epoch_to_rfc3339);
        let mut item = Item::default();
        item.put("pk", string(message_pk(record.wamid.as_str())))
            .put("sk", string(MESSAGE_SK))
            .put("item_type", string("message"))
            .put("wamid", string(record.wamid.as_str()))
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
            .put_opt("username", record.username.as_deref().map(string))
            .put_opt("timestamp", record.timestamp.map(number))
            .put_opt("message_at", message_time.clone().map(string))
            .put_opt("context_message_id", record.context_message_id.as_deref().map(string))
            .put_opt("imported", record.imported.then_some(AttributeValue::Bool(true)))
            .put_opt("expires_at", self.expires_at(now));
        if !record.errors.is_empty() {
            item.put("errors", errors(&record.errors));
        }
        if let Some(key) = record.contact_key() {
            let sort_time = conversation_time(record.timestamp, record.received.at);
            item.put("contact_key", string(key))
                .put("gsi1pk", string(conversation_pk(key)))
                .put("gsi1sk", string(conversation_sk(sort_time, record.wamid.as_str())));
        }
        for (name, value) in content_attributes(&record.content) {
            item.put(name, value);
        }

        self.put_once_from(item, &record.received.request_id).await
    }

    async fn record_echo(&self, echo: &EchoRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        // One update of the wamid's item: its statuses may have come first (they create it, list it
        // in the conversation and rank its status); the echo adds what it says and who sent it,
        // never touching the status. Once: the delivery that wrote it is kept (`echo_request_id`).
        let mut update = Update::default();
        update
            .set("wamid", string(echo.wamid.as_str()))
            .set("item_type", string("message"))
            .set("direction", string("outbound"))
            .set("origin", string(BUSINESS_APP_ORIGIN))
            .set("echo_request_id", string(&echo.received.request_id))
            .set("echoed_at", string(rfc3339(echo.received.at)))
            .set("updated_at", string(rfc3339(now)))
            .set("type", string(&echo.kind))
            .set("payload", string(&echo.raw))
            .set_opt_if_absent("phone_number_id", echo.phone_number_id.as_deref().map(string))
            .set_opt_if_absent("timestamp", echo.timestamp.map(number))
            .set_opt_if_absent("message_at", echo.timestamp.and_then(epoch_to_rfc3339).map(string))
            .set_opt("context_message_id", echo.context_message_id.as_deref().map(string))
            .set_opt("imported", echo.imported.then_some(AttributeValue::Bool(true)))
            .set_opt("history_status", echo.history_status.as_deref().map(string))
            .set_opt_if_absent("expires_at", self.expires_at(now));
        if !echo.errors.is_empty() {
            update.set("errors", errors(&echo.errors));
        }
        if let Some(to) = &echo.to {
            let field = match to {
                ContactId::Phone(_) => "recipient_id",
                ContactId::User(_) => "recipient_user_id",
            };
            let sort_time = conversation_time(echo.timestamp, echo.received.at);
            update
                .set_if_absent(field, string(to.key()))
                .set_if_absent("contact_key", string(to.key()))
                .set_if_absent("gsi1pk", string(conversation_pk(to.key())))
                // Listed at when it was sent (statuses that came first listed it at their own time).
                .set("gsi1sk", string(conversation_sk(sort_time, echo.wamid.as_str())));
        }
        for (name, value) in content_attributes(&echo.content) {
            update.set(name, value);
        }
        let once = Some(("attribute_not_exists(echo_request_id)", Vec::new()));
        let written = self
            .update_claiming(
                message_pk(echo.wamid.as_str()),
                MESSAGE_SK,
                update,
                once,
                Some(("echo_request_id", &echo.received.request_id)),
            )
            .await?;
        // The contacts list's entry (a redelivery moves nothing: not newer).
        if let Some(touch) = echo.touch() {
            self.touch_contact(&touch).await?;
        }
        Ok(written)
    }

    async fn record_address_book(&self, entry: &AddressBookRecord) -> Result<WriteOutcome, StoreError> {
        // On the contact's own item, beside (never touching) its last inbound time: the address
        // book's name for it, or that it was removed. The newest change wins; the same delivery again
        // (an answer lost after the write) is still its own.
        let mut update = Update::default();
        update
            .set_if_absent("item_type", string("contact"))
            .set("app_contact", string(if entry.saved { "saved" } else { "removed" }))
            .set("app_contact_at", number(entry.at))
            .set("app_contact_request_id", string(&entry.received.request_id))
            .set("updated_at", string(rfc3339(Utc::now())))
            .set_opt("app_contact_full_name", entry.full_name.as_deref().map(string))
            .set_opt("app_contact_first_name", entry.first_name.as_deref().map(string))
            .set_opt(
                "app_contact_phone_number_id",
                entry.phone_number_id.as_deref().map(string),
            );
        let newer = Some((
            "attribute_not_exists(app_contact_at) OR app_contact_at < :changed_at",
            vec![(":changed_at", number(entry.at))],
        ));
        self.update_claiming(
            contact_pk(&entry.contact),
            CONTACT_SK,
            update,
            newer,
            Some(("app_contact_request_id", &entry.received.request_id)),
        )
        .await
    }

    async fn record_call(&self, call: &CallRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(wa_call_pk(&call.call_id)))
            .put("sk", string(call.step.key()))
            .put("item_type", string("wa_call"))
            .put("call_id", string(&call.call_id))
            .put("received_at", string(rfc3339(call.received.at)))
            .put("request_id", string(&call.received.request_id))
            .put("payload", string(&call.raw))
            .put_opt("phone_number_id", call.phone_number_id.as_deref().map(string))
            .put_opt("from", call.from.as_deref().map(string))
            .put_opt("to", call.to.as_deref().map(string))
            .put_opt("direction", call.direction.as_deref().map(string))
            .put_opt("status", call.status.as_deref().map(string))
            .put_opt("duration", call.duration.map(number))
            .put_opt("timestamp", call.timestamp.map(number))
            .put_opt("expires_at", self.expires_at(now));
        self.put_once_from(item, &call.received.request_id).await
    }

    async fn record_link(&self, link: &IdentityLink) -> Result<WriteOutcome, StoreError> {
        // An item in an id's partition naming the other (read back by `conversation`). Plain puts: the
        // same link again writes the same item. A message carrying both ids needs only the user id's
        // side: the number's contact item holds the user id already (`record_contact_activity`), and
        // most messages carry both, so this is one write a message, not two.
        let both = [(&link.a, &link.b), (&link.b, &link.a)];
        let sides = if link.reason == SAME_MESSAGE {
            &both[1..]
        } else {
            &both[..]
        };
        for &(from, to) in sides {
            let mut item = Item::default();
            item.put("pk", string(contact_pk(from.key())))
                .put("sk", string(alias_sk(to.key())))
                .put("item_type", string("contact_alias"))
                .put("alias", string(to.key()))
                .put("reason", string(link.reason))
                .put("wamid", string(&link.wamid))
                .put("linked_at", string(rfc3339(link.received.at)));
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.0))
                .send()
                .await;
            put_outcome(result)?;
        }
        Ok(WriteOutcome::Applied)
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
            .set_opt("profile_name", activity.profile_name.as_deref().map(string))
            .set_opt("username", activity.username.as_deref().map(string));
        let newer = || {
            Some((
                "attribute_not_exists(last_inbound_at) OR last_inbound_at < :activity_at",
                vec![(":activity_at", number(activity.last_inbound_at))],
            ))
        };
        let contact = self
            .update(contact_pk(&activity.key), CONTACT_SK, update, newer())
            .await?;
        // The contacts list's entry (its own condition: its last activity may be a later send). After
        // the activity, not beside it: one more round trip, but two futures joined cost the worker's
        // binary 3 KB it does not have (docs/architecture.md, function sizes).
        self.touch_contact(&activity.touch()).await?;
        let Some(business) = &activity.phone_number_id else {
            return Ok(contact);
        };
        // The window with the business number written to (one more item in the contact's partition).
        let mut window = Update::default();
        window
            .set("item_type", string("contact_window"))
            .set("phone_number_id", string(business.as_str()))
            .set("last_inbound_at", number(activity.last_inbound_at))
            .set("last_inbound_wamid", string(&activity.last_inbound_wamid))
            .set("updated_at", string(rfc3339(now)));
        let window = self
            .update(contact_pk(&activity.key), &window_sk(business), window, newer())
            .await?;
        Ok(if contact == WriteOutcome::Applied {
            contact
        } else {
            window
        })
    }

    async fn record_status(&self, status: &StatusRecord) -> Result<StatusWritten, StoreError> {
        let now = Utc::now();
        let status_time = status
            .timestamp
            .and_then(epoch_to_rfc3339)
            .unwrap_or_else(|| rfc3339(status.received.at));

        // What is always safe to merge: the time each status was first seen, and facts
        // about the message. The status itself only moves up, under a condition.
        let mut merge = Update::default();
        merge
            .set("wamid", string(status.wamid.as_str()))
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
            // The pricing's cell beside it, a scalar the usage count's condition can compare.
            .set_opt(
                "pricing_cell",
                status
                    .pricing
                    .as_ref()
                    .and_then(UsageCell::of)
                    .map(|cell| string(cell.key())),
            )
            .set_opt_if_absent("expires_at", self.expires_at(now));
        if let Some(attribute) = timestamp_attribute(status) {
            merge.set_if_absent(&attribute, string(&status_time));
        }
        let recipient = status.recipient_id.as_deref().or(status.recipient_user_id.as_deref());
        if let Some(message_id) = status.sent_by_bundle() {
            // A send of the bundle, named by its status (`biz_opaque_callback_data`): the status links
            // the item itself, as the send's answer does, out of the conversation (its `OUT#` item
            // lists it). The send path finds it there (`linked_wamid`) before any resend.
            merge
                .set("message_id", string(message_id.as_str()))
                .set("gsi1pk", string(sent_pk(message_id.as_str())))
                .set_if_absent(
                    "gsi1sk",
                    string(conversation_sk(
                        conversation_time(status.timestamp, status.received.at),
                        status.wamid.as_str(),
                    )),
                );
            if let Some(recipient) = recipient {
                merge.set_if_absent("contact_key", string(recipient));
            }
        } else if let Some(recipient) = recipient {
            merge
                .set_if_absent("contact_key", string(recipient))
                .set_if_absent("gsi1pk", string(conversation_pk(recipient)))
                .set_if_absent(
                    "gsi1sk",
                    string(conversation_sk(
                        conversation_time(status.timestamp, status.received.at),
                        status.wamid.as_str(),
                    )),
                );
        }
        if !status.errors.is_empty() {
            merge.set("errors", errors(&status.errors));
        }

        let pk = message_pk(status.wamid.as_str());
        if let Some(ranked) = status.status {
            let mut advance = merge.clone();
            advance
                .set("status", string(ranked.as_str()))
                .set("status_rank", number(i64::from(ranked.rank())))
                .set("status_at", string(&status_time))
                .set(STATUS_REQUEST_ID, string(&status.received.request_id))
                .set(&advanced_by(ranked), string(&status.received.request_id));
            let condition = "attribute_not_exists(status_rank) OR status_rank < :new_rank";
            let new_rank = vec![(":new_rank", number(i64::from(ranked.rank())))];
            if let Some(item) = self
                .update_returning(pk.clone(), advance, Some((condition, new_rank)))
                .await?
            {
                return self.counted(status, StatusWrite::Advanced, item).await;
            }
        }
        // The message already has a status of equal or higher rank (or this status is unranked):
        // merge the timestamps and facts without touching the status, and read the status it holds.
        let held = self.update_returning(pk, merge, None).await?.unwrap_or_default();
        let take = |name: &str| text_of(&held, name);
        let current = status.status.is_some() && take("status").as_deref() == Some(status.status_name.as_str());
        // Set by this very delivery: an attempt whose answer was lost (the SDK retried the advance after it
        // took effect) or an earlier delivery of the same queue record. It advanced the message.
        let by_this = |held: Option<String>| held.is_some_and(|held| held == status.received.request_id && held != "-");
        let mine = by_this(take(STATUS_REQUEST_ID));
        let overtaken = by_this(status.status.map(advanced_by).and_then(|name| take(&name)));
        let write = match (current, mine, overtaken) {
            (true, true, _) => StatusWrite::Advanced,
            (true, false, _) => StatusWrite::Current,
            (false, _, true) => StatusWrite::Overtaken,
            (false, _, false) => StatusWrite::Stale,
        };
        self.counted(status, write, held).await
    }

    async fn record_event(&self, event: &RawEventRecord) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(event_pk(&event.field)))
            .put("sk", string(event_sk(&event.entry_id, &event.digest)))
            .put("item_type", string("event"))
            .put("field", string(&event.field))
            .put("entry_id", string(&event.entry_id))
            .put("received_at", string(rfc3339(event.received.at)))
            .put("request_id", string(&event.received.request_id))
            .put("updated_at", string(rfc3339(now)))
            .put_opt("phone_number_id", event.phone_number_id.as_deref().map(string))
            .put_opt("expires_at", self.expires_at(now));
        match &event.payload_pointer {
            // Offloaded: the pointer in the SQS Extended Client's format, as the claim check's.
            Some(pointer) => item.put("payload_pointer", string(pointer.to_body())),
            None => item.put("payload", string(&event.payload)),
        };
        self.put_once_from(item, &event.received.request_id).await
    }

    async fn record_media(&self, wamid: &str, media: &StoredMedia) -> Result<WriteOutcome, StoreError> {
        let now = rfc3339(Utc::now());
        let mut update = Update::default();
        update.set("updated_at", string(&now));
        match media {
            StoredMedia::Kept {
                bucket,
                key,
                mime_type,
                sha256,
                size,
            } => {
                update
                    .set("media_s3_bucket", string(bucket))
                    .set("media_s3_key", string(key))
                    .set("media_size", number(i64::try_from(*size).unwrap_or(i64::MAX)))
                    .set("media_stored_at", string(&now))
                    .set_if_absent("media_mime_type", string(mime_type))
                    .set_if_absent("media_sha256", string(sha256));
            }
            StoredMedia::Failed { error } => {
                update
                    .set("media_error", string(error))
                    .set("media_failed_at", string(&now));
            }
        }
        // Only on the message's own record, and never over media already kept.
        let condition = "attribute_exists(pk) AND attribute_not_exists(media_s3_key)";
        self.update(message_pk(wamid), MESSAGE_SK, update, Some((condition, Vec::new())))
            .await
    }

    async fn media_of(&self, wamid: &str) -> Result<Option<StoredMedia>, StoreError> {
        let Some(item) = self.get(message_pk(wamid), MESSAGE_SK).await? else {
            return Ok(None);
        };
        let text = |name: &str| text_of(&item, name);
        if let (Some(bucket), Some(key)) = (text("media_s3_bucket"), text("media_s3_key")) {
            return Ok(Some(StoredMedia::Kept {
                bucket,
                key,
                mime_type: text("media_mime_type").unwrap_or_default(),
                sha256: text("media_sha256").unwrap_or_default(),
                size: text("media_size").and_then(|size| size.parse().ok()).unwrap_or(0),
            }));
        }
        Ok(text("media_error").map(|error| StoredMedia::Failed { error }))
    }
}

impl DynamoMessageStore {
    /// A status written: its message counted in the usage aggregate (when it is priced), and the
    /// pricing the item holds (the latest status that had it), from the item the write answered.
    async fn counted(
        &self,
        status: &StatusRecord,
        write: StatusWrite,
        item: HashMap<String, AttributeValue>,
    ) -> Result<StatusWritten, StoreError> {
        let pricing = item.get("pricing").map(attribute_to_json);
        self.count_usage(status, Some(item)).await?;
        Ok(StatusWritten { write, pricing })
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

pub(super) fn errors(errors: &[MetaError]) -> AttributeValue {
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

/// The attribute naming the delivery (request id) that advanced a message to `status`.
fn advanced_by(status: crate::domain::status::DeliveryStatus) -> String {
    format!("{}_advanced_by", status.as_str())
}
