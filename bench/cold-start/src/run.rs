//! One cold start, measured end to end: a fresh emulator, the binary spawned in a Lambda
//! environment, its first event, its first response, then the process killed.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::emulator::{Emulator, Invocation, Observation};

/// A function to start.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub binary: PathBuf,
    pub event: Bytes,
    /// The function's configuration (local.env), on top of the Lambda environment.
    pub env: Vec<(String, String)>,
}

/// One successful cold start.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Spawn → the first `GET .../invocation/next` arriving.
    pub init: Duration,
    /// Event handed out → response received.
    pub first_invocation: Duration,
    /// Spawn → response received.
    pub total: Duration,
    /// A one-word summary of the response (`HTTP 200`, `0 failed items`, ...).
    pub outcome: String,
}

/// A cold start that did not reach a response.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    pub stdout: String,
    pub stderr: String,
}

const MEMORY_SIZE_MB: &str = "128";
const ACCOUNT: &str = "123456789012";

/// The environment Lambda gives a `provided.al2023` function (the template's globals:
/// 128 MB, JSON logs at INFO), then the function's configuration, which wins.
pub fn lambda_env(target: &Target, runtime_api: &str) -> Vec<(String, String)> {
    let name = target.name.as_str();
    let task_root = target.binary.parent().unwrap_or(Path::new("/")).display().to_string();
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("_HANDLER", "bootstrap"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_SIZE_MB),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.push(("AWS_LAMBDA_FUNCTION_NAME".to_owned(), name.to_owned()));
    env.push(("AWS_LAMBDA_LOG_GROUP_NAME".to_owned(), format!("/aws/lambda/{name}")));
    env.push(("LAMBDA_TASK_ROOT".to_owned(), task_root));
    env.extend(target.env.iter().cloned());
    env.push(("AWS_LAMBDA_RUNTIME_API".to_owned(), runtime_api.to_owned()));
    env
}

/// Starts `target` once and measures its cold start. The process is killed after its
/// first response, or after `timeout`.
pub async fn cold_start(target: &Target, run: usize, timeout: Duration) -> Result<Measurement, Failure> {
    let request_id = format!("cold-start-{}-{run}", target.name);
    let invocation = Invocation {
        request_id: request_id.clone(),
        function_arn: format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}", target.name),
        event: target.event.clone(),
        timeout: Duration::from_secs(30),
    };
    let (emulator, mut observations) = Emulator::start(invocation)
        .await
        .map_err(|e| failure(format!("emulator did not start: {e}")))?;

    let mut command = Command::new(&target.binary);
    command
        .env_clear()
        .envs(lambda_env(target, &emulator.runtime_api()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);

    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| failure(format!("cannot start {}: {e}", target.binary.display())))?;
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());

    let result = watch(&mut child, &mut observations, spawned, &request_id, timeout).await;

    let exited = child.try_wait().ok().flatten();
    if exited.is_none() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    drop(emulator);
    match result {
        Ok(measurement) => Ok(measurement),
        Err(reason) => Err(Failure {
            reason,
            stdout: collect(stdout).await,
            stderr: collect(stderr).await,
        }),
    }
}

