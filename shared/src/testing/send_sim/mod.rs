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

use super::{FakeBlobStore, FakeEventBus, FakeGraph, FakeQueue, MemoryStore};
use crate::adapters::dynamodb::DynamoMessageStore;
use crate::domain::ids::{ContactId, MessageId};
use crate::domain::outbound::{Origin, SendJob};
use crate::domain::records::{BusinessNumbers, PhoneNumberFilter};
use crate::domain::send_request::MessageKind;
use crate::handlers::worker::Worker;
use crate::handlers::worker::sending::{RateLimiter, SendPolicy, Sending};
use crate::ports::{ClaimTerms, MessageStore, NewOutbound, OutboundStore, Pace, TemplateStatusStore};

mod property;

pub use property::{STORE_WRITES, SendSchedule, answered_ambiguously, check_send, release_and_queue_down, strategies};

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
pub trait SimStore:
    MessageStore + OutboundStore + TemplateStatusStore + SimClock + Clone + Send + Sync + 'static
{
}
impl<S: MessageStore + OutboundStore + TemplateStatusStore + SimClock + Clone + Send + Sync + 'static> SimStore for S {}

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
            calls_policy: crate::domain::records::CallsPolicy::Reject,
            calls_reply: None,
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
            to: ContactId::from_key(to),
            from: None,
            kind: MessageKind::Text,
            fingerprint: crate::domain::outbound::fingerprint(&payload),
            payload: payload.clone(),
            origin: Origin::Api,
        })
        .await?;
    Ok(SendJob {
        message_id,
        to: ContactId::from_key(to),
        from: None,
        kind: MessageKind::Text,
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
