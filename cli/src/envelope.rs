//! The one JSON document every command prints under `--json`, success or error:
//!
//! ```json
//! {"ok": true, "command": "onboard", "exit_code": 0, "result": {...}, "error": null}
//! {"ok": false, "command": "doctor", "exit_code": 1, "result": {"checks": [...]}, "error": {"kind": "failed", "message": "1 check(s) failed"}}
//! {"ok": false, "command": "onboard", "exit_code": 2, "result": null, "error": {"kind": "usage", "message": "..."}}
//! ```
//!
//! - `ok`: `exit_code` is 0. `command`: the subcommand (`null` when the command line named none).
//! - `exit_code`: the process's (0 done, 1 failed, 2 usage or configuration, 3 timed out).
//! - `result`: the command's own object (`null` when it could not run); `error`: `null`, or `kind` (`usage`,
//!   `failed`, `timed_out`) and a `message` in plain words, never a secret.

use serde_json::{Value, json};

use crate::error::{CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// What a command that ran produced: its result, and why it failed when it did (exit 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub result: Value,
    pub failure: Option<String>,
}

impl Done {
    pub fn ok(result: Value) -> Self {
        Self { result, failure: None }
    }

    /// Ran to the end, but what it did or checked failed (a failed message, a failed check...).
    pub fn failed(result: Value, why: impl Into<String>) -> Self {
        Self {
            result,
            failure: Some(why.into()),
        }
    }

    pub fn exit_code(&self) -> u8 {
        if self.failure.is_some() { EXIT_FAILED } else { EXIT_OK }
    }
}

/// The envelope of a command that ran.
pub fn success(command: &str, done: &Done) -> Value {
    let error = done
        .failure
        .as_ref()
        .map(|message| json!({"kind": "failed", "message": message}));
    envelope(Some(command), done.exit_code(), done.result.clone(), error)
}

/// The envelope of a command that stopped with `error`.
pub fn failure(command: &str, error: &CliError) -> Value {
    let kind = match error {
        CliError::Config(_) => "usage",
        CliError::Failed(_) => "failed",
        CliError::TimedOut(_) => "timed_out",
    };
    let error_json = json!({"kind": kind, "message": error.to_string()});
    envelope(Some(command), error.exit_code(), Value::Null, Some(error_json))
}

/// The envelope of a command line that could not be parsed (`message`: the parser's text, tip included).
pub fn usage(command: Option<&str>, message: &str) -> Value {
    let error = json!({"kind": "usage", "message": message.trim_end()});
    envelope(command, EXIT_USAGE, Value::Null, Some(error))
}

fn envelope(command: Option<&str>, exit_code: u8, result: Value, error: Option<Value>) -> Value {
    json!({
        "ok": exit_code == EXIT_OK,
        "command": command,
        "exit_code": exit_code,
        "result": result,
        "error": error.unwrap_or(Value::Null),
    })
}

/// The top-level keys of every envelope, in the order documented.
pub const KEYS: [&str; 5] = ["ok", "command", "exit_code", "result", "error"];

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    #[test]
    fn every_outcome_has_the_same_shape() {
        let mut expected: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
        expected.sort();
        let done = success("doctor", &Done::ok(json!({"checks": []})));
        let failed = success("doctor", &Done::failed(json!({"checks": []}), "1 check(s) failed"));
        let timed_out = failure("onboard", &CliError::TimedOut("no code".to_owned()));
        let config = failure("send", &CliError::Config("--to is required".to_owned()));
        let parse = usage(None, "error: unrecognized subcommand 'onbord'\n");
        for value in [&done, &failed, &timed_out, &config, &parse] {
            assert_eq!(keys(value), expected, "{value}");
        }
        assert_eq!(done["ok"], true);
        assert_eq!(done["error"], Value::Null);
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["exit_code"], 1);
        assert_eq!(failed["error"]["kind"], "failed");
        assert_eq!(timed_out["exit_code"], 3);
        assert_eq!(timed_out["error"]["kind"], "timed_out");
        assert_eq!(timed_out["result"], Value::Null);
        assert_eq!(config["exit_code"], 2);
        assert_eq!(config["error"]["kind"], "usage");
        assert_eq!(parse["command"], Value::Null);
        assert_eq!(parse["error"]["message"], "error: unrecognized subcommand 'onbord'");
    }
}
