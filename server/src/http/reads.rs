//! How often one session may read its history and transcripts over HTTP: a burst of
//! `limits.reads_per_minute` reads, refilled evenly over the minute, per session token.
//! At most [`TOKENS`] tokens are remembered; a full table first lets go of the buckets
//! that have filled up again (they hold nothing a fresh one would not).

use super::limiter::TokenBucket;
use porchlight_protocol::SessionToken;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::Instant;

/// The most session tokens whose reads are counted at once.
pub const TOKENS: usize = 10_000;

/// Per-token read budgets.
pub struct Reads {
    /// Reads a minute, or `None` when the limits are lifted.
    per_minute: Option<u32>,
    buckets: Mutex<HashMap<SessionToken, TokenBucket>>,
}

impl Reads {
    pub fn new(per_minute: u32, enforced: bool) -> Reads {
        Reads {
            per_minute: enforced.then_some(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one read from `token`'s budget; `false` when it is spent.
    pub fn take(&self, token: &SessionToken, now: Instant) -> bool {
        let Some(per_minute) = self.per_minute else {
            return true;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(token) && buckets.len() >= TOKENS {
            buckets.retain(|_, bucket| !bucket.is_full(now));
            if buckets.len() >= TOKENS {
                // Every remembered token is reading hard: the newcomer waits its turn.
                return false;
            }
        }
        buckets
            .entry(token.clone())
            .or_insert_with(|| TokenBucket::new(per_minute, f64::from(per_minute) / 60.0, now))
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn token(n: usize) -> SessionToken {
        SessionToken::new(format!("t{n}")).expect("token")
    }

    #[test]
    fn a_session_reads_its_burst_then_one_a_second_and_others_are_not_charged() {
        let t0 = Instant::now();
        let reads = Reads::new(60, true);
        let burst = (0..61).filter(|_| reads.take(&token(1), t0)).count();
        assert_eq!(burst, 60);
        assert!(
            reads.take(&token(2), t0),
            "another session has its own budget"
        );
        assert!(!reads.take(&token(1), t0 + Duration::from_millis(999)));
        assert!(reads.take(&token(1), t0 + Duration::from_millis(1_001)));
    }

    #[test]
    fn the_table_stays_bounded_and_lets_go_of_refilled_buckets_first() {
        let t0 = Instant::now();
        let reads = Reads::new(2, true);
        for n in 0..TOKENS {
            assert!(reads.take(&token(n), t0));
        }
        assert!(
            !reads.take(&token(TOKENS), t0),
            "all busy: the newcomer waits"
        );
        let later = t0 + Duration::from_secs(60);
        assert!(
            reads.take(&token(TOKENS), later),
            "refilled buckets make room"
        );
        assert!(reads.buckets.lock().expect("lock").len() <= TOKENS);
    }

    #[test]
    fn lifted_limits_count_nothing() {
        let reads = Reads::new(1, false);
        let t0 = Instant::now();
        assert!((0..100).all(|_| reads.take(&token(1), t0)));
    }
}
