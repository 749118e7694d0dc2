//! The rate search: a ladder of message rates, climbed one rung at a time on the same open
//! sockets. A rung holds when every message was acked and echoed with no error, the p99
//! ack took at most [`ACK_P99_LIMIT`], and the load generator really sent at that rate;
//! the climb stops at the first rung that does not hold, and the highest rung below it is
//! the rate the setup sustains. A rung that would take a socket over the server's
//! per-connection frame limit is not tried: more sockets are needed for it.

use crate::report::Errors;
use crate::schedule::{frames_per_socket, within_rate_limit};
use crate::stats::Summary;
use std::fmt;
use std::time::Duration;

/// The rates tried when no ladder is given, in messages a second.
pub const DEFAULT_LADDER: [u32; 7] = [500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000];
/// The slowest p99 ack a rung may have and still hold.
pub const ACK_P99_LIMIT: Duration = Duration::from_millis(50);
/// The share of a rung's rate the load generator must reach for the rung to count: below
/// it the generator, not the server, was the bottleneck.
pub const MIN_ACHIEVED_SHARE: f64 = 0.95;

/// A ladder that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("the ladder takes message rates above 0 like 500,1000,2000, not {0:?}")]
    NotARate(String),
    #[error("the ladder's rates must climb: {0} does not follow {1}")]
    NotClimbing(u32, u32),
}

/// `500,1000,2_000` as a ladder: rates above 0, each higher than the one before.
pub fn parse_ladder(text: &str) -> Result<Vec<u32>, LadderError> {
    let mut rates: Vec<u32> = Vec::new();
    for part in text.split(',') {
        let rate = match part.trim().replace('_', "").parse::<u32>() {
            Ok(rate) if rate > 0 => rate,
            _ => return Err(LadderError::NotARate(text.to_string())),
        };
        if let Some(&last) = rates.last()
            && rate <= last
        {
            return Err(LadderError::NotClimbing(rate, last));
        }
        rates.push(rate);
    }
    Ok(rates)
}

/// What one phase of messages at a steady rate measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phase {
    /// The rate asked for, in messages a second.
    pub rate: u32,
    /// Messages handed to the sockets.
    pub sent: u64,
    /// How long the phase was meant to last.
    pub planned: Duration,
    /// How long handing out the messages took.
    pub sending_took: Duration,
    pub ack: Option<Summary>,
    pub echo: Option<Summary>,
    pub errors: Errors,
    /// The server processes' memory once the phase's messages were in, in KiB, added up.
    pub rss_after_kib: Option<u64>,
}

impl Phase {
    /// The rate the load generator reached: messages over the longer of the planned and
    /// the actual sending time.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.planned.max(self.sending_took).as_secs_f64();
        if secs == 0.0 {
            return 0.0;
        }
        self.sent as f64 / secs
    }
}

/// Whether a rung held, and if not why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Every message acked and echoed, p99 ack within the limit.
    Held,
    /// Not tried: each socket would send more frames a second than the server allows.
    OverSocketLimit { frames_per_socket: f64 },
    /// Messages were lost, or errors came back.
    Errors(usize),
    /// No message was acked at all.
    NoAcks,
    /// The p99 ack was slower than the limit.
    SlowAcks { p99: Duration },
    /// The load generator could not send at the rate.
    GeneratorBehind { achieved: f64 },
}

impl Verdict {
    pub fn held(&self) -> bool {
        matches!(self, Verdict::Held)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Held => write!(f, "held"),
            Verdict::OverSocketLimit { frames_per_socket } => write!(
                f,
                "not tried: {frames_per_socket:.1} frames/s per socket is over the server's limit (more sockets needed)"
            ),
            Verdict::Errors(n) => write!(f, "{n} errors"),
            Verdict::NoAcks => write!(f, "no acks"),
            Verdict::SlowAcks { p99 } => write!(
                f,
                "p99 ack {} ms > {} ms",
                crate::report::ms(*p99),
                ACK_P99_LIMIT.as_millis()
            ),
            Verdict::GeneratorBehind { achieved } => {
                write!(
                    f,
                    "the load generator reached only {achieved:.0}/s (it, not the server, is the limit)"
                )
            }
        }
    }
}

/// Whether a rung at `rate` may be tried on `sockets` open sockets: `Some(verdict)` when
/// it must not be.
pub fn refuse(rate: u32, sockets: usize) -> Option<Verdict> {
    (!within_rate_limit(rate, sockets)).then(|| Verdict::OverSocketLimit {
        frames_per_socket: frames_per_socket(rate, sockets),
    })
}

/// Whether `phase` held. Errors come first (a lost message fails a rung whatever the
/// latencies), then the generator's pace (its latencies mean little if it lagged), then
/// the p99 ack.
pub fn judge(phase: &Phase) -> Verdict {
    let errors = phase.errors.total();
    if errors > 0 {
        return Verdict::Errors(errors);
    }
    let achieved = phase.achieved_rate();
    if achieved < f64::from(phase.rate) * MIN_ACHIEVED_SHARE {
        return Verdict::GeneratorBehind { achieved };
    }
    match phase.ack {
        None => Verdict::NoAcks,
        Some(ack) if ack.p99 > ACK_P99_LIMIT => Verdict::SlowAcks { p99: ack.p99 },
        Some(_) => Verdict::Held,
    }
}

