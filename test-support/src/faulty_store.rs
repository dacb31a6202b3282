//! The bundle's DynamoDB store through the fault layer ([`crate::wire_faults`]), for the store
//! contract and the send property on the emulator.

use std::time::Duration;

use crate::wire_faults::{FaultPlan, faulty_sdk_config};

/// The SDK's attempts per call in [`faulty_dynamo_store`] (its standard retry mode): a fault meant to
/// fail a call is planned once per attempt.
pub const SDK_ATTEMPTS: u32 = 3;

/// The bundle's DynamoDB store on the emulator's table, its client through the fault layer with
/// `plan`, under the SDK's standard retry strategy ([`SDK_ATTEMPTS`]) with short backoffs.
pub async fn faulty_dynamo_store(
    emu: &crate::Emulator,
    plan: &FaultPlan,
) -> bridge::adapters::dynamodb::DynamoMessageStore {
    let sdk = faulty_sdk_config(emu.endpoint(), &emu.env["AWS_REGION"], plan.clone()).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(SDK_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .build();
    bridge::adapters::dynamodb::DynamoMessageStore::new(aws_sdk_dynamodb::Client::from_conf(config), emu.table(), 0)
}
