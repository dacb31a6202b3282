//! Faults at the AWS SDK's HTTP layer: an [`HttpClient`] in front of the bundle's own
//! ([`SdkHttpClient`], reqwest) that, request by request and as a [`FaultPlan`] says, lets the
//! request through, applies it and loses its answer, refuses it, throttles it, never answers it,
//! or holds its answer back.
//!
//! The SDK above it is the real one, with its retry strategy: a lost answer is an I/O error it
//! retries (a conditional write applied once then meets its own condition on the retry), a
//! refusal is an HTTP 500 in the protocol's shape it retries as transient, a throttle is the
//! `ThrottlingException` it retries as throttling. A hang is left to the caller's own timeout.
//!
//! Requests are keyed by operation name: for the AWS JSON protocols (DynamoDB, SQS, EventBridge,
//! SSM) the part of `X-Amz-Target` after the dot (`PutItem`, `SendMessage`, `PutEvents`…); for
//! the query protocol the `Action`; for S3 (REST-XML) a name from the method, path and query
//! (`GetObject`, `PutObject`, `HeadObject`, `DeleteObject`, `UploadPart`, `ListObjectsV2`…); for
//! any other REST call `<METHOD> /<first path segment>`. `"*"` in a plan means every operation.
//!
//! Nothing leaves loopback that would not have without it: the requests that go on go to the
//! endpoint the SDK configuration names (the emulator), through the same client as always.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use bridge::adapters::http::SdkHttpClient;

/// What one request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFault {
    /// Forwarded to the emulator (its effect happens), then the answer is replaced by a
    /// connection error (the SDK sees an I/O error and, under its retry policy, retries).
    AppliedThenLost,
    /// Not forwarded: answered with a retryable server error in the protocol's shape (HTTP 500,
    /// AWS JSON `{"__type":"…#InternalServerError","message":…}`; S3: `<Error><Code>InternalError`).
    Refused,
    /// Not forwarded: HTTP 400 `ThrottlingException` in the AWS JSON shape (S3: HTTP 503 `SlowDown`),
    /// which the SDK classifies as throttling.
    Throttled,
    /// Never answers (the future stays pending until the caller's own timeout drops it).
    Hang,
    /// Forwarded, and the answer held back this long.
    Delayed(Duration),
}

impl WireFault {
    /// A short name for reports: `lost`, `refused`, `throttled`, `hang`, `delayed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::AppliedThenLost => "lost",
            Self::Refused => "refused",
            Self::Throttled => "throttled",
            Self::Hang => "hang",
            Self::Delayed(_) => "delayed",
        }
    }
}

/// The seed of a plan made without [`FaultPlan::with_seed`].
const DEFAULT_SEED: u64 = 0x5eed_fa17;

/// Shared plan; clones share it. See the module's documentation for the operation names.
///
/// For each request, in order: the operation's queue ([`fail_next`](Self::fail_next),
/// [`fail_after`](Self::fail_after)), then the `"*"` queue, then the random rules
/// ([`fail_randomly`](Self::fail_randomly); the operation's own first, then `"*"`'s, one draw
/// each, the first that hits applies). A request none of them faults passes.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    state: Arc<Mutex<PlanState>>,
}

#[derive(Debug)]
struct PlanState {
    /// Per operation: what its next requests meet, in order (`None`: passes).
    queued: HashMap<String, VecDeque<Option<WireFault>>>,
    random: Vec<RandomRule>,
    rng: XorShift,
    seen: BTreeMap<String, usize>,
    /// Per operation, per fault label.
    faulted: BTreeMap<String, BTreeMap<&'static str, usize>>,
}

impl Default for PlanState {
    fn default() -> Self {
        Self {
            queued: HashMap::new(),
            random: Vec::new(),
            rng: XorShift::seeded(DEFAULT_SEED),
            seen: BTreeMap::new(),
            faulted: BTreeMap::new(),
        }
    }
}

