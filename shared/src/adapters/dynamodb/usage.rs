//! The usage aggregate ([`crate::domain::usage`]): one counter item per month and pricing cell
//! (`USAGE#<YYYY-MM>`, `<category>#<type>#billable|free`), kept by the status writes and read with
//! one query per month.
//!
//! Why a transaction (`TransactWriteItems`): the mark on the message item (`usage_cell`, set under a
//! condition) and the counter's `ADD` must happen together. Written as two calls, a crash, a timeout
//! or a lost answer between them either loses the count for good (mark first: every later status
//! finds the message counted) or counts it twice (counter first: the retry adds again) — and SQS
//! redelivers, so "between them" happens. In one transaction either both are applied or neither;
//! a retry of a transaction whose answer was lost carries the SDK's `ClientRequestToken` (DynamoDB
//! answers it as done), and past that its condition fails and the item read back shows the message
//! counted: nothing more. The price: a transaction writes at twice the capacity of plain writes (four
//! write units for the first count of a message), and only the status that finds its message not
//! yet counted in its cell makes one (the status write answers with the item, so duplicates,
//! redeliveries and the message's other statuses cost nothing more).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::Utc;

use super::DynamoMessageStore;
use super::item::{number, rfc3339, string, text_of};
use super::keys::{MESSAGE_SK, message_pk, usage_pk};
use crate::adapters::describe;
use crate::domain::records::StatusRecord;
use crate::domain::usage::{UsageCell, UsageCount, UsageMonth, counted_at, month_of};
use crate::ports::{StoreError, UsageStore};

type Attributes = HashMap<String, AttributeValue>;

/// Tries of one count: a condition that failed (another status of the message wrote in between)
/// is decided again on the item read back; a conflict with another transaction is tried again.
const COUNT_TRIES: u32 = 4;

impl DynamoMessageStore {
    /// Counts `status`'s message once in the month's usage, given its item after the status was
    /// written (`held`): nothing when the item shows it counted already.
    pub(super) async fn count_usage(&self, status: &StatusRecord, held: Option<Attributes>) -> Result<(), StoreError> {
        let Some(cell) = status.pricing.as_ref().and_then(UsageCell::of) else {
            return Ok(());
        };
        let month = month_of(status.timestamp, status.received.at);
        let pk = message_pk(status.wamid.as_str());
        let mut held = held;
        for attempt in 0..COUNT_TRIES {
            let item = match held.take() {
                Some(item) => item,
                None => self.get(pk.clone(), MESSAGE_SK).await?.unwrap_or_default(),
            };
            let decision = UsageCount::decide(
                text_of(&item, "pricing_cell").as_deref(),
                text_of(&item, "usage_cell").as_deref(),
                &cell,
                &month,
            );
            let items = match self.count_items(&pk, &cell, &decision) {
                None => return Ok(()),
                Some(items) => items?,
            };
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let Err(error) = result else {
                return Ok(());
            };
            let reasons = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => canceled
                    .cancellation_reasons()
                    .iter()
                    .filter_map(|reason| reason.code())
                    .collect::<Vec<_>>(),
                _ => return Err(StoreError::Unavailable(describe(&error))),
            };
            if reasons.contains(&"ConditionalCheckFailed") {
                continue; // read the item again and decide again
            }
            if reasons.contains(&"TransactionConflict") && attempt + 1 < COUNT_TRIES {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                continue;
            }
            return Err(StoreError::Unavailable(describe(&error)));
        }
        Err(StoreError::Unavailable(
            "usage count: the message item kept changing".to_owned(),
        ))
    }

    /// The transaction of `decision`: the message item's mark under its condition, and the counters.
    fn count_items(
        &self,
        pk: &str,
        cell: &UsageCell,
        decision: &UsageCount,
    ) -> Option<Result<Vec<TransactWriteItem>, StoreError>> {
        let (month, condition, from) = match decision {
            UsageCount::Done => return None,
            UsageCount::First { month, .. } => (month, "attribute_not_exists(usage_cell)", None),
            UsageCount::Move { month, from, .. } => (month, "usage_cell = :from", Some(from)),
        };
        let mut values = HashMap::from([
            (":counted".to_owned(), string(counted_at(month, cell))),
            (":cell".to_owned(), string(cell.key())),
        ]);
        if let Some(from) = from {
            values.insert(":from".to_owned(), string(counted_at(month, from)));
        }
        let mark = Update::builder()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(MESSAGE_SK))
            .update_expression("SET usage_cell = :counted")
            .condition_expression(format!("{condition} AND pricing_cell = :cell"))
            .set_expression_attribute_values(Some(values))
            .build();
        let mut updates = vec![mark, self.counter(month, cell, 1)];
        if let Some(from) = from {
            updates.push(self.counter(month, from, -1));
        }
        Some(
            updates
                .into_iter()
                .map(|update| {
                    update
                        .map(|update| TransactWriteItem::builder().update(update).build())
                        .map_err(|error| StoreError::Rejected(error.to_string()))
                })
                .collect(),
        )
    }

    /// `messages` + `delta` on the counter of `cell` in `month`, creating it with its cell's fields.
    fn counter(
        &self,
        month: &str,
        cell: &UsageCell,
        delta: i64,
    ) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
        Update::builder()
            .table_name(&self.table)
            .key("pk", string(usage_pk(month)))
            .key("sk", string(cell.key()))
            .update_expression(
                "ADD messages :delta SET item_type = :usage, #month = :month, category = :category, \
                 pricing_type = :type, billable = :billable, updated_at = :now",
            )
            .expression_attribute_names("#month", "month")
            .expression_attribute_values(":delta", number(delta))
            .expression_attribute_values(":usage", string("usage"))
            .expression_attribute_values(":month", string(month))
            .expression_attribute_values(":category", string(&cell.category))
            .expression_attribute_values(":type", string(&cell.pricing_type))
            .expression_attribute_values(":billable", AttributeValue::Bool(cell.billable))
            .expression_attribute_values(":now", string(rfc3339(Utc::now())))
            .build()
    }
}

impl UsageStore for DynamoMessageStore {
    async fn usage(&self, month: &str) -> Result<UsageMonth, StoreError> {
        let mut counters = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", string(usage_pk(month)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| StoreError::Unavailable(describe(&error)))?;
            for item in page.items() {
                let cell = text_of(item, "sk").and_then(|sk| UsageCell::parse(&sk));
                let messages = text_of(item, "messages").and_then(|n| n.parse::<i64>().ok());
                if let (Some(cell), Some(messages)) = (cell, messages) {
                    counters.push((cell, messages));
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(UsageMonth::new(month, counters))
    }
}
