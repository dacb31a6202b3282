//! Configuration: flags > environment variables > the CloudFormation stack's outputs (and,
//! for secrets, its SSM SecureString parameters) > defaults.
//!
//! Secrets are never flags (a command line is visible to every user of the machine) and are
//! held in [`Secret`], which never formats its value.

use std::collections::HashMap;

use bridge::domain::secret::Secret;

use crate::error::CliError;

/// One setting: its environment variable, and where else it may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The environment variable (also the name used with `--set NAME=VALUE`).
    pub env: &'static str,
    /// The stack output holding it (or, when the stack has no such output, its parameter of that name).
    pub output: Option<&'static str>,
    /// The SSM parameter (under the stack's `SecretsParameterPrefix`) holding it.
    pub parameter: Option<&'static str>,
    pub default: Option<&'static str>,
    pub secret: bool,
}

const fn plain(env: &'static str, output: Option<&'static str>, default: Option<&'static str>) -> Key {
    Key {
        env,
        output,
        parameter: None,
        default,
        secret: false,
    }
}

const fn secret(env: &'static str, parameter: Option<&'static str>) -> Key {
    Key {
        env,
        output: None,
        parameter,
        default: None,
        secret: true,
    }
}

pub const GRAPH_API_BASE_URL: Key = plain("GRAPH_API_BASE_URL", None, Some("https://graph.facebook.com"));
pub const GRAPH_API_VERSION: Key = plain(
    "GRAPH_API_VERSION",
    None,
    Some(bridge::config::DEFAULT_GRAPH_API_VERSION),
);
pub const PHONE_NUMBER_ID: Key = plain("WHATSAPP_PHONE_NUMBER_ID", Some("WhatsAppPhoneNumberId"), None);
pub const BUSINESS_ACCOUNT_ID: Key = plain("WHATSAPP_BUSINESS_ACCOUNT_ID", None, None);
pub const META_APP_ID: Key = plain("META_APP_ID", None, None);
pub const TABLE_NAME: Key = plain("TABLE_NAME", Some("TableName"), None);
pub const QUEUE_URL: Key = plain("QUEUE_URL", Some("QueueUrl"), None);
pub const DEAD_LETTER_QUEUE_URL: Key = plain("DEAD_LETTER_QUEUE_URL", Some("DeadLetterQueueUrl"), None);
pub const EVENTS_TAP_QUEUE_URL: Key = plain("EVENTS_TAP_QUEUE_URL", Some("EventsTapQueueUrl"), None);
pub const PUBLIC_BASE_URL: Key = plain("PUBLIC_BASE_URL", Some("PublicBaseUrl"), None);
pub const CALLBACK_URL: Key = plain("WHATSAPP_CALLBACK_URL", Some("WhatsAppCallbackUrl"), None);
pub const TWILIO_VOICE_URL: Key = plain("TWILIO_VOICE_URL", Some("TwilioVoiceWebhookUrl"), None);
pub const SEND_API_URL: Key = plain("SEND_API_URL", Some("SendApiUrl"), None);
pub const TWILIO_ACCOUNT_SID: Key = plain("TWILIO_ACCOUNT_SID", None, None);
pub const TWILIO_API_BASE_URL: Key = plain("TWILIO_API_BASE_URL", None, Some("https://api.twilio.com"));
pub const TWILIO_PHONE_NUMBER: Key = plain("TWILIO_PHONE_NUMBER", None, None);
pub const VERIFICATION_EMAIL_FROM: Key = plain("VERIFICATION_EMAIL_FROM", Some("VerificationEmailFrom"), None);
pub const ALARM_TOPIC_ARN: Key = plain("ALARM_TOPIC_ARN", Some("AlarmTopicArn"), None);
/// The language the Twilio functions listen in (`<Gather language>`), to check `onboard --language` against.
pub const VOICE_LANGUAGE: Key = plain("VOICE_LANGUAGE", Some("VoiceLanguage"), None);
/// The send tier (the stack's parameters): the bundle sends at most their product per second.
pub const SEND_RATE_PER_SECOND: Key = plain("SEND_RATE_PER_SECOND", Some("SendRatePerSecond"), None);
pub const SEND_MAXIMUM_CONCURRENCY: Key = plain("SEND_MAXIMUM_CONCURRENCY", Some("SendMaximumConcurrency"), None);

