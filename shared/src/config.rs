//! Configuration, read from the environment once at cold start and validated,
//! with one error that names everything missing or invalid.

use crate::domain::envelope::DEFAULT_INLINE_LIMIT;
use crate::domain::media::META_MAX_MEDIA_BYTES;

use crate::domain::records::{BusinessNumbers, PhoneNumberFilter};
use crate::domain::secret::Secret;
use crate::domain::spoken_code::CodeLanguage;

/// The longest retention a `*_RETENTION_DAYS` setting may ask for: 100 years (DynamoDB TTL is epoch
/// seconds; far larger values overflow the time arithmetic).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The most `MEDIA_MAX_BYTES` may say: S3's limit for one `PutObject`, 5 GiB.
pub const MAX_MEDIA_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The largest body sent inline on SQS: its 1 MiB message limit less room for the attributes.
pub const MAX_INLINE_LIMIT: usize = 1_048_576 - 8 * 1024;

/// The queue worker's Lambda timeout (template.yaml's `QueueWorkerFunction` `Timeout`; a test keeps
/// them equal). The send settings are checked against it.
pub const WORKER_TIMEOUT_SECONDS: u32 = 30;

/// The bound of each AWS call of the worker, in seconds (`handlers::worker::WORKER_AWS_CALL_TIMEOUT`;
/// a test keeps them equal).
pub const WORKER_AWS_CALL_SECONDS: u32 = 4;

/// The longest `GRAPH_TIMEOUT_MS`. The worker starts a send only while the invocation has its send
/// budget left (`SendPolicy::send_budget`: the Graph call plus 3 AWS calls: the claim, the outcome
/// and its fallback), and checks that budget twice: before the pacing call and again after the
/// claim. A send that passes the first check must pass the second even when the pacing call and the
/// claim take their whole bound, so the budget plus those two calls fits in the timeout:
/// GRAPH_TIMEOUT_MS + 5 × 4 s ≤ 30 s. Longer, a claimed message can be given back for want of time
/// (each time costing one of the send queue's receives); from 18 s on, no send ever starts.
pub const MAX_GRAPH_TIMEOUT_MS: u64 = (WORKER_TIMEOUT_SECONDS as u64 - 5 * WORKER_AWS_CALL_SECONDS as u64) * 1000;

/// The least time an unknown outcome waits for its status webhooks before its one resend, counted
/// from the last moment Meta could have taken the first copy. Meta's status webhooks normally arrive
/// within seconds of the send; 60 s also covers the events queue's batching and a short backlog.
/// (Meta retries a webhook it could not deliver for hours: the default window, 900 s, is a choice
/// between a late resend and a duplicate, not this floor.)
pub const RECONCILE_STATUS_SECONDS: u32 = 60;

/// The longest `SEND_RECONCILE_SECONDS`: 12 h, the longest a job can wait on the send queue at once
/// (SQS's longest visibility timeout). Longer, the wait for the resend spends several of the queue's
/// receives and the job can reach the dead-letter queue before the resend.
pub const MAX_RECONCILE_SECONDS: u32 = 43_200;

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
    /// The event bus the worker publishes on (`EVENT_BUS_NAME`, a name or an ARN); unset: no events.
    pub event_bus_name: Option<String>,
    /// `EVENTS_INCLUDE_VERIFICATION_CODE=true`: `verification.code_captured` carries the code (default: not).
    pub events_include_verification_code: bool,
    /// Where raw events too large for a table item go (`PAYLOAD_BUCKET`, the claim check's bucket);
    /// `None`: such an event fails.
    pub payload_bucket: Option<String>,
    /// The events queue (`QUEUE_URL`): the worker queues its media jobs there.
    pub events_queue_url: Option<String>,
    /// Inbound media larger than this is not kept (a media error): `MEDIA_MAX_BYTES`, default Meta's
    /// largest (100 MB documents); 0 keeps no media at all.
    pub media_max_bytes: u64,
    /// The events queue's `maxReceiveCount` (`QUEUE_MAX_RECEIVES`, default 5): a media job that still fails
    /// on that receive is recorded as a media error.
    pub queue_max_receives: u32,
}

