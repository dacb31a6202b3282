//! The message store on one DynamoDB table: [`keys`] (the key schema), [`item`] (item and
//! update builders), [`errors`] (SDK error classification), and one file per store:
//! [`messages`], [`outbound`], [`verification`], [`conversation`] (reads only), [`templates`],
//! [`usage`] (the usage aggregate the status writes keep).
//!
//! Every write is conditional where order or duplicates matter, so redelivery and
//! out-of-order webhooks converge to the same item without a read first.
//! TTL attribute `expires_at` (epoch seconds), set when `RETENTION_DAYS` > 0.

mod coexistence;
mod contacts;
mod content;
mod conversation;
pub mod errors;
pub mod item;
pub mod keys;
mod messages;
mod outbound;
mod templates;
mod usage;
mod verification;
mod view;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use self::errors::{put_outcome, update_outcome};
pub use self::item::{Item, Update, attribute_to_json, json, number, rfc3339, string};
pub use self::keys::*;
use super::describe;
use crate::ports::{StoreError, WriteOutcome};

#[derive(Debug, Clone)]
pub struct DynamoMessageStore {
    client: Client,
    table: String,
    retention_days: u32,
    /// Seconds added to the wall clock for the send state machine's times (claims, leases, the
    /// reconciliation window): 0 in production; tests move it to reach a lease's or a window's end.
    clock_skew: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl DynamoMessageStore {
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
            clock_skew: std::sync::Arc::default(),
        }
    }

    /// Moves the send state machine's clock forward (tests: a lease or a reconciliation window
    /// passes at once). Clones share it.
    pub fn advance_clock(&self, seconds: i64) {
        self.clock_skew.fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }

    fn clock_skew(&self) -> i64 {
        self.clock_skew.load(std::sync::atomic::Ordering::SeqCst)
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

    /// `now` plus the retention, as epoch seconds; `None` without a retention (or one past
    /// chrono's range, which configuration bounds rule out).
    fn expires_at(&self, now: DateTime<Utc>) -> Option<AttributeValue> {
        if self.retention_days == 0 {
            return None;
        }
        let retention = chrono::Duration::try_days(i64::from(self.retention_days))?;
        now.checked_add_signed(retention).map(|at| number(at.timestamp()))
    }
}

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

    /// As [`Self::put_once`], except that an existing item written by the same delivery (its
    /// `request_id` is `request_id`) is this very write: `Applied`.
    /// That is what an attempt whose answer was lost looks like when the SDK retries it (the put took
    /// effect, the retry's condition then fails), or an earlier delivery of the same queue record; a
    /// duplicate from Meta is another request and stays `Superseded`.
    async fn put_once_from(&self, item: Item, request_id: &str) -> Result<WriteOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.0))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        if let Err(error) = &result
            && let Some(PutItemError::ConditionalCheckFailedException(failed)) = error.as_service_error()
            && written_by(failed.item(), "request_id", request_id)
        {
            return Ok(WriteOutcome::Applied);
        }
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

    /// An update of the message item answering with the item after it: `None` when `condition`
    /// failed (nothing written).
    async fn update_returning(
        &self,
        pk: String,
        update: Update,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let (expression, names, mut values) = update.build();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(MESSAGE_SK))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if let Some((condition, extra_values)) = condition {
            values.extend(extra_values.into_iter().map(|(name, value)| (name.to_owned(), value)));
            request = request.condition_expression(condition);
        }
        match request.set_expression_attribute_values(Some(values)).send().await {
            Ok(output) => Ok(Some(output.attributes.unwrap_or_default())),
            Err(error) => update_outcome::<(), _>(Err(error)).map(|_| None),
        }
    }

    async fn update(
        &self,
        pk: String,
        sk: &str,
        update: Update,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<WriteOutcome, StoreError> {
        self.update_claiming(pk, sk, update, condition, None).await
    }

    /// [`Self::update`], claiming the item for `claim = (attribute, claimant)`: `Applied` also when
    /// the condition fails on an item that `claimant` already holds (the SDK retried a try whose
    /// write was applied and whose answer was lost).
    async fn update_claiming(
        &self,
        pk: String,
        sk: &str,
        update: Update,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
        claim: Option<(&str, &str)>,
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
        if claim.is_some() {
            request = request.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        let result = request.set_expression_attribute_values(Some(values)).send().await;
        if let (Err(error), Some((mark, claimant))) = (&result, claim)
            && let Some(UpdateItemError::ConditionalCheckFailedException(failed)) = error.as_service_error()
            && written_by(failed.item(), mark, claimant)
        {
            return Ok(WriteOutcome::Applied);
        }
        update_outcome(result)
    }
}

/// The attribute naming the delivery (request id) that set a message's status.
const STATUS_REQUEST_ID: &str = "status_request_id";

/// Whether the item's `attribute` names the delivery `request_id`: the item is that delivery's write.
/// A delivery without a request id (`-`) is never recognised.
fn written_by(item: Option<&HashMap<String, AttributeValue>>, attribute: &str, request_id: &str) -> bool {
    !request_id.is_empty()
        && request_id != "-"
        && item
            .and_then(|item| item.get(attribute))
            .and_then(|value| value.as_s().ok())
            .is_some_and(|held| held == request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(retention_days: u32) -> DynamoMessageStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        DynamoMessageStore::new(Client::from_conf(config), "table", retention_days)
    }

    #[test]
    fn expiry_is_now_plus_the_retention_and_never_overflows() {
        let now = Utc::now();
        assert_eq!(store(0).expires_at(now), None);
        assert_eq!(
            store(30).expires_at(now),
            Some(number((now + chrono::Duration::days(30)).timestamp()))
        );
        // Past chrono's range (configuration refuses it): no expiry rather than a panic on every write.
        assert_eq!(store(u32::MAX).expires_at(now), None);
    }
}
