//! SQS and Meta around the worker, on any store: records become visible again after the delay the
//! worker asked for (or the visibility timeout), go to the dead-letter queue after
//! [`MAX_RECEIVES`], and Meta sends a status webhook for each message it took, `status_delay`
//! seconds later. The store is the in-memory fake (the library's unit tests, a paused clock) or the
//! DynamoDB adapter on the emulator through the SDK-level fault layer (the integration tests): the
//! same simulation, the same send property ([`check_send`]).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{FakeBlobStore, FakeEventBus, FakeGraph, FakeQueue, GraphAnswer, MemoryStore};
use crate::adapters::dynamodb::DynamoMessageStore;
use crate::domain::ids::MessageId;
use crate::domain::outbound::{Origin, SendJob};
use crate::domain::records::{BusinessNumbers, PhoneNumberFilter};
use crate::handlers::worker::Worker;
use crate::handlers::worker::sending::{RateLimiter, SendPolicy, Sending};
use crate::ports::{ClaimTerms, MessageStore, NewOutbound, OutboundStore, Pace};

pub const SEND_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:sends";
pub const EVENTS_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:events";
/// The send queue's visibility timeout: a failed record without a delay comes back after it.
pub const VISIBILITY_SECONDS: i64 = 180;
pub const MAX_RECEIVES: u32 = 10;
pub const LEASE_SECONDS: u32 = 60;
pub const RECONCILE_SECONDS: u32 = 900;
pub const FIRST_NUMBER: &str = "106540352242922";
pub const SECOND_NUMBER: &str = "106540352242923";

/// A store whose clock the simulation moves (the send state machine's times).
pub trait SimClock {
    fn advance_clock(&self, seconds: i64);
}

impl SimClock for MemoryStore {
    fn advance_clock(&self, seconds: i64) {
        self.advance(seconds);
    }
}

impl SimClock for DynamoMessageStore {
    fn advance_clock(&self, seconds: i64) {
        DynamoMessageStore::advance_clock(self, seconds);
    }
}

/// What a simulated store needs.
pub trait SimStore: MessageStore + OutboundStore + SimClock + Clone + Send + Sync + 'static {}
impl<S: MessageStore + OutboundStore + SimClock + Clone + Send + Sync + 'static> SimStore for S {}

pub type SimWorker<S> = Worker<S, FakeBlobStore, FakeQueue, FakeGraph, FakeQueue, FakeEventBus>;

/// The worker's outside world, but for its store.
pub struct SimFakes<S> {
    pub store: S,
    pub graph: FakeGraph,
    /// The send queue (auto-replies, deferred outcomes) and the redelivery log of both queues.
    pub queue: FakeQueue,
    pub blobs: FakeBlobStore,
}

/// The send path's timing in the simulation: the fake's paused clock takes any bound; a store over
/// HTTP needs room for its answers.
#[derive(Debug, Clone, Copy)]
pub struct SimTimes {
    pub graph_timeout: Duration,
    pub store_timeout: Duration,
    /// An invocation that has not finished in this long is killed (Lambda's timeout).
    pub invocation: Duration,
}

impl SimTimes {
    /// For the in-memory store on a paused clock.
    pub const IN_MEMORY: SimTimes = SimTimes {
        graph_timeout: Duration::from_millis(200),
        store_timeout: Duration::from_millis(100),
        invocation: Duration::from_millis(700),
    };
    /// For a store over HTTP (the emulator), on the wall clock.
    pub const OVER_HTTP: SimTimes = SimTimes {
        graph_timeout: Duration::from_millis(200),
        store_timeout: Duration::from_millis(1_500),
        invocation: Duration::from_secs(12),
    };
}

