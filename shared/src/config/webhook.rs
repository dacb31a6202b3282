//! Meta's webhook functions: the verification handshake and ingestion.

use super::bounds::MAX_INLINE_LIMIT;
use super::{ConfigError, Env, FunctionConfig, SecretVar};
use crate::domain::envelope::DEFAULT_INLINE_LIMIT;
use crate::domain::secret::Secret;

/// `GET /webhooks/whatsapp`.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub verify_token: Secret,
}

impl VerifyConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let verify_token = env.secret("WHATSAPP_VERIFY_TOKEN");
        env.finish(Self { verify_token })
    }
}

/// `POST /webhooks/whatsapp`.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub app_secret: Secret,
    pub queue_url: String,
    /// Where payloads too large for one SQS message go (the claim check).
    pub payload_bucket: String,
    /// Bodies above this many bytes are offloaded to the bucket.
    pub inline_limit: usize,
}

impl IngestConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self {
            app_secret: env.secret("WHATSAPP_APP_SECRET"),
            queue_url: env.required("QUEUE_URL"),
            payload_bucket: env.required("PAYLOAD_BUCKET"),
            inline_limit: env.bounded("QUEUE_INLINE_LIMIT_BYTES", DEFAULT_INLINE_LIMIT, 0..=MAX_INLINE_LIMIT),
        };
        env.finish(config)
    }
}

impl FunctionConfig for VerifyConfig {
    const SECRETS: &'static [SecretVar] = &[SecretVar::required("WHATSAPP_VERIFY_TOKEN")];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}

impl FunctionConfig for IngestConfig {
    const SECRETS: &'static [SecretVar] = &[SecretVar::required("WHATSAPP_APP_SECRET")];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}
