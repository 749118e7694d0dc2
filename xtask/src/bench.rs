//! `cargo xtask bench [SECTION…] [OPTIONS]`: measurements, one section each, written under
//! `target/bench/`. With no section named, every section runs in turn. A new section is
//! one more entry in [`SECTIONS`]; options a section does not use are ignored by it.
//!
//! - `load`: how the release server holds many visitor WebSockets — its memory per
//!   socket, and the latencies of acks and echoes at a steady message rate (the
//!   `porchlight-load` generator in `bench/`). Writes `target/bench/load.md`.
//! - `at-rest`: the release server's start time and resident memory on databases of 0 and
//!   of `--conversations` (100 000) ended conversations of 20 messages, SQLite and
//!   PostgreSQL, at start and after `--idle-secs` (600) idle (`porchlight-at-rest`).
//!   Writes `target/bench/at-rest.md`.
//! - `cluster`: the setups side by side — one release server process on SQLite, one on
//!   PostgreSQL, three on one PostgreSQL behind nginx (throwaway PostgreSQL and nginx,
//!   like `cargo xtask demo --nodes 3`): sockets held, the server processes' memory per
//!   socket, ack and echo p50 / p99 at `--rate`, and the highest rate of a ladder each
//!   sustains with p99 ack ≤ 50 ms and nothing lost (`porchlight-cluster-load`).
//!   `--setups sqlite,postgres,cluster` (or `cluster:N`) picks the setups, `--ladder
//!   500,1000,…` the rates climbed; `--sizes` defaults to 10000 here. Writes
//!   `target/bench/cluster.md`; the servers' logs stay in `target/bench/cluster.scratch/`.
//! - `page`: what the snippet costs a plain article page on another site — Lighthouse
//!   (mobile, simulated throttling) without and with it, the launcher's and the composer's
//!   timings in headless Chromium with a cold and a warm cache, and the bytes table (see
//!   [`crate::page_bench`]). Needs `cargo xtask build` first. Writes `target/bench/page.md`.
//!
//! Options: `--sizes 1000,5000,10000` (sockets per run, a fresh server each), `--rate 500`
//! (messages a second), `--seconds 10`; `--server-bin PATH` benches that server binary
//! instead of building this tree's, and `--server-args "ARGS"` replaces its flags
//! (default `--memory --no-client-limits`; an older server without that flag takes
//! `--server-args --memory`). `--runs 3`: runs of the `page` section, each figure their
//! median. `--server-args` replaces the `cluster` section's flags too (default
//! `--no-client-limits`; each setup adds its own `--db`).

use crate::{cargo, run, step, target_dir};
use std::path::PathBuf;
use std::process::Command;

/// One part of the bench.
struct Section {
    name: &'static str,
    run: fn(&Options) -> Result<(), String>,
}

/// Every section, in the order `cargo xtask bench` runs them.
const SECTIONS: &[Section] = &[
    Section {
        name: "load",
        run: load,
    },
    Section {
        name: "at-rest",
        run: at_rest,
    },
    Section {
        name: "cluster",
        run: cluster,
    },
    Section {
        name: "page",
        run: page,
    },
];

/// Runs of the `page` section when `--runs` is not given.
const DEFAULT_RUNS: usize = 3;

/// The options of `cargo xtask bench`, as given.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    sizes: Option<String>,
    rate: Option<String>,
    seconds: Option<String>,
    server_bin: Option<PathBuf>,
    server_args: Option<String>,
    runs: Option<usize>,
    conversations: Option<String>,
    idle_secs: Option<String>,
    setups: Option<String>,
    ladder: Option<String>,
}

/// Runs the sections named in `args`, or all of them.
pub fn bench(args: &[String]) -> Result<(), String> {
    let (sections, options) = parse(args)?;
    for section in sections {
        (section.run)(&options)?;
    }
    Ok(())
}

fn usage() -> String {
    let names: Vec<&str> = SECTIONS.iter().map(|s| s.name).collect();
    format!(
        "usage: cargo xtask bench [{}] [--sizes 1000,5000,10000] [--rate 500] [--seconds 10] \
         [--server-bin PATH] [--server-args \"ARGS\"] [--runs 3] [--conversations 100000] \
         [--idle-secs 600] [--setups sqlite,postgres,cluster] [--ladder 500,1000,2000,…]",
        names.join(" | ")
    )
}