pub fn policy(times: SimTimes) -> SendPolicy {
    SendPolicy {
        terms: ClaimTerms {
            lease_seconds: LEASE_SECONDS,
            reconcile_after_seconds: RECONCILE_SECONDS,
        },
        graph_timeout: times.graph_timeout,
        store_timeout: times.store_timeout,
        max_receives: MAX_RECEIVES,
        mark_read_timeout: Duration::from_millis(50),
        pace: Some(Pace {
            interval_ms: 6_000,
            burst: 45,
        }),
    }
}

/// A worker on `store` with fakes for everything else.
pub fn worker<S: SimStore>(
    store: S,
    times: SimTimes,
    auto_reply: Option<&str>,
    mark_as_read: bool,
) -> (SimWorker<S>, SimFakes<S>) {
    let fakes = SimFakes {
        store,
        graph: FakeGraph::new(),
        queue: FakeQueue::new(),
        blobs: FakeBlobStore::new("payloads"),
    };
    let worker = Worker {
        store: fakes.store.clone(),
        blobs: fakes.blobs.clone(),
        redelivery: fakes.queue.clone(),
        phone_numbers: PhoneNumberFilter::new(Vec::<String>::new()),
        sending: Some(Sending {
            store: fakes.store.clone(),
            graph: fakes.graph.clone(),
            queue: fakes.queue.clone(),
            limiter: RateLimiter::new(1_000),
            policy: policy(times),
            numbers: BusinessNumbers::new([FIRST_NUMBER.to_owned(), SECOND_NUMBER.to_owned()]),
            auto_reply_text: auto_reply.map(str::to_owned),
            mark_as_read,
            events: None,
            typing_indicator: false,
        }),
        events: None,
        media: None,
    };
    (worker, fakes)
}

/// A text message to `to`, created `queued` in `store` as the send API does, and its job.
pub async fn queued_job<S: OutboundStore>(
    store: &S,
    message_id: MessageId,
    to: &str,
    body: &str,
) -> Result<SendJob, crate::ports::StoreError> {
    let payload = json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}});
    store
        .create_outbound(&NewOutbound {
            message_id: message_id.clone(),
            to: to.to_owned(),
            from: None,
            kind: "text".to_owned(),
            fingerprint: crate::domain::outbound::fingerprint(&payload),
            payload: payload.clone(),
            origin: Origin::Api,
        })
        .await?;
    Ok(SendJob {
        message_id,
        to: to.to_owned(),
        from: None,
        payload,
        requeued: 0,
    })
}

