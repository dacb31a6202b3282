//! The usage aggregate ([`crate::domain::usage`]): one counter item per month and pricing cell
//! (`USAGE#<YYYY-MM>`, `<category>#<type>#billable|free`), kept by the status writes and read with
//! one query per month.
//!
//! Why a transaction (`TransactWriteItems`): the mark on the message item (`usage_cell`, set under a
//! condition) and the counter's `ADD` must happen together. Written as two calls, a crash, a timeout
//! or a lost answer between them either loses the count for good (mark first: every later status
//! finds the message counted) or counts it twice (counter first: the retry adds again) — and SQS
//! redelivers, so "between them" happens. In one transaction either both are applied or neither;
//! a retry of a transaction whose answer was lost carries the same `ClientRequestToken` (DynamoDB
//! answers it as done), and past that its condition fails and the item read back shows the message
//! counted: nothing more. The price: a transaction writes at twice the capacity of plain writes (four
//! write units for the first count of a message), and only the status that finds its message not
//! yet counted in its cell makes one (the status write answers with the item, so duplicates,
//! redeliveries and the message's other statuses cost nothing more).
//!
//! Why through `UpdateItem`'s pipeline: the SDK's `TransactWriteItems` operation costs the worker's
//! arm64 zip 27 KB (its serializers, the cancellation reasons' deserializers, its own orchestrator),
//! over the 2.5 MB budget. The transaction is the same JSON call on the same endpoint: this sends an
//! `UpdateItem` request whose target and body are swapped for the transaction's before it is signed
//! (an interceptor, the SDK's documented hook: [`AsTransaction`]), so it keeps the client's credentials, signing,
//! retries, timeouts and HTTP client (the tests' fault layer sees `TransactWriteItems`). DynamoDB
//! answers `{}`, which reads as an empty `UpdateItem` answer; a cancelled transaction is the error
//! code `TransactionCanceledException`, after which the item is read again and the count decided
//! again (a failed condition: another status wrote in between, or this very transaction took effect;
//! a conflict with another transaction: tried again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::Utc;
use serde_json::{Value, json};

use super::DynamoMessageStore;
use super::errors::update_outcome;
use super::item::{rfc3339, string, text_of};
use super::keys::{MESSAGE_SK, message_pk, usage_pk};
use crate::adapters::describe;
use crate::domain::records::StatusRecord;
use crate::domain::usage::{UsageCell, UsageCount, UsageMonth, counted_at, month_of};
use crate::ports::{StoreError, UsageStore};

type Attributes = HashMap<String, AttributeValue>;

/// Tries of one count: a transaction cancelled (another status of the message wrote in between, or
/// another transaction held an item) is decided again on the item read back.
const COUNT_TRIES: u32 = 4;

/// Makes each transaction's `ClientRequestToken` unique within the process.
static TOKENS: AtomicU64 = AtomicU64::new(0);

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
            let Some(items) = self.count_items(&pk, &cell, &decision) else {
                return Ok(());
            };
            let error = match self.transact(&pk, items).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            let cancelled = error
                .as_service_error()
                .and_then(ProvideErrorMetadata::code)
                .is_some_and(|code| code == "TransactionCanceledException");
            if !cancelled {
                return Err(update_outcome::<(), _>(Err(error))
                    .err()
                    .unwrap_or_else(|| StoreError::Unavailable("usage count failed".to_owned())));
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
        }
        Err(StoreError::Unavailable(
            "usage count: the message item kept changing".to_owned(),
        ))
    }

    /// `TransactWriteItems` with `items`, sent as described in the module's documentation.
    async fn transact(
        &self,
        pk: &str,
        items: Vec<Value>,
    ) -> Result<(), aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>> {
        // At most 33 characters (DynamoDB takes 36): the time and a count, in hex.
        let token = format!(
            "u{:x}{:x}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            TOKENS.fetch_add(1, Ordering::Relaxed)
        );
        let body = json!({"TransactItems": items, "ClientRequestToken": token}).to_string();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(MESSAGE_SK))
            .customize()
            .interceptor(AsTransaction { body })
            .send()
            .await
            .map(|_| ())
    }

    /// The transaction of `decision` (DynamoDB JSON): the message item's mark under its condition, and
    /// the counters.
    fn count_items(&self, pk: &str, cell: &UsageCell, decision: &UsageCount) -> Option<Vec<Value>> {
        let (month, condition, from) = match decision {
            UsageCount::Done => return None,
            UsageCount::First { month, .. } => (month, "attribute_not_exists(usage_cell)", None),
            UsageCount::Move { month, from, .. } => (month, "usage_cell = :from", Some(from)),
        };
        let mut values = json!({
            ":counted": {"S": counted_at(month, cell)},
            ":cell": {"S": cell.key()},
        });
        if let Some(from) = from {
            values[":from"] = json!({"S": counted_at(month, from)});
        }
        let mark = json!({"Update": {
            "TableName": self.table,
            "Key": {"pk": {"S": pk}, "sk": {"S": MESSAGE_SK}},
            "UpdateExpression": "SET usage_cell = :counted",
            "ConditionExpression": format!("{condition} AND pricing_cell = :cell"),
            "ExpressionAttributeValues": values,
        }});
        let mut items = vec![mark, self.counter(month, cell, 1)];
        if let Some(from) = from {
            items.push(self.counter(month, from, -1));
        }
        Some(items)
    }

    /// `messages` + `delta` on the counter of `cell` in `month`, creating it with its cell's fields.
    fn counter(&self, month: &str, cell: &UsageCell, delta: i64) -> Value {
        json!({"Update": {
            "TableName": self.table,
            "Key": {"pk": {"S": usage_pk(month)}, "sk": {"S": cell.key()}},
            "UpdateExpression": "ADD messages :delta SET item_type = :usage, #month = :month, \
                category = :category, pricing_type = :type, billable = :billable, updated_at = :now",
            "ExpressionAttributeNames": {"#month": "month"},
            "ExpressionAttributeValues": {
                ":delta": {"N": delta.to_string()},
                ":usage": {"S": "usage"},
                ":month": {"S": month},
                ":category": {"S": cell.category},
                ":type": {"S": cell.pricing_type},
                ":billable": {"BOOL": cell.billable},
                ":now": {"S": rfc3339(Utc::now())},
            },
        }})
    }
}

/// Makes an `UpdateItem` call the transaction `body`: its target and body swapped before it is signed
/// (each try), and the transaction's answer (`{}`, or its consumed capacity and item collections when
/// an emulator adds them, shapes `UpdateItem` reads otherwise) read as an empty one; an error answer
/// is left for the error's code.
#[derive(Debug)]
struct AsTransaction {
    body: String,
}

impl Intercept for AsTransaction {
    fn name(&self) -> &'static str {
        "AsTransaction"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.TransactWriteItems");
        request
            .headers_mut()
            .insert("content-length", self.body.len().to_string());
        *request.body_mut() = SdkBody::from(self.body.as_str());
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if response.status().is_success() {
            *response.body_mut() = SdkBody::from("{}");
        }
        Ok(())
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
