//! A worker instance's share of the number's throughput: at most so many sends in any one second.
//!
//! Meta counts a number's throughput per second (80 messages/s by default); the template gives each
//! of `SendMaximumConcurrency` instances `SendRatePerSecond` of it. The limit is a sliding window:
//! a send may start when fewer than `per_second` started in the second before it. Sends evenly spaced
//! (one every 1/rate s, the limiter's first form) lose the time between two batches of an instance
//! for good (the last send's answer and writes, the next poll: about a send's duration per batch, a
//! tenth of the tier with Meta answering in 100 ms); a window gives it back without ever letting
//! more than `per_second` start in one second, so the instances together stay within the tier.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// One second and a margin: a send reaches Meta some milliseconds after its slot (the wake-up, the
/// request on its way), not always the same number, so two sends a second apart at the limiter can
/// arrive less than a second apart. The margin keeps them a second apart at Meta too, for 2.5 % of
/// the rate.
const WINDOW: Duration = Duration::from_millis(1_025);

/// At most `per_second` sends start in any one-second window, per instance.
pub struct RateLimiter {
    per_second: usize,
    /// The starts of the last `per_second` slots given, oldest first (some may be in the future).
    starts: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        let per_second = usize::try_from(per_second.max(1)).unwrap_or(usize::MAX);
        Self {
            per_second,
            starts: Mutex::new(VecDeque::with_capacity(per_second.min(1024))),
        }
    }

    /// The earliest start the window allows after the slots in `starts`.
    fn next_start(&self, starts: &VecDeque<Instant>, now: Instant) -> Instant {
        match starts.front() {
            Some(&oldest) if starts.len() >= self.per_second => (oldest + WINDOW).max(now),
            _ => now,
        }
    }

    fn take(&self, starts: &mut VecDeque<Instant>, slot: Instant) {
        if starts.len() >= self.per_second {
            starts.pop_front();
        }
        starts.push_back(slot);
    }

    /// This caller's slot: when it may send.
    pub async fn slot(&self) -> Instant {
        let mut starts = self.starts.lock().await;
        let slot = self.next_start(&starts, Instant::now());
        self.take(&mut starts, slot);
        slot
    }

    /// This caller's slot if it comes no later than `latest`; else `None`, and nothing is taken (a
    /// slot taken and not used would push every later caller further out: with a low rate, a
    /// batch would give back more and more records each invocation).
    pub async fn slot_by(&self, latest: Instant) -> Option<Instant> {
        let mut starts = self.starts.lock().await;
        let slot = self.next_start(&starts, Instant::now());
        if slot > latest {
            return None;
        }
        self.take(&mut starts, slot);
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `slots` start in the window of one second from `from`.
    fn in_window(slots: &[Instant], from: Instant) -> usize {
        slots
            .iter()
            .filter(|&&slot| slot >= from && slot < from + WINDOW)
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_rate_in_any_second_and_the_rate_itself_when_busy() {
        let limiter = RateLimiter::new(4);
        let start = Instant::now();
        let mut slots = Vec::new();
        for _ in 0..20 {
            slots.push(limiter.slot().await);
        }
        // Every window that starts at a slot (the windows that hold the most) holds at most 4.
        for &from in &slots {
            assert!(
                in_window(&slots, from) <= 4,
                "{:?}",
                slots.iter().map(|s| *s - start).collect::<Vec<_>>()
            );
        }
        // Busy: 20 sends take 4 windows (the first 4 at once, then 4 each window), not 5.
        assert_eq!(*slots.last().expect("20 slots") - start, WINDOW * 4);
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_between_two_batches_is_not_lost() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..10 {
            limiter.slot().await;
        }
        // The batch's last answer and the next poll take 300 ms: the next batch still starts at once,
        // and its tenth send waits only for the first batch's window to close.
        tokio::time::advance(Duration::from_millis(300)).await;
        let mut second = Vec::new();
        for _ in 0..10 {
            second.push(limiter.slot().await);
        }
        assert!(second.iter().all(|&slot| slot == start + WINDOW), "{second:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_not_taken() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        assert_eq!(limiter.slot_by(now).await, Some(now));
        assert_eq!(limiter.slot_by(now + Duration::from_millis(500)).await, None);
        // Nothing was taken: the next second is still free.
        assert_eq!(limiter.slot_by(now + WINDOW).await, Some(now + WINDOW));
    }
}
