//! Configuration, read from the environment once at cold start and validated,
//! with one error that names everything missing or invalid.

use crate::domain::envelope::DEFAULT_INLINE_LIMIT;

/// The longest retention a `*_RETENTION_DAYS` setting may ask for: 100 years (DynamoDB TTL is epoch
/// seconds; far larger values overflow the time arithmetic).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The largest body sent inline on SQS: its 1 MiB message limit less room for the attributes.
pub const MAX_INLINE_LIMIT: usize = 1_048_576 - 8 * 1024;
use crate::domain::records::PhoneNumberFilter;
use crate::domain::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// A secret environment variable a function reads (resolved at cold start by
/// [`crate::adapters::secrets::ResolvedSecrets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretVar {
    pub name: &'static str,
    /// Optional secrets may be absent: a missing parameter leaves the variable unset
    /// (the worker without an access token records but does not send).
    pub required: bool,
}

impl SecretVar {
    pub const fn required(name: &'static str) -> Self {
        Self { name, required: true }
    }

    pub const fn optional(name: &'static str) -> Self {
        Self { name, required: false }
    }
}

/// A function's configuration: the secrets it needs, and how it is read once they are resolved.
pub trait FunctionConfig: Sized {
    /// Every secret variable this configuration reads.
    const SECRETS: &'static [SecretVar];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError>;
}

/// Reads variables through `lookup` (the process environment in production, a map in tests)
/// and collects every problem before failing.
pub struct Env<F> {
    lookup: F,
    problems: Vec<String>,
}

impl Env<fn(&str) -> Option<String>> {
    pub fn from_process() -> Self {
        Env::new(|name: &str| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// A non-empty value, trimmed.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub fn required(&mut self, name: &str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.problems.push(format!("{name} is not set"));
            String::new()
        })
    }

    pub fn secret(&mut self, name: &str) -> Secret {
        Secret::new(self.required(name))
    }

    /// An optional number, `default` when unset.
    pub fn number<T: std::str::FromStr>(&mut self, name: &str, default: T) -> T {
        match self.optional(name) {
            None => default,
            Some(text) => text.parse().unwrap_or_else(|_| {
                self.problems.push(format!("{name} must be a number, got {text:?}"));
                default
            }),
        }
    }

    /// An optional number within `range` (inclusive), `default` when unset; out of range or not a
    /// number is a problem naming the variable.
    pub fn bounded<T>(&mut self, name: &str, default: T, range: std::ops::RangeInclusive<T>) -> T
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let value = self.number(name, default);
        if range.contains(&value) {
            value
        } else {
            self.problems.push(format!(
                "{name} must be between {} and {}, got {value}",
                range.start(),
                range.end()
            ));
            default
        }
    }

    /// A comma-separated list; empty when unset.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

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

/// The queue worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub table_name: String,
    /// Phone number ids this deployment serves (`ALLOWED_PHONE_NUMBER_IDS`, comma-separated; empty: all).
    pub phone_numbers: PhoneNumberFilter,
    /// Days after which stored items expire through DynamoDB TTL (`RETENTION_DAYS`; 0: never).
    pub retention_days: u32,
    /// The queues the worker reads (`QUEUE_URL`, `SEND_QUEUE_URL`), to hand a record back to the
    /// one it came from with a delay.
    pub queue_urls: Vec<String>,
    /// Where raw events too large for a table item go (`PAYLOAD_BUCKET`, the claim check's bucket);
    /// `None`: such an event fails.
    pub payload_bucket: Option<String>,
}

impl WorkerConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self {
            queue_urls: ["QUEUE_URL", "SEND_QUEUE_URL"]
                .into_iter()
                .filter_map(|name| env.optional(name))
                .collect(),
            table_name: env.required("TABLE_NAME"),
            phone_numbers: PhoneNumberFilter::new(env.list("ALLOWED_PHONE_NUMBER_IDS")),
            retention_days: env.bounded("RETENTION_DAYS", 0, 0..=MAX_RETENTION_DAYS),
            payload_bucket: env.optional("PAYLOAD_BUCKET"),
        };
        env.finish(config)
    }
}