#[derive(Debug)]
struct RandomRule {
    operation: String,
    probability: f64,
    fault: WireFault,
}

impl FaultPlan {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, PlanState> {
        // A test that panicked while holding the lock left counters, nothing half-written.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next `count` requests of `operation` meet `fault` (in order, queued after earlier plans).
    pub fn fail_next(&self, operation: &str, count: usize, fault: WireFault) -> &Self {
        let mut state = self.state();
        let queue = state.queued.entry(operation.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(Some(fault), count));
        drop(state);
        self
    }

    /// The request of `operation` after `successes` more ones that pass meets `fault`.
    pub fn fail_after(&self, operation: &str, successes: usize, fault: WireFault) -> &Self {
        let mut state = self.state();
        let queue = state.queued.entry(operation.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(None, successes));
        queue.push_back(Some(fault));
        drop(state);
        self
    }

    /// Each request of `operation` (or `"*"`: every request) meets `fault` with probability `p`
    /// (0.0..=1.0), drawn from a seeded RNG ([`with_seed`](Self::with_seed)), until [`clear`](Self::clear).
    pub fn fail_randomly(&self, operation: &str, p: f64, fault: WireFault) -> &Self {
        self.state().random.push(RandomRule {
            operation: operation.to_owned(),
            probability: p.clamp(0.0, 1.0),
            fault,
        });
        self
    }

    /// The random rules' draws from `seed` (the same seed, the same draws for the same sequence
    /// of requests; concurrent callers may of course reach it in another order).
    pub fn with_seed(self, seed: u64) -> Self {
        self.state().rng = XorShift::seeded(seed);
        self
    }

    /// Forgets every queued fault and random rule; the counts stay.
    pub fn clear(&self) {
        let mut state = self.state();
        state.queued.clear();
        state.random.clear();
    }

    /// Requests of `operation` seen (faulted or not); `"*"`: of every operation.
    pub fn calls(&self, operation: &str) -> usize {
        let state = self.state();
        if operation == "*" {
            return state.seen.values().sum();
        }
        state.seen.get(operation).copied().unwrap_or_default()
    }

    /// Requests of `operation` that met a fault; `"*"`: of every operation.
    pub fn faulted(&self, operation: &str) -> usize {
        self.faulted_by(operation, None)
    }

    /// Requests of `operation` (`"*"`: any) that met `fault` (any delay for a `Delayed`).
    pub fn faulted_with(&self, operation: &str, fault: WireFault) -> usize {
        self.faulted_by(operation, Some(fault.label()))
    }

    fn faulted_by(&self, operation: &str, label: Option<&str>) -> usize {
        let state = self.state();
        state
            .faulted
            .iter()
            .filter(|(name, _)| operation == "*" || name.as_str() == operation)
            .flat_map(|(_, by_fault)| by_fault.iter())
            .filter(|(fault, _)| label.is_none_or(|label| **fault == label))
            .map(|(_, count)| count)
            .sum()
    }

    /// Every operation seen, with its request count and the faults it met:
    /// `GetItem 812 (lost 40, refused 21), PutItem 310 (…), …`.
    pub fn summary(&self) -> String {
        let state = self.state();
        let mut parts = Vec::new();
        for (operation, seen) in &state.seen {
            let faults: Vec<String> = state
                .faulted
                .get(operation)
                .into_iter()
                .flatten()
                .map(|(label, count)| format!("{label} {count}"))
                .collect();
            if faults.is_empty() {
                parts.push(format!("{operation} {seen}"));
            } else {
                parts.push(format!("{operation} {seen} ({})", faults.join(", ")));
            }
        }
        parts.join(", ")
    }

