//! What a run found, per size, and the markdown table that shows it: one row per number of
//! sockets, then a line per row that had errors or a note.

use crate::stats::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Everything that went wrong in one run, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Errors {
    /// Sockets that could not be opened and welcomed.
    pub not_opened: usize,
    /// Error frames the server sent, by code.
    pub error_frames: BTreeMap<String, usize>,
    /// Frames that were not valid server frames.
    pub undecodable: usize,
    /// Sockets closed (by the server or the network) before the run ended.
    pub closed: usize,
    /// Messages not sent because their socket was already gone.
    pub not_sent: usize,
    /// Sent messages whose ack never came.
    pub missing_acks: usize,
    /// Sent messages that never came back as an event on their socket.
    pub missing_echoes: usize,
}

impl Errors {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Errors) {
        self.not_opened += other.not_opened;
        for (code, n) in &other.error_frames {
            *self.error_frames.entry(code.clone()).or_default() += n;
        }
        self.undecodable += other.undecodable;
        self.closed += other.closed;
        self.not_sent += other.not_sent;
        self.missing_acks += other.missing_acks;
        self.missing_echoes += other.missing_echoes;
    }

    /// How many errors in all.
    pub fn total(&self) -> usize {
        self.not_opened
            + self.error_frames.values().sum::<usize>()
            + self.undecodable
            + self.closed
            + self.not_sent
            + self.missing_acks
            + self.missing_echoes
    }

    /// The errors by kind, e.g. `3 closed, 2 error frames (rate_limited 2)`; empty if none.
    pub fn breakdown(&self) -> String {
        let mut parts = Vec::new();
        let mut part = |n: usize, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        part(self.not_opened, "not opened");
        part(self.closed, "closed early");
        part(self.not_sent, "not sent (socket gone)");
        part(self.missing_acks, "acks missing");
        part(self.missing_echoes, "echoes missing");
        part(self.undecodable, "undecodable frames");
        let frames: usize = self.error_frames.values().sum();
        if frames > 0 {
            let codes: Vec<String> = self
                .error_frames
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            parts.push(format!("{frames} error frames ({})", codes.join(", ")));
        }
        parts.join(", ")
    }
}

/// What one size's run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Sockets asked for.
    pub size: usize,
    /// Sockets opened and welcomed.
    pub opened: usize,
    /// Sockets still open after the messages.
    pub held: usize,
    /// From the first connect to the last welcome.
    pub open_time: Duration,
    /// Server memory after start, once every socket was open and settled, and after the
    /// messages, in KiB.
    pub rss_start_kib: Option<u64>,
    pub rss_open_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    /// Messages sent.
    pub sent: u64,
    pub ack: Option<Summary>,
    pub echo: Option<Summary>,
    pub errors: Errors,
    /// What stopped the run early, if anything.
    pub note: Option<String>,
}

impl Row {
    /// The server's memory per open socket, in KiB: (open − start) / sockets opened.
    pub fn kib_per_socket(&self) -> Option<f64> {
        let (start, open) = (self.rss_start_kib?, self.rss_open_kib?);
        if self.opened == 0 {
            return None;
        }
        Some((open as f64 - start as f64) / self.opened as f64)
    }
}

/// How the runs were made, for the lines above the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The server command, as run.
    pub server: String,
    pub rate: u32,
    pub seconds: u32,
    pub cpus: usize,
}

/// A latency in milliseconds, with fewer decimals as it grows.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1_000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// KiB as MiB with one decimal.
fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "—".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn latencies(summary: Option<Summary>) -> String {
    summary.map_or_else(
        || "—".into(),
        |s| {
            format!(
                "{} / {} / {} / {}",
                ms(s.p50),
                ms(s.p90),
                ms(s.p99),
                ms(s.max)
            )
        },
    )
}

