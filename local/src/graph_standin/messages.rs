//! The send endpoint, `POST /{version}/{phone_number_id}/messages`: Meta-like validation, the outcomes the
//! recipient's digits select, mark-as-read calls, and the log of every request received.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

use super::answers::{Answer, GraphError, MAX_BODY_BYTES, expired_token, json_answer, obj, success};
use super::ids::new_wamid;
use super::media::{Download, FileBody};
use super::status_webhooks::{Delivery, StatusWebhooks};
use super::validation::{ValidSend, check_typing_indicator, is_mark_as_read, validate};

const RATE_LIMIT_DETAILS: &str =
    "Message failed to send because there were too many messages sent from this phone number in a short period of time";
const SOMETHING_WENT_WRONG: &str = "Something went wrong";
const SOMETHING_WENT_WRONG_DETAILS: &str = "Message failed to send due to an unknown error";

/// One request received on the send route.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The `{phone_number_id}` path segment.
    pub phone_number_id: String,
    /// The `{version}` path segment, e.g. `v21.0`.
    pub version: String,
    /// The parsed body; a JSON string holding the raw body if it was not JSON; `null` if unreadable.
    pub body: Value,
    /// HTTP status of the answer.
    pub answered_status: u16,
    /// The wamid given, for accepted sends.
    pub wamid: Option<String>,
}

impl RecordedRequest {
    /// `to` (or `recipient`; `to` wins) exactly as sent, when the body has one as a string.
    pub fn recipient(&self) -> Option<&str> {
        self.body
            .get("to")
            .or_else(|| self.body.get("recipient"))
            .and_then(Value::as_str)
    }

    /// Whether the message was accepted (given a wamid; its status webhooks follow), including the
    /// `9993` / `9994` sends whose answer the client never gets and the `9992504` / `9992131000`
    /// sends answered with an error after all.
    pub fn accepted(&self) -> bool {
        self.wamid.is_some()
    }

    /// The send's `biz_opaque_callback_data`, if it had one.
    pub fn biz_opaque_callback_data(&self) -> Option<&str> {
        self.body.get("biz_opaque_callback_data").and_then(Value::as_str)
    }

    pub(super) fn to_json(&self) -> Value {
        let optional = |value: Option<&str>| value.map_or(Value::Null, Value::from);
        obj([
            ("phone_number_id", Value::from(self.phone_number_id.as_str())),
            ("version", Value::from(self.version.as_str())),
            ("body", self.body.clone()),
            ("answered_status", Value::from(self.answered_status)),
            ("wamid", optional(self.wamid.as_deref())),
            ("recipient", optional(self.recipient())),
            ("accepted", Value::Bool(self.accepted())),
            ("biz_opaque_callback_data", optional(self.biz_opaque_callback_data())),
        ])
    }
}

/// The waits of the ambiguous-outcome recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbiguityTimings {
    /// How long a `9994…` send waits before its answer (longer than the sender's timeout).
    pub slow_answer: Duration,
    /// How long a `99960…` message waits before its first status webhook.
    pub late_statuses: Duration,
}

impl Default for AmbiguityTimings {
    fn default() -> Self {
        Self {
            slow_answer: Duration::from_millis(12_000),
            late_statuses: Duration::from_millis(5_000),
        }
    }
}

impl AmbiguityTimings {
    pub const SLOW_ANSWER_VAR: &str = "GRAPH_STANDIN_SLOW_MS";
    pub const LATE_STATUSES_VAR: &str = "GRAPH_STANDIN_STATUS_DELAY_MS";

    /// From `GRAPH_STANDIN_SLOW_MS` and `GRAPH_STANDIN_STATUS_DELAY_MS` (milliseconds), each defaulting
    /// when unset or not a number.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Self::from_env`], reading the variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let defaults = Self::default();
        let millis = |name: &str, default: Duration| {
            lookup(name)
                .and_then(|value| value.trim().parse().ok())
                .map_or(default, Duration::from_millis)
        };
        Self {
            slow_answer: millis(Self::SLOW_ANSWER_VAR, defaults.slow_answer),
            late_statuses: millis(Self::LATE_STATUSES_VAR, defaults.late_statuses),
        }
    }
}

