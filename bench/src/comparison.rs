//! What the cluster bench found, per setup and size, and the markdown that shows it: one
//! table side by side (sockets, memory per socket, latencies at the steady rate, the
//! highest rate held), then each rate climb rung by rung, then notes on errors and on each
//! process's memory.

use crate::ladder::{ACK_P99_LIMIT, Phase, Rung, highest_held, stopped_at};
use crate::report::ms;
use crate::stats::Summary;
use std::fmt::Write as _;
use std::time::Duration;

/// What one setup with one number of sockets found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupRow {
    /// The setup, as shown: `1 process, SQLite`.
    pub setup: String,
    /// Sockets asked for.
    pub size: usize,
    /// Sockets opened and welcomed.
    pub opened: usize,
    /// Sockets still open at the end.
    pub held: usize,
    /// From the first connect to the last welcome.
    pub open_time: Duration,
    /// Each server process's memory after start, with every socket open, and at the end
    /// of the climb, in KiB.
    pub rss_start_kib: Vec<u64>,
    pub rss_open_kib: Vec<u64>,
    pub rss_end_kib: Vec<u64>,
    /// The messages at the steady rate.
    pub steady: Option<Phase>,
    /// Messages sent in all, the steady phase and the climb.
    pub messages: u64,
    /// The rate climb, up to the first rung that did not hold.
    pub rungs: Vec<Rung>,
    /// What stopped the run early, if anything.
    pub note: Option<String>,
}

impl SetupRow {
    /// The processes' memory per open socket, in KiB: (open − start) / sockets opened,
    /// every process added up.
    pub fn kib_per_socket(&self) -> Option<f64> {
        let start = total(&self.rss_start_kib)?;
        let open = total(&self.rss_open_kib)?;
        if self.opened == 0 {
            return None;
        }
        Some((open as f64 - start as f64) / self.opened as f64)
    }
}

/// The sum of some processes' memory; `None` if none was read.
fn total(kib: &[u64]) -> Option<u64> {
    (!kib.is_empty()).then(|| kib.iter().sum())
}

/// How the runs were made, for the lines above the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSetup {
    /// The server command, as run, without its `--db`.
    pub server: String,
    /// The steady rate, messages a second.
    pub rate: u32,
    /// How long the steady phase and each rung last.
    pub seconds: u32,
    pub ladder: Vec<u32>,
    pub cpus: usize,
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "—".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// `p50 / p99` in ms.
fn p50_p99(summary: Option<&Summary>) -> String {
    summary.map_or_else(|| "—".into(), |s| format!("{} / {}", ms(s.p50), ms(s.p99)))
}

/// The highest rate held, as the table shows it.
pub fn highest_rate_cell(row: &SetupRow) -> String {
    if row.rungs.is_empty() {
        return "—".into();
    }
    match (highest_held(&row.rungs), stopped_at(&row.rungs)) {
        (Some(rate), None) => format!("≥ {rate}/s (top of the ladder)"),
        (Some(rate), Some(stop)) => format!("{rate}/s (not {}/s)", stop.rate),
        (None, Some(stop)) => format!("below {}/s", stop.rate),
        (None, None) => "—".into(),
    }
}

/// One rung as the climb shows it: `2000/s: ack 1.20 / 9.80, echo 1.30 / 10.1 ms, RSS
/// 31.0 MiB, held`.
fn rung_text(rung: &Rung) -> String {
    match &rung.phase {
        Some(phase) => format!(
            "{}/s: ack {}, echo {} ms, {}{}",
            rung.rate,
            p50_p99(phase.ack.as_ref()),
            p50_p99(phase.echo.as_ref()),
            phase
                .rss_after_kib
                .map_or_else(String::new, |kib| format!("RSS {} MiB, ", mib(Some(kib)))),
            rung.verdict
        ),
        None => format!("{}/s: {}", rung.rate, rung.verdict),
    }
}