    /// What this request of `operation` meets; counts it.
    fn draw(&self, operation: &str) -> Option<WireFault> {
        let mut state = self.state();
        *state.seen.entry(operation.to_owned()).or_default() += 1;
        let queued = [operation, "*"].into_iter().find_map(|key| {
            let queue = state.queued.get_mut(key)?;
            let step = queue.pop_front()?;
            if queue.is_empty() {
                state.queued.remove(key);
            }
            Some(step)
        });
        let fault = match queued {
            Some(step) => step,
            None => {
                let PlanState { random, rng, .. } = &mut *state;
                let own = random.iter().filter(|rule| rule.operation == operation);
                let any = random.iter().filter(|rule| rule.operation == "*");
                own.chain(any)
                    .find(|rule| rng.next_f64() < rule.probability)
                    .map(|rule| rule.fault)
            }
        };
        if let Some(fault) = fault {
            *state
                .faulted
                .entry(operation.to_owned())
                .or_default()
                .entry(fault.label())
                .or_default() += 1;
        }
        fault
    }
}

/// xorshift64* seeded through splitmix64 (so 0 and small seeds are good seeds too).
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn seeded(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Self(if z == 0 { DEFAULT_SEED } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// An SDK HTTP client that sends through the bundle's own client
/// (`bridge::adapters::http::SdkHttpClient`) and applies the plan.
pub fn faulty_http_client(plan: FaultPlan) -> SharedHttpClient {
    SharedHttpClient::new(FaultyClient {
        inner: SdkHttpClient::default(),
        plan,
    })
}

/// As [`crate::emulator::sdk_config`], with the faulty client.
pub async fn faulty_sdk_config(endpoint: &str, region: &str, plan: FaultPlan) -> SdkConfig {
    crate::emulator::sdk_config_with(endpoint, region, faulty_http_client(plan)).await
}

#[derive(Debug)]
struct FaultyClient {
    inner: SdkHttpClient,
    plan: FaultPlan,
}

impl HttpClient for FaultyClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: FaultPlan,
}

/// The answer a lost request's caller gets instead of the emulator's.
#[derive(Debug)]
struct AnswerLost(String);

impl fmt::Display for AnswerLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection reset after the request was sent ({}: applied, answer lost by the fault plan)",
            self.0
        )
    }
}

impl std::error::Error for AnswerLost {}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation_name(&request);
        let Some(fault) = self.plan.draw(&operation) else {
            return self.inner.call(request);
        };
        match fault {
            WireFault::AppliedThenLost => {
                let answer = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    // The emulator has applied the request once its answer's head is here.
                    let answer = answer.await?;
                    drop(answer);
                    Err(ConnectorError::io(Box::new(AnswerLost(operation))))
                })
            }
            WireFault::Refused | WireFault::Throttled => {
                let answer = error_answer(&request, fault == WireFault::Throttled);
                HttpConnectorFuture::ready(answer.map_err(|error| ConnectorError::other(error.into(), None)))
            }
            WireFault::Hang => HttpConnectorFuture::new(std::future::pending()),
            WireFault::Delayed(delay) => {
                let answer = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    let answer = answer.await;
                    tokio::time::sleep(delay).await;
                    answer
                })
            }
        }
    }
}

/// The operation a request is: see the module's documentation.
pub(crate) fn operation_name(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let query = request
        .uri()
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    let form = request
        .body()
        .bytes()
        .and_then(|body| std::str::from_utf8(body).ok())
        .filter(|_| {
            request
                .headers()
                .get("content-type")
                .is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"))
        })
        .unwrap_or_default();
    if let Some(action) = [query, form].into_iter().find_map(|pairs| parameter(pairs, "Action")) {
        return action.to_owned();
    }
    let path = path_of(request.uri());
    if signing_service(request) == Some("s3") {
        return s3_operation(
            request.method(),
            path,
            query,
            request.headers().get("x-amz-copy-source").is_some(),
        );
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    format!("{} /{first}", request.method())
}

/// The path of a URI (absolute or not), without its query.
fn path_of(uri: &str) -> &str {
    let without_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = if uri.contains("://") {
        without_scheme.find('/').map_or("/", |at| &without_scheme[at..])
    } else {
        without_scheme
    };
    path.split_once('?').map_or(path, |(path, _)| path)
}

fn parameter<'a>(pairs: &'a str, name: &str) -> Option<&'a str> {
    pairs
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn has_parameter(pairs: &str, name: &str) -> bool {
    pairs.split('&').any(|pair| pair.split('=').next() == Some(name))
}