pub const ACCESS_TOKEN: Key = secret("WHATSAPP_ACCESS_TOKEN", Some("access-token"));
pub const APP_SECRET: Key = secret("WHATSAPP_APP_SECRET", Some("app-secret"));
pub const VERIFY_TOKEN: Key = secret("WHATSAPP_VERIFY_TOKEN", Some("verify-token"));
pub const API_KEY: Key = secret("API_KEY", Some("api-key"));
pub const TWILIO_AUTH_TOKEN: Key = secret("TWILIO_AUTH_TOKEN", Some("twilio-auth-token"));
pub const REGISTRATION_PIN: Key = secret("WHATSAPP_REGISTRATION_PIN", None);

/// Every key, for `--set` validation and the README.
pub const ALL: [Key; 26] = [
    GRAPH_API_BASE_URL,
    GRAPH_API_VERSION,
    PHONE_NUMBER_ID,
    BUSINESS_ACCOUNT_ID,
    META_APP_ID,
    TABLE_NAME,
    QUEUE_URL,
    DEAD_LETTER_QUEUE_URL,
    PUBLIC_BASE_URL,
    CALLBACK_URL,
    TWILIO_VOICE_URL,
    SEND_API_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_API_BASE_URL,
    TWILIO_PHONE_NUMBER,
    VERIFICATION_EMAIL_FROM,
    ALARM_TOPIC_ARN,
    VOICE_LANGUAGE,
    SEND_RATE_PER_SECOND,
    SEND_MAXIMUM_CONCURRENCY,
    ACCESS_TOKEN,
    APP_SECRET,
    VERIFY_TOKEN,
    API_KEY,
    TWILIO_AUTH_TOKEN,
    REGISTRATION_PIN,
];

/// What the stack provides: outputs, and the secrets under its parameter prefix.
#[derive(Debug, Default, Clone)]
pub struct StackValues {
    pub name: String,
    pub outputs: HashMap<String, String>,
    /// By parameter name without the prefix (`app-secret`).
    pub secrets: HashMap<String, Secret>,
}

/// Resolved configuration sources.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    flags: HashMap<String, String>,
    env: HashMap<String, String>,
    pub stack: Option<StackValues>,
}

