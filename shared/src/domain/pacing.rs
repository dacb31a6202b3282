//! Per-recipient pacing of sends: a generic cell rate, decided here and kept by the store
//! (`OutboundStore::pace`).

/// Per-recipient pacing (Meta: about one message per 6 s to one user, with bursts): a generic
/// cell rate, one message per `interval_ms`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub interval_ms: i64,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paced {
    Go,
    /// No slot for this many seconds.
    Wait {
        seconds: u32,
    },
}

impl Pace {
    /// The decision for a recipient whose theoretical arrival time is `tat_ms` (none yet: `None`)
    /// at `now_ms`: the new arrival time when a slot is free, else how long to wait.
    pub fn decide(self, tat_ms: Option<i64>, now_ms: i64) -> Result<i64, u32> {
        let tat = tat_ms.unwrap_or(now_ms).max(now_ms);
        let allowance = self.interval_ms * i64::from(self.burst.max(1) - 1);
        if tat - now_ms <= allowance {
            Ok(tat + self.interval_ms)
        } else {
            let wait_ms = tat - allowance - now_ms;
            Err(u32::try_from((wait_ms + 999) / 1000).unwrap_or(u32::MAX).max(1))
        }
    }
}
