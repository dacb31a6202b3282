//! Business metrics as CloudWatch Embedded Metric Format (EMF) log lines: CloudWatch Logs
//! turns them into metrics, so counting costs no API call and no latency.
//!
//! Handlers count into a process-wide accumulator while they work; at the end of each
//! invocation [`flush`] writes one EMF line per dimension combination to stdout (the
//! function's log stream). Lambda runs one invocation at a time per process, so a line
//! belongs to one invocation; in the local runner lines may mix invocations, which only
//! changes how the counts are grouped, never their sums.
//!
//! Every metric carries the `Stack` dimension (`METRICS_STACK`, the CloudFormation stack
//! name when deployed) so two deployments in one account do not mix; metrics with a
//! breakdown (rejection reason, Meta error code) are published both per value and in total.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// The metrics the bundle publishes. Names are the CloudWatch metric names; alarms and
/// the dashboard in template.yaml refer to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Every `POST /webhooks/whatsapp`.
    WebhooksReceived,
    /// Webhooks durably queued (answered 200).
    WebhooksEnqueued,
    /// Webhooks refused (by `Reason`: signature, malformed, too_large).
    WebhooksRejected,
    /// Signed webhooks the queue or bucket refused (answered 503; Meta retries).
    WebhooksNotQueued,
    /// New inbound messages recorded (redeliveries are not counted again).
    MessagesReceived,
    /// Messages Meta accepted from the send API (a wamid came back).
    MessagesAccepted,
    /// Status notifications that moved a message to sent / delivered / read.
    MessagesSent,
    MessagesDelivered,
    MessagesRead,
    /// Messages that failed (by `ErrorCode`): Meta's failed status or a permanent send error.
    MessagesFailed,
    /// Sends refused because the access token is expired or invalid (Meta error 190).
    AccessTokenExpired,
    /// Verification codes captured from Meta's call.
    VerificationCodesCaptured,
    /// Sends whose outcome could not be known at once (no answer after the request was written,
    /// a lapsed claim): resolved by a status webhook or resent once after the reconciliation window.
    MessagesUnknown,
    /// Unknown or unrecorded sends tied to their wamid by a status webhook.
    MessagesResolved,
    /// Messages sent a second time because no status resolved their unknown outcome in time.
    MessagesResent,
    /// Events the bus took (a resent one again).
    EventsPublished,
    /// Events the bus still refused after the resends (their record is delivered again).
    EventsFailed,
    /// Inbound media kept in the payload bucket.
    MediaKept,
    /// Inbound media that can never be kept (recorded as a media error on its message).
    MediaFailed,
    /// Media jobs that failed transiently and are retried.
    MediaRetried,
    /// Templates Meta paused, disabled or rejected (by `Status`): the send API refuses them until Meta
    /// approves them again.
    TemplatesRefused,
    /// A business number's standing dropped (by `Event`: `DOWNGRADE`, `FLAGGED`).
    NumberQualityDropped,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::WebhooksReceived => "WebhooksReceived",
            Metric::WebhooksEnqueued => "WebhooksEnqueued",
            Metric::WebhooksRejected => "WebhooksRejected",
            Metric::WebhooksNotQueued => "WebhooksNotQueued",
            Metric::MessagesReceived => "MessagesReceived",
            Metric::MessagesAccepted => "MessagesAccepted",
            Metric::MessagesSent => "MessagesSent",
            Metric::MessagesDelivered => "MessagesDelivered",
            Metric::MessagesRead => "MessagesRead",
            Metric::MessagesFailed => "MessagesFailed",
            Metric::AccessTokenExpired => "AccessTokenExpired",
            Metric::VerificationCodesCaptured => "VerificationCodesCaptured",
            Metric::MessagesUnknown => "MessagesUnknown",
            Metric::MessagesResolved => "MessagesResolved",
            Metric::MessagesResent => "MessagesResent",
            Metric::EventsPublished => "EventsPublished",
            Metric::EventsFailed => "EventsFailed",
            Metric::MediaKept => "MediaKept",
            Metric::MediaFailed => "MediaFailed",
            Metric::MediaRetried => "MediaRetried",
            Metric::TemplatesRefused => "TemplatesRefused",
            Metric::NumberQualityDropped => "NumberQualityDropped",
        }
    }
}

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "WhatsAppBridge";