/// What the Twilio functions say and listen for on Meta's verification call.
#[derive(Debug, Clone)]
pub struct CallScript {
    /// Spoken before listening; empty by default so nothing talks over Meta's robot.
    pub prompt: Option<String>,
    /// Twilio `<Say>` voice (e.g. `Polly.Joanna`).
    pub voice: Option<String>,
    /// Speech recognition language.
    pub language: String,
    /// Listening rounds before falling back to a recording.
    pub max_attempts: u32,
}

/// `POST /twilio/voice` (and the Twilio part of the gather function).
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub auth_token: Secret,
    /// Every auth token a signature may be made with: `TWILIO_AUTH_TOKEN`, then
    /// `TWILIO_SECONDARY_AUTH_TOKEN` while a rotation is under way.
    pub auth_tokens: Vec<Secret>,
    /// The Webhook Rule shared keys a signature may be made with (announced by the
    /// `X-Twilio-Webhooks-Signature-Settings` header): `TWILIO_WEBHOOK_SHARED_KEY`, then
    /// `TWILIO_WEBHOOK_SHARED_KEY_SECONDARY` during a key rotation; empty when none is configured.
    pub shared_keys: Vec<Secret>,
    /// The public origin Twilio calls (`https://api.example.com`), without a trailing slash.
    /// `None`: rebuilt from API Gateway's domain name, which misses custom-domain base paths.
    pub public_base_url: Option<String>,
    pub script: CallScript,
}

impl TwilioConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        let public_base_url = env
            .optional("PUBLIC_BASE_URL")
            .map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            env.problem(format!("PUBLIC_BASE_URL must start with https:// (got {url:?})"));
        }
        let max_attempts = env.number("VOICE_MAX_ATTEMPTS", 3u32);
        if max_attempts == 0 {
            env.problem("VOICE_MAX_ATTEMPTS must be at least 1".to_owned());
        }
        let auth_token = env.secret("TWILIO_AUTH_TOKEN");
        let auth_tokens = std::iter::once(auth_token.clone())
            .chain(env.optional("TWILIO_SECONDARY_AUTH_TOKEN").map(Secret::new))
            .collect();
        let shared_keys = ["TWILIO_WEBHOOK_SHARED_KEY", "TWILIO_WEBHOOK_SHARED_KEY_SECONDARY"]
            .into_iter()
            .filter_map(|name| env.optional(name).map(Secret::new))
            .collect();
        Self {
            auth_token,
            auth_tokens,
            shared_keys,
            public_base_url,
            script: CallScript {
                prompt: env.optional("VOICE_PROMPT"),
                voice: env.optional("VOICE_NAME"),
                language: env.optional("VOICE_LANGUAGE").unwrap_or_else(|| "en-US".to_owned()),
                max_attempts,
            },
        }
    }

    /// The secrets a webhook's signature is checked against.
    pub fn signing_secrets(&self) -> crate::domain::twilio_signature::SigningSecrets<'_> {
        crate::domain::twilio_signature::SigningSecrets {
            auth_tokens: &self.auth_tokens,
            shared_keys: &self.shared_keys,
        }
    }

    pub fn voice_from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self::from_env(&mut env);
        env.finish(config)
    }
}

/// `POST /twilio/voice`.
impl FunctionConfig for TwilioConfig {
    const SECRETS: &'static [SecretVar] = &[
        SecretVar::required("TWILIO_AUTH_TOKEN"),
        SecretVar::optional("TWILIO_SECONDARY_AUTH_TOKEN"),
        SecretVar::optional("TWILIO_WEBHOOK_SHARED_KEY"),
        SecretVar::optional("TWILIO_WEBHOOK_SHARED_KEY_SECONDARY"),
    ];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::voice_from_env(env)
    }
}

