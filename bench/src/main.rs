//! `porchlight-load`: for each size N, starts a fresh server, opens N visitor sockets,
//! measures the server's memory per socket, sends messages at a steady rate and times their
//! acks and echoes; prints a markdown table and writes it to `--out`.
//!
//! ```text
//! porchlight-load --server-bin PATH [--server-args "--memory --no-client-limits"]
//!                 [--sizes 1000,5000,10000] [--rate 500] [--seconds 10] [--out FILE]
//! ```
//!
//! `cargo xtask bench load` builds both binaries and runs this.

use porchlight_bench::cli::{parse_number, parse_sizes};
use porchlight_bench::fds;
use porchlight_bench::load::Swarm;
use porchlight_bench::report::{Row, Setup, table};
use porchlight_bench::schedule::{frames_per_socket, within_rate_limit};
use porchlight_bench::server::{Server, settled_rss};
use porchlight_bench::stats::Summary;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: porchlight-load --server-bin PATH [--server-args \"ARGS\"] \
                     [--sizes 1000,5000,10000] [--rate 500] [--seconds 10] [--out FILE]";

/// How long acks and echoes may take after the last message before they count as missing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What to run.
struct Args {
    server_bin: PathBuf,
    server_args: Vec<String>,
    sizes: Vec<usize>,
    rate: u32,
    seconds: u32,
    out: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        server_bin: PathBuf::new(),
        server_args: vec!["--memory".into(), "--no-client-limits".into()],
        sizes: vec![1_000, 5_000, 10_000],
        rate: 500,
        seconds: 10,
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
            "--sizes" => parsed.sizes = parse_sizes(&value()?)?,
            "--rate" => parsed.rate = parse_number(&arg, &value()?)?,
            "--seconds" => parsed.seconds = parse_number(&arg, &value()?)?,
            "--out" => parsed.out = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if parsed.server_bin.as_os_str().is_empty() {
        return Err(format!("--server-bin is required\n{USAGE}"));
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("porchlight-load: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: impl IntoIterator<Item = String>) -> Result<(), String> {
    let args = parse_args(args)?;
    // The server, started afterwards, inherits the raised limit.
    let (soft, _hard) = fds::raise_to_hard()?;
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    fds::check(largest, soft, "the load generator (hard limit)")?;
    let log_dir = args
        .out
        .as_ref()
        .and_then(|out| out.parent().map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        eprintln!("==> {size} sockets");
        if !within_rate_limit(args.rate, size) {
            eprintln!(
                "    warning: {:.1} frames a second per socket is over the server's limit; expect rate_limited errors",
                frames_per_socket(args.rate, size)
            );
        }
        let log = log_dir.join(format!("server-{size}.log"));
        let row = run_size(&args, size, &log).await;
        eprintln!(
            "    held {} of {size}, {} errors{}",
            row.held,
            row.errors.total(),
            row.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        rows.push(row);
    }
    let setup = Setup {
        server: std::iter::once(args.server_bin.display().to_string())
            .chain(args.server_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        rate: args.rate,
        seconds: args.seconds,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let text = table(&setup, &rows);
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("Written to {}", out.display());
    }
    Ok(())
}

/// One fresh server, `size` sockets on it, the messages, and what was measured.
async fn run_size(args: &Args, size: usize, log: &std::path::Path) -> Row {
    let mut row = Row {
        size,
        ..Row::default()
    };
    let mut server = match Server::start(&args.server_bin, &args.server_args, log) {
        Ok(server) => server,
        Err(why) => {
            row.note = Some(why);
            return row;
        }
    };
    match server.open_files_limit() {
        Ok(limit) => {
            if let Err(why) = fds::check(size, limit, "the server") {
                row.note = Some(why);
                return row;
            }
        }
        Err(why) => eprintln!("    cannot check the server's open-file limit: {why}"),
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    row.rss_start_kib = server.rss_kib().ok();
    eprintln!(
        "    server pid {} on {}, RSS {} KiB",
        server.pid(),
        server.addr(),
        row.rss_start_kib.unwrap_or(0)
    );
    let mut swarm = Swarm::open(server.addr(), size).await;
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
    row.rss_open_kib = settled_rss(|| server.rss_kib().ok(), |&kib| kib).await;
    row.sent = swarm.send(args.rate, args.seconds).await;
    swarm.drain(DRAIN_TIMEOUT).await;
    row.held = swarm.held();
    row.rss_end_kib = server.rss_kib().ok();
    let tally = swarm.finish().await;
    row.ack = Summary::of(tally.acks);
    row.echo = Summary::of(tally.echoes);
    row.errors = tally.errors;
    if let Some(status) = server.exited() {
        row.note = Some(format!(
            "the server exited ({status}); see {}",
            log.display()
        ));
    }
    drop(server);
    // Let the kernel reap the closed connections before the next size.
    tokio::time::sleep(Duration::from_secs(1)).await;
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Result<Args, String> {
        parse_args(text.split(' ').map(String::from))
    }

    #[test]
    fn defaults_and_overrides() {
        let parsed = args("--server-bin /x/mock").expect("parses");
        assert_eq!(parsed.sizes, [1_000, 5_000, 10_000]);
        assert_eq!((parsed.rate, parsed.seconds), (500, 10));
        assert_eq!(parsed.server_args, ["--memory", "--no-client-limits"]);
        let parsed = parse_args(
            [
                "--server-bin",
                "/x/mock",
                "--server-args",
                "--memory",
                "--sizes",
                "10,2_000",
                "--rate",
                "50",
            ]
            .map(String::from),
        )
        .expect("parses");
        assert_eq!(parsed.sizes, [10, 2_000]);
        assert_eq!(parsed.rate, 50);
        assert_eq!(parsed.server_args, ["--memory"]);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(args("--sizes 1000").is_err());
        assert!(args("--server-bin x --sizes 0").is_err());
        assert!(args("--server-bin x --rate fast").is_err());
        assert!(args("--server-bin x --bogus").is_err());
        assert!(args("--server-bin").is_err());
    }
}