/// The sections to run, in their own order, and the options.
fn parse(args: &[String]) -> Result<(Vec<&'static Section>, Options), String> {
    let mut named = Vec::new();
    let mut options = Options::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--sizes" => {
                let sizes = value()?;
                let valid = sizes.split(',').all(|n| {
                    n.trim()
                        .replace('_', "")
                        .parse::<usize>()
                        .is_ok_and(|n| n > 0)
                });
                if !valid {
                    return Err(format!(
                        "--sizes takes numbers like 1000,5000, not {sizes:?}"
                    ));
                }
                options.sizes = Some(sizes);
            }
            "--conversations" | "--idle-secs" => {
                let number = value()?;
                if number.replace('_', "").parse::<u64>().is_err() {
                    return Err(format!("{arg} takes a whole number, not {number:?}"));
                }
                if arg == "--conversations" {
                    options.conversations = Some(number);
                } else {
                    options.idle_secs = Some(number);
                }
            }
            "--rate" | "--seconds" => {
                let number = value()?;
                if number.parse::<u32>().is_err() {
                    return Err(format!("{arg} takes a whole number, not {number:?}"));
                }
                if arg == "--rate" {
                    options.rate = Some(number);
                } else {
                    options.seconds = Some(number);
                }
            }
            "--runs" => {
                let runs = value()?;
                match runs.parse::<usize>() {
                    Ok(n) if n > 0 => options.runs = Some(n),
                    _ => return Err(format!("--runs takes a whole number above 0, not {runs:?}")),
                }
            }
            "--setups" => {
                let setups = value()?;
                let valid = setups.split(',').all(|setup| {
                    let setup = setup.trim();
                    matches!(setup, "sqlite" | "postgres" | "cluster")
                        || setup
                            .strip_prefix("cluster:")
                            .and_then(|n| n.parse::<usize>().ok())
                            .is_some_and(|n| n >= 2)
                });
                if !valid {
                    return Err(format!(
                        "--setups takes sqlite, postgres, cluster or cluster:N, comma-separated, not {setups:?}"
                    ));
                }
                options.setups = Some(setups);
            }
            "--ladder" => {
                let ladder = value()?;
                let rates: Option<Vec<u32>> = ladder
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .replace('_', "")
                            .parse::<u32>()
                            .ok()
                            .filter(|&n| n > 0)
                    })
                    .collect();
                if !rates.is_some_and(|rates| rates.windows(2).all(|w| w[0] < w[1])) {
                    return Err(format!(
                        "--ladder takes climbing message rates like 500,1000,2000, not {ladder:?}"
                    ));
                }
                options.ladder = Some(ladder);
            }
            "--server-bin" => options.server_bin = Some(PathBuf::from(value()?)),
            "--server-args" => options.server_args = Some(value()?),
            name => match SECTIONS.iter().find(|s| s.name == name) {
                Some(section) => named.push(section.name),
                None => return Err(format!("unknown bench argument {name:?}\n{}", usage())),
            },
        }
    }
    let sections = SECTIONS
        .iter()
        .filter(|s| named.is_empty() || named.contains(&s.name))
        .collect();
    Ok((sections, options))
}

/// The `load` section: build the server and the generator (release), run the generator.
fn load(options: &Options) -> Result<(), String> {
    let release = target_dir().join("release");
    let server = match &options.server_bin {
        Some(path) => path.clone(),
        None => {
            step("Building the server (release)", || {
                run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-server"]))
            })?;
            release.join("porchlight-server")
        }
    };
    if !server.is_file() {
        return Err(format!("no server binary at {}", server.display()));
    }
    step("Building the load generator (release)", || {
        run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-bench"]))
    })?;
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut generator = Command::new(release.join("porchlight-load"));
    generator
        .arg("--server-bin")
        .arg(&server)
        .arg("--out")
        .arg(out_dir.join("load.md"));
    let passed = [
        ("--sizes", &options.sizes),
        ("--rate", &options.rate),
        ("--seconds", &options.seconds),
        ("--server-args", &options.server_args),
    ];
    for (flag, value) in passed {
        if let Some(value) = value {
            generator.args([flag, value.as_str()]);
        }
    }
    step("Load: visitor sockets on the server", || {
        run(&mut generator)
    })
}

/// The `at-rest` section: build the server and the measurer (release), measure.
fn at_rest(options: &Options) -> Result<(), String> {
    let release = target_dir().join("release");
    step(
        "Building the server and the at-rest measurer (release)",
        || {
            run(cargo().args([
                "build",
                "--release",
                "--locked",
                "-p",
                "porchlight-server",
                "-p",
                "porchlight-bench",
            ]))
        },
    )?;
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut measurer = Command::new(release.join("porchlight-at-rest"));
    measurer
        .arg("--server-bin")
        .arg(release.join("porchlight-server"))
        .arg("--out")
        .arg(out_dir.join("at-rest.md"))
        .arg("--scratch")
        .arg(out_dir.join("at-rest"));
    let passed = [
        ("--conversations", &options.conversations),
        ("--idle-secs", &options.idle_secs),
    ];
    for (flag, value) in passed {
        if let Some(value) = value {
            measurer.args([flag, value.as_str()]);
        }
    }
    step(
        "At rest: the server's memory on a database full of history",
        || run(&mut measurer),
    )
}

