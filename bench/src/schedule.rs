//! When each message goes out and on which socket: a steady total rate, round-robin over
//! the open sockets; and when each socket pings, spread evenly over the ping period so the
//! server sees a steady trickle rather than a burst every 20 s.

use porchlight_protocol::limits::FRAMES_PER_SECOND;
use std::time::Duration;

/// How often each socket pings, as the widget does (the server drops a client silent for
/// 60 s).
pub const PING_PERIOD: Duration = Duration::from_secs(20);

/// How many messages a run of `seconds` at `rate` a second sends.
pub fn message_count(rate: u32, seconds: u32) -> u64 {
    u64::from(rate) * u64::from(seconds)
}

/// When message `i` (from 0) goes out, after the start of the send phase.
pub fn send_offset(i: u64, rate: u32) -> Duration {
    if rate == 0 {
        return Duration::ZERO;
    }
    let nanos = u128::from(i) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Which of `sockets` open sockets (by position) sends message `i`.
pub fn socket_for(i: u64, sockets: usize) -> usize {
    if sockets == 0 {
        return 0;
    }
    usize::try_from(i % sockets as u64).unwrap_or(0)
}

/// When socket `index` of `sockets` first pings after it opens: the sockets' pings are
/// spread evenly over one `period`.
pub fn ping_offset(index: usize, sockets: usize, period: Duration) -> Duration {
    if sockets == 0 {
        return period;
    }
    let nanos = period.as_nanos() * (index % sockets) as u128 / sockets as u128;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Frames a second each socket sends: its share of the messages plus its pings.
pub fn frames_per_socket(rate: u32, sockets: usize) -> f64 {
    if sockets == 0 {
        return f64::INFINITY;
    }
    f64::from(rate) / sockets as f64 + 1.0 / PING_PERIOD.as_secs_f64()
}

/// Whether that stays under the server's per-connection rate limit.
pub fn within_rate_limit(rate: u32, sockets: usize) -> bool {
    frames_per_socket(rate, sockets) < FRAMES_PER_SECOND
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_evenly_spaced() {
        assert_eq!(message_count(500, 10), 5_000);
        assert_eq!(send_offset(0, 500), Duration::ZERO);
        assert_eq!(send_offset(1, 500), Duration::from_millis(2));
        assert_eq!(send_offset(500, 500), Duration::from_secs(1));
        assert_eq!(send_offset(4_999, 500), Duration::from_millis(9_998));
        assert_eq!(send_offset(1, 3), Duration::from_nanos(333_333_333));
    }

    #[test]
    fn messages_go_round_robin() {
        let picked: Vec<usize> = (0..7).map(|i| socket_for(i, 3)).collect();
        assert_eq!(picked, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(socket_for(5, 0), 0);
    }

    #[test]
    fn pings_are_spread_over_the_period() {
        let period = Duration::from_secs(20);
        assert_eq!(ping_offset(0, 4, period), Duration::ZERO);
        assert_eq!(ping_offset(1, 4, period), Duration::from_secs(5));
        assert_eq!(ping_offset(3, 4, period), Duration::from_secs(15));
        assert!(ping_offset(9_999, 10_000, period) < period);
    }

    #[test]
    fn the_default_rate_stays_under_the_servers_limit() {
        assert!(within_rate_limit(500, 1_000));
        assert!((frames_per_socket(500, 1_000) - 0.55).abs() < 1e-9);
        assert!(!within_rate_limit(500, 100));
    }
}