/// The report: what was run, the table, each climb, then notes.
pub fn table(run: &RunSetup, rows: &[SetupRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Cluster: one process on SQLite, one on PostgreSQL, several behind nginx\n"
    );
    let ladder: Vec<String> = run.ladder.iter().map(u32::to_string).collect();
    let _ = writeln!(
        out,
        "Each setup fresh for each size: `{server}` with `--db` an SQLite file or a fresh \
         database on one throwaway PostgreSQL 15 (default settings, fsync on); a cluster's \
         processes share the database and sit behind one nginx worker, round-robin, which \
         the sockets connect to. Messages at {rate}/s for {seconds} s round-robin over the \
         open sockets, then the climb: {seconds} s at each of {ladder} messages/s on the \
         same sockets until a rung loses a message, has a p99 ack over {limit} ms or cannot \
         be sent at its rate. Latencies in ms (p50 / p99) from writing the frame to reading \
         its `ack`, and to reading the message's own event back. RSS is the server \
         processes' VmRSS added up (PostgreSQL's and nginx's memory not counted); per socket \
         is (open − start) / sockets. Load generator, servers, PostgreSQL and nginx share \
         this machine ({cpus} CPUs), with other work on it: the figures are indicative.\n",
        server = run.server,
        rate = run.rate,
        seconds = run.seconds,
        ladder = ladder.join(", "),
        limit = ACK_P99_LIMIT.as_millis(),
        cpus = run.cpus,
    );
    let _ = writeln!(
        out,
        "| setup | sockets | RSS / socket | RSS MiB (start → open → end) | ack p50 / p99 @{rate}/s | echo p50 / p99 @{rate}/s | highest rate with p99 ack ≤ {limit} ms |",
        rate = run.rate,
        limit = ACK_P99_LIMIT.as_millis()
    );
    let _ = writeln!(out, "|---|---:|---:|---|---|---|---|");
    for row in rows {
        let per_socket = row
            .kib_per_socket()
            .map_or_else(|| "—".into(), |k| format!("{k:.1} KiB"));
        let steady = row.steady.as_ref();
        let _ = writeln!(
            out,
            "| {} | {} of {} | {} | {} → {} → {} | {} | {} | {} |",
            row.setup,
            row.opened,
            row.size,
            per_socket,
            mib(total(&row.rss_start_kib)),
            mib(total(&row.rss_open_kib)),
            mib(total(&row.rss_end_kib)),
            p50_p99(steady.and_then(|p| p.ack.as_ref())),
            p50_p99(steady.and_then(|p| p.echo.as_ref())),
            highest_rate_cell(row),
        );
    }
    let climbs: Vec<String> = rows
        .iter()
        .filter(|row| !row.rungs.is_empty())
        .map(|row| {
            let rungs: Vec<String> = row.rungs.iter().map(rung_text).collect();
            format!(
                "- {}, {} sockets: {}",
                row.setup,
                row.size,
                rungs.join("; ")
            )
        })
        .collect();
    if !climbs.is_empty() {
        let _ = writeln!(out, "\n### The climbs\n\n{}", climbs.join("\n"));
    }
    let notes: Vec<String> = rows.iter().filter_map(row_notes).collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n### Notes\n\n{}", notes.join("\n"));
    }
    out
}

/// A row's notes: why it stopped, errors at the steady rate, sockets lost, and each
/// process's memory when there are several.
fn row_notes(row: &SetupRow) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(note) = &row.note {
        parts.push(note.clone());
    }
    if row.opened > 0 {
        parts.push(format!("opened in {:.1} s", row.open_time.as_secs_f64()));
    }
    if row.held < row.opened {
        parts.push(format!(
            "{} of {} still open at the end",
            row.held, row.opened
        ));
    }
    if let Some(steady) = &row.steady {
        let breakdown = steady.errors.breakdown();
        if !breakdown.is_empty() {
            parts.push(format!("at {}/s: {breakdown}", steady.rate));
        }
    }
    if let Some(growth) = growth_text(row) {
        parts.push(growth);
    }
    if row.rss_open_kib.len() > 1 {
        let each: Vec<String> = (0..row.rss_open_kib.len())
            .map(|i| {
                let at = |kib: &[u64]| mib(kib.get(i).copied());
                format!(
                    "{} → {} → {}",
                    at(&row.rss_start_kib),
                    at(&row.rss_open_kib),
                    at(&row.rss_end_kib)
                )
            })
            .collect();
        parts.push(format!("each process, MiB: {}", each.join("; ")));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "- {}, {} sockets: {}",
            row.setup,
            row.size,
            parts.join("; ")
        )
    })
}