impl Settings {
    /// `flags` by environment-variable name; `env` is usually the process environment.
    pub fn new(
        flags: HashMap<String, String>,
        env: HashMap<String, String>,
        stack: Option<StackValues>,
    ) -> Result<Self, CliError> {
        for name in flags.keys() {
            match ALL.iter().find(|key| key.env == name) {
                None => {
                    return Err(CliError::Config(format!(
                        "unknown setting {name}; known: {}",
                        ALL.iter()
                            .filter(|k| !k.secret)
                            .map(|k| k.env)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Some(key) if key.secret => {
                    return Err(CliError::Config(format!(
                        "{name} is a secret: give it in the environment (or the stack's SSM parameters), never on the command line, where other users of this machine can read it"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(Self { flags, env, stack })
    }

    /// From the process environment.
    pub fn from_process(flags: HashMap<String, String>, stack: Option<StackValues>) -> Result<Self, CliError> {
        Self::new(flags, std::env::vars().collect(), stack)
    }

    /// A non-secret setting: flag > environment > stack output > default. Empty values count as unset.
    pub fn get(&self, key: Key) -> Option<String> {
        let non_empty = |value: Option<&String>| value.filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_owned());
        non_empty(self.flags.get(key.env))
            .or_else(|| non_empty(self.env.get(key.env)))
            .or_else(|| {
                let stack = self.stack.as_ref()?;
                non_empty(stack.outputs.get(key.output?))
            })
            .or_else(|| key.default.map(str::to_owned))
            .or_else(|| self.derived(key))
    }

    /// URLs the bundle derives from `PUBLIC_BASE_URL` when not given.
    fn derived(&self, key: Key) -> Option<String> {
        let suffix = match key.env {
            "WHATSAPP_CALLBACK_URL" => "/webhooks/whatsapp",
            "TWILIO_VOICE_URL" => "/twilio/voice",
            "SEND_API_URL" => "",
            _ => return None,
        };
        let base = self.get(PUBLIC_BASE_URL)?;
        Some(format!("{}{suffix}", base.trim_end_matches('/')))
    }

    /// A secret: environment > the stack's SSM parameter.
    pub fn secret(&self, key: Key) -> Option<Secret> {
        if let Some(value) = self.env.get(key.env).filter(|v| !v.is_empty()) {
            return Some(Secret::new(value.clone()));
        }
        let stack = self.stack.as_ref()?;
        stack.secrets.get(key.parameter?).cloned()
    }

    pub fn require(&self, key: Key) -> Result<String, CliError> {
        self.get(key).ok_or_else(|| missing(key))
    }

    pub fn require_secret(&self, key: Key) -> Result<Secret, CliError> {
        self.secret(key).ok_or_else(|| missing(key))
    }
}

fn missing(key: Key) -> CliError {
    let mut ways = Vec::new();
    if !key.secret {
        ways.push(format!("--set {}=…", key.env));
    }
    ways.push(format!("the environment variable {}", key.env));
    if let Some(output) = key.output {
        ways.push(format!("--stack NAME (output {output})"));
    }
    if let Some(parameter) = key.parameter {
        ways.push(format!("--stack NAME (SSM parameter …/{parameter})"));
    }
    CliError::Config(format!("{} is not set: give it with {}", key.env, ways.join(" or ")))
}

/// Parses `NAME=VALUE` pairs given with `--set`.
pub fn parse_sets(pairs: &[String]) -> Result<HashMap<String, String>, CliError> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
                .ok_or_else(|| CliError::Config(format!("--set expects NAME=VALUE, got {pair:?}")))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn flags_beat_environment_beat_stack_beat_defaults() {
        let stack = StackValues {
            name: "s".into(),
            outputs: map(&[("TableName", "from-stack"), ("QueueUrl", "q-stack")]),
            secrets: [("app-secret".to_owned(), Secret::new("ssm-secret"))].into(),
        };
        let settings = Settings::new(
            map(&[("TABLE_NAME", "from-flag")]),
            map(&[
                ("TABLE_NAME", "from-env"),
                ("QUEUE_URL", ""),
                ("PUBLIC_BASE_URL", "http://x:3000/"),
            ]),
            Some(stack),
        )
        .unwrap();
        assert_eq!(settings.get(TABLE_NAME).as_deref(), Some("from-flag"));
        assert_eq!(settings.get(QUEUE_URL).as_deref(), Some("q-stack"));
        assert_eq!(
            settings.get(GRAPH_API_VERSION).as_deref(),
            Some(bridge::config::DEFAULT_GRAPH_API_VERSION)
        );
        assert_eq!(
            settings.get(CALLBACK_URL).as_deref(),
            Some("http://x:3000/webhooks/whatsapp")
        );
        assert_eq!(settings.secret(APP_SECRET).unwrap().expose(), "ssm-secret");
        assert!(settings.secret(API_KEY).is_none());
        let error = settings.require_secret(API_KEY).unwrap_err().to_string();
        assert!(error.contains("API_KEY") && error.contains("api-key"), "{error}");
    }

    /// `--stack NAME` alone: the phone number id, the email sender and the public URLs come from the
    /// stack's outputs (template.yaml's Outputs), nothing exported.
    #[test]
    fn the_stack_outputs_give_phone_number_sender_and_urls() {
        let stack = StackValues {
            name: "s".into(),
            outputs: map(&[
                ("WhatsAppPhoneNumberId", "106540352242922"),
                ("VerificationEmailFrom", "verify@example.com"),
                ("PublicBaseUrl", "https://api.example.com"),
                ("TwilioVoiceWebhookUrl", "https://api.example.com/twilio/voice"),
            ]),
            secrets: HashMap::new(),
        };
        let settings = Settings::new(HashMap::new(), HashMap::new(), Some(stack)).unwrap();
        assert_eq!(settings.get(PHONE_NUMBER_ID).as_deref(), Some("106540352242922"));
        assert_eq!(
            settings.get(VERIFICATION_EMAIL_FROM).as_deref(),
            Some("verify@example.com")
        );
        assert_eq!(
            settings.get(PUBLIC_BASE_URL).as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            settings.get(TWILIO_VOICE_URL).as_deref(),
            Some("https://api.example.com/twilio/voice")
        );
        // An output the template names for each of them.
        let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
        let outputs = &template[template.find("\nOutputs:").expect("Outputs")..];
        for key in [PHONE_NUMBER_ID, VERIFICATION_EMAIL_FROM, PUBLIC_BASE_URL] {
            let output = key.output.expect("mapped to an output");
            assert!(
                outputs.contains(&format!("\n  {output}:")),
                "template.yaml has no output {output}"
            );
        }
    }

    #[test]
    fn secrets_are_refused_as_flags_and_unknown_names_rejected() {
        let error = Settings::new(map(&[("API_KEY", "x")]), HashMap::new(), None).unwrap_err();
        assert!(matches!(error, CliError::Config(_)));
        assert!(!error.to_string().contains("=x"));
        assert!(Settings::new(map(&[("NOPE", "x")]), HashMap::new(), None).is_err());
        assert!(parse_sets(&["A".to_owned()]).is_err());
        assert_eq!(parse_sets(&["A=b=c".to_owned()]).unwrap()["A"], "b=c");
    }
}
