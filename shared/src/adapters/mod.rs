//! AWS implementations of the [`crate::ports`] traits, and the shared SDK set-up.

pub mod dynamodb;
pub mod eventbridge;
pub mod graph;
pub mod graph_blocklist;
pub mod graph_media;
pub mod graph_templates;
pub mod http;
pub mod presign;
pub mod s3;
pub mod secrets;
pub mod ses;
pub mod sigv4;
pub mod sqs;
pub mod ssm;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once, at cold start. Every call out gets bounded
/// timeouts so a slow dependency turns into a prompt 5xx (and a retry) instead of
/// a hung invocation. `AWS_ENDPOINT_URL` points every client at a local emulator.
pub async fn load_sdk_config() -> SdkConfig {
    load_sdk_config_within(Duration::from_secs(9)).await
}

/// As [`load_sdk_config`], with every call (retries included) bounded by `operation`.
/// The Twilio functions use a short one: Twilio gives a webhook 15 s in all.
pub async fn load_sdk_config_within(operation: Duration) -> SdkConfig {
    loader(operation).load().await
}

/// As [`load_sdk_config`], with a named profile of the shared config and credentials files (its credentials and
/// region) and/or a region instead of the environment's: the CLI's `--profile` and `--region`.
pub async fn load_sdk_config_for(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = loader(Duration::from_secs(9));
    if let Some(profile) = profile {
        // The profile's credentials, not the environment's (as the AWS CLI's --profile), through the same
        // HTTP client as every call (an assume-role profile calls STS).
        let provider_config =
            aws_config::provider_config::ProviderConfig::default().with_http_client(http::SdkHttpClient::default());
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

fn loader(operation: Duration) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http::SdkHttpClient::shared())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2).min(operation))
                .operation_attempt_timeout((operation / 2).max(Duration::from_millis(500)))
                .operation_timeout(operation)
                .build(),
        )
}

/// Full text of an SDK error (its `Display` alone is often just "service error").
/// SDK errors carry request ids and error codes, never credentials.
pub(crate) fn describe<E: std::error::Error>(error: &E) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(error).to_string()
}
