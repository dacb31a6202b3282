//! The local stack: what `sam local start-api` and the SQS event source do in AWS,
//! done here without Docker, over the very handlers the Lambda binaries run.
//!
//! - [`api`]: HTTP on 127.0.0.1:3000; each request becomes the API Gateway HTTP API
//!   (payload 2.0) event it would be in AWS, is decoded by `lambda_http` exactly as in
//!   Lambda, and goes to the function the template routes it to.
//! - [`graph_standin`]: the WhatsApp Graph API on 127.0.0.1:3001, with signed status webhooks and the
//!   number onboarding endpoints (`request_code` by voice places a call through [`twilio_standin`]).
//! - [`twilio_standin`]: the Twilio REST API subset `wabridge doctor` reads (127.0.0.1:3002) and the
//!   verification call, played against the local Twilio functions.
//! - [`standin_env`]: both stand-ins configured from the environment, as `make run` starts them.
//! - [`queue`]: long-polls the queue and hands batches to the worker as the SQS event
//!   source would, deleting only the records the worker did not report as failed.

pub mod api;
pub mod graph_standin;
pub mod http_server;
pub mod queue;
pub mod stack;
pub mod standin_env;
pub mod twilio_standin;

/// `local.env`, parsed: the configuration `make run` uses, which the tests use too.
///
/// A variable set in the process environment wins over its `local.env` line, so a run can point
/// the same configuration elsewhere: `make test` (scripts/test.sh) sets `AWS_ENDPOINT_URL`,
/// `QUEUE_URL`, `TABLE_NAME` and `PAYLOAD_BUCKET` to its own emulator and resources that way.
/// Only the names `local.env` lists are read from the environment.
pub fn local_env() -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../local.env")).expect("local.env");
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            let name = k.trim().to_owned();
            // A value with spaces is double-quoted for the shell that sources the file.
            let raw = v.trim();
            let raw = raw
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(raw);
            let value = std::env::var(&name).unwrap_or_else(|_| raw.to_owned());
            (name, value)
        })
        .collect()
}

/// Which half of the bundle one local process runs (`LOCAL_ROLE`): both (unset, `make run`), the
/// routes only (`api`) or the queue pollers only (`worker`). `make soak` runs the two halves as two
/// processes so it can kill the worker alone, as Lambda loses one execution environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Api,
    Worker,
}

impl Role {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "" | "all" => Ok(Role::All),
            "api" => Ok(Role::Api),
            "worker" => Ok(Role::Worker),
            other => Err(format!("LOCAL_ROLE must be api, worker or unset, not {other:?}")),
        }
    }

    pub fn from_env() -> Result<Self, String> {
        Self::parse(&std::env::var("LOCAL_ROLE").unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn the_role_is_both_halves_unless_one_is_named() {
        assert_eq!(Role::parse(""), Ok(Role::All));
        assert_eq!(Role::parse("all"), Ok(Role::All));
        assert_eq!(Role::parse("api"), Ok(Role::Api));
        assert_eq!(Role::parse("worker"), Ok(Role::Worker));
        assert!(matches!(Role::parse("Worker"), Err(message) if message.contains("LOCAL_ROLE")));
    }
}
