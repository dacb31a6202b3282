//! Errors and the exit codes a script can rely on.

/// Exit code: the command did what was asked (for `doctor`: every check passed).
pub const EXIT_OK: u8 = 0;
/// Exit code: an operation or a check failed (the message says why and what to do).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage or missing/invalid configuration; nothing was changed.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: timed out waiting (for the verification code, for a message status).
pub const EXIT_TIMED_OUT: u8 = 3;

/// A failure, in plain words. Never carries a secret: messages are built from names,
/// ids and Meta's/AWS's own error texts, which never echo credentials.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Missing or invalid configuration or arguments.
    #[error("{0}")]
    Config(String),
    /// The operation failed.
    #[error("{0}")]
    Failed(String),
    /// Waited too long.
    #[error("{0}")]
    TimedOut(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => EXIT_USAGE,
            CliError::Failed(_) => EXIT_FAILED,
            CliError::TimedOut(_) => EXIT_TIMED_OUT,
        }
    }
}

/// Full text of an AWS SDK error (its `Display` alone is often just "service error").
pub fn aws_error<E: std::error::Error>(error: &E) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(error).to_string()
}
