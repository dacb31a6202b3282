//! The send API: its key, table, queue, business numbers and its own Graph API access (media uploads).

use super::bounds::MAX_RETENTION_DAYS;
use super::numbers::business_numbers;
use super::sender::DEFAULT_GRAPH_API_VERSION;
use super::{ConfigError, Env, FunctionConfig, SecretVar};
use crate::domain::records::BusinessNumbers;
use crate::domain::secret::Secret;

/// `POST /messages` and `GET /messages/{id}`.
#[derive(Debug, Clone)]
pub struct SendApiConfig {
    pub api_key: Secret,
    pub table_name: String,
    pub queue_url: String,
    /// Country code for national numbers (`050-…` → `97250…` with 972).
    pub default_country_code: Option<String>,
    /// The numbers a send may name as `from`; the first is the default. Empty: `from` is refused
    /// and every send goes out from the worker's default number.
    pub phone_numbers: BusinessNumbers,
    /// Days after which the send records expire through DynamoDB TTL (`RETENTION_DAYS`; 0: never).
    pub retention_days: u32,
    /// The payload bucket (`PAYLOAD_BUCKET`): history and `GET /messages/{id}` link the inbound
    /// media the worker keeps under `media/`, and `POST /media` reads files given by reference
    /// there. Unset: media entries carry no link and uploads by reference answer 503.
    pub media_bucket: Option<String>,
    /// The Graph API, for `POST /media` (absent when `WHATSAPP_ACCESS_TOKEN` is not set).
    pub graph: Option<SendApiGraph>,
    /// The number Meta's verification calls go to (`TWILIO_PHONE_NUMBER`): `GET /verification-codes`
    /// lists its codes when the request names no `number`.
    pub verification_number: Option<String>,
}

/// How the send API reaches the Graph API itself (media uploads).
#[derive(Debug, Clone)]
pub struct SendApiGraph {
    pub access_token: Secret,
    pub base_url: String,
    pub version: String,
    /// The WABA whose templates a template send is checked against (`WHATSAPP_BUSINESS_ACCOUNT_ID`).
    pub waba_id: Option<String>,
}

impl SendApiConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let api_key = env.secret("API_KEY");
        if !api_key.expose().is_empty() && api_key.expose().len() < 16 {
            env.problem("API_KEY must be at least 16 characters".to_owned());
        }
        let config = Self {
            api_key,
            table_name: env.required("TABLE_NAME"),
            queue_url: env.required("SEND_QUEUE_URL"),
            default_country_code: env.optional("DEFAULT_COUNTRY_CODE"),
            phone_numbers: business_numbers(&env),
            retention_days: env.bounded("RETENTION_DAYS", 0, 0..=MAX_RETENTION_DAYS),
            graph: env.optional("WHATSAPP_ACCESS_TOKEN").map(|_| SendApiGraph {
                access_token: env.secret("WHATSAPP_ACCESS_TOKEN"),
                base_url: env
                    .optional("GRAPH_API_BASE_URL")
                    .unwrap_or_else(|| "https://graph.facebook.com".to_owned()),
                version: env
                    .optional("GRAPH_API_VERSION")
                    .unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned()),
                waba_id: env.optional("WHATSAPP_BUSINESS_ACCOUNT_ID"),
            }),
            media_bucket: env.optional("PAYLOAD_BUCKET"),
            verification_number: env.optional("TWILIO_PHONE_NUMBER"),
        };
        env.finish(config)
    }
}

impl FunctionConfig for SendApiConfig {
    const SECRETS: &'static [SecretVar] = &[
        SecretVar::required("API_KEY"),
        SecretVar::optional("WHATSAPP_ACCESS_TOKEN"),
    ];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}
