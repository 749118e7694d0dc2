//! `porchlight-cluster-load`: the setups side by side — one server process on SQLite, one
//! on PostgreSQL, several on one PostgreSQL database behind nginx (see
//! [`porchlight_bench::deployment`]). For each size and setup, started fresh: N visitor
//! sockets (through the balancer for a cluster), the server processes' memory per socket,
//! ack and echo latencies at a steady rate, then a climb up a ladder of rates to the
//! highest with p99 ack ≤ 50 ms and nothing lost (see [`porchlight_bench::ladder`]).
//! Prints a markdown table and writes it to `--out`.
//!
//! ```text
//! porchlight-cluster-load --server-bin PATH [--setups sqlite,postgres,cluster]
//!     [--sizes 10000] [--rate 500] [--seconds 10] [--ladder 500,1000,2000,3000,5000,7500,10000]
//!     [--server-args "--no-client-limits"] [--scratch DIR] [--out FILE]
//! ```
//!
//! `cargo xtask bench cluster` builds both binaries and runs this.

use porchlight_bench::cli::{parse_number, parse_sizes};
use porchlight_bench::comparison::{RunSetup, SetupRow, highest_rate_cell, table};
use porchlight_bench::deployment::{Deployment, Scratch, Topology};
use porchlight_bench::fds;
use porchlight_bench::ladder::{DEFAULT_LADDER, Phase, Rung, judge, parse_ladder, refuse};
use porchlight_bench::load::Swarm;
use porchlight_bench::schedule::{frames_per_socket, within_rate_limit};
use porchlight_bench::server::settled_rss;
use porchlight_bench::stats::Summary;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

const USAGE: &str = "usage: porchlight-cluster-load --server-bin PATH \
                     [--setups sqlite,postgres,cluster] [--sizes 10000] [--rate 500] \
                     [--seconds 10] [--ladder 500,1000,2000,3000,5000,7500,10000] \
                     [--server-args \"ARGS\"] [--scratch DIR] [--out FILE]";

