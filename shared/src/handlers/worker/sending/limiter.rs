//! Spacing a worker instance's sends: at most so many per second.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces sends evenly: at most `per_second` per instance.
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// This caller's slot: when it may send.
    pub async fn slot(&self) -> Instant {
        let mut next = self.next.lock().await;
        let slot = (*next).max(Instant::now());
        *next = slot + self.interval;
        slot
    }

    /// This caller's slot if it comes no later than `latest`; else `None`, and nothing is taken (a
    /// slot taken and not used would push every later caller further out: with a low rate, a
    /// batch would give back more and more records each invocation).
    pub async fn slot_by(&self, latest: Instant) -> Option<Instant> {
        let mut next = self.next.lock().await;
        let slot = (*next).max(Instant::now());
        if slot > latest {
            return None;
        }
        *next = slot + self.interval;
        Some(slot)
    }
}
