//! Configuration, read from the environment once at cold start and validated,
//! with one error that names everything missing or invalid.

use crate::domain::envelope::DEFAULT_INLINE_LIMIT;
use crate::domain::records::PhoneNumberFilter;
use crate::domain::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
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
            inline_limit: env.number("QUEUE_INLINE_LIMIT_BYTES", DEFAULT_INLINE_LIMIT),
        };
        env.finish(config)
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
}

impl WorkerConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self {
            table_name: env.required("TABLE_NAME"),
            phone_numbers: PhoneNumberFilter::new(env.list("ALLOWED_PHONE_NUMBER_IDS")),
            retention_days: env.number("RETENTION_DAYS", 0),
        };
        env.finish(config)
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
}
