//! Time in the browser: the local clock, and how a duration reads on a wait clock or a
//! countdown. The formatting is pure and tested natively.

/// The local time, milliseconds since the Unix epoch.
#[inline]
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A duration as `m:ss`, or `h:mm:ss` from an hour, in whole seconds (so a fresh
/// two-minute countdown reads `2:00`, then `1:59`).
#[inline]
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn the_clock_reads_whole_minutes_and_seconds_then_hours() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(999), "0:00");
        assert_eq!(clock(120_300), "2:00");
        assert_eq!(clock(65_999), "1:05");
        assert_eq!(clock(3_600_000 + 61_000), "1:01:01");
    }
}
