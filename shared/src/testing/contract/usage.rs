//! The contract of the usage aggregate ([`crate::domain::usage`]): each priced message counted once in
//! its month, whatever Meta and SQS deliver twice or out of order, and the latest pricing shown.
//! Every case prices its messages in categories of its own (the emulator's table outlives a run, and
//! its months are shared), so each starts from zero.

use serde_json::{Value, json};

use super::*;
use crate::domain::usage::{UsageMonth, UsageRow};
use crate::ports::UsageStore;

/// The status writes the count is made with: one `TransactWriteItems` on the table.
pub const COUNT_USAGE: Write = Write {
    fake: "record_status",
    wire: "TransactWriteItems",
};

/// 2030-01-31T23:59:00Z and 2030-02-01T00:01:00Z.
const END_OF_JANUARY: i64 = 1_896_134_340;
const START_OF_FEBRUARY: i64 = 1_896_134_460;

fn pricing(category: &str, pricing_type: &str, billable: bool) -> Value {
    json!({"billable": billable, "pricing_model": "PMP", "category": category, "type": pricing_type})
}

fn priced(wamid: &Wamid, status: DeliveryStatus, pricing: Option<Value>, at: i64, request_id: &str) -> StatusRecord {
    let to = ContactId::Phone("972504370045".to_owned());
    StatusRecord {
        pricing,
        timestamp: Some(at),
        received: Received {
            at: chrono::Utc::now(),
            request_id: request_id.to_owned(),
        },
        ..status_record(wamid, &to, status, None)
    }
}

/// A category no other case or run uses.
fn category<H: Harness>(harness: &H, key: &str) -> String {
    format!("c{}", fresh_digits(harness, key, 12))
}

async fn month<H: Harness>(harness: &H, month: &str) -> UsageMonth {
    bounded(harness.store().usage(month)).await.expect("usage answered")
}

/// The month's rows of `categories`, as (category, type, billable, messages).
async fn rows<H: Harness>(harness: &H, at: &str, categories: &[&str]) -> Vec<(String, String, bool, i64)> {
    month(harness, at)
        .await
        .rows
        .into_iter()
        .filter(|row| categories.contains(&row.category.as_str()))
        .map(
            |UsageRow {
                 category,
                 pricing_type,
                 billable,
                 messages,
             }| (category, pricing_type, billable, messages),
        )
        .collect()
}

async fn record<H: Harness>(harness: &H, status: &StatusRecord) -> crate::ports::StatusWritten {
    bounded(harness.store().record_status(status))
        .await
        .expect("status answered")
}

fn row(category: &str, pricing_type: &str, billable: bool, messages: i64) -> (String, String, bool, i64) {
    (category.to_owned(), pricing_type.to_owned(), billable, messages)
}

/// `sent`, `delivered` and `read` with pricing on the first two, each delivered twice (Meta's
/// redelivery: another request; SQS's: the same one): one message counted once; `read`, which
/// carries no pricing, answers with the pricing its message holds; the view and history show it.
pub async fn duplicated_statuses_count_a_message_once<H: Harness>(harness: &H) {
    let utility = category(harness, "usage-dup");
    let id = wamid(harness, "usage-dup");
    let price = pricing(&utility, "regular", true);
    // A contact of its own: its conversation lists this message only.
    let contact = format!("9726{}", fresh_digits(harness, "usage-contact", 8));
    let status = |status, pricing, at, request| StatusRecord {
        recipient_id: Some(contact.clone()),
        ..priced(&id, status, pricing, END_OF_JANUARY + at, request)
    };
    for (delivery, at) in [(DeliveryStatus::Sent, 0), (DeliveryStatus::Delivered, 5)] {
        for request in ["meta-1", "meta-2", "meta-2"] {
            let written = record(harness, &status(delivery, Some(price.clone()), at, request)).await;
            assert_eq!(written.pricing.as_ref(), Some(&price));
        }
    }
    let read = record(harness, &status(DeliveryStatus::Read, None, 9, "r")).await;
    assert_eq!(read.write, StatusWrite::Advanced);
    assert_eq!(
        read.pricing.as_ref(),
        Some(&price),
        "read keeps the delivered status's pricing"
    );
    assert_eq!(
        rows(harness, "2030-01", &[&utility]).await,
        [row(&utility, "regular", true, 1)]
    );
    let view = bounded(harness.store().view(id.as_str()))
        .await
        .expect("view")
        .expect("known");
    assert_eq!(view.pricing.as_ref(), Some(&price));
    let page = bounded(harness.store().conversation(&contact, 10, None))
        .await
        .expect("page");
    let listed = page.entries.iter().find(|e| e.wamid.as_deref() == Some(id.as_str()));
    assert_eq!(listed.and_then(|e| e.pricing.as_ref()), Some(&price));
}

/// `read` first, then `delivered`, then `sent` (both priced), and `delivered` again: counted once,
/// in the month of the first priced status that arrived.
pub async fn out_of_order_statuses_count_a_message_once<H: Harness>(harness: &H) {
    let service = category(harness, "usage-order");
    let id = wamid(harness, "usage-order");
    let price = pricing(&service, "free_customer_service", false);
    record(
        harness,
        &priced(&id, DeliveryStatus::Read, None, START_OF_FEBRUARY + 9, "r"),
    )
    .await;
    let delivered = priced(
        &id,
        DeliveryStatus::Delivered,
        Some(price.clone()),
        START_OF_FEBRUARY,
        "d",
    );
    assert_eq!(record(harness, &delivered).await.write, StatusWrite::Stale);
    let sent = priced(&id, DeliveryStatus::Sent, Some(price.clone()), END_OF_JANUARY, "s");
    assert_eq!(record(harness, &sent).await.pricing.as_ref(), Some(&price));
    record(harness, &delivered).await;
    assert_eq!(
        rows(harness, "2030-02", &[&service]).await,
        [row(&service, "free_customer_service", false, 1)]
    );
    assert_eq!(rows(harness, "2030-01", &[&service]).await, []);
}

