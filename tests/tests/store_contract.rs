//! The store contract (`bridge::testing::contract`) on the DynamoDB adapter against the emulator,
//! through the fault layer at the SDK's HTTP layer: the same cases the in-memory fakes pass.

#![allow(clippy::unwrap_used)]

use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::testing::contract::{self, Harness, Write};
use integration_tests::*;

struct DynamoHarness {
    store: DynamoMessageStore,
    plan: FaultPlan,
}

impl DynamoHarness {
    async fn new() -> Self {
        let emu = Emulator::connect().await;
        let plan = FaultPlan::new();
        Self {
            store: faulty_dynamo_store(&emu, &plan).await,
            plan,
        }
    }
}

impl Harness for DynamoHarness {
    type Store = DynamoMessageStore;
    type Verification = DynamoMessageStore;

    fn store(&self) -> &DynamoMessageStore {
        &self.store
    }

    fn verification(&self) -> &DynamoMessageStore {
        &self.store
    }

    fn advance(&self, seconds: i64) {
        self.store.advance_clock(seconds);
    }

    fn lose(&self, write: Write, after: usize) {
        self.plan.fail_after(write.wire, after, WireFault::AppliedThenLost);
    }

    fn refuse(&self, write: Write, after: usize) {
        self.plan.fail_after(write.wire, after, WireFault::Refused);
        self.plan
            .fail_next(write.wire, SDK_ATTEMPTS as usize - 1, WireFault::Refused);
    }

    fn hang(&self, write: Write, after: usize) {
        self.plan.fail_after(write.wire, after, WireFault::Hang);
    }

    fn calm(&self) {
        self.plan.clear();
    }

    fn unique(&self, prefix: &str) -> String {
        unique(prefix)
    }
}

#[tokio::test]
async fn the_dynamodb_adapter_keeps_the_store_contract() {
    let harness = DynamoHarness::new().await;
    contract::run_all(&harness).await;
    // The faults were met on the wire, not only planned.
    assert!(harness.plan.faulted("UpdateItem") > 0, "{}", harness.plan.summary());
    assert!(harness.plan.faulted("PutItem") > 0, "{}", harness.plan.summary());
    // The usage count's transaction, refused and its answer lost.
    assert!(
        harness.plan.faulted("TransactWriteItems") >= 2,
        "{}",
        harness.plan.summary()
    );
}

/// The usage count's transaction applied and its answer lost: the SDK sends it again, the emulator
/// (no `ClientRequestToken` memory) cancels it on its condition, and the adapter reads the message
/// counted: the status write answers (no error), the message counted once. A transaction the table
/// refuses on every try fails the write (the record is redelivered).
#[tokio::test]
async fn a_cancelled_retry_of_the_usage_transaction_is_recognised_as_done() {
    use bridge::domain::ids::{PhoneNumberId, Wamid};
    use bridge::domain::records::{Received, StatusRecord};
    use bridge::domain::status::DeliveryStatus;
    use bridge::ports::{MessageStore, UsageStore};

    let harness = DynamoHarness::new().await;
    let digits: String = unique("usage").bytes().map(|b| char::from(b'0' + b % 10)).collect();
    let category = format!("c{}", &digits[digits.len() - 12..]);
    let status = StatusRecord {
        wamid: Wamid::new(unique("wamid.usage-lost")),
        status_name: "sent".to_owned(),
        status: Some(DeliveryStatus::Sent),
        timestamp: Some(1_896_134_340),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        recipient_id: Some("972504370045".to_owned()),
        recipient_user_id: None,
        conversation: None,
        pricing: Some(
            serde_json::json!({"billable": true, "pricing_model": "PMP", "category": category, "type": "regular"}),
        ),
        errors: Vec::new(),
        biz_opaque_callback_data: None,
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: unique("req"),
        },
    };
    harness
        .plan
        .fail_next("TransactWriteItems", 1, WireFault::AppliedThenLost);
    let written = harness
        .store
        .record_status(&status)
        .await
        .expect("the lost answer is retried and recognised");
    assert_eq!(written.write, bridge::ports::StatusWrite::Advanced);
    assert_eq!(
        harness.plan.faulted("TransactWriteItems"),
        1,
        "{}",
        harness.plan.summary()
    );
    let counted = |month: bridge::domain::usage::UsageMonth| {
        month
            .rows
            .iter()
            .filter(|row| row.category == category)
            .map(|row| row.messages)
            .sum::<i64>()
    };
    assert_eq!(counted(harness.store.usage("2030-01").await.unwrap()), 1);

    let refused = StatusRecord {
        wamid: Wamid::new(unique("wamid.usage-refused")),
        ..status.clone()
    };
    harness
        .plan
        .fail_next("TransactWriteItems", SDK_ATTEMPTS as usize, WireFault::Refused);
    assert!(harness.store.record_status(&refused).await.is_err());
    assert_eq!(counted(harness.store.usage("2030-01").await.unwrap()), 1);
    harness.plan.clear();
    harness.store.record_status(&refused).await.unwrap();
    assert_eq!(counted(harness.store.usage("2030-01").await.unwrap()), 2);
}
