//! The Twilio functions: the voice call's script and signing secrets, and the verification capture
//! (gather, recording, email).

use super::bounds::MAX_RETENTION_DAYS;
use super::env::include_verification_code;
use super::{ConfigError, Env, FunctionConfig, SecretVar};
use crate::domain::secret::Secret;
use crate::domain::spoken_code::CodeLanguage;

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

fn looks_like_email(address: &str) -> bool {
    let mut parts = address.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
}
