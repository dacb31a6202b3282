//! The worker's sending side: the Graph API, the business numbers it sends from, and the send
//! policy (rate, pacing, claim lease, reconcile window, receives) checked against the worker's timeout.

use super::bounds;
use super::numbers::business_numbers;
use super::{ConfigError, Env, SecretVar};
use crate::domain::records::BusinessNumbers;
use crate::domain::secret::Secret;

/// The Graph API version requests use unless `GRAPH_API_VERSION` says otherwise: the newest one
/// Meta documents (v26.0, introduced 29 July 2026: developers.facebook.com/docs/graph-api/changelog),
/// whose send endpoint the local stand-in (`local/src/graph_standin`) answers. The template's
/// `GraphApiVersion` default, local.env and the CLI use this one value (a test keeps them equal).
pub const DEFAULT_GRAPH_API_VERSION: &str = "v26.0";

/// The worker's sending side (absent when `WHATSAPP_ACCESS_TOKEN` is not set).
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub access_token: Secret,
    /// The numbers it sends from (one token for all); the first is the default.
    pub phone_numbers: BusinessNumbers,
    pub graph_base_url: String,
    pub graph_version: String,
    /// The most one Graph API call may take (`GRAPH_TIMEOUT_MS`, default and at most
    /// [`MAX_GRAPH_TIMEOUT_MS`](super::MAX_GRAPH_TIMEOUT_MS), 10 s).
    pub graph_timeout: std::time::Duration,
    /// Sends per second per worker instance.
    pub messages_per_second: u32,
    pub auto_reply_text: Option<String>,
    /// `CALLS_POLICY`: `reject` (default) or `ignore` a WhatsApp call to the business number.
    pub calls_policy: crate::domain::records::CallsPolicy,
    /// `CALLS_REPLY_TEXT` (unset or empty: none) to a rejected caller, at most once per caller per
    /// `CALLS_REPLY_COOLDOWN_SECONDS` (default a day).
    pub calls_reply: Option<crate::domain::records::CallsReply>,
    /// `MARK_AS_READ=true`: mark inbound messages as read.
    pub mark_as_read: bool,
    /// `TYPING_INDICATOR=true` (with `MARK_AS_READ`): the read receipt also shows Meta's typing
    /// indicator, for deployments whose own application answers each message.
    pub typing_indicator: bool,
    /// The send queue (`SEND_QUEUE_URL`): auto-replies and deferred send outcomes go there.
    pub send_queue_url: String,
    /// A claim older than this has lost its holder (`SEND_CLAIM_LEASE_SECONDS`, default 60:
    /// twice the worker's 30 s timeout, so a live holder is never taken over; more than 30).
    pub claim_lease_seconds: u32,
    /// How long an unknown outcome waits for a status webhook before its one resend
    /// (`SEND_RECONCILE_SECONDS`, default 900 = 15 minutes; from the lease + 60 s to 12 h).
    pub reconcile_after_seconds: u32,
    /// The send queue's `maxReceiveCount` (`SEND_MAX_RECEIVES`, default 10; 2 to 1000).
    pub max_receives: u32,
    /// At most one message per `SEND_PACE_SECONDS` (default 6) to one recipient, after a burst of
    /// `SEND_PACE_BURST` (default 45: Meta's pair rate allowance); `SEND_PACE_SECONDS=0`: off.
    pub pace: Option<crate::ports::Pace>,
}

impl SenderConfig {
    /// The access token is optional: without it the worker records but does not send.
    pub const SECRETS: &[SecretVar] = &[SecretVar::optional("WHATSAPP_ACCESS_TOKEN")];

    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Option<Self>, ConfigError> {
        if env.optional("WHATSAPP_ACCESS_TOKEN").is_none() {
            return env.finish(None);
        }
        let messages_per_second = env.number("SEND_RATE_PER_SECOND", 20u32);
        if messages_per_second == 0 {
            env.problem("SEND_RATE_PER_SECOND must be at least 1".to_owned());
        }
        let graph_timeout_ms = bounds::graph_timeout_ms(&mut env);
        let claim_lease_seconds = bounds::claim_lease_seconds(&mut env);
        let reconcile_after_seconds = bounds::reconcile_after_seconds(&mut env, claim_lease_seconds);
        let max_receives = bounds::send_max_receives(&mut env);
        let config = Self {
            access_token: env.secret("WHATSAPP_ACCESS_TOKEN"),
            phone_numbers: {
                let numbers = business_numbers(&env);
                if numbers.is_empty() {
                    env.problem("WHATSAPP_PHONE_NUMBER_ID (or WHATSAPP_PHONE_NUMBER_IDS) is not set".to_owned());
                }
                numbers
            },
            graph_base_url: env
                .optional("GRAPH_API_BASE_URL")
                .unwrap_or_else(|| "https://graph.facebook.com".to_owned()),
            graph_version: env
                .optional("GRAPH_API_VERSION")
                .unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned()),
            graph_timeout: std::time::Duration::from_millis(graph_timeout_ms),
            messages_per_second,
            auto_reply_text: env.optional("AUTO_REPLY_TEXT"),
            calls_policy: match env.optional("CALLS_POLICY") {
                None => crate::domain::records::CallsPolicy::default(),
                Some(name) => crate::domain::records::CallsPolicy::parse(&name).unwrap_or_else(|| {
                    env.problem(format!("CALLS_POLICY is {name:?}: reject or ignore"));
                    crate::domain::records::CallsPolicy::default()
                }),
            },
            calls_reply: {
                let cooldown_seconds = env.bounded("CALLS_REPLY_COOLDOWN_SECONDS", 86_400u32, 0..=2_592_000);
                env.optional("CALLS_REPLY_TEXT")
                    .map(|text| crate::domain::records::CallsReply { text, cooldown_seconds })
            },
            mark_as_read: env
                .optional("MARK_AS_READ")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes")),
            typing_indicator: env
                .optional("TYPING_INDICATOR")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes")),
            send_queue_url: env.required("SEND_QUEUE_URL"),
            claim_lease_seconds,
            reconcile_after_seconds,
            max_receives,
            pace: match env.bounded("SEND_PACE_SECONDS", 6i64, 0..=86_400) {
                0 => None,
                seconds => Some(crate::ports::Pace {
                    interval_ms: seconds.max(0) * 1000,
                    burst: env.number("SEND_PACE_BURST", 45u32).max(1),
                }),
            },
        };
        env.finish(Some(config))
    }
}