/// A count, optionally broken down by one dimension (`("Reason", "signature")`).
type Key = (Option<(&'static str, String)>, Metric);

/// A breakdown dimension and its value, borrowed.
type Breakdown<'a> = Option<(&'static str, &'a str)>;

/// Counts waiting for the next flush.
struct Accumulator(Mutex<BTreeMap<Key, u64>>);

impl Accumulator {
    const fn new() -> Self {
        Self(Mutex::new(BTreeMap::new()))
    }

    fn add(&self, key: Key, n: u64) {
        if n == 0 {
            return;
        }
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut pending = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *pending.entry(key).or_default() += n;
    }

    fn take(&self) -> BTreeMap<Key, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

static PENDING: Accumulator = Accumulator::new();

/// Adds `n` to a metric.
pub fn count(metric: Metric, n: u64) {
    PENDING.add((None, metric), n);
}

/// Adds `n` to a metric broken down by one dimension (published per value and in total).
pub fn count_by(metric: Metric, dimension: &'static str, value: impl Into<String>, n: u64) {
    PENDING.add((Some((dimension, value.into())), metric), n);
}

/// Writes what was counted since the last flush as EMF lines on stdout, and resets.
pub fn flush() {
    let taken = PENDING.take();
    if taken.is_empty() {
        return;
    }
    let stack = std::env::var("METRICS_STACK").unwrap_or_else(|_| "local".to_owned());
    let lines = render(&stack, &taken, chrono::Utc::now().timestamp_millis());
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        // Metrics are best effort: a closed stdout must not fail the invocation.
        let _ = writeln!(stdout, "{line}");
    }
}

/// The EMF documents for a set of counts: one for the plain counts, one per breakdown value.
pub fn render(stack: &str, counts: &BTreeMap<Key, u64>, timestamp_millis: i64) -> Vec<String> {
    // Group by breakdown: None first (plain counts), then each (dimension, value).
    let mut groups: BTreeMap<Breakdown<'_>, Vec<(Metric, u64)>> = BTreeMap::new();
    for ((breakdown, metric), n) in counts {
        let breakdown = breakdown
            .as_ref()
            .map(|(dimension, value)| (*dimension, value.as_str()));
        groups.entry(breakdown).or_default().push((*metric, *n));
    }
    groups
        .into_iter()
        .map(|(breakdown, metrics)| {
            let mut dimension_sets = vec![json!(["Stack"])];
            let mut document = Map::new();
            document.insert("Stack".to_owned(), Value::from(stack));
            if let Some((dimension, value)) = breakdown {
                dimension_sets.push(json!(["Stack", dimension]));
                document.insert(dimension.to_owned(), Value::from(value));
            }
            let definitions: Vec<Value> = metrics
                .iter()
                .map(|(metric, _)| json!({"Name": metric.name(), "Unit": "Count"}))
                .collect();
            for (metric, n) in &metrics {
                document.insert(metric.name().to_owned(), Value::from(*n));
            }
            document.insert(
                "_aws".to_owned(),
                json!({
                    "Timestamp": timestamp_millis,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": dimension_sets,
                        "Metrics": definitions,
                    }],
                }),
            );
            Value::Object(document).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(entries: &[(Breakdown<'_>, Metric, u64)]) -> BTreeMap<Key, u64> {
        entries
            .iter()
            .map(|(breakdown, metric, n)| {
                (
                    (
                        breakdown.map(|(dimension, value)| (dimension, value.to_owned())),
                        *metric,
                    ),
                    *n,
                )
            })
            .collect()
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("every line is one JSON document")
    }

    #[test]
    fn plain_counts_share_one_document_with_the_stack_dimension() {
        let lines = render(
            "prod",
            &counts(&[(None, Metric::WebhooksReceived, 3), (None, Metric::WebhooksEnqueued, 2)]),
            1_700_000_000_000,
        );
        assert_eq!(lines.len(), 1);
        let document = parse(&lines[0]);
        assert_eq!(document["Stack"], "prod");
        assert_eq!(document["WebhooksReceived"], 3);
        assert_eq!(document["WebhooksEnqueued"], 2);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Stack"]]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["WebhooksReceived", "WebhooksEnqueued"]);
    }

    #[test]
    fn a_breakdown_is_published_per_value_and_in_total() {
        let lines = render(
            "prod",
            &counts(&[
                (Some(("ErrorCode", "131026")), Metric::MessagesFailed, 2),
                (Some(("ErrorCode", "190")), Metric::MessagesFailed, 1),
                (None, Metric::MessagesRead, 5),
            ]),
            0,
        );
        assert_eq!(lines.len(), 3);
        let documents: Vec<Value> = lines.iter().map(|line| parse(line)).collect();
        assert_eq!(documents[0]["MessagesRead"], 5);
        let by_code: Vec<(&str, u64)> = documents[1..]
            .iter()
            .map(|d| {
                assert_eq!(
                    d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                    json!([["Stack"], ["Stack", "ErrorCode"]])
                );
                (
                    d["ErrorCode"].as_str().expect("code"),
                    d["MessagesFailed"].as_u64().expect("n"),
                )
            })
            .collect();
        assert_eq!(by_code, [("131026", 2), ("190", 1)]);
    }

    #[test]
    fn the_accumulator_sums_until_taken() {
        let accumulator = Accumulator::new();
        accumulator.add((None, Metric::VerificationCodesCaptured), 1);
        accumulator.add((None, Metric::VerificationCodesCaptured), 2);
        accumulator.add((None, Metric::WebhooksReceived), 0);
        accumulator.add((Some(("Reason", "signature".to_owned())), Metric::WebhooksRejected), 1);
        let taken = accumulator.take();
        assert_eq!(taken.get(&(None, Metric::VerificationCodesCaptured)), Some(&3));
        assert_eq!(taken.get(&(None, Metric::WebhooksReceived)), None);
        assert_eq!(taken.len(), 2);
        assert!(accumulator.take().is_empty());
    }
}