/// The report: what was run, the table, then a line for each row with errors or a note.
pub fn table(setup: &Setup, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Load: visitor sockets on the server\n");
    let _ = writeln!(
        out,
        "One fresh server per size: `{}`. Messages at {}/s for {} s, round-robin over the open \
         sockets; every socket pings every 20 s. Load generator and server share this \
         machine ({} CPUs). Latencies in ms, p50 / p90 / p99 / max, from writing the frame \
         to reading its `ack`, and to reading the message's own event back. Server memory is \
         VmRSS after start, with every socket open and settled, and after the messages.\n",
        setup.server, setup.rate, setup.seconds, setup.cpus
    );
    let _ = writeln!(
        out,
        "| sockets | held | open time | server RSS MiB (start → open → end) | KiB / socket | messages | ack ms | echo ms | errors |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---|---:|---:|---|---|---|");
    for row in rows {
        let per_socket = row
            .kib_per_socket()
            .map_or_else(|| "—".into(), |k| format!("{k:.1}"));
        let held = if row.opened == row.size {
            format!("{}", row.held)
        } else {
            format!("{} (opened {})", row.held, row.opened)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} s | {} → {} → {} | {} | {} | {} | {} | {} |",
            row.size,
            held,
            row.open_time.as_secs_f64(),
            mib(row.rss_start_kib),
            mib(row.rss_open_kib),
            mib(row.rss_end_kib),
            per_socket,
            row.sent,
            latencies(row.ack),
            latencies(row.echo),
            row.errors.total(),
        );
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let breakdown = row.errors.breakdown();
            let text = match (&row.note, breakdown.is_empty()) {
                (None, true) => return None,
                (None, false) => breakdown,
                (Some(note), true) => note.clone(),
                (Some(note), false) => format!("{note}; {breakdown}"),
            };
            Some(format!("- {} sockets: {text}", row.size))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", notes.join("\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(ms: [u64; 4]) -> Summary {
        Summary {
            count: 10,
            p50: Duration::from_micros(ms[0]),
            p90: Duration::from_micros(ms[1]),
            p99: Duration::from_micros(ms[2]),
            max: Duration::from_micros(ms[3]),
        }
    }

    #[test]
    fn milliseconds_keep_three_significant_digits_or_so() {
        assert_eq!(ms(Duration::from_micros(420)), "0.42");
        assert_eq!(ms(Duration::from_micros(12_340)), "12.3");
        assert_eq!(ms(Duration::from_micros(123_400)), "123");
    }

    #[test]
    fn errors_add_up_and_explain_themselves() {
        let mut errors = Errors::default();
        assert_eq!(errors.total(), 0);
        assert_eq!(errors.breakdown(), "");
        let mut more = Errors {
            closed: 2,
            missing_acks: 1,
            ..Errors::default()
        };
        more.error_frames.insert("rate_limited".into(), 3);
        errors.add(&more);
        errors.add(&more);
        assert_eq!(errors.total(), 12);
        assert_eq!(
            errors.breakdown(),
            "4 closed early, 2 acks missing, 6 error frames (rate_limited 6)"
        );
    }

    #[test]
    fn the_table_has_a_row_per_size_and_notes_for_trouble() {
        let setup = Setup {
            server: "porchlight-server --memory".into(),
            rate: 500,
            seconds: 10,
            cpus: 2,
        };
        let good = Row {
            size: 1_000,
            opened: 1_000,
            held: 1_000,
            open_time: Duration::from_millis(1_234),
            rss_start_kib: Some(10_240),
            rss_open_kib: Some(30_720),
            rss_end_kib: Some(31_744),
            sent: 5_000,
            ack: Some(summary([400, 900, 2_000, 15_000])),
            echo: Some(summary([410, 950, 2_100, 15_100])),
            ..Row::default()
        };
        let bad = Row {
            size: 10_000,
            opened: 9_000,
            held: 8_000,
            note: Some("the server exited (signal 9)".into()),
            errors: Errors {
                not_opened: 1_000,
                ..Errors::default()
            },
            ..Row::default()
        };
        let text = table(&setup, &[good, bad]);
        assert!(text.contains("`porchlight-server --memory`"), "{text}");
        assert!(text.contains(
            "| 1000 | 1000 | 1.2 s | 10.0 → 30.0 → 31.0 | 20.5 | 5000 | 0.40 / 0.90 / 2.00 / 15.0 | 0.41 / 0.95 / 2.10 / 15.1 | 0 |"
        ), "{text}");
        assert!(
            text.contains(
                "| 10000 | 8000 (opened 9000) | 0.0 s | — → — → — | — | 0 | — | — | 1000 |"
            ),
            "{text}"
        );
        assert!(
            text.contains("- 10000 sockets: the server exited (signal 9); 1000 not opened"),
            "{text}"
        );
        assert!(!text.contains("- 1000 sockets"), "{text}");
    }
}
