//! Pure domain logic: no AWS SDK, no HTTP client, no Lambda types.

pub mod envelope;
pub mod meta_signature;
pub mod records;
pub mod secret;
pub mod status;
pub mod verify_token;
pub mod webhook;