/// How long acks and echoes may take after a phase's last message before they count as
/// missing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A breather between rungs, so that one rung's aftermath does not weigh on the next.
const BETWEEN_RUNGS: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug)]
struct Args {
    server_bin: PathBuf,
    server_args: Vec<String>,
    setups: Vec<Topology>,
    sizes: Vec<usize>,
    rate: u32,
    seconds: u32,
    ladder: Vec<u32>,
    scratch: Option<PathBuf>,
    out: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        server_bin: PathBuf::new(),
        server_args: vec!["--no-client-limits".into()],
        setups: vec![Topology::Sqlite, Topology::Postgres, Topology::Cluster(3)],
        sizes: vec![10_000],
        rate: 500,
        seconds: 10,
        ladder: DEFAULT_LADDER.to_vec(),
        scratch: None,
        out: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--server-bin" => parsed.server_bin = PathBuf::from(value()?),
            "--server-args" => {
                parsed.server_args = value()?.split_whitespace().map(String::from).collect();
            }
            "--setups" => {
                parsed.setups = Topology::parse_list(&value()?).map_err(|e| e.to_string())?;
            }
            "--sizes" => parsed.sizes = parse_sizes(&value()?)?,
            "--rate" => parsed.rate = parse_number(&arg, &value()?)?,
            "--seconds" => parsed.seconds = parse_number(&arg, &value()?)?,
            "--ladder" => parsed.ladder = parse_ladder(&value()?).map_err(|e| e.to_string())?,
            "--scratch" => parsed.scratch = Some(PathBuf::from(value()?)),
            "--out" => parsed.out = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if parsed.server_bin.as_os_str().is_empty() {
        return Err(format!("--server-bin is required\n{USAGE}"));
    }
    if parsed.rate == 0 || parsed.seconds == 0 {
        return Err("--rate and --seconds must be above 0".into());
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("porchlight-cluster-load: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: impl IntoIterator<Item = String>) -> Result<(), String> {
    let args = parse_args(args)?;
    // The servers and nginx, started afterwards, inherit the raised limit.
    let (soft, _hard) = fds::raise_to_hard()?;
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    fds::check(largest, soft, "the load generator (hard limit)")?;
    let scratch_dir = match (&args.scratch, &args.out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(out)) => out.with_extension("scratch"),
        (None, None) => {
            std::env::temp_dir().join(format!("porchlight-cluster-load-{}", std::process::id()))
        }
    };
    let mut scratch = Scratch::new(&scratch_dir).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        for &topology in &args.setups {
            eprintln!("==> {topology}, {size} sockets");
            let row = run_setup(&args, topology, size, &mut scratch).await;
            eprintln!(
                "    {} of {size} opened, {} held, highest rate {}{}",
                row.opened,
                row.held,
                highest_rate_cell(&row),
                row.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            rows.push(row);
            // Let the kernel reap the closed connections before the next run.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if let Some(log) = scratch.postgres_log() {
        eprintln!("PostgreSQL's log: {}", log.display());
    }
    let server_name = args.server_bin.file_name().map_or_else(
        || args.server_bin.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let run_setup = RunSetup {
        server: std::iter::once(server_name)
            .chain(args.server_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        rate: args.rate,
        seconds: args.seconds,
        ladder: args.ladder.clone(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let text = table(&run_setup, &rows);
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("Written to {}", out.display());
    }
    eprintln!("Server logs under {}", scratch_dir.display());
    Ok(())
}

/// One fresh setup, `size` sockets on it, the steady phase, the climb, and what was
/// measured.
async fn run_setup(
    args: &Args,
    topology: Topology,
    size: usize,
    scratch: &mut Scratch,
) -> SetupRow {
    let mut row = SetupRow {
        setup: topology.to_string(),
        size,
        ..SetupRow::default()
    };
    let mut deployment =
        match Deployment::start(topology, size, &args.server_bin, &args.server_args, scratch) {
            Ok(deployment) => deployment,
            Err(why) => {
                row.note = Some(why.to_string());
                return row;
            }
        };
    let Some(addr) = deployment.addr() else {
        row.note = Some("no server process started".into());
        return row;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    row.rss_start_kib = deployment.rss_kib().unwrap_or_default();
    eprintln!("    {}", deployment.describe());
    let mut swarm = Swarm::open(addr, size).await;
    row.open_time = swarm.open_time;
    row.opened = swarm.opened();
    for why in &swarm.open_failures {
        eprintln!("    a socket did not open: {why}");
    }
    eprintln!(
        "    {} sockets open in {:.1} s",
        row.opened,
        row.open_time.as_secs_f64()
    );
    row.rss_open_kib = settled_rss(|| deployment.rss_kib().ok(), |kib| kib.iter().sum())
        .await
        .unwrap_or_default();
    if row.opened > 0 {
        if !within_rate_limit(args.rate, row.opened) {
            eprintln!(
                "    warning: {:.1} frames a second per socket is over the server's limit; expect rate_limited errors",
                frames_per_socket(args.rate, row.opened)
            );
        }
        let mut steady = phase(&mut swarm, args.rate, args.seconds).await;
        steady.rss_after_kib = total_rss(&deployment);
        eprintln!("    steady: {}", phase_text(&steady));
        row.rungs = climb(args, &mut swarm, &steady, row.opened, &mut deployment).await;
        row.messages = steady.sent
            + row
                .rungs
                .iter()
                .filter(|rung| rung.rate != steady.rate)
                .filter_map(|rung| rung.phase.as_ref())
                .map(|phase| phase.sent)
                .sum::<u64>();
        row.steady = Some(steady);
    }
    row.held = swarm.held();
    row.rss_end_kib = deployment.rss_kib().unwrap_or_default();
    let leftover = swarm.finish().await;
    if leftover.errors.closed > 0 {
        eprintln!(
            "    {} sockets closed after the last phase",
            leftover.errors.closed
        );
    }
    if let Some(exited) = deployment.exited() {
        row.note = Some(exited);
    }
    eprintln!("    logs in {}", deployment.dir.display());
    row
}

/// Climbs `args.ladder` on the open sockets until a rung does not hold; the rung at the
/// steady rate is the steady phase itself.
async fn climb(
    args: &Args,
    swarm: &mut Swarm,
    steady: &Phase,
    sockets: usize,
    deployment: &mut Deployment,
) -> Vec<Rung> {
    let mut rungs = Vec::new();
    for &rate in &args.ladder {
        let rung = if let Some(verdict) = refuse(rate, sockets) {
            Rung {
                rate,
                phase: None,
                verdict,
            }
        } else if rate == steady.rate {
            Rung {
                rate,
                phase: Some(steady.clone()),
                verdict: judge(steady),
            }
        } else {
            tokio::time::sleep(BETWEEN_RUNGS).await;
            let mut measured = phase(swarm, rate, args.seconds).await;
            measured.rss_after_kib = total_rss(deployment);
            Rung {
                rate,
                verdict: judge(&measured),
                phase: Some(measured),
            }
        };
        eprintln!(
            "    climb {rate}/s: {}{}",
            rung.phase
                .as_ref()
                .map_or_else(String::new, |p| format!("{}, ", phase_text(p))),
            rung.verdict
        );
        let held = rung.verdict.held();
        rungs.push(rung);
        if !held || deployment.exited().is_some() {
            break;
        }
    }
    rungs
}

/// Sends at `rate` for `seconds`, waits for the acks and echoes, and takes what the
/// sockets measured.
async fn phase(swarm: &mut Swarm, rate: u32, seconds: u32) -> Phase {
    let started = Instant::now();
    let sent = swarm.send(rate, seconds).await;
    let sending_took = started.elapsed();
    swarm.drain(DRAIN_TIMEOUT).await;
    let tally = swarm.collect().await;
    Phase {
        rate,
        sent,
        planned: Duration::from_secs(u64::from(seconds)),
        sending_took,
        ack: Summary::of(tally.acks),
        echo: Summary::of(tally.echoes),
        errors: tally.errors,
        rss_after_kib: None,
    }
}

/// The server processes' memory added up, in KiB.
fn total_rss(deployment: &Deployment) -> Option<u64> {
    deployment.rss_kib().ok().map(|kib| kib.iter().sum())
}

/// A phase for the progress lines: messages, latencies, errors.
fn phase_text(phase: &Phase) -> String {
    let latency = |summary: Option<&Summary>| {
        summary.map_or_else(
            || "—".into(),
            |s| {
                format!(
                    "{} / {} ms",
                    porchlight_bench::report::ms(s.p50),
                    porchlight_bench::report::ms(s.p99)
                )
            },
        )
    };
    let errors = phase.errors.breakdown();
    format!(
        "{} sent ({:.0}/s), ack {}, echo {}, RSS {} KiB{}",
        phase.sent,
        phase.achieved_rate(),
        latency(phase.ack.as_ref()),
        latency(phase.echo.as_ref()),
        phase
            .rss_after_kib
            .map_or_else(|| "—".into(), |kib| kib.to_string()),
        if errors.is_empty() {
            String::new()
        } else {
            format!(", {errors}")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Result<Args, String> {
        parse_args(text.split(' ').map(String::from))
    }

    #[test]
    fn defaults_are_the_issues_three_way_bench() {
        let parsed = args("--server-bin /x/server").expect("parses");
        assert_eq!(
            parsed.setups,
            [Topology::Sqlite, Topology::Postgres, Topology::Cluster(3)]
        );
        assert_eq!(parsed.sizes, [10_000]);
        assert_eq!((parsed.rate, parsed.seconds), (500, 10));
        assert_eq!(parsed.ladder, DEFAULT_LADDER);
        assert_eq!(parsed.server_args, ["--no-client-limits"]);
    }

    #[test]
    fn options_override_the_defaults() {
        let parsed = args(
            "--server-bin /x/server --setups cluster:2,sqlite --sizes 1000 --rate 250 \
             --seconds 3 --ladder 500,1000 --scratch /tmp/s --out /tmp/o.md",
        )
        .expect("parses");
        assert_eq!(parsed.setups, [Topology::Cluster(2), Topology::Sqlite]);
        assert_eq!(parsed.sizes, [1_000]);
        assert_eq!((parsed.rate, parsed.seconds), (250, 3));
        assert_eq!(parsed.ladder, [500, 1_000]);
        assert_eq!(parsed.scratch, Some(PathBuf::from("/tmp/s")));
        assert_eq!(parsed.out, Some(PathBuf::from("/tmp/o.md")));
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(args("--sizes 1000").is_err());
        assert!(args("--server-bin x --setups mysql").is_err());
        assert!(args("--server-bin x --ladder 1000,500").is_err());
        assert!(args("--server-bin x --rate 0").is_err());
        assert!(args("--server-bin x --bogus").is_err());
        assert!(args("--server-bin").is_err());
    }
}