/// Pricing that names another category on a later status moves the count (same month); the former
/// status again moves it back: always exactly one, where the item's latest pricing says.
pub async fn changed_pricing_moves_the_count<H: Harness>(harness: &H) {
    let (marketing, utility) = (category(harness, "usage-m"), category(harness, "usage-u"));
    let id = wamid(harness, "usage-move");
    let first = pricing(&marketing, "regular", true);
    let then = pricing(&utility, "regular", true);
    record(
        harness,
        &priced(&id, DeliveryStatus::Sent, Some(first.clone()), END_OF_JANUARY, "s"),
    )
    .await;
    let delivered = priced(
        &id,
        DeliveryStatus::Delivered,
        Some(then.clone()),
        START_OF_FEBRUARY,
        "d",
    );
    assert_eq!(record(harness, &delivered).await.pricing.as_ref(), Some(&then));
    // Counted in January, where it was first counted; now as utility.
    assert_eq!(
        rows(harness, "2030-01", &[&marketing, &utility]).await,
        [row(&utility, "regular", true, 1)]
    );
    assert_eq!(rows(harness, "2030-02", &[&marketing, &utility]).await, []);
    // The same `delivered` again changes nothing.
    record(harness, &delivered).await;
    assert_eq!(
        rows(harness, "2030-01", &[&marketing, &utility]).await,
        [row(&utility, "regular", true, 1)]
    );
    // `sent` again (a redelivery): its pricing is the latest now, and the count follows it.
    record(
        harness,
        &priced(&id, DeliveryStatus::Sent, Some(first.clone()), END_OF_JANUARY, "s"),
    )
    .await;
    assert_eq!(
        rows(harness, "2030-01", &[&marketing, &utility]).await,
        [row(&marketing, "regular", true, 1)]
    );
}

/// Messages on either side of a month's end are counted in their own months (UTC, by the status's
/// time), with the totals of each; an unpriced status counts nothing.
pub async fn months_are_counted_apart<H: Harness>(harness: &H) {
    let auth = category(harness, "usage-months");
    let billable = pricing(&auth, "regular", true);
    let free = pricing(&auth, "free_entry_point", false);
    for (key, price, at) in [
        ("jan-a", &billable, END_OF_JANUARY),
        ("jan-b", &free, END_OF_JANUARY),
        ("feb-a", &billable, START_OF_FEBRUARY),
        ("feb-b", &billable, START_OF_FEBRUARY + 60),
    ] {
        let id = wamid(harness, key);
        record(
            harness,
            &priced(&id, DeliveryStatus::Sent, Some(price.clone()), at, key),
        )
        .await;
    }
    let unpriced = wamid(harness, "feb-none");
    record(
        harness,
        &priced(&unpriced, DeliveryStatus::Sent, None, START_OF_FEBRUARY, "n"),
    )
    .await;
    assert_eq!(
        rows(harness, "2030-01", &[&auth]).await,
        [row(&auth, "free_entry_point", false, 1), row(&auth, "regular", true, 1)]
    );
    assert_eq!(
        rows(harness, "2030-02", &[&auth]).await,
        [row(&auth, "regular", true, 2)]
    );
    let february = month(harness, "2030-02").await;
    assert!(february.billable >= 2 && february.total == february.billable + february.free);
    // A month nobody wrote to: empty, not an error.
    assert_eq!(month(harness, "1999-01").await.total, 0);
}

/// The count's write refused (every try) fails the status write, and counts nothing; asked again
/// (SQS redelivers the record) it counts once. Its answer lost after it was applied: asked again,
/// still once.
pub async fn a_failed_count_is_made_once_on_the_retry<H: Harness>(harness: &H) {
    let cell = category(harness, "usage-fault");
    let price = pricing(&cell, "regular", true);
    let refused = wamid(harness, "usage-refused");
    let status = priced(&refused, DeliveryStatus::Sent, Some(price.clone()), END_OF_JANUARY, "f");
    harness.refuse(COUNT_USAGE, 0);
    assert!(bounded(harness.store().record_status(&status)).await.is_err());
    harness.calm();
    assert_eq!(rows(harness, "2030-01", &[&cell]).await, []);
    record(harness, &status).await;
    assert_eq!(
        rows(harness, "2030-01", &[&cell]).await,
        [row(&cell, "regular", true, 1)]
    );

    let lost = wamid(harness, "usage-lost");
    let status = priced(&lost, DeliveryStatus::Sent, Some(price.clone()), END_OF_JANUARY, "l");
    harness.lose(COUNT_USAGE, 0);
    let first = bounded(harness.store().record_status(&status)).await;
    harness.calm();
    if let Ok(first) = first {
        assert_eq!(first.pricing.as_ref(), Some(&price));
    }
    record(harness, &status).await;
    assert_eq!(
        rows(harness, "2030-01", &[&cell]).await,
        [row(&cell, "regular", true, 2)]
    );
}

/// Every usage case, in order.
pub async fn run_usage<H: Harness>(harness: &H) {
    duplicated_statuses_count_a_message_once(harness).await;
    out_of_order_statuses_count_a_message_once(harness).await;
    changed_pricing_moves_the_count(harness).await;
    months_are_counted_apart(harness).await;
    a_failed_count_is_made_once_on_the_retry(harness).await;
}
