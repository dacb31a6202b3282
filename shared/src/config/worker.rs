//! The queue worker: its table, queues, bus, media settings and the numbers it serves.

use super::bounds::{MAX_MEDIA_BYTES, MAX_RETENTION_DAYS};
use super::env::include_verification_code;
use super::numbers::inbound_filter;
use super::{ConfigError, Env};
use crate::domain::media::META_MAX_MEDIA_BYTES;
use crate::domain::records::PhoneNumberFilter;

/// The queue worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub table_name: String,
    /// The phone number ids whose webhook events are recorded: `ALLOWED_PHONE_NUMBER_IDS`, else the
    /// business numbers (`WHATSAPP_PHONE_NUMBER_ID`, `WHATSAPP_PHONE_NUMBER_IDS`); never empty, since
    /// none of them set is refused ([`super::numbers`]). Other numbers' events are logged and skipped.
    pub phone_numbers: PhoneNumberFilter,
    /// Days after which stored items expire through DynamoDB TTL (`RETENTION_DAYS`; 0: never).
    pub retention_days: u32,
    /// The queues the worker reads (`QUEUE_URL`, `SEND_QUEUE_URL`), to hand a record back to the
    /// one it came from with a delay.
    pub queue_urls: Vec<String>,
    /// The event bus the worker publishes on (`EVENT_BUS_NAME`, a name or an ARN); unset: no events.
    pub event_bus_name: Option<String>,
    /// `EVENTS_INCLUDE_VERIFICATION_CODE=true`: `verification.code_captured` carries the code (default: not).
    pub events_include_verification_code: bool,
    /// Where raw events too large for a table item go (`PAYLOAD_BUCKET`, the claim check's bucket);
    /// `None`: such an event fails.
    pub payload_bucket: Option<String>,
    /// The events queue (`QUEUE_URL`): the worker queues its media jobs there.
    pub events_queue_url: Option<String>,
    /// Inbound media larger than this is not kept (a media error): `MEDIA_MAX_BYTES`, default Meta's
    /// largest (100 MB documents); 0 keeps no media at all.
    pub media_max_bytes: u64,
    /// The events queue's `maxReceiveCount` (`QUEUE_MAX_RECEIVES`, default 5): a media job that still fails
    /// on that receive is recorded as a media error.
    pub queue_max_receives: u32,
}

impl WorkerConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(mut env: Env<F>) -> Result<Self, ConfigError> {
        let config = Self {
            queue_urls: ["QUEUE_URL", "SEND_QUEUE_URL"]
                .into_iter()
                .filter_map(|name| env.optional(name))
                .collect(),
            table_name: env.required("TABLE_NAME"),
            phone_numbers: inbound_filter(&mut env),
            retention_days: env.bounded("RETENTION_DAYS", 0, 0..=MAX_RETENTION_DAYS),
            event_bus_name: env.optional("EVENT_BUS_NAME"),
            events_include_verification_code: include_verification_code(&env),
            payload_bucket: env.optional("PAYLOAD_BUCKET"),
            events_queue_url: env.optional("QUEUE_URL"),
            media_max_bytes: env.bounded("MEDIA_MAX_BYTES", META_MAX_MEDIA_BYTES, 0..=MAX_MEDIA_BYTES),
            queue_max_receives: env.bounded("QUEUE_MAX_RECEIVES", 5, 1..=1000),
        };
        env.finish(config)
    }
}