/// How an accepted answer reaches the client when not as usual; carried as an extension of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ambiguous {
    /// `9993`: status line and headers, then the connection closes instead of the body ([`to_wire`]).
    BodyDropped,
    /// `9994`: after [`AmbiguityTimings::slow_answer`].
    Late,
}

/// The body type the stand-in writes: the answer's, or one that fails on purpose.
pub type WireBody = Either<Full<Bytes>, Either<DroppedBody, FileBody>>;

/// The answer as written on the connection. An answer marked [`Ambiguous::BodyDropped`] keeps its status line and
/// headers, with `Content-Length` announcing its real body, but the body is replaced by [`DroppedBody`].
pub fn to_wire(mut answer: Answer) -> Response<WireBody> {
    if let Some(download) = answer.extensions_mut().remove::<Download>() {
        return answer.map(|_| Either::Right(Either::Right(FileBody::new(download))));
    }
    if answer.extensions().get::<Ambiguous>() != Some(&Ambiguous::BodyDropped) {
        return answer.map(Either::Left);
    }
    let length = answer.body().size_hint().exact().unwrap_or(0);
    let mut answer = answer.map(|_| Either::Right(Either::Left(DroppedBody::new())));
    answer.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(length));
    answer
}

/// A body that fails instead of being written. Hyper then sends the status line and headers it holds (a
/// body of unknown size with a `Content-Length` header: hyper writes that header and expects that many
/// bytes), and when the body fails it closes the connection without a byte of it: the client has a 200
/// and its headers, then an error reading the body. The first poll waits a little so that hyper flushes
/// the headers before it sees the error (an error on the first poll could discard them unwritten).
pub struct DroppedBody {
    flushed: Pin<Box<tokio::time::Sleep>>,
}

impl DroppedBody {
    fn new() -> Self {
        Self {
            flushed: Box::pin(tokio::time::sleep(Duration::from_millis(20))),
        }
    }
}

impl Body for DroppedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        ready!(self.flushed.as_mut().poll(cx));
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "graph stand-in: answer body dropped on purpose (recipient 9993)",
        ))))
    }
}

/// What the recipient number selects.
enum Outcome {
    Error(GraphError),
    ExpiredToken,
    EmptyServiceUnavailable,
    Flaky,
    AcceptedThenFailed,
    /// `9993`: accepted, the answer's body dropped with the connection.
    AcceptedAnswerDropped,
    /// `9994`: accepted, answered after [`AmbiguityTimings::slow_answer`].
    AcceptedAnswerSlow,
    /// `99960`: accepted, status webhooks after [`AmbiguityTimings::late_statuses`].
    AcceptedStatusesLate,
    /// `9992504`: accepted, but answered `504` with an empty body (Meta's edge timing out).
    AcceptedThenGatewayTimeout,
    /// `9992131000`: accepted, but answered `500` code 131000 (Meta's "something went wrong").
    AcceptedThenSomethingWentWrong,
    Accepted,
}

#[derive(Default)]
struct Log {
    records: Vec<RecordedRequest>,
    /// When each of `records` arrived (the rate a tier's worth of workers sends at: `make bench-send`).
    arrivals: Vec<std::time::Instant>,
    /// Flaky recipients (digits) that already got their 429.
    flaky_seen: HashSet<String>,
}

/// The send route's state.
pub struct Messages {
    latency: Duration,
    timings: AmbiguityTimings,
    webhooks: Arc<StatusWebhooks>,
    log: Mutex<Log>,
}

impl Messages {
    /// `latency`: the wait before every answer.
    pub fn new(latency: Duration, timings: AmbiguityTimings, webhooks: StatusWebhooks) -> Self {
        Self {
            latency,
            timings,
            webhooks: Arc::new(webhooks),
            log: Mutex::new(Log::default()),
        }
    }

    /// Where the stand-in's webhooks go (statuses, and the echoes of `/_standin/echo`).
    pub fn webhooks(&self) -> &Arc<StatusWebhooks> {
        &self.webhooks
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A poisoned lock only means another task panicked mid-update; the data is still usable.
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every send request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().records.clone()
    }

