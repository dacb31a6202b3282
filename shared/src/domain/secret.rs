//! A string that must never be logged.

use std::fmt;

/// A secret value (token, app secret, key). `Debug` and `Display` print a
/// placeholder, so a secret inside a config struct cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used (an HMAC key, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }
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
