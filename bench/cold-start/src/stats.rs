//! Summary statistics of a set of durations.

use std::time::Duration;

/// Minimum, median and 90th percentile of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub min: Duration,
    pub median: Duration,
    pub p90: Duration,
}

impl Summary {
    /// `None` for an empty sample. The median of an even sample is the mean of the two
    /// middle values; the 90th percentile is the nearest rank (`ceil(0.9 n)`-th value).
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let min = *sorted.first()?;
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        };
        let rank = (n * 9).div_ceil(10).max(1);
        let p90 = sorted[rank - 1];
        Some(Self { min, median, p90 })
    }
}

/// Milliseconds with microsecond resolution, for the table.
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e3)
}

/// A signed difference in milliseconds (`+1.25`, `-0.10`).
pub fn delta_ms(value: Duration, floor: Duration) -> String {
    let delta = value.as_secs_f64() - floor.as_secs_f64();
    format!("{:+.2}", delta * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn empty_sample_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn odd_and_even_samples() {
        let odd = Summary::of(&ms_list(&[5, 1, 3])).map(|s| (s.min, s.median, s.p90));
        assert_eq!(
            odd,
            Some((
                Duration::from_millis(1),
                Duration::from_millis(3),
                Duration::from_millis(5)
            ))
        );
        let even = Summary::of(&ms_list(&[4, 1, 3, 2])).map(|s| s.median);
        assert_eq!(even, Some(Duration::from_micros(2500)));
    }

    #[test]
    fn p90_is_the_nearest_rank() {
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(
            Summary::of(&ms_list(&twenty)).map(|s| s.p90),
            Some(Duration::from_millis(18))
        );
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(
            Summary::of(&ms_list(&ten)).map(|s| s.p90),
            Some(Duration::from_millis(9))
        );
        assert_eq!(
            Summary::of(&ms_list(&[7])).map(|s| s.p90),
            Some(Duration::from_millis(7))
        );
    }

    #[test]
    fn formats_milliseconds() {
        assert_eq!(ms(Duration::from_micros(3_456)), "3.46");
        assert_eq!(
            delta_ms(Duration::from_micros(4_000), Duration::from_micros(3_000)),
            "+1.00"
        );
        assert_eq!(
            delta_ms(Duration::from_micros(2_900), Duration::from_micros(3_000)),
            "-0.10"
        );
    }
}
