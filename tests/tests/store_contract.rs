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
