//! [`VerificationStore`]: the codes and recordings of Meta's verification calls.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::DynamoMessageStore;
use super::item::{Item, Update, number, rfc3339, string, text_of};
use super::keys::{BY_CONTACT_INDEX, call_pk};
use crate::adapters::describe;
use crate::domain::ids::CallSid;
use crate::domain::verification::{
    CapturedCode, EmailOutcome, Recording, StoredCode, code_index_key, code_index_sort_key,
};
use crate::ports::{CodeLog, StoreError, VerificationStore, WriteOutcome};

impl VerificationStore for DynamoMessageStore {
    async fn record_code(&self, code: &CapturedCode) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let mut item = Item::default();
        item.put("pk", string(call_pk(&code.call_sid)))
            .put("sk", string(code.item()))
            .put("item_type", string("verification_code"))
            .put("call_sid", string(code.call_sid.as_str()))
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

    async fn claim_email(
        &self,
        call_sid: &CallSid,
        item: &str,
        claimant: &str,
        lease: std::time::Duration,
    ) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let stale = now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::zero());
        let mut update = Update::default();
        update
            .set("email_status", string("sending"))
            .set("email_claimed_at", string(rfc3339(now)))
            .set("email_claimant", string(claimant))
            .set("updated_at", string(rfc3339(now)));
        // RFC 3339 in UTC with milliseconds compares as text in time order.
        let condition = "attribute_exists(pk) AND (email_status = :pending OR \
                         (email_status = :sending AND email_claimed_at < :stale))";
        let values = vec![
            (":pending", string("pending")),
            (":sending", string("sending")),
            (":stale", string(rfc3339(stale))),
        ];
        // A refused condition answers the item: a claim the SDK retried after its first try was
        // applied (the answer lost) finds its own claimant there, and is this request's.
        self.update_claiming(
            call_pk(call_sid),
            item,
            update,
            Some((condition, values)),
            Some(("email_claimant", claimant)),
        )
        .await
    }

    async fn record_email_outcome(
        &self,
        call_sid: &CallSid,
        item: &str,
        outcome: &EmailOutcome,
    ) -> Result<(), StoreError> {
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
            .put("call_sid", string(recording.call_sid.as_str()))
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

impl CodeLog for DynamoMessageStore {
    async fn latest_codes(&self, number: &str, limit: usize) -> Result<Vec<StoredCode>, StoreError> {
        let Some(index_key) = code_index_key(number) else {
            return Ok(Vec::new());
        };
        // One page: the index holds only code items under this key, so `limit` items are `limit` codes.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CONTACT_INDEX)
            .key_condition_expression("gsi1pk = :key")
            .expression_attribute_values(":key", string(&index_key))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(output.items().iter().filter_map(stored_code).collect())
    }
}

fn stored_code(item: &HashMap<String, AttributeValue>) -> Option<StoredCode> {
    Some(StoredCode {
        call_sid: CallSid::new(text_of(item, "call_sid")?),
        code: text_of(item, "code")?,
        captured_by: text_of(item, "captured_by").unwrap_or_default(),
        confidence: text_of(item, "confidence").and_then(|c| c.parse().ok()),
        heard: text_of(item, "heard"),
        from: text_of(item, "from"),
        to: text_of(item, "to"),
        received_at: text_of(item, "received_at").unwrap_or_default(),
    })
}