impl WorkerConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self {
            queue_urls: ["QUEUE_URL", "SEND_QUEUE_URL"]
                .into_iter()
                .filter_map(|name| env.optional(name))
                .collect(),
            table_name: env.required("TABLE_NAME"),
            phone_numbers: match env.list("ALLOWED_PHONE_NUMBER_IDS") {
                allowed if !allowed.is_empty() => PhoneNumberFilter::new(allowed),
                _ => business_numbers(&env).filter(),
            },
            retention_days: env.bounded("RETENTION_DAYS", 0, 0..=MAX_RETENTION_DAYS),
            event_bus_name: env.optional("EVENT_BUS_NAME"),
            events_include_verification_code: include_verification_code(&env),
            payload_bucket: env.optional("PAYLOAD_BUCKET"),
            events_queue_url: env.optional("QUEUE_URL"),
            media_max_bytes: env.bounded("MEDIA_MAX_BYTES", META_MAX_MEDIA_BYTES, 0..=MAX_MEDIA_BYTES),
            queue_max_receives: env.bounded("QUEUE_MAX_RECEIVES", 5, 1..=1000),
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
    /// Speech recognition language (`<Gather language>`), a BCP-47 tag such as `en-US` or `pt-BR`
    /// (`VOICE_LANGUAGE`; a Meta locale such as `pt_BR` is accepted and written `pt-BR`).
    pub language: String,
    /// Which number words the spoken-code extraction reads: the language of [`Self::language`].
    pub code_language: CodeLanguage,
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
        let language = env
            .optional("VOICE_LANGUAGE")
            .map(|tag| tag.trim().replace('_', "-"))
            .unwrap_or_else(|| "en-US".to_owned());
        if language.is_empty() || !language.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            env.problem(format!(
                "VOICE_LANGUAGE must be a language tag such as en-US or pt-BR (got {language:?})"
            ));
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
                code_language: CodeLanguage::from_tag(&language),
                language,
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
    /// The event bus for `verification.code_captured` (`EVENT_BUS_NAME`); unset: no events.
    pub event_bus_name: Option<String>,
    /// `EVENTS_INCLUDE_VERIFICATION_CODE=true`: the event carries the code (default: not).
    pub events_include_verification_code: bool,
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
            event_bus_name: env.optional("EVENT_BUS_NAME"),
            events_include_verification_code: include_verification_code(&env),
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

/// `EVENTS_INCLUDE_VERIFICATION_CODE`: `true`, `1` or `yes` puts the code in the event; anything else
/// (or unset) keeps it out.
fn include_verification_code<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> bool {
    env.optional("EVENTS_INCLUDE_VERIFICATION_CODE")
        .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes"))
}

fn looks_like_email(address: &str) -> bool {
    let mut parts = address.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
}

/// The business phone number ids served: `WHATSAPP_PHONE_NUMBER_ID` (alone: a one-number
/// deployment) first, then `WHATSAPP_PHONE_NUMBER_IDS` (comma-separated).
pub fn business_numbers<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> BusinessNumbers {
    BusinessNumbers::new(
        env.optional("WHATSAPP_PHONE_NUMBER_ID")
            .into_iter()
            .chain(env.list("WHATSAPP_PHONE_NUMBER_IDS")),
    )
}

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

/// The Graph API version requests use unless `GRAPH_API_VERSION` says otherwise: the newest one
/// Meta documents (v26.0, introduced 29 July 2026: developers.facebook.com/docs/graph-api/changelog),
/// whose send endpoint the local stand-in (`local/src/graph_standin`) answers. The template's
/// `GraphApiVersion` default, local.env and the CLI use this one value (a test keeps them equal).
pub const DEFAULT_GRAPH_API_VERSION: &str = "v26.0";

/// The worker's sending side (absent when `WHATSAPP_ACCESS_TOKEN` is not set).
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub access_token: Secret,
    /// The numbers it sends from (one token for all); the first is the default.
    pub phone_numbers: BusinessNumbers,
    pub graph_base_url: String,
    pub graph_version: String,
    /// The most one Graph API call may take (`GRAPH_TIMEOUT_MS`, default and at most
    /// [`MAX_GRAPH_TIMEOUT_MS`], 10 s).
    pub graph_timeout: std::time::Duration,
    /// Sends per second per worker instance.
    pub messages_per_second: u32,
    pub auto_reply_text: Option<String>,
    /// `MARK_AS_READ=true`: mark inbound messages as read.
    pub mark_as_read: bool,
    /// `TYPING_INDICATOR=true` (with `MARK_AS_READ`): the read receipt also shows Meta's typing
    /// indicator, for deployments whose own application answers each message.
    pub typing_indicator: bool,
    /// The send queue (`SEND_QUEUE_URL`): auto-replies and deferred send outcomes go there.
    pub send_queue_url: String,
    /// A claim older than this has lost its holder (`SEND_CLAIM_LEASE_SECONDS`, default 60:
    /// twice the worker's 30 s timeout, so a live holder is never taken over; more than 30).
    pub claim_lease_seconds: u32,
    /// How long an unknown outcome waits for a status webhook before its one resend
    /// (`SEND_RECONCILE_SECONDS`, default 900 = 15 minutes; from the lease + 60 s to 12 h).
    pub reconcile_after_seconds: u32,
    /// The send queue's `maxReceiveCount` (`SEND_MAX_RECEIVES`, default 10; 2 to 1000).
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
        if !(100..=MAX_GRAPH_TIMEOUT_MS).contains(&graph_timeout_ms) {
            env.problem(format!(
                "GRAPH_TIMEOUT_MS must be between 100 and {MAX_GRAPH_TIMEOUT_MS}, got {graph_timeout_ms}: \
                 the worker's send budget (GRAPH_TIMEOUT_MS + 3 × its {WORKER_AWS_CALL_SECONDS} s AWS call \
                 bound) and the pacing call and claim before it ({WORKER_AWS_CALL_SECONDS} s each) must \
                 fit in its {WORKER_TIMEOUT_SECONDS} s timeout"
            ));
        }
        // A live holder is never taken over: its invocation ends before its claim lapses.
        let claim_lease_seconds = env.number("SEND_CLAIM_LEASE_SECONDS", 60u32);
        if claim_lease_seconds <= WORKER_TIMEOUT_SECONDS {
            env.problem(format!(
                "SEND_CLAIM_LEASE_SECONDS must exceed the worker's {WORKER_TIMEOUT_SECONDS} s timeout, \
                 got {claim_lease_seconds}"
            ));
        }
        // The reconcile window runs from the claim (a lapsed one too): it outlasts the lease by
        // RECONCILE_STATUS_SECONDS, so a lapsed claim is resent only after its own status webhooks
        // had that long (and an ambiguous answer, at least twice that).
        let reconcile_after_seconds = env.number("SEND_RECONCILE_SECONDS", 900u32);
        let least_reconcile = claim_lease_seconds.saturating_add(RECONCILE_STATUS_SECONDS);
        if reconcile_after_seconds < least_reconcile {
            env.problem(format!(
                "SEND_RECONCILE_SECONDS must be at least SEND_CLAIM_LEASE_SECONDS + {RECONCILE_STATUS_SECONDS} \
                 ({least_reconcile}), got {reconcile_after_seconds}: an unknown outcome is resent only after \
                 its status webhooks had {RECONCILE_STATUS_SECONDS} s to arrive, a lapsed claim's too"
            ));
        } else if reconcile_after_seconds > MAX_RECONCILE_SECONDS {
            env.problem(format!(
                "SEND_RECONCILE_SECONDS must be at most {MAX_RECONCILE_SECONDS} (12 h, the longest a job \
                 waits on the send queue at once), got {reconcile_after_seconds}"
            ));
        }
        // SQS's maxReceiveCount is 1 to 1000; the worker's last receive must be one the queue gives.
        let max_receives = env.number("SEND_MAX_RECEIVES", 10u32);
        if !(2..=1000).contains(&max_receives) {
            env.problem(format!(
                "SEND_MAX_RECEIVES must be between 2 and 1000 (the send queue's maxReceiveCount), got {max_receives}"
            ));
        }
        let config = Self {
            access_token: env.secret("WHATSAPP_ACCESS_TOKEN"),
            phone_numbers: {
                let numbers = business_numbers(&env);
                if numbers.is_empty() {
                    env.problem("WHATSAPP_PHONE_NUMBER_ID (or WHATSAPP_PHONE_NUMBER_IDS) is not set".to_owned());
                }
                numbers
            },
            graph_base_url: env
                .optional("GRAPH_API_BASE_URL")
                .unwrap_or_else(|| "https://graph.facebook.com".to_owned()),
            graph_version: env
                .optional("GRAPH_API_VERSION")
                .unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned()),
            graph_timeout: std::time::Duration::from_millis(graph_timeout_ms),
            messages_per_second,
            auto_reply_text: env.optional("AUTO_REPLY_TEXT"),
            mark_as_read: env
                .optional("MARK_AS_READ")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes")),
            typing_indicator: env
                .optional("TYPING_INDICATOR")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes")),
            send_queue_url: env.required("SEND_QUEUE_URL"),
            claim_lease_seconds,
            reconcile_after_seconds,
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
    fn the_voice_language_decides_the_gather_language_and_the_number_words() {
        let twilio = |language: Option<&str>| {
            let mut vars = vec![("TWILIO_AUTH_TOKEN", "tok")];
            vars.extend(language.map(|language| ("VOICE_LANGUAGE", language)));
            TwilioConfig::voice_from_env(env(&vars))
        };
        let default = twilio(None).expect("valid");
        assert_eq!(default.script.language, "en-US");
        assert_eq!(default.script.code_language, CodeLanguage::English);
        let blank = twilio(Some(" ")).expect("valid");
        assert_eq!(blank.script.language, "en-US");
        let portuguese = twilio(Some("pt_BR")).expect("valid");
        assert_eq!(portuguese.script.language, "pt-BR");
        assert_eq!(portuguese.script.code_language, CodeLanguage::Portuguese);
        let spanish = twilio(Some("es-MX")).expect("valid");
        assert_eq!(spanish.script.code_language, CodeLanguage::Spanish);
        let german = twilio(Some("de-DE")).expect("valid");
        assert_eq!(german.script.code_language, CodeLanguage::NumeralsOnly);
        let text = twilio(Some("pt BR\"")).expect_err("invalid").to_string();
        assert!(text.contains("VOICE_LANGUAGE must be a language tag"), "{text}");
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
    fn business_numbers_one_alone_or_several_and_the_inbound_filter_defaults_to_them() {
        let one =
            WorkerConfig::from_env(env(&[("TABLE_NAME", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "111")])).expect("complete");
        assert!(one.phone_numbers.serves(Some("111")));
        assert!(
            !one.phone_numbers.serves(Some("999")),
            "a foreign number is skipped by default"
        );
        let several = WorkerConfig::from_env(env(&[
            ("TABLE_NAME", "t"),
            ("WHATSAPP_PHONE_NUMBER_ID", "111"),
            ("WHATSAPP_PHONE_NUMBER_IDS", "222, 111 ,333"),
        ]))
        .expect("complete");
        assert!(
            ["111", "222", "333"]
                .iter()
                .all(|id| several.phone_numbers.serves(Some(id)))
        );
        assert!(!several.phone_numbers.serves(Some("999")));
        let none = WorkerConfig::from_env(env(&[("TABLE_NAME", "t")])).expect("complete");
        assert!(
            none.phone_numbers.serves(Some("999")),
            "nothing configured: every number, as before"
        );

        let send = SendApiConfig::from_env(env(&[
            ("API_KEY", "0123456789abcdef"),
            ("TABLE_NAME", "t"),
            ("SEND_QUEUE_URL", "q"),
            ("WHATSAPP_PHONE_NUMBER_IDS", "222,333"),
        ]))
        .expect("complete");
        assert_eq!(send.phone_numbers.default_number(), Some("222"));
        assert_eq!(send.phone_numbers.ids(), ["222".to_owned(), "333".to_owned()]);

        let vars = [("WHATSAPP_ACCESS_TOKEN", "token"), ("SEND_QUEUE_URL", "q")];
        let err = SenderConfig::from_env(env(&vars)).expect_err("no number");
        assert!(err.to_string().contains("WHATSAPP_PHONE_NUMBER_ID"), "{err}");
        let sender = SenderConfig::from_env(env(&[vars[0], vars[1], ("WHATSAPP_PHONE_NUMBER_ID", "111")]))
            .expect("complete")
            .expect("sending on");
        assert_eq!(sender.phone_numbers.ids(), ["111".to_owned()]);
    }

    #[test]
    fn media_settings_default_to_metas_largest_file_and_the_queues_receives() {
        let config = WorkerConfig::from_env(env(&[("TABLE_NAME", "t"), ("QUEUE_URL", "q")])).expect("complete");
        assert_eq!(config.media_max_bytes, 100 * 1024 * 1024);
        assert_eq!(config.queue_max_receives, 5);
        assert_eq!(config.events_queue_url.as_deref(), Some("q"));
        let off = WorkerConfig::from_env(env(&[("TABLE_NAME", "t"), ("MEDIA_MAX_BYTES", "0")])).expect("complete");
        assert_eq!(off.media_max_bytes, 0);
        let err = WorkerConfig::from_env(env(&[
            ("TABLE_NAME", "t"),
            ("MEDIA_MAX_BYTES", "6000000000"),
            ("QUEUE_MAX_RECEIVES", "0"),
        ]))
        .expect_err("out of range");
        let text = err.to_string();
        assert!(
            text.contains("MEDIA_MAX_BYTES must be between 0 and 5368709120"),
            "{text}"
        );
        assert!(text.contains("QUEUE_MAX_RECEIVES must be between 1 and 1000"), "{text}");
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

    fn sender(extra: &[(&str, &str)]) -> Result<Option<SenderConfig>, ConfigError> {
        let mut vars = vec![
            ("WHATSAPP_ACCESS_TOKEN", "token"),
            ("SEND_QUEUE_URL", "q"),
            ("WHATSAPP_PHONE_NUMBER_ID", "111"),
        ];
        vars.extend_from_slice(extra);
        SenderConfig::from_env(env(&vars))
    }

    fn problems(extra: &[(&str, &str)]) -> String {
        sender(extra).expect_err("refused").to_string()
    }

    /// Issue 21: GRAPH_TIMEOUT_MS up to 20000 made the send budget (graph + 3 × 4 s) longer than the
    /// worker's 30 s timeout: no send ever started.
    #[test]
    fn a_graph_timeout_whose_send_budget_does_not_fit_the_worker_is_refused() {
        assert_eq!(MAX_GRAPH_TIMEOUT_MS, 10_000);
        let config = sender(&[]).expect("valid").expect("sending on");
        assert_eq!(
            config.graph_timeout,
            std::time::Duration::from_secs(10),
            "the default is the most"
        );
        for ms in ["100", "10000"] {
            assert!(sender(&[("GRAPH_TIMEOUT_MS", ms)]).is_ok(), "{ms}");
        }
        for ms in ["99", "10001", "18000", "20000"] {
            let text = problems(&[("GRAPH_TIMEOUT_MS", ms)]);
            assert!(
                text.contains(&format!("GRAPH_TIMEOUT_MS must be between 100 and 10000, got {ms}")),
                "{text}"
            );
            assert!(text.contains("30 s timeout"), "{text}");
        }
        // The bounds the limit is computed from are the worker's own.
        assert_eq!(
            crate::handlers::worker::WORKER_AWS_CALL_TIMEOUT,
            std::time::Duration::from_secs(u64::from(WORKER_AWS_CALL_SECONDS))
        );
    }

    /// Issue 21: SEND_RECONCILE_SECONDS had no lower bound (0 = resend at once).
    #[test]
    fn a_reconcile_window_too_short_for_status_webhooks_or_too_long_for_the_queue_is_refused() {
        for seconds in ["0", "60", "119"] {
            let text = problems(&[("SEND_RECONCILE_SECONDS", seconds)]);
            assert!(
                text.contains(&format!(
                    "SEND_RECONCILE_SECONDS must be at least SEND_CLAIM_LEASE_SECONDS + 60 (120), got {seconds}"
                )),
                "{text}"
            );
        }
        let config = sender(&[("SEND_RECONCILE_SECONDS", "120")])
            .expect("valid")
            .expect("sending on");
        assert_eq!(config.reconcile_after_seconds, 120);
        // It follows the lease: a lapsed claim waits 60 s for its statuses after the lease ends.
        let text = problems(&[("SEND_CLAIM_LEASE_SECONDS", "300"), ("SEND_RECONCILE_SECONDS", "300")]);
        assert!(text.contains("SEND_CLAIM_LEASE_SECONDS + 60 (360), got 300"), "{text}");
        assert!(sender(&[("SEND_CLAIM_LEASE_SECONDS", "300"), ("SEND_RECONCILE_SECONDS", "360")]).is_ok());
        assert!(sender(&[("SEND_RECONCILE_SECONDS", "43200")]).is_ok());
        let text = problems(&[("SEND_RECONCILE_SECONDS", "43201")]);
        assert!(
            text.contains("SEND_RECONCILE_SECONDS must be at most 43200 (12 h, the longest a job waits on the send queue at once), got 43201"),
            "{text}"
        );
    }

    #[test]
    fn a_lease_within_the_worker_timeout_and_receives_no_queue_can_have_are_refused() {
        let text = problems(&[("SEND_CLAIM_LEASE_SECONDS", "30")]);
        assert!(
            text.contains("SEND_CLAIM_LEASE_SECONDS must exceed the worker's 30 s timeout, got 30"),
            "{text}"
        );
        assert!(sender(&[("SEND_CLAIM_LEASE_SECONDS", "31")]).is_ok());
        for receives in ["0", "1", "1001"] {
            let text = problems(&[("SEND_MAX_RECEIVES", receives)]);
            assert!(
                text.contains(&format!(
                    "SEND_MAX_RECEIVES must be between 2 and 1000 (the send queue's maxReceiveCount), got {receives}"
                )),
                "{text}"
            );
        }
        for receives in ["2", "1000"] {
            assert!(sender(&[("SEND_MAX_RECEIVES", receives)]).is_ok(), "{receives}");
        }
    }

    /// `make run`'s values pass every bound.
    #[test]
    fn local_env_is_a_valid_configuration() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../local.env")).expect("local.env");
        let vars: Vec<(&str, &str)> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .collect();
        assert!(vars.iter().any(|(name, _)| *name == "SEND_RECONCILE_SECONDS"));
        let sender = SenderConfig::from_env(env(&vars)).expect("valid").expect("sending on");
        assert_eq!(
            (
                sender.claim_lease_seconds,
                sender.reconcile_after_seconds,
                sender.max_receives
            ),
            (60, 900, 10)
        );
        WorkerConfig::from_env(env(&vars)).expect("valid");
        SendApiConfig::from_env(env(&vars)).expect("valid");
    }
}
