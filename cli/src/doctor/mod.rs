//! `wabridge doctor`: checks a deployment end to end; one row per check, with the fix for each failure.
//!
//! - [`meta`]: the token, the phone number, the webhook subscription and the callback URL.
//! - [`limits`]: the number's messaging limit and throughput against the send tier; the app's webhook fields.
//! - [`aws`]: the SES identity and the stack's alarms.
//! - [`twilio`]: the Twilio number's voice URL.

mod aws;
pub mod limits;
mod meta;
mod twilio;

use aws_config::SdkConfig;
use serde_json::{Value, json};

use crate::config::{self, Settings};
use crate::graph::Graph;

pub use aws::{Alarms, CloudWatchAlarms};
use aws::{check_alarms, check_coexistence, check_ses};
use meta::{check_callback, check_phone_number, check_subscription, check_token};
use twilio::check_twilio;

pub mod versions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Not checked: something it needs is not configured (the detail says what).
    Skip,
    /// Works now, but will not for long (the fix says what to do before then).
    Warn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
            Outcome::Warn => "warn",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
    /// What to do, for a failure.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"check": self.name, "result": self.outcome.as_str(), "detail": self.detail, "fix": self.fix})
    }
}

pub const REQUIRED_SCOPES: [&str; 2] = ["whatsapp_business_messaging", "whatsapp_business_management"];

/// Runs every check. `sdk` is used for SES and CloudWatch.
pub async fn run(settings: &Settings, sdk: &SdkConfig) -> Vec<Check> {
    run_with(settings, sdk, &CloudWatchAlarms(aws_sdk_cloudwatch::Client::new(sdk))).await
}

/// [`run`] with another source of alarms.
pub async fn run_with(settings: &Settings, sdk: &SdkConfig, alarms: &impl Alarms) -> Vec<Check> {
    let mut checks = Vec::new();
    let graph = match (
        settings.secret(config::ACCESS_TOKEN),
        settings.get(config::GRAPH_API_BASE_URL),
        settings.get(config::GRAPH_API_VERSION),
    ) {
        (Some(token), Some(base), Some(version)) => Graph::new(&base, &version, token).ok(),
        _ => None,
    };
    let mut display_number = None;
    match &graph {
        None => checks.push(Check::fail(
            "token",
            "WHATSAPP_ACCESS_TOKEN is not set",
            "set WHATSAPP_ACCESS_TOKEN or use --stack",
        )),
        Some(graph) => {
            let token_ok = check_token(graph, settings, &mut checks).await;
            if token_ok {
                display_number = check_phone_number(graph, settings, &mut checks).await;
                checks.push(limits::check_limits(graph, settings).await);
                check_subscription(graph, settings, &mut checks).await;
            } else {
                checks.push(Check::skip("phone number", "needs a valid token"));
                checks.push(Check::skip("messaging limit", "needs a valid token"));
                checks.push(Check::skip("webhook subscription", "needs a valid token"));
            }
        }
    }
    checks.push(limits::check_webhook_fields(settings).await);
    if let Some(version) = settings.get(config::GRAPH_API_VERSION) {
        checks.push(versions::check_version(&version, chrono::Utc::now().date_naive()));
    }
    checks.push(check_coexistence(settings, sdk, graph.as_ref()).await);
    checks.push(check_callback(settings).await);
    checks.push(check_ses(settings, sdk).await);
    checks.push(check_twilio(settings, display_number.as_deref()).await);
    checks.push(check_alarms(settings, alarms).await);
    checks
}
