//! The store contract (`bridge::testing::contract`) on the DynamoDB adapter against the emulator,
//! through the fault layer at the SDK's HTTP layer: the same cases the in-memory fakes pass.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::testing::contract::{self, Harness, Write};
use integration_tests::*;

/// The SDK's attempts per call (its standard retry mode): a refusal is planned for each.
const SDK_ATTEMPTS: u32 = 3;

struct DynamoHarness {
    store: DynamoMessageStore,
    plan: FaultPlan,
}

impl DynamoHarness {
    async fn new() -> Self {
        let emu = Emulator::connect().await;
        let plan = FaultPlan::new();
        let sdk = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone()).await;
        // The SDK's own retry strategy (standard, 3 attempts), with short backoffs: the test's time.
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(SDK_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(20)),
            )
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        Self {
            store: DynamoMessageStore::new(client, emu.table(), 0),
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
}