/// `POST /twilio/gather` and `/twilio/recording`: capture, record, email.
#[derive(Debug, Clone)]
pub struct VerificationConfig {
    pub twilio: TwilioConfig,
    pub table_name: String,
    pub email_from: String,
    pub email_to: Vec<String>,
    /// Days a captured code is kept (DynamoDB TTL).
    pub code_retention_days: u32,
}

impl VerificationConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let twilio = TwilioConfig::from_env(&mut env);
        let email_from = env.required("VERIFICATION_EMAIL_FROM");
        let email_to = env.list("VERIFICATION_EMAIL_TO");
        if email_to.is_empty() {
            env.problem("VERIFICATION_EMAIL_TO is not set".to_owned());
        }
        for address in std::iter::once(&email_from).chain(&email_to) {
            if !address.is_empty() && !looks_like_email(address) {
                env.problem(format!("{address:?} is not an email address"));
            }
        }
        let config = Self {
            twilio,
            table_name: env.required("TABLE_NAME"),
            email_from,
            email_to,
            code_retention_days: env.bounded("CODE_RETENTION_DAYS", 30, 0..=MAX_RETENTION_DAYS),
        };
        env.finish(config)
    }
}

impl FunctionConfig for VerificationConfig {
    const SECRETS: &'static [SecretVar] = TwilioConfig::SECRETS;

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}

fn looks_like_email(address: &str) -> bool {
    let mut parts = address.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
}

/// `POST /messages` and `GET /messages/{id}`.
#[derive(Debug, Clone)]
pub struct SendApiConfig {
    pub api_key: Secret,
    pub table_name: String,
    pub queue_url: String,
    /// Country code for national numbers (`050-…` → `97250…` with 972).
    pub default_country_code: Option<String>,
    /// Days after which the send records expire through DynamoDB TTL (`RETENTION_DAYS`; 0: never).
    pub retention_days: u32,
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
            retention_days: env.bounded("RETENTION_DAYS", 0, 0..=MAX_RETENTION_DAYS),
        };
        env.finish(config)
    }
}

impl FunctionConfig for SendApiConfig {
    const SECRETS: &'static [SecretVar] = &[SecretVar::required("API_KEY")];

    fn read<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}

/// The worker's sending side (absent when `WHATSAPP_ACCESS_TOKEN` is not set).
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub access_token: Secret,
    pub phone_number_id: String,
    pub graph_base_url: String,
    pub graph_version: String,
    /// The most one Graph API call may take (`GRAPH_TIMEOUT_MS`, default 10 s).
    pub graph_timeout: std::time::Duration,
    /// Sends per second per worker instance.
    pub messages_per_second: u32,
    pub auto_reply_text: Option<String>,
    /// `MARK_AS_READ=true`: mark inbound messages as read.
    pub mark_as_read: bool,
    /// The send queue (`SEND_QUEUE_URL`): auto-replies and deferred send outcomes go there.
    pub send_queue_url: String,
    /// A claim older than this has lost its holder (`SEND_CLAIM_LEASE_SECONDS`, default 60:
    /// twice the worker's 30 s timeout, so a live holder is never taken over).
    pub claim_lease_seconds: u32,
    /// How long an unknown outcome waits for a status webhook before its one resend
    /// (`SEND_RECONCILE_SECONDS`, default 900 = 15 minutes).
    pub reconcile_after_seconds: u32,
    /// The send queue's `maxReceiveCount` (`SEND_MAX_RECEIVES`, default 10).
    pub max_receives: u32,
    /// At most one message per `SEND_PACE_SECONDS` (default 6) to one recipient, after a burst of
    /// `SEND_PACE_BURST` (default 45: Meta's pair rate allowance); `SEND_PACE_SECONDS=0`: off.
    pub pace: Option<crate::ports::Pace>,
}

