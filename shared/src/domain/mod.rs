//! Pure domain logic: no AWS SDK, no HTTP client, no Lambda types.

pub mod email;
pub mod envelope;
pub mod events;
pub mod form;
pub mod graph_error;
pub mod graph_response;
pub mod history;
pub mod ids;
pub mod json_frame;
pub mod media;
pub mod media_upload;
pub mod meta_signature;
pub mod outbound;
pub mod phone;
pub mod records;
pub mod secret;
pub mod send_request;
pub mod spoken_code;
pub mod status;
pub mod templates;
pub mod twilio_signature;
pub mod twiml;
pub mod verification;
pub mod verify_token;
pub mod webhook;