/// An SQS record as Lambda hands it to the worker.
pub fn record(id: &str, kind: Option<&str>, body: &str, receive_count: u32, arn: &str) -> SqsMessage {
    let mut attributes = serde_json::Map::new();
    if let Some(kind) = kind {
        attributes.insert(
            "kind".to_owned(),
            json!({"stringValue": kind, "dataType": "String", "stringListValues": [], "binaryListValues": []}),
        );
    }
    let message = json!({
        "messageId": id,
        "receiptHandle": format!("{id}/{receive_count}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count.to_string(), "SentTimestamp": "1800000000000"},
        "messageAttributes": attributes,
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    });
    serde_json::from_value(message).unwrap_or_default()
}

pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Meta's status webhook for one message (with the bundle's id as `biz_opaque_callback_data`).
pub fn status_webhook(wamid: &str, status: &str, callback_data: Option<&str>) -> String {
    let mut status_object = json!({"id": wamid, "status": status, "timestamp": "1800000100",
        "recipient_id": "972504370045"});
    if let Some(data) = callback_data {
        status_object["biz_opaque_callback_data"] = Value::String(data.to_owned());
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": "106540352242922"}, "statuses": [status_object]}}]}]})
    .to_string()
}

/// One message in the simulated SQS queues.
pub struct InQueue {
    pub id: String,
    pub kind: String,
    pub body: String,
    pub arn: &'static str,
    pub visible_at: i64,
    pub receives: u32,
}

pub struct Sim<S> {
    pub worker: SimWorker<S>,
    pub fakes: SimFakes<S>,
    pub queue: Vec<InQueue>,
    pub dead_letters: Vec<InQueue>,
    pub status_delay: Option<i64>,
    statuses_sent: usize,
    next_id: usize,
    /// A crash at an await point: the invocation is dropped after this long.
    pub crash_after: Option<Duration>,
    /// The invocation's timeout.
    pub invocation: Duration,
}

impl<S: SimStore> Sim<S> {
    pub fn new(worker: SimWorker<S>, fakes: SimFakes<S>, status_delay: Option<i64>) -> Self {
        Self {
            worker,
            fakes,
            queue: Vec::new(),
            dead_letters: Vec::new(),
            status_delay,
            statuses_sent: 0,
            next_id: 0,
            crash_after: None,
            invocation: SimTimes::IN_MEMORY.invocation,
        }
    }

    pub fn with_times(mut self, times: SimTimes) -> Self {
        self.invocation = times.invocation;
        self
    }

    fn now(&self) -> i64 {
        self.fakes.store.now()
    }

    pub fn push(&mut self, kind: &str, body: String, arn: &'static str, delay: i64) {
        self.next_id += 1;
        let visible_at = self.now() + delay;
        self.queue.push(InQueue {
            id: format!("m{}", self.next_id),
            kind: kind.to_owned(),
            body,
            arn,
            visible_at,
            receives: 0,
        });
    }

    /// Messages the worker put on the send queue, and Meta's status webhooks now due.
    fn collect(&mut self) {
        for message in self.fakes.queue.take_sent() {
            let kind = message
                .attributes
                .iter()
                .find(|(name, _)| name == "kind")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            self.push(&kind, message.body, SEND_QUEUE_ARN, i64::from(message.delay_seconds));
        }
        if let Some(delay) = self.status_delay {
            let taken = self.fakes.graph.state().taken.clone();
            for (data, wamid) in taken.iter().skip(self.statuses_sent) {
                self.push(
                    "meta-webhook",
                    status_webhook(wamid.as_str(), "delivered", data.as_deref()),
                    EVENTS_QUEUE_ARN,
                    delay,
                );
            }
            self.statuses_sent = taken.len();
        }
    }

    /// Delivers the next visible message (moving the clock to it); false when none is left.
    pub async fn step(&mut self) -> bool {
        self.collect();
        let Some(index) = (0..self.queue.len()).min_by_key(|&i| self.queue[i].visible_at) else {
            return false;
        };
        let now = self.now();
        if self.queue[index].visible_at > now {
            self.fakes.store.advance_clock(self.queue[index].visible_at - now);
        }
        let mut message = self.queue.swap_remove(index);
        message.receives += 1;
        if message.receives > MAX_RECEIVES {
            self.dead_letters.push(message);
            return true;
        }
        let record = record(
            &message.id,
            Some(&message.kind),
            &message.body,
            message.receives,
            message.arn,
        );
        let receipt = record.receipt_handle.clone().unwrap_or_default();
        let handled = self.worker.handle(event(vec![record]), deadline());
        // The invocation's timeout: a call that hangs ends the invocation there, as in Lambda.
        let limit = self.crash_after.take().unwrap_or(self.invocation);
        let response = tokio::time::timeout(limit, handled).await.ok();
        let failed = response.is_none_or(|response| !response.batch_item_failures.is_empty());
        if failed {
            let delay = self
                .fakes
                .queue
                .redelivered()
                .iter()
                .rev()
                .find(|(_, r, _)| *r == receipt)
                .map_or(VISIBILITY_SECONDS, |(_, _, seconds)| i64::from(*seconds));
            message.visible_at = self.now() + delay;
            self.queue.push(message);
        }
        true
    }

    /// Steps until nothing is left (false: it did not settle within `steps`).
    pub async fn run_for(&mut self, steps: usize) -> bool {
        for _ in 0..steps {
            if !self.step().await {
                return true;
            }
        }
        false
    }

    pub async fn run(&mut self) {
        assert!(
            self.run_for(300).await,
            "the simulation did not settle: {} messages left",
            self.queue.len()
        );
    }
}

/// One send job's life under faults: Meta's answers, the store's faults (by the fake's operation
/// names: `claim`, `mark_accepted`, `release`, `mark_failed`, `mark_unknown`), a queue fault, duplicate
/// deliveries, crashes, and when Meta's status webhook comes.
#[derive(Debug, Clone)]
pub struct SendSchedule {
    pub answers: Vec<GraphAnswer>,
    pub store_faults: Vec<(&'static str, usize, super::Fault)>,
    pub queue_fault: Option<super::Fault>,
    /// Extra deliveries of the same job (SQS at-least-once, a client's retried request), delays in s.
    pub duplicates: Vec<i64>,
    /// Steps of the simulation at which the invocation is killed, and after how long (ms).
    pub crashes: Vec<(usize, u64)>,
    /// Meta's status webhook for a taken message, this many seconds later; `None`: never.
    pub status_delay: Option<i64>,
}

/// The store operations a schedule's faults name.
pub const STORE_WRITES: [&str; 5] = ["claim", "mark_accepted", "release", "mark_failed", "mark_unknown"];

/// Runs `schedule` for `job` (already created on the sim's store, its answers scripted and its faults
/// planned by the caller) and checks the send property: Meta (the fake's ground truth) took it exactly
/// once, or twice only through the one resend of an unknown outcome that no status resolved; never
/// lost; its fate known; `failed` only ever the truth.
pub async fn check_send<S: SimStore>(mut sim: Sim<S>, job: &SendJob, schedule: &SendSchedule) -> Result<(), String> {
    let body = serde_json::to_string(job).map_err(|error| error.to_string())?;
    sim.push("send-message", body.clone(), SEND_QUEUE_ARN, 0);
    for delay in &schedule.duplicates {
        sim.push("send-message", body.clone(), SEND_QUEUE_ARN, *delay);
    }
    let mut settled = false;
    for step in 0..400 {
        if let Some((_, after_ms)) = schedule.crashes.iter().find(|(at, _)| *at == step) {
            sim.crash_after = Some(Duration::from_millis(*after_ms));
        }
        if !sim.step().await {
            settled = true;
            break;
        }
    }
    let fail = |text: String| Err::<(), String>(text);
    if !settled {
        return fail(format!(
            "the simulation did not settle: {} messages left",
            sim.queue.len()
        ));
    }
    let view = sim
        .fakes
        .store
        .view(job.message_id.as_str())
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the message is gone")?;
    let status = view.status.clone().unwrap_or_default();
    let resends = usize::try_from(view.resends.unwrap_or(0)).unwrap_or(usize::MAX);
    let taken = sim.fakes.graph.taken_count(job.message_id.as_str());
    let accepted = matches!(status.as_str(), "accepted" | "sent" | "delivered" | "read");
    if resends > 1 {
        return fail(format!("resent {resends} times"));
    }
    if taken > 1 + resends {
        return fail(format!("taken {taken} times, {resends} resends"));
    }
    if schedule.status_delay.is_some() && taken > 1 {
        // A status webhook always arrives before the reconcile window closes: never a resend.
        return fail(format!("taken {taken} times although a status could resolve it"));
    }
    if sim.dead_letters.iter().any(|m| m.kind == "send-message") {
        return fail("a send job reached the dead-letter queue".to_owned());
    }
    // Never lost: Meta took it, or it is recorded failed with Meta's refusal or its last error, or
    // — only when nothing could record that a send never reached Meta: the invocation was killed
    // first, or the table refused the release (or the `failed` record) twice and the queue refused
    // it in between, or Meta answered a 5xx or 131000, which do not say it did not take the message
    // (the fake took nothing, the worker cannot know) — `unknown`, which the caller sees and which is
    // never sent a third time. Never silently queued forever.
    let unknown = status == "unknown";
    let excused = !schedule.crashes.is_empty() || release_and_queue_down(schedule) || answered_ambiguously(schedule);
    if !(taken >= 1 || status == "failed" || (unknown && excused)) {
        return fail(format!("the message was lost: {status}, never taken"));
    }
    if !(accepted || unknown || status == "failed") {
        return fail(format!("its fate is not known: {status}"));
    }
    if taken >= 1 && !(accepted || unknown) {
        return fail(format!("Meta took it, but it is recorded {status}"));
    }
    if status == "failed" {
        // `failed` is only ever the truth: a message Meta took (or may have: a resend counted) is
        // never recorded failed, whatever refused a later copy.
        if taken != 0 || resends != 0 {
            return fail(format!(
                "a message Meta took or may have is recorded failed (taken {taken}, resends {resends})"
            ));
        }
        if !schedule
            .answers
            .iter()
            .any(|answer| matches!(answer, GraphAnswer::Refuse(_)))
        {
            return fail("failed although Meta never refused it".to_owned());
        }
    }
    Ok(())
}

/// The schedule makes the table refuse twice the write that records a send never reached Meta (its
/// release, or its `failed` after Meta's refusal) and the queue refuse once: the one documented hole.
pub fn release_and_queue_down(schedule: &SendSchedule) -> bool {
    let refusals: usize = schedule
        .store_faults
        .iter()
        .filter(|(operation, _, _)| matches!(*operation, "release" | "mark_failed"))
        .map(|(_, count, _)| count)
        .sum();
    refusals >= 2 && schedule.queue_fault.is_some()
}

/// Meta answered the schedule's send with a refusal that may come after it took the message (a
/// 5xx, 131000): the worker reconciles it as `unknown` and cannot tell it was not taken.
pub fn answered_ambiguously(schedule: &SendSchedule) -> bool {
    schedule.answers.iter().any(|answer| {
        matches!(answer, GraphAnswer::Refuse(error)
            if error.class() == crate::domain::graph_error::FailureClass::Ambiguous)
    })
}

/// The schedules the property draws from (proptest strategies), shared by every backend's run.
pub mod strategies {
    use proptest::prelude::*;

    use super::{STORE_WRITES, SendSchedule};
    use crate::testing::{Fault, GraphAnswer};

    pub fn graph_answer() -> impl Strategy<Value = GraphAnswer> {
        prop_oneof![
            4 => Just(GraphAnswer::Accept),
            1 => Just(GraphAnswer::AcceptBodyLost),
            1 => Just(GraphAnswer::AcceptThenAmbiguous),
            1 => Just(GraphAnswer::AcceptThenHang),
            1 => Just(GraphAnswer::NotSent),
            1 => Just(GraphAnswer::refuse(500, 131000)),
            1 => Just(GraphAnswer::refuse(429, 130429)),
            1 => Just(GraphAnswer::refuse(400, 131026)),
        ]
    }

    pub fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            Just(Fault::Transient),
            Just(Fault::Permanent),
            Just(Fault::Hang),
            Just(Fault::AppliedThenTransient),
        ]
    }

    pub fn send_schedule() -> impl Strategy<Value = SendSchedule> {
        (
            proptest::collection::vec(graph_answer(), 0..4),
            proptest::collection::vec(
                (proptest::sample::select(STORE_WRITES.to_vec()), 1usize..=2, fault()),
                0..3,
            ),
            proptest::option::of(prop_oneof![Just(Fault::Transient), Just(Fault::Hang)]),
            proptest::collection::vec(0i64..400, 0..3),
            proptest::collection::vec((0usize..6, 1u64..80), 0..3),
            proptest::option::of(1i64..300),
        )
            .prop_map(
                |(answers, store_faults, queue_fault, duplicates, crashes, status_delay)| SendSchedule {
                    answers,
                    store_faults,
                    queue_fault,
                    duplicates,
                    crashes,
                    status_delay,
                },
            )
    }
}
