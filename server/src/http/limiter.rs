//! A token bucket: each connection may send a burst of frames, then a sustained rate.
//! Pure: the caller passes the time.

use tokio::time::Instant;

/// Tokens refill continuously up to `capacity`; each frame takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilling at `per_second`.
    pub fn new(capacity: u32, per_second: f64, now: Instant) -> Self {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second,
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Whether the bucket would be full at `now`: it holds nothing a new one would not.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.capacity
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(3, 2.0, t0);
        let burst: Vec<bool> = (0..4).map(|_| bucket.take(t0)).collect();
        assert_eq!(burst, vec![true, true, true, false]);
        assert!(!bucket.take(t0 + Duration::from_millis(499)));
        assert!(bucket.take(t0 + Duration::from_millis(500)));
        assert!(!bucket.take(t0 + Duration::from_millis(500)));
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_its_capacity() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2, 10.0, t0);
        let later = t0 + Duration::from_secs(60);
        let taken = (0..5).filter(|_| bucket.take(later)).count();
        assert_eq!(taken, 2);
    }
}