impl SenderConfig {
    /// The access token is optional: without it the worker records but does not send.
    pub const SECRETS: &[SecretVar] = &[SecretVar::optional("WHATSAPP_ACCESS_TOKEN")];

    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Option<Self>, ConfigError> {
        if env.optional("WHATSAPP_ACCESS_TOKEN").is_none() {
            return env.finish(None);
        }
        let messages_per_second = env.number("SEND_RATE_PER_SECOND", 20u32);
        if messages_per_second == 0 {
            env.problem("SEND_RATE_PER_SECOND must be at least 1".to_owned());
        }
        let graph_timeout_ms = env.number("GRAPH_TIMEOUT_MS", 10_000u64);
        if !(100..=20_000).contains(&graph_timeout_ms) {
            env.problem("GRAPH_TIMEOUT_MS must be between 100 and 20000".to_owned());
        }
        let claim_lease_seconds = env.number("SEND_CLAIM_LEASE_SECONDS", 60u32);
        if claim_lease_seconds < 31 {
            env.problem("SEND_CLAIM_LEASE_SECONDS must exceed the worker's 30 s timeout".to_owned());
        }
        let max_receives = env.number("SEND_MAX_RECEIVES", 10u32);
        if max_receives < 2 {
            env.problem("SEND_MAX_RECEIVES must be at least 2".to_owned());
        }
        let config = Self {
            access_token: env.secret("WHATSAPP_ACCESS_TOKEN"),
            phone_number_id: env.required("WHATSAPP_PHONE_NUMBER_ID"),
            graph_base_url: env
                .optional("GRAPH_API_BASE_URL")
                .unwrap_or_else(|| "https://graph.facebook.com".to_owned()),
            graph_version: env.optional("GRAPH_API_VERSION").unwrap_or_else(|| "v21.0".to_owned()),
            graph_timeout: std::time::Duration::from_millis(graph_timeout_ms),
            messages_per_second,
            auto_reply_text: env.optional("AUTO_REPLY_TEXT"),
            mark_as_read: env
                .optional("MARK_AS_READ")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes")),
            send_queue_url: env.required("SEND_QUEUE_URL"),
            claim_lease_seconds,
            reconcile_after_seconds: env.number("SEND_RECONCILE_SECONDS", 900u32),
            max_receives,
            pace: match env.bounded("SEND_PACE_SECONDS", 6i64, 0..=86_400) {
                0 => None,
                seconds => Some(crate::ports::Pace {
                    interval_ms: seconds.max(0) * 1000,
                    burst: env.number("SEND_PACE_BURST", 45u32).max(1),
                }),
            },
        };
        env.finish(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env::new(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn names_every_missing_variable_and_no_secret() {
        let err = IngestConfig::from_env(env(&[
            ("WHATSAPP_APP_SECRET", "s3cr3t"),
            ("QUEUE_INLINE_LIMIT_BYTES", "x"),
        ]))
        .expect_err("incomplete");
        let text = err.to_string();
        assert!(text.contains("QUEUE_URL is not set"), "{text}");
        assert!(text.contains("PAYLOAD_BUCKET is not set"), "{text}");
        assert!(text.contains("QUEUE_INLINE_LIMIT_BYTES must be a number"), "{text}");
        assert!(!text.contains("s3cr3t"));
    }

    #[test]
    fn verification_config_checks_addresses_and_url() {
        let err = VerificationConfig::from_env(env(&[
            ("TWILIO_AUTH_TOKEN", "tok"),
            ("PUBLIC_BASE_URL", "api.example.com"),
            ("VERIFICATION_EMAIL_FROM", "not-an-address"),
            ("TABLE_NAME", "t"),
        ]))
        .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("PUBLIC_BASE_URL must start with https://"), "{text}");
        assert!(text.contains("VERIFICATION_EMAIL_TO is not set"), "{text}");
        assert!(text.contains("\"not-an-address\" is not an email address"), "{text}");

        let config = VerificationConfig::from_env(env(&[
            ("TWILIO_AUTH_TOKEN", "tok"),
            ("PUBLIC_BASE_URL", "https://api.example.com/"),
            ("VERIFICATION_EMAIL_FROM", "verify@example.com"),
            ("VERIFICATION_EMAIL_TO", "a@example.com, b@example.com"),
            ("TABLE_NAME", "t"),
        ]))
        .expect("valid");
        assert_eq!(
            config.twilio.public_base_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            config.email_to,
            vec!["a@example.com".to_owned(), "b@example.com".to_owned()]
        );
        assert_eq!(config.twilio.script.max_attempts, 3);
        assert_eq!(config.twilio.script.prompt, None);
    }

    #[test]
    fn blank_values_count_as_missing() {
        let err = VerifyConfig::from_env(env(&[("WHATSAPP_VERIFY_TOKEN", "  ")])).expect_err("blank");
        assert_eq!(err.problems, vec!["WHATSAPP_VERIFY_TOKEN is not set".to_owned()]);
    }

    #[test]
    fn reads_a_complete_worker_config() {
        let config = WorkerConfig::from_env(env(&[
            ("TABLE_NAME", "messages"),
            ("ALLOWED_PHONE_NUMBER_IDS", " 111, ,222 "),
            ("RETENTION_DAYS", "30"),
        ]))
        .expect("complete");
        assert_eq!(config.table_name, "messages");
        assert_eq!(
            config.phone_numbers,
            PhoneNumberFilter::new(["111".to_owned(), "222".to_owned()])
        );
        assert!(config.phone_numbers.serves(Some("222")));
        assert!(!config.phone_numbers.serves(Some("333")));
        assert_eq!(config.retention_days, 30);
    }

    #[test]
    fn retention_and_size_settings_are_bounded_and_named() {
        let err = WorkerConfig::from_env(env(&[("TABLE_NAME", "t"), ("RETENTION_DAYS", "4294967295")]))
            .expect_err("out of range");
        assert_eq!(
            err.problems,
            vec!["RETENTION_DAYS must be between 0 and 36500, got 4294967295".to_owned()]
        );
        let err = SendApiConfig::from_env(env(&[
            ("API_KEY", "0123456789abcdef"),
            ("TABLE_NAME", "t"),
            ("SEND_QUEUE_URL", "q"),
            ("RETENTION_DAYS", "100000"),
        ]))
        .expect_err("out of range");
        assert!(
            err.to_string().contains("RETENTION_DAYS must be between 0 and 36500"),
            "{err}"
        );
        let err = IngestConfig::from_env(env(&[
            ("WHATSAPP_APP_SECRET", "s"),
            ("QUEUE_URL", "q"),
            ("PAYLOAD_BUCKET", "b"),
            ("QUEUE_INLINE_LIMIT_BYTES", "2000000"),
        ]))
        .expect_err("above SQS's limit");
        assert!(
            err.to_string()
                .contains("QUEUE_INLINE_LIMIT_BYTES must be between 0 and 1040384"),
            "{err}"
        );
        let err = VerificationConfig::from_env(env(&[
            ("TWILIO_AUTH_TOKEN", "tok"),
            ("VERIFICATION_EMAIL_FROM", "verify@example.com"),
            ("VERIFICATION_EMAIL_TO", "a@example.com"),
            ("TABLE_NAME", "t"),
            ("CODE_RETENTION_DAYS", "99999999"),
        ]))
        .expect_err("out of range");
        assert!(
            err.to_string()
                .contains("CODE_RETENTION_DAYS must be between 0 and 36500"),
            "{err}"
        );

        // The bounds themselves are accepted, and the send API reads RETENTION_DAYS.
        let config = SendApiConfig::from_env(env(&[
            ("API_KEY", "0123456789abcdef"),
            ("TABLE_NAME", "t"),
            ("SEND_QUEUE_URL", "q"),
            ("RETENTION_DAYS", "36500"),
        ]))
        .expect("in range");
        assert_eq!(config.retention_days, 36_500);
    }
}