    /// When each request of [`Self::requests`] arrived, in the same order.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.lock().arrivals.clone()
    }

    /// Forgets every request received so far.
    pub fn clear_requests(&self) {
        let mut log = self.lock();
        log.records.clear();
        log.arrivals.clear();
    }

    /// [`Self::requests`] as the JSON array `GET /_standin/requests` answers.
    pub fn requests_json(&self) -> Value {
        Value::Array(self.lock().records.iter().map(RecordedRequest::to_json).collect())
    }

    /// Answers a send; `authorized`: whether it presented the accepted token.
    pub async fn send(
        &self,
        req: Request<Incoming>,
        version: String,
        phone_number_id: String,
        authorized: bool,
    ) -> Answer {
        let raw = Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes());
        let parsed: Result<Value, GraphError> = match &raw {
            Err(error) => Err(GraphError::invalid_parameter(format!(
                "Could not read the request body: {error}"
            ))),
            Ok(bytes) => serde_json::from_slice::<Value>(bytes)
                .map_err(|error| GraphError::invalid_parameter(format!("Invalid JSON in the request body: {error}"))),
        };
        let recorded_body = match (&parsed, &raw) {
            (Ok(value), _) => value.clone(),
            (Err(_), Ok(bytes)) => Value::from(String::from_utf8_lossy(bytes).into_owned()),
            (Err(_), Err(_)) => Value::Null,
        };
        let arrived = std::time::Instant::now();
        let mut record = RecordedRequest {
            phone_number_id: phone_number_id.clone(),
            version,
            body: recorded_body,
            answered_status: 0,
            wamid: None,
        };

        let (answer, delivery) = match parsed {
            _ if !authorized => (expired_token(), None),
            Err(error) => (error.answer(), None),
            Ok(body) if is_mark_as_read(&body) => match check_typing_indicator(&body) {
                Ok(()) => (success(), None),
                Err(error) => (error.answer(), None),
            },
            Ok(body) => match validate(&body) {
                Err(error) => (error.answer(), None),
                Ok(send) => self.answer_valid(send, &phone_number_id, &mut record),
            },
        };
        let late = answer.extensions().get::<Ambiguous>() == Some(&Ambiguous::Late);
        record.answered_status = answer.status().as_u16();
        {
            let mut log = self.lock();
            log.records.push(record);
            log.arrivals.push(arrived);
        }

        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if let Some(delivery) = delivery {
            self.webhooks.schedule(delivery);
        }
        if late {
            // The webhooks are on their way already; a client that gives up drops this future, not them.
            tokio::time::sleep(self.timings.slow_answer).await;
        }
        answer
    }

    /// Answers a valid, authorized send. Returns the answer and, for an accepted message, its delivery.
    fn answer_valid(
        &self,
        send: ValidSend,
        phone_number_id: &str,
        record: &mut RecordedRequest,
    ) -> (Answer, Option<Delivery>) {
        let mut first_delay = Duration::ZERO;
        let mut ambiguous = None;
        // An accepted message answered with this error instead of its success.
        let mut error_after_accepting = None;
        let fail = match outcome(&send.digits) {
            Outcome::Error(error) => return (error.answer(), None),
            Outcome::ExpiredToken => return (expired_token(), None),
            Outcome::EmptyServiceUnavailable => {
                let mut answer = Response::new(Full::new(Bytes::new()));
                *answer.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                return (answer, None);
            }
            Outcome::Flaky => {
                // Decided under the lock so that concurrent first sends get exactly one 429.
                if self.lock().flaky_seen.insert(send.digits.clone()) {
                    let error = GraphError::new(429, 130429, "Rate limit hit", RATE_LIMIT_DETAILS);
                    return (error.answer(), None);
                }
                false
            }
            Outcome::AcceptedThenFailed => true,
            Outcome::AcceptedAnswerDropped => {
                ambiguous = Some(Ambiguous::BodyDropped);
                false
            }
            Outcome::AcceptedAnswerSlow => {
                ambiguous = Some(Ambiguous::Late);
                false
            }
            Outcome::AcceptedStatusesLate => {
                first_delay = self.timings.late_statuses;
                false
            }
            Outcome::AcceptedThenGatewayTimeout => {
                let mut answer = Response::new(Full::new(Bytes::new()));
                *answer.status_mut() = StatusCode::GATEWAY_TIMEOUT;
                error_after_accepting = Some(answer);
                false
            }
            Outcome::AcceptedThenSomethingWentWrong => {
                let error = GraphError::new(500, 131000, SOMETHING_WENT_WRONG, SOMETHING_WENT_WRONG_DETAILS);
                error_after_accepting = Some(error.answer());
                false
            }
            Outcome::Accepted => false,
        };
        let wamid = new_wamid(&send.digits);
        record.wamid = Some(wamid.clone());
        let body = obj([
            ("messaging_product", Value::from("whatsapp")),
            (
                "contacts",
                Value::Array(vec![match &send.user_id {
                    // Meta: `user_id` instead of `wa_id` for a send to a business-scoped user id.
                    Some(user_id) => obj([
                        ("input", send.input.clone()),
                        ("user_id", Value::from(user_id.as_str())),
                    ]),
                    None => obj([
                        ("input", send.input.clone()),
                        ("wa_id", Value::from(send.digits.as_str())),
                    ]),
                }]),
            ),
            (
                "messages",
                Value::Array(vec![obj([
                    ("id", Value::from(wamid.as_str())),
                    ("message_status", Value::from("accepted")),
                ])]),
            ),
        ]);
        let delivery = Delivery {
            phone_number_id: phone_number_id.to_owned(),
            wamid,
            digits: send.digits,
            user_id: send.user_id,
            fail,
            biz_opaque_callback_data: send.biz_opaque_callback_data,
            first_delay,
        };
        if let Some(answer) = error_after_accepting {
            return (answer, Some(delivery));
        }
        let mut answer = json_answer(200, &body);
        if let Some(ambiguous) = ambiguous {
            answer.extensions_mut().insert(ambiguous);
        }
        (answer, Some(delivery))
    }
}

