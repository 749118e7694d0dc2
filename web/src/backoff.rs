//! Reconnect backoff: exponential with full jitter, capped. Pure, so the policy is tested
//! natively; the caller supplies the random number.

/// The first retry waits up to this long.
pub const BASE_MS: u32 = 500;
/// No retry waits longer than this.
pub const CAP_MS: u32 = 30_000;

/// The delay before reconnect `attempt` (1 for the first), given `random` in `[0, 1)`:
/// uniformly between 0 and `min(CAP_MS, BASE_MS * 2^(attempt - 1))`.
#[inline]
pub fn delay_ms(attempt: u32, random: f64) -> u32 {
    let exponent = attempt.saturating_sub(1).min(16);
    let ceiling = BASE_MS.saturating_mul(1 << exponent).min(CAP_MS);
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (f64::from(ceiling) * random) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let ceilings: Vec<u32> = (1..=8).map(|a| delay_ms(a, 1.0)).collect();
        assert_eq!(
            ceilings,
            vec![500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(delay_ms(u32::MAX, 1.0), CAP_MS);
    }

    #[test]
    fn jitter_spreads_the_delay_from_zero_to_the_ceiling() {
        assert_eq!(delay_ms(3, 0.0), 0);
        assert_eq!(delay_ms(3, 0.5), 1_000);
    }

    #[test]
    fn a_bad_random_number_never_makes_a_bad_delay() {
        assert_eq!(delay_ms(2, f64::NAN), 0);
        assert_eq!(delay_ms(2, 7.0), 1_000);
        assert_eq!(delay_ms(2, -1.0), 0);
    }
}
