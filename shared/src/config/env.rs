//! Reading the environment: trimmed values, numbers, bounded numbers and lists, every problem
//! collected before failing.

use super::ConfigError;
use crate::domain::secret::Secret;

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

/// `EVENTS_INCLUDE_VERIFICATION_CODE`: `true`, `1` or `yes` puts the code in the event; anything else
/// (or unset) keeps it out.
pub(super) fn include_verification_code<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> bool {
    env.optional("EVENTS_INCLUDE_VERIFICATION_CODE")
        .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes"))
}
