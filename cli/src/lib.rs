//! `wabridge`: the command-line companion of the bridge. Every command's logic lives in a module
//! here, testable without a process; the binary (`src/bin/wabridge/`: `args`, one module per command
//! group under `commands`, `render`) only parses arguments and prints.
//!
//! - [`onboarding`]: voice registration of a number (`request_code` → captured code → `verify_code` → `register`).
//! - [`send`]: the send API, and following a message's status.
//! - [`webhook_signing`]: Meta webhooks and Twilio requests signed as the real senders sign them.
//! - [`redrive`]: dead-letter queue → queue.
//! - [`events`]: the bundle's EventBridge events, from a tap queue.
//! - [`calling`]: the number's WhatsApp calling settings (`/{phone-number-id}/settings`).
//! - [`coexistence`]: the WhatsApp Business app's contacts and history, requested once each.
//! - [`doctor`]: checks of a deployment, with fixes.
//! - [`usage`]: the month's messages by Meta's pricing, from the aggregate the worker keeps.
//! - [`config`]: flags > environment > stack outputs / SSM; secrets never printed.
//! - [`envelope`]: the one `--json` document of every command; [`progress`]: the indicator of long waits.

pub mod calling;
pub mod coexistence;
pub mod config;
pub mod doctor;
pub mod envelope;
pub mod error;
pub mod events;
pub mod graph;
pub mod onboarding;
pub mod progress;
pub mod redrive;
pub mod send;
pub mod stack;
pub mod templates;
pub mod twilio;
pub mod usage;
pub mod webhook_signing;
