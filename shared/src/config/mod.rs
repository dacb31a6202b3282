//! Configuration, read from the environment once at cold start and validated,
//! with one error that names everything missing or invalid.
//!
//! - [`env`]: [`Env`], the reader that collects every problem before failing.
//! - [`bounds`]: the limits settings are checked against (the worker's timeout, SQS's and S3's sizes).
//! - [`numbers`]: the business phone numbers and which numbers' webhook events the worker serves.
//! - one module per function kind: [`webhook`] (Meta's verification and ingestion), [`worker`],
//!   [`sender`] (the worker's sending side and its send policy), [`send_api`], [`twilio`] (the voice
//!   functions and the verification capture).

pub mod bounds;
pub mod env;
pub mod numbers;
pub mod send_api;
pub mod sender;
pub mod twilio;
pub mod webhook;
pub mod worker;

#[cfg(test)]
mod tests;

pub use crate::domain::secret::SecretVar;
pub use bounds::{
    MAX_GRAPH_TIMEOUT_MS, MAX_INLINE_LIMIT, MAX_MEDIA_BYTES, MAX_RECONCILE_SECONDS, MAX_RETENTION_DAYS,
    RECONCILE_STATUS_SECONDS, WORKER_AWS_CALL_SECONDS, WORKER_TIMEOUT_SECONDS,
};
pub use env::Env;
pub use numbers::business_numbers;
pub use send_api::{SendApiConfig, SendApiGraph};
pub use sender::{DEFAULT_GRAPH_API_VERSION, SenderConfig};
pub use twilio::{CallScript, TwilioConfig, VerificationConfig};
pub use webhook::{IngestConfig, VerifyConfig};
pub use worker::WorkerConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// A function's configuration: the secrets it needs, and how it is read once they are resolved.
pub trait FunctionConfig: Sized {
    /// Every secret variable this configuration reads.
    const SECRETS: &'static [SecretVar];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError>;
}
