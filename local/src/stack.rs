//! What the template defines, as `scripts/local_stack.py` extracted it into `.local/stack.json`.

use serde::Deserialize;

/// One HTTP route of the template: method, path, and the function (logical id) it invokes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

impl Route {
    pub fn new(method: &str, path: &str, function: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            function: function.to_owned(),
        }
    }
}

/// An SQS event source of the template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueueEventSource {
    pub function: String,
    pub queue: String,
    /// The queue's local URL (the function variable that names it, from local.env).
    #[serde(default)]
    pub queue_url: Option<String>,
    pub batch_size: u32,
    pub batching_window_seconds: u32,
    pub report_batch_item_failures: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stack {
    pub routes: Vec<Route>,
    pub queue_event_sources: Vec<QueueEventSource>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot read {path}: {source} (run scripts/local_stack.py, as `make run` does)")]
    Read { path: String, source: std::io::Error },
    #[error("cannot parse {path}: {source}")]
    Parse { path: String, source: serde_json::Error },
}

impl Stack {
    pub fn load(path: &str) -> Result<Self, StackError> {
        let text = std::fs::read_to_string(path).map_err(|source| StackError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| StackError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}