async fn watch(
    child: &mut Child,
    observations: &mut tokio::sync::mpsc::UnboundedReceiver<Observation>,
    spawned: Instant,
    request_id: &str,
    timeout: Duration,
) -> Result<Measurement, String> {
    let deadline = tokio::time::Instant::from_std(spawned + timeout);
    let mut handed: Option<(Instant, Instant)> = None;
    loop {
        tokio::select! {
            observation = observations.recv() => match observation {
                Some(Observation::EventHandedOut { at, handed_out }) => handed = Some((at, handed_out)),
                Some(Observation::Response { at, request_id: id, body }) => {
                    let Some((next_at, handed_out)) = handed else {
                        return Err("a response arrived before any event was handed out".to_owned());
                    };
                    if id != request_id {
                        return Err(format!("response for unknown request id {id:?}"));
                    }
                    return Ok(Measurement {
                        init: next_at.duration_since(spawned),
                        first_invocation: at.duration_since(handed_out),
                        total: at.duration_since(spawned),
                        outcome: outcome(&body),
                    });
                }
                Some(Observation::InvocationError { error_type, body, .. }) => {
                    return Err(format!(
                        "invocation error ({}): {}",
                        error_type.as_deref().unwrap_or("no type"),
                        String::from_utf8_lossy(&body)
                    ));
                }
                Some(Observation::InitError { error_type, body, .. }) => {
                    return Err(format!(
                        "init error ({}): {}",
                        error_type.as_deref().unwrap_or("no type"),
                        String::from_utf8_lossy(&body)
                    ));
                }
                Some(Observation::Unexpected { method, path }) => {
                    return Err(format!("unexpected Runtime API request {method} {path}"));
                }
                None => return Err("the emulator stopped".to_owned()),
            },
            status = child.wait() => {
                return Err(match status {
                    Ok(status) => exit_reason(status, handed.is_some()),
                    Err(e) => format!("lost the process: {e}"),
                });
            }
            () = tokio::time::sleep_until(deadline) => {
                let stage = if handed.is_some() { "no response" } else { "no request for an event" };
                return Err(format!("{stage} within {} ms of spawn (killed)", timeout.as_millis()));
            }
        }
    }
}

fn exit_reason(status: ExitStatus, handed: bool) -> String {
    let stage = if handed {
        "during its first invocation"
    } else {
        "during init"
    };
    format!("exited {stage} ({status})")
}

/// `HTTP 200` for an API Gateway response, `N failed items` for an SQS batch response.
fn outcome(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return format!("{} B, not JSON", body.len());
    };
    if let Some(status) = value.get("statusCode").and_then(serde_json::Value::as_u64) {
        return format!("HTTP {status}");
    }
    if let Some(failures) = value.get("batchItemFailures").and_then(serde_json::Value::as_array) {
        return format!("{} failed items", failures.len());
    }
    "ok".to_owned()
}

fn failure(reason: String) -> Failure {
    Failure {
        reason,
        stdout: String::new(),
        stderr: String::new(),
    }
}

fn capture<R>(stream: Option<R>) -> Option<JoinHandle<Vec<u8>>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    stream.map(|mut stream| {
        tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = stream.read_to_end(&mut out).await;
            out
        })
    })
}

async fn collect(handle: Option<JoinHandle<Vec<u8>>>) -> String {
    let Some(handle) = handle else {
        return String::new();
    };
    match tokio::time::timeout(Duration::from_secs(2), handle).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert_eq!(outcome(br#"{"statusCode":200,"body":""}"#), "HTTP 200");
        assert_eq!(outcome(br#"{"batchItemFailures":[]}"#), "0 failed items");
        assert_eq!(outcome(br#"{"a":1}"#), "ok");
        assert_eq!(outcome(b"nope"), "4 B, not JSON");
    }

    #[test]
    fn configuration_overrides_the_lambda_environment_but_not_the_runtime_api() {
        let target = Target {
            name: "f".to_owned(),
            binary: PathBuf::from("/opt/f"),
            event: Bytes::new(),
            env: vec![
                ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
                ("AWS_LAMBDA_RUNTIME_API".to_owned(), "elsewhere".to_owned()),
            ],
        };
        let env = lambda_env(&target, "127.0.0.1:9001");
        let last = |key: &str| env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        assert_eq!(last("AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(last("AWS_LAMBDA_RUNTIME_API").as_deref(), Some("127.0.0.1:9001"));
        assert_eq!(last("AWS_LAMBDA_FUNCTION_NAME").as_deref(), Some("f"));
        assert_eq!(last("LAMBDA_TASK_ROOT").as_deref(), Some("/opt"));
    }
}