/// The service of the SigV4 credential scope (`Credential=AKID/date/region/<service>/aws4_request`).
pub(crate) fn signing_service(request: &HttpRequest) -> Option<&str> {
    let authorization = request.headers().get("authorization")?;
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    scope.split('/').nth(3)
}

/// An S3 operation's name, path-style addressing (`/bucket` or `/bucket/key`).
fn s3_operation(method: &str, path: &str, query: &str, copy: bool) -> String {
    let object = path
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(_, key)| !key.is_empty());
    let upload = has_parameter(query, "uploadId");
    let name = match (method, object) {
        ("GET", true) if upload => "ListParts",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("PUT", true) if upload => "UploadPart",
        ("PUT", true) if copy => "CopyObject",
        ("PUT", true) => "PutObject",
        ("DELETE", true) if upload => "AbortMultipartUpload",
        ("DELETE", true) => "DeleteObject",
        ("POST", true) if has_parameter(query, "uploads") => "CreateMultipartUpload",
        ("POST", true) if upload => "CompleteMultipartUpload",
        ("GET", false) if has_parameter(query, "list-type") => "ListObjectsV2",
        ("GET", false) => "ListObjects",
        ("HEAD", false) => "HeadBucket",
        ("PUT", false) => "CreateBucket",
        ("DELETE", false) => "DeleteBucket",
        ("POST", false) if has_parameter(query, "delete") => "DeleteObjects",
        _ => return format!("{method} {path}"),
    };
    name.to_owned()
}