/// How the processes' memory moved from every socket open to the end, against the
/// messages sent meanwhile: `+31.2 MiB over 52500 messages (623 bytes a message)`.
fn growth_text(row: &SetupRow) -> Option<String> {
    let open = total(&row.rss_open_kib)? as f64;
    let end = total(&row.rss_end_kib)? as f64;
    if row.messages == 0 {
        return None;
    }
    let change = end - open;
    Some(format!(
        "RSS {:+.1} MiB from all open to the end, over {} messages ({:+.0} bytes a message)",
        change / 1024.0,
        row.messages,
        change * 1024.0 / row.messages as f64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::Verdict;
    use crate::report::Errors;

    fn summary(p50_us: u64, p99_us: u64) -> Summary {
        Summary {
            count: 100,
            p50: Duration::from_micros(p50_us),
            p90: Duration::from_micros(p99_us),
            p99: Duration::from_micros(p99_us),
            max: Duration::from_micros(p99_us * 2),
        }
    }

    fn phase(rate: u32, ack_p99_us: u64) -> Phase {
        Phase {
            rate,
            sent: u64::from(rate) * 5,
            planned: Duration::from_secs(5),
            sending_took: Duration::from_secs(5),
            ack: Some(summary(400, ack_p99_us)),
            echo: Some(summary(500, ack_p99_us + 100)),
            errors: Errors::default(),
            rss_after_kib: None,
        }
    }

    fn held(rate: u32) -> Rung {
        Rung {
            rate,
            phase: Some(phase(rate, 2_000)),
            verdict: Verdict::Held,
        }
    }

    fn run() -> RunSetup {
        RunSetup {
            server: "porchlight-server --no-client-limits".into(),
            rate: 500,
            seconds: 5,
            ladder: vec![500, 1_000, 2_000],
            cpus: 2,
        }
    }

    #[test]
    fn the_highest_rate_says_where_the_climb_stopped() {
        let mut row = SetupRow::default();
        assert_eq!(highest_rate_cell(&row), "—");
        row.rungs = vec![held(500), held(1_000)];
        assert_eq!(highest_rate_cell(&row), "≥ 1000/s (top of the ladder)");
        row.rungs.push(Rung {
            rate: 2_000,
            phase: Some(phase(2_000, 80_000)),
            verdict: Verdict::SlowAcks {
                p99: Duration::from_millis(80),
            },
        });
        assert_eq!(highest_rate_cell(&row), "1000/s (not 2000/s)");
        row.rungs = vec![Rung {
            rate: 500,
            phase: None,
            verdict: Verdict::Errors(3),
        }];
        assert_eq!(highest_rate_cell(&row), "below 500/s");
    }

    #[test]
    fn memory_per_socket_adds_up_the_processes() {
        let row = SetupRow {
            opened: 1_000,
            rss_start_kib: vec![10_000, 10_000, 10_000],
            rss_open_kib: vec![17_000, 17_000, 16_000],
            ..SetupRow::default()
        };
        assert_eq!(row.kib_per_socket(), Some(20.0));
        let unread = SetupRow {
            opened: 1_000,
            rss_start_kib: vec![10_000],
            ..SetupRow::default()
        };
        assert_eq!(unread.kib_per_socket(), None);
        assert_eq!(SetupRow::default().kib_per_socket(), None);
    }

    #[test]
    fn the_table_puts_the_setups_side_by_side() {
        let sqlite = SetupRow {
            setup: "1 process, SQLite".into(),
            size: 1_000,
            opened: 1_000,
            held: 1_000,
            open_time: Duration::from_millis(1_500),
            rss_start_kib: vec![10_240],
            rss_open_kib: vec![30_720],
            rss_end_kib: vec![31_744],
            steady: Some(phase(500, 2_000)),
            messages: 2_048,
            rungs: vec![
                held(500),
                Rung {
                    rate: 1_000,
                    phase: Some(Phase {
                        rss_after_kib: Some(31_744),
                        ..phase(1_000, 2_000)
                    }),
                    verdict: Verdict::Held,
                },
                Rung {
                    rate: 2_000,
                    phase: Some(phase(2_000, 81_000)),
                    verdict: Verdict::SlowAcks {
                        p99: Duration::from_millis(81),
                    },
                },
            ],
            note: None,
        };
        let mut lossy = phase(500, 3_000);
        lossy.errors.missing_echoes = 4;
        let cluster = SetupRow {
            setup: "3 processes, PostgreSQL, nginx".into(),
            size: 1_000,
            opened: 999,
            held: 998,
            open_time: Duration::from_secs(2),
            rss_start_kib: vec![10_240, 10_240, 10_240],
            rss_open_kib: vec![20_480, 20_480, 20_480],
            rss_end_kib: vec![21_504, 20_480, 20_480],
            steady: Some(lossy),
            rungs: vec![Rung {
                rate: 500,
                phase: None,
                verdict: Verdict::Errors(4),
            }],
            ..SetupRow::default()
        };
        let refused = SetupRow {
            setup: "3 processes, PostgreSQL, nginx".into(),
            size: 10_000,
            note: Some("the balancer's nginx holds at most 1919 sockets".into()),
            ..SetupRow::default()
        };
        let text = table(&run(), &[sqlite, cluster, refused]);
        assert!(
            text.contains("`porchlight-server --no-client-limits`"),
            "{text}"
        );
        assert!(text.contains("500, 1000, 2000 messages/s"), "{text}");
        assert!(
            text.contains("| setup | sockets | RSS / socket | RSS MiB (start → open → end) | ack p50 / p99 @500/s | echo p50 / p99 @500/s | highest rate with p99 ack ≤ 50 ms |"),
            "{text}"
        );
        assert!(
            text.contains("| 1 process, SQLite | 1000 of 1000 | 20.5 KiB | 10.0 → 30.0 → 31.0 | 0.40 / 2.00 | 0.50 / 2.10 | 1000/s (not 2000/s) |"),
            "{text}"
        );
        assert!(
            text.contains("| 3 processes, PostgreSQL, nginx | 999 of 1000 | 30.8 KiB | 30.0 → 60.0 → 61.0 | 0.40 / 3.00 | 0.50 / 3.10 | below 500/s |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| 3 processes, PostgreSQL, nginx | 0 of 10000 | — | — → — → — | — | — | — |"
            ),
            "{text}"
        );
        assert!(
            text.contains("- 1 process, SQLite, 1000 sockets: 500/s: ack 0.40 / 2.00, echo 0.50 / 2.10 ms, held; 1000/s: ack 0.40 / 2.00, echo 0.50 / 2.10 ms, RSS 31.0 MiB, held; 2000/s: ack 0.40 / 81.0, echo 0.50 / 81.1 ms, p99 ack 81.0 ms > 50 ms"),
            "{text}"
        );
        assert!(
            text.contains("- 3 processes, PostgreSQL, nginx, 1000 sockets: opened in 2.0 s; 998 of 999 still open at the end; at 500/s: 4 echoes missing; each process, MiB: 10.0 → 20.0 → 21.0; 10.0 → 20.0 → 20.0; 10.0 → 20.0 → 20.0"),
            "{text}"
        );
        assert!(
            text.contains("- 3 processes, PostgreSQL, nginx, 10000 sockets: the balancer's nginx holds at most 1919 sockets"),
            "{text}"
        );
        assert!(
            text.contains("- 1 process, SQLite, 1000 sockets: opened in 1.5 s"),
            "{text}"
        );
    }
}
