//! Latency samples and their percentiles, by nearest rank (a reported percentile is
//! always a latency that was actually measured).

use std::time::Duration;

/// The percentiles the bench reports of one set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// The `p`-th percentile (0 < p ≤ 100) of `sorted`, ascending, by nearest rank: the
/// smallest sample with at least `p` % of the samples at or below it.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

impl Summary {
    /// The summary of `samples`, or `None` when there are none.
    pub fn of(mut samples: Vec<Duration>) -> Option<Summary> {
        samples.sort_unstable();
        Some(Summary {
            count: samples.len(),
            p50: percentile(&samples, 50.0)?,
            p90: percentile(&samples, 90.0)?,
            p99: percentile(&samples, 99.0)?,
            max: *samples.last()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let summary = Summary::of(samples).expect("samples");
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50, ms(50));
        assert_eq!(summary.p90, ms(90));
        assert_eq!(summary.p99, ms(99));
        assert_eq!(summary.max, ms(100));
    }

    #[test]
    fn few_samples_give_measured_values() {
        let sorted = [ms(1), ms(2), ms(3)];
        assert_eq!(percentile(&sorted, 50.0), Some(ms(2)));
        assert_eq!(percentile(&sorted, 99.0), Some(ms(3)));
        assert_eq!(percentile(&sorted, 0.0), Some(ms(1)));
        assert_eq!(percentile(&[ms(7)], 90.0), Some(ms(7)));
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(Summary::of(Vec::new()), None);
    }
}