/// A refusal (HTTP 500) or a throttle in the shape the request's protocol answers errors in.
fn error_answer(request: &HttpRequest, throttled: bool) -> Result<HttpResponse, String> {
    const MESSAGE: &str = "injected by the test's fault plan";
    let (status, content_type, body, extra) = match request.headers().get("x-amz-target") {
        Some(target) => {
            let service = target.split('.').next().unwrap_or_default();
            let (namespace, internal) = if service.starts_with("DynamoDB") {
                ("com.amazonaws.dynamodb.v20120810", "InternalServerError")
            } else if service == "AmazonSQS" {
                ("com.amazonaws.sqs", "InternalError")
            } else if service == "AWSEvents" {
                ("com.amazonaws.events", "InternalException")
            } else {
                ("com.amazonaws", "InternalServerError")
            };
            let (status, code) = if throttled {
                (400, "ThrottlingException")
            } else {
                (500, internal)
            };
            let body = serde_json::json!({"__type": format!("{namespace}#{code}"), "message": MESSAGE}).to_string();
            // SQS is query-compatible: the SDK takes the code from this header when present.
            let query_error =
                (service == "AmazonSQS").then(|| format!("{code};{}", if throttled { "Sender" } else { "Receiver" }));
            (
                status,
                "application/x-amz-json-1.0",
                body,
                vec![
                    ("x-amzn-errortype", Some(code.to_owned())),
                    ("x-amzn-query-error", query_error),
                ],
            )
        }
        None => {
            let (status, code) = if throttled {
                (503, "SlowDown")
            } else {
                (500, "InternalError")
            };
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{MESSAGE}</Message>\
                 <RequestId>faultplan</RequestId></Error>"
            );
            (status, "application/xml", body, Vec::new())
        }
    };
    let status = StatusCode::try_from(status).map_err(|error| error.to_string())?;
    let mut answer = HttpResponse::new(status, SdkBody::from(body.clone()));
    let headers = answer.headers_mut();
    headers.insert("content-type", content_type);
    headers.insert("content-length", body.len().to_string());
    headers.insert("x-amzn-requestid", "faultplan");
    for (name, value) in extra {
        if let Some(value) = value {
            headers.insert(name, value);
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn queued_faults_come_in_order_then_the_random_rules() {
        let plan = FaultPlan::new();
        plan.fail_next("PutItem", 2, WireFault::Refused)
            .fail_after("PutItem", 1, WireFault::Hang);
        let met: Vec<_> = (0..5).map(|_| plan.draw("PutItem")).collect();
        assert_eq!(
            met,
            [
                Some(WireFault::Refused),
                Some(WireFault::Refused),
                None,
                Some(WireFault::Hang),
                None
            ]
        );
        assert_eq!((plan.calls("PutItem"), plan.faulted("PutItem")), (5, 3));
        assert_eq!(plan.calls("GetItem"), 0);
        plan.fail_randomly("*", 1.0, WireFault::Throttled);
        assert_eq!(plan.draw("GetItem"), Some(WireFault::Throttled));
        plan.clear();
        assert_eq!(plan.draw("GetItem"), None);
        assert_eq!((plan.calls("*"), plan.faulted("*")), (7, 4));
        assert_eq!(plan.faulted_with("*", WireFault::Throttled), 1);
        assert_eq!(plan.summary(), "GetItem 2 (throttled 1), PutItem 5 (hang 1, refused 2)");
    }

    #[test]
    fn a_seed_gives_the_same_draws_and_the_rate_asked_for() {
        let draws = |seed| {
            let plan = FaultPlan::new().with_seed(seed);
            plan.fail_randomly("UpdateItem", 0.1, WireFault::AppliedThenLost);
            (0..10_000).filter(|_| plan.draw("UpdateItem").is_some()).count()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        assert!((800..1200).contains(&draws(7)), "{}", draws(7));
    }

    #[test]
    fn operation_names_by_protocol() {
        let request = |method: &str, uri: &str, headers: &[(&'static str, &str)], body: &str| {
            let mut request = HttpRequest::new(SdkBody::from(body.to_owned()));
            request.set_method(method).unwrap();
            request.set_uri(uri.to_owned()).unwrap();
            for (name, value) in headers {
                request.headers_mut().insert(*name, value.to_string());
            }
            request
        };
        let s3_auth = (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        );
        let cases = [
            (
                request(
                    "POST",
                    "http://127.0.0.1:4599/",
                    &[("x-amz-target", "DynamoDB_20120810.UpdateItem")],
                    "{}",
                ),
                "UpdateItem",
            ),
            (
                request(
                    "POST",
                    "http://127.0.0.1:4599/",
                    &[("x-amz-target", "AmazonSQS.SendMessage")],
                    "{}",
                ),
                "SendMessage",
            ),
            (
                request(
                    "POST",
                    "http://127.0.0.1:4599/",
                    &[("content-type", "application/x-www-form-urlencoded")],
                    "Action=SendEmail&Version=2010-12-01",
                ),
                "SendEmail",
            ),
            (
                request("GET", "http://127.0.0.1:4599/bucket/media/a.pdf", &[s3_auth], ""),
                "GetObject",
            ),
            (
                request(
                    "PUT",
                    "http://127.0.0.1:4599/bucket/a?partNumber=1&uploadId=x",
                    &[s3_auth],
                    "",
                ),
                "UploadPart",
            ),
            (
                request("GET", "http://127.0.0.1:4599/bucket?list-type=2", &[s3_auth], ""),
                "ListObjectsV2",
            ),
            (
                request("POST", "http://127.0.0.1:4599/v2/email/outbound-emails", &[], "{}"),
                "POST /v2",
            ),
        ];
        for (request, name) in cases {
            assert_eq!(operation_name(&request), name, "{}", request.uri());
        }
    }
}
