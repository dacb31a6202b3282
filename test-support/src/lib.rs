//! What the integration tests (`tests/`) and the CLI's tests (`cli/tests/`) share.
//!
//! - [`emulator`]: SDK clients for the AWS emulator `local_env()` names (moto server, started by
//!   `make test` on its own port with its own resource names), a fresh queue and dead-letter queue
//!   per test, and reads of items, messages and sent emails.
//! - [`events`]: API Gateway requests built by the local runner's own event builder, signed Meta
//!   and Twilio webhooks, webhook bodies.
//! - [`http`]: a plain HTTP client (the bundle's reqwest client) for loopback servers.
//! - [`stack`]: the local stack's servers in-process on ephemeral ports, over the real handlers
//!   ([`stack::build_handlers`]).
//! - [`ingest`]: the ingestion handler alone behind HTTP ([`ingest::serve_ingest`]), for the Graph
//!   stand-in's status webhooks.
//! - [`send_loop`]: the send API, the ingestion handler and the worker on one fresh queue, with a
//!   Graph stand-in whose status webhooks reach the ingestion handler.
//! - [`wire_faults`]: faults at the SDK's HTTP layer (an answer lost after the request was
//!   applied, a refusal, a throttle, a hang, a delay), planned per operation or at random.
//! - [`wire_meter`]: every AWS request counted at the SDK's HTTP layer, by service and operation,
//!   with DynamoDB's capacity units, EventBridge entries and SQS chunks (`make cost`).
//! - [`webdriver`]: headless Chromium through W3C WebDriver, for the console's browser test.

pub mod emulator;
pub mod events;
pub mod faulty_store;
pub mod http;
pub mod ingest;
pub mod send_loop;
pub mod stack;
pub mod webdriver;
pub mod wire_faults;
pub mod wire_meter;

pub use emulator::{Emulator, Item, TappedBus, TestQueue, local_env, s, sdk_config, sdk_config_with, unique};
pub use events::{api_request, signed_webhook, status_webhook, text_webhook, twilio_request};
pub use faulty_store::{SDK_ATTEMPTS, faulty_dynamo_store};
pub use ingest::serve_ingest;
pub use send_loop::{LOOP_PHONE_NUMBER_ID, LOOP_TOKEN, LoopOptions, SendLoop};
pub use stack::{ACCOUNT_SID, Handlers, Options, Run, Stack, build_handlers, unique_number};
pub use wire_faults::{FaultPlan, WireFault, faulty_http_client, faulty_sdk_config};
pub use wire_meter::{InvocationCalls, Meter, metered_http_client, metered_sdk_config};
