//! AWS implementations of the [`crate::ports`] traits, and the shared SDK set-up.

pub mod dynamodb;
pub mod s3;
pub mod sqs;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once, at cold start. Every call out gets bounded
/// timeouts so a slow dependency turns into a prompt 5xx (and a retry) instead of
/// a hung invocation. `AWS_ENDPOINT_URL` points every client at a local emulator.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(9))
                .build(),
        )
        .load()
        .await
}

/// Full text of an SDK error (its `Display` alone is often just "service error").
/// SDK errors carry request ids and error codes, never credentials.
pub(crate) fn describe<E: std::error::Error>(error: &E) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(error).to_string()
}