fn outcome(digits: &str) -> Outcome {
    let error = |status: u16, code: u64, title: &str, details: &str| {
        Outcome::Error(GraphError::new(status, code, title, details))
    };
    if digits.starts_with("9991304") {
        error(400, 130429, "Rate limit hit", RATE_LIMIT_DETAILS)
    } else if digits.starts_with("9991310560") {
        error(
            400,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
        )
    } else if digits.starts_with("9991310000") {
        error(500, 131000, SOMETHING_WENT_WRONG, SOMETHING_WENT_WRONG_DETAILS)
    } else if digits.starts_with("9991310260") {
        error(
            400,
            131026,
            "Message Undeliverable.",
            "Message undeliverable: the recipient may not be a WhatsApp user or may not have accepted the latest terms",
        )
    } else if digits.starts_with("9991310470") {
        error(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number",
        )
    } else if digits.starts_with("9991320000") {
        error(
            400,
            132000,
            "Number of parameters does not match the expected number of params",
            "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template",
        )
    } else if digits.starts_with("9991000000") {
        error(
            400,
            100,
            "Invalid parameter",
            "Invalid parameter for this recipient (stand-in special recipient)",
        )
    } else {
        // The outcomes without an error body, after the 9991… errors.
        let by_prefix = [
            ("9991900000", Outcome::ExpiredToken),
            ("9995000000", Outcome::EmptyServiceUnavailable),
            ("9984290", Outcome::Flaky),
            ("9970", Outcome::AcceptedThenFailed),
            ("9993", Outcome::AcceptedAnswerDropped),
            ("9994", Outcome::AcceptedAnswerSlow),
            ("99960", Outcome::AcceptedStatusesLate),
            ("9992504", Outcome::AcceptedThenGatewayTimeout),
            ("9992131000", Outcome::AcceptedThenSomethingWentWrong),
        ];
        by_prefix
            .into_iter()
            .find(|(prefix, _)| digits.starts_with(prefix))
            .map_or(Outcome::Accepted, |(_, outcome)| outcome)
    }
}
