//! The WhatsApp/Twilio bridge library: everything the Lambda functions run.
//!
//! - [`domain`]: pure logic, no I/O (signatures, payload types, status ranking, the queue envelope).
//! - [`ports`]: one small trait per outside capability (queue, blob store, message store).
//! - [`adapters`]: the AWS implementations of those ports.
//! - [`handlers`]: one handler per function, written against the ports.
//! - [`config`]: typed configuration, validated once at cold start.
//! - [`compose`]: each HTTP function's handler built from the environment (its `main` calls it).

pub mod adapters;
pub mod claim_check;
pub mod compose;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod metrics;
pub mod ports;
pub mod publishing;
pub mod sends;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
