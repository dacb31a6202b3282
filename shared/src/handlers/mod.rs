//! One handler per function, written against the ports. The binaries and the local
//! runner call exactly these.

pub mod console;
pub mod http;
pub mod meta_ingest;
pub mod meta_verify;
pub mod send_api;
pub mod twilio;
pub mod worker;

#[cfg(test)]
mod tests;