/// The `cluster` section: build the server and the generators (release), run
/// `porchlight-cluster-load`.
fn cluster(options: &Options) -> Result<(), String> {
    let release = target_dir().join("release");
    let server = match &options.server_bin {
        Some(path) => path.clone(),
        None => {
            step("Building the server (release)", || {
                run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-server"]))
            })?;
            release.join("porchlight-server")
        }
    };
    if !server.is_file() {
        return Err(format!("no server binary at {}", server.display()));
    }
    step("Building the load generators (release)", || {
        run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-bench"]))
    })?;
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut generator = Command::new(release.join("porchlight-cluster-load"));
    generator
        .arg("--server-bin")
        .arg(&server)
        .arg("--out")
        .arg(out_dir.join("cluster.md"))
        .arg("--scratch")
        .arg(out_dir.join("cluster.scratch"));
    let passed = [
        ("--sizes", &options.sizes),
        ("--rate", &options.rate),
        ("--seconds", &options.seconds),
        ("--server-args", &options.server_args),
        ("--setups", &options.setups),
        ("--ladder", &options.ladder),
    ];
    for (flag, value) in passed {
        if let Some(value) = value {
            generator.args([flag, value.as_str()]);
        }
    }
    step(
        "Cluster: SQLite, PostgreSQL and three processes behind nginx, side by side",
        || run(&mut generator),
    )
}

/// The `page` section: the snippet on a plain article page (see [`crate::page_bench`]).
fn page(options: &Options) -> Result<(), String> {
    crate::page_bench::page(options.runs.unwrap_or(DEFAULT_RUNS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<(Vec<&'static str>, Options), String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&args).map(|(sections, options)| (sections.iter().map(|s| s.name).collect(), options))
    }

    #[test]
    fn no_section_named_runs_them_all() {
        let (sections, options) = parsed(&[]).expect("parses");
        assert_eq!(sections.len(), SECTIONS.len());
        assert_eq!(options, Options::default());
    }

    #[test]
    fn a_named_section_and_its_options() {
        let (sections, options) = parsed(&[
            "load",
            "--sizes",
            "100,2_000",
            "--rate",
            "50",
            "--seconds",
            "3",
        ])
        .expect("parses");
        assert_eq!(sections, ["load"]);
        assert_eq!(options.sizes.as_deref(), Some("100,2_000"));
        assert_eq!(options.rate.as_deref(), Some("50"));
        assert_eq!(options.seconds.as_deref(), Some("3"));
    }

    #[test]
    fn the_page_section_and_its_runs() {
        let (sections, options) = parsed(&["page", "--runs", "5"]).expect("parses");
        assert_eq!(sections, ["page"]);
        assert_eq!(options.runs, Some(5));
        let (sections, _) = parsed(&["page", "load"]).expect("parses");
        assert_eq!(sections, ["load", "page"]);
    }

    #[test]
    fn the_cluster_section_and_its_setups_and_ladder() {
        let (sections, options) = parsed(&[
            "cluster",
            "--setups",
            "sqlite,cluster:4",
            "--ladder",
            "500,1_000,5000",
            "--sizes",
            "10000",
        ])
        .expect("parses");
        assert_eq!(sections, ["cluster"]);
        assert_eq!(options.setups.as_deref(), Some("sqlite,cluster:4"));
        assert_eq!(options.ladder.as_deref(), Some("500,1_000,5000"));
        assert_eq!(options.sizes.as_deref(), Some("10000"));
        assert!(parsed(&["cluster", "--setups", "mysql"]).is_err());
        assert!(parsed(&["cluster", "--setups", "cluster:1"]).is_err());
        assert!(parsed(&["cluster", "--ladder", "1000,500"]).is_err());
        assert!(parsed(&["cluster", "--ladder", "0,500"]).is_err());
        assert!(parsed(&["cluster", "--ladder", "fast"]).is_err());
    }

    #[test]
    fn bad_arguments_are_refused_before_building() {
        assert!(parsed(&["lighthouse-not-yet"]).is_err());
        assert!(parsed(&["--sizes", "many"]).is_err());
        assert!(parsed(&["--sizes", "0"]).is_err());
        assert!(parsed(&["--rate", "-1"]).is_err());
        assert!(parsed(&["--seconds"]).is_err());
        assert!(parsed(&["--runs", "0"]).is_err());
        assert!(parsed(&["--runs", "three"]).is_err());
    }
}