/// One rung of the climb: its rate, what it measured if it was run, and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    pub rate: u32,
    pub phase: Option<Phase>,
    pub verdict: Verdict,
}

/// The highest rate of the rungs held before the first that was not; `None` if the first
/// rung did not hold (or there were none).
pub fn highest_held(rungs: &[Rung]) -> Option<u32> {
    rungs
        .iter()
        .take_while(|rung| rung.verdict.held())
        .map(|rung| rung.rate)
        .last()
}

/// Why the climb stopped: the first rung that did not hold, if one did not.
pub fn stopped_at(rungs: &[Rung]) -> Option<&Rung> {
    rungs.iter().find(|rung| !rung.verdict.held())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(p99_ms: u64) -> Summary {
        let p99 = Duration::from_millis(p99_ms);
        Summary {
            count: 100,
            p50: p99 / 4,
            p90: p99 / 2,
            p99,
            max: p99 * 2,
        }
    }

    fn phase(rate: u32, p99_ms: u64) -> Phase {
        Phase {
            rate,
            sent: u64::from(rate) * 10,
            planned: Duration::from_secs(10),
            sending_took: Duration::from_secs(10),
            ack: Some(summary(p99_ms)),
            echo: Some(summary(p99_ms + 1)),
            errors: Errors::default(),
            rss_after_kib: None,
        }
    }

    fn rung(rate: u32, verdict: Verdict) -> Rung {
        Rung {
            rate,
            phase: None,
            verdict,
        }
    }

    #[test]
    fn ladders_climb_and_hold_rates() {
        assert_eq!(parse_ladder("500, 1000,2_000"), Ok(vec![500, 1_000, 2_000]));
        assert_eq!(parse_ladder("10000"), Ok(vec![10_000]));
        assert!(matches!(
            parse_ladder("500,fast"),
            Err(LadderError::NotARate(_))
        ));
        assert!(matches!(
            parse_ladder("0,500"),
            Err(LadderError::NotARate(_))
        ));
        assert!(matches!(parse_ladder(""), Err(LadderError::NotARate(_))));
        assert_eq!(
            parse_ladder("1000,500"),
            Err(LadderError::NotClimbing(500, 1_000))
        );
        assert_eq!(
            parse_ladder("500,500"),
            Err(LadderError::NotClimbing(500, 500))
        );
        assert!(parse_ladder(&DEFAULT_LADDER.map(|r| r.to_string()).join(",")).is_ok());
    }

    #[test]
    fn a_rung_holds_with_fast_acks_and_nothing_lost() {
        assert_eq!(judge(&phase(500, 12)), Verdict::Held);
        assert_eq!(judge(&phase(500, 50)), Verdict::Held);
        assert_eq!(
            judge(&phase(500, 51)),
            Verdict::SlowAcks {
                p99: Duration::from_millis(51)
            }
        );
        let mut lost = phase(500, 5);
        lost.errors.missing_echoes = 2;
        lost.errors.error_frames.insert("rate_limited".into(), 1);
        assert_eq!(judge(&lost), Verdict::Errors(3));
        let mut silent = phase(500, 5);
        silent.ack = None;
        assert_eq!(judge(&silent), Verdict::NoAcks);
    }

    #[test]
    fn a_lagging_generator_fails_the_rung() {
        let mut lagging = phase(10_000, 5);
        lagging.sending_took = Duration::from_secs(20);
        assert_eq!(lagging.achieved_rate(), 5_000.0);
        assert!(matches!(
            judge(&lagging),
            Verdict::GeneratorBehind { achieved } if achieved == 5_000.0
        ));
        // A little late is still the rate asked for.
        let mut late = phase(10_000, 5);
        late.sending_took = Duration::from_millis(10_300);
        assert_eq!(judge(&late), Verdict::Held);
        assert_eq!(Phase::default().achieved_rate(), 0.0);
    }

    #[test]
    fn rates_over_the_socket_limit_are_not_tried() {
        assert_eq!(refuse(10_000, 10_000), None);
        assert_eq!(refuse(4_000, 1_000), None);
        let refused = refuse(5_000, 1_000).expect("over 5 frames/s per socket");
        assert!(!refused.held());
        assert!(refused.to_string().starts_with("not tried: 5.0 frames/s"));
    }

    #[test]
    fn the_highest_rung_held_before_the_first_failure_counts() {
        let slow = Verdict::SlowAcks {
            p99: Duration::from_millis(80),
        };
        let climb = [
            rung(500, Verdict::Held),
            rung(1_000, Verdict::Held),
            rung(2_000, slow),
        ];
        assert_eq!(highest_held(&climb), Some(1_000));
        assert_eq!(stopped_at(&climb).map(|r| r.rate), Some(2_000));
        // A rung held after a failure (were one run) does not count.
        let patchy = [
            rung(500, Verdict::Held),
            rung(1_000, Verdict::Errors(1)),
            rung(2_000, Verdict::Held),
        ];
        assert_eq!(highest_held(&patchy), Some(500));
        assert_eq!(highest_held(&[rung(500, Verdict::NoAcks)]), None);
        assert_eq!(highest_held(&[]), None);
        let all = [rung(500, Verdict::Held), rung(1_000, Verdict::Held)];
        assert_eq!(highest_held(&all), Some(1_000));
        assert_eq!(stopped_at(&all), None);
    }
}
