//! The usage aggregate of [`MemoryStore`], by the DynamoDB adapter's rule
//! ([`crate::domain::usage::UsageCount`]): the message's pricing kept (the latest status that had
//! one), then counted once, moved when its cell changes. In memory the status write and the count
//! are one step under the lock, as the transaction makes them one in the table.

use super::{MemoryStore, Tables};
use crate::domain::records::StatusRecord;
use crate::domain::usage::{UsageCell, UsageCount, UsageMonth, counted_at, month_of};
use crate::ports::{StatusWrite, StatusWritten, StoreError, UsageStore};

/// After a status's rank was written: its pricing kept on the item and its message counted.
pub(super) fn record_pricing(tables: &mut Tables, status: &StatusRecord, write: StatusWrite) -> StatusWritten {
    let key = status.wamid.to_string();
    let Some(item) = tables.messages.get_mut(&key) else {
        return StatusWritten { write, pricing: None };
    };
    if let Some(pricing) = &status.pricing {
        item.pricing = Some(pricing.clone());
    }
    let pricing = item.pricing.clone();
    let Some(cell) = status.pricing.as_ref().and_then(UsageCell::of) else {
        return StatusWritten { write, pricing };
    };
    let held_cell = pricing.as_ref().and_then(UsageCell::of).map(|cell| cell.key());
    let month = month_of(status.timestamp, status.received.at);
    match UsageCount::decide(held_cell.as_deref(), item.usage_cell.as_deref(), &cell, &month) {
        UsageCount::Done => {}
        UsageCount::First { month, cell } => {
            item.usage_cell = Some(counted_at(&month, &cell));
            *tables.usage.entry((month, cell.key())).or_default() += 1;
        }
        UsageCount::Move { month, from, to } => {
            item.usage_cell = Some(counted_at(&month, &to));
            *tables.usage.entry((month.clone(), from.key())).or_default() -= 1;
            *tables.usage.entry((month, to.key())).or_default() += 1;
        }
    }
    StatusWritten { write, pricing }
}

impl UsageStore for MemoryStore {
    async fn usage(&self, month: &str) -> Result<UsageMonth, StoreError> {
        self.call("usage", |tables, _| {
            let counters = tables
                .usage
                .iter()
                .filter(|((held, _), _)| held == month)
                .filter_map(|((_, cell), messages)| Some((UsageCell::parse(cell)?, *messages)));
            UsageMonth::new(month, counters)
        })
        .await
    }
}
