//! `cargo xtask …`: Porchlight's developer commands. Each installs what it needs first,
//! from the package registries only (crates.io, npm, Debian), skipping what is present.
//!
//! - `setup [--browser]`: the wasm32 target, trunk, wasm-bindgen-cli, wasm-opt; with
//!   `--browser` (the tests' set-up) also Chromium, ChromeDriver, axe-core, PostgreSQL and
//!   nginx.
//! - `build`: the release widget bundle in `dist/`, the agent console's in `console/dist/`.
//! - `demo [--addr HOST:PORT] [--nodes N] [-- SERVER ARGS…]`: build, then serve the demo;
//!   with `--nodes N`, on N server processes sharing a local PostgreSQL behind nginx
//!   (`cluster_demo`, built with the `cluster` feature, which the command turns on).
//! - `test`: size budget, formatting, lints (native and wasm32), every unit, integration
//!   and end-to-end test.
//! - `size`: the bytes a browser downloads to show the opened widget, and the console's.
//! - `bench [SECTION…]`: measurements under `target/bench/` (see [`bench`]); not part of
//!   `test`.

mod bench;
#[cfg(feature = "cluster")]
mod cluster_demo;
mod compress;
mod csp;
mod minify;
mod page_bench;
/// The rule for shipping hand-written scripts, shared with the server (which serves
/// the loader compacted by it).
#[path = "../../server/src/http/script.rs"]
mod script;
mod size;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The demo's default address.
const DEFAULT_ADDR: &str = "127.0.0.1:3000";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => tools::setup(args.iter().any(|a| a == "--browser")),
        Some("build") => build(),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench::bench(&args[1..]),
        Some("size") => build()
            .and_then(|()| size::report(&root()))
            .and_then(|()| size::report_console(&root(), &console_dist()))
            .and_then(|()| size::breakdown(&root())),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <setup [--browser] | build | demo [--addr HOST:PORT] [--nodes N] [-- SERVER ARGS] | test | size | bench [load] [OPTIONS]>";

/// Where cargo puts what it builds.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo that runs us.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// Prints a step, runs it and prints how long it took.
pub fn step<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    eprintln!("==> {what}");
    let started = Instant::now();
    let result = f();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => eprintln!("    done in {secs:.1} s"),
        Err(_) => eprintln!("    failed after {secs:.1} s"),
    }
    result
}

/// Runs `command` to completion; an error names it.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Builds the release widget into `dist/` and the agent console into `console/dist/`.
fn build() -> Result<(), String> {
    tools::setup(false)?;
    step("Fetching crates (trunk builds offline)", || {
        run(cargo().args(["fetch", "--locked"]))
    })?;
    step("Building the widget (release, wasm-opt -Oz)", || {
        // Trunk logs to stdout; keep stdout for what the command itself reports.
        run(tools::trunk()
            .args(["build", "--release", "--cargo-profile", "wasm-release"])
            .current_dir(root())
            .stdout(std::io::stderr()))
    })?;
    step(
        "Booting the widget on intent (boot.js; strict CSP, no preloads)",
        || {
            let boot = std::fs::read_to_string(root().join("boot.js"))
                .map_err(|e| format!("boot.js: {e}"))?;
            csp::lazy_start(&root().join("dist"), "/widget/", &boot).map(|_| ())
        },
    )?;
    step("Minifying the widget's JavaScript (terser)", || {
        minify::scripts(&root().join("dist")).map(|_| ())
    })?;
    step("Building the agent console (release, wasm-opt -Oz)", || {
        run(tools::trunk()
            .args(["build", "--release", "--cargo-profile", "wasm-release"])
            .current_dir(root().join("console"))
            .stdout(std::io::stderr()))
    })?;
    step(
        "Moving the console's start script out of its page (strict CSP)",
        || csp::externalize_start_script(&console_dist(), "/console/").map(|_| ()),
    )?;
    step("Writing brotli and gzip copies of the built files", || {
        compress::precompress(&root().join("dist"))?;
        compress::precompress(&console_dist()).map(|_| ())
    })
}

/// Where `cargo xtask build` puts the agent console.
pub fn console_dist() -> PathBuf {
    root().join("console").join("dist")
}

fn demo(args: &[String]) -> Result<(), String> {
    let mut addr = DEFAULT_ADDR.to_string();
    let mut nodes = None;
    let mut extra: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--addr" => addr = rest.next().ok_or("--addr needs HOST:PORT")?.clone(),
            "--nodes" => nodes = Some(node_count(rest.next())?),
            "--" => extra.extend(rest.by_ref().cloned()),
            other => return Err(format!("unknown demo argument {other:?}\n{USAGE}")),
        }
    }
    if let Some(nodes) = nodes {
        return cluster_demo(args, &addr, nodes, &extra);
    }
    build()?;
    step("Building the server", || {
        run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-server"]))
    })?;
    // The demo keeps its conversations under target/, unless told otherwise.
    let store = if extra.iter().any(|a| a == "--db" || a == "--memory") {
        Vec::new()
    } else {
        vec![
            "--db".to_string(),
            root()
                .join("target/porchlight-demo/porchlight.sqlite3")
                .display()
                .to_string(),
        ]
    };
    // The console as `cargo xtask build` made it, unless told otherwise.
    let console = if extra.iter().any(|a| a == "--console-dir") {
        Vec::new()
    } else {
        vec![
            "--console-dir".to_string(),
            console_dist().display().to_string(),
        ]
    };
    eprintln!("==> Serving the demo (Ctrl-C stops it)");
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--release",
            "--locked",
            "-p",
            "porchlight-server",
            "--",
        ])
        .args(["--demo", "--addr", &addr, "--widget-dir"])
        .arg(root().join("dist"))
        .args(&console)
        .args(&store)
        .args(&extra))
}

/// The N of `--nodes N`: 1 or more.
fn node_count(arg: Option<&String>) -> Result<usize, String> {
    arg.and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("--nodes needs a number of server processes, 1 or more\n{USAGE}"))
}

/// `demo --nodes N`: builds as the demo does, then runs [`cluster_demo`].
#[cfg(feature = "cluster")]
fn cluster_demo(
    _args: &[String],
    addr: &str,
    nodes: usize,
    extra: &[String],
) -> Result<(), String> {
    build()?;
    tools::setup_cluster()?;
    step("Building the server", || {
        run(cargo().args(["build", "--release", "--locked", "-p", "porchlight-server"]))
    })?;
    cluster_demo::run(&cluster_demo::Options {
        addr,
        nodes,
        extra,
        server: target_dir().join("release").join("porchlight-server"),
        widget_dir: root().join("dist"),
        console_dir: console_dist(),
        data: root().join("target/porchlight-demo/cluster"),
    })
}

/// `demo --nodes N` needs the server library: this command again, built with the
/// `cluster` feature, in place of this process.
#[cfg(not(feature = "cluster"))]
fn cluster_demo(args: &[String], _: &str, _: usize, _: &[String]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    eprintln!(
        "==> Building xtask with the server library for the cluster (about a minute the first time)"
    );
    let error = cargo()
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--features",
            "cluster",
            "--",
        ])
        .arg("demo")
        .args(args)
        .exec();
    Err(format!("cannot run cargo: {error}"))
}

fn test() -> Result<(), String> {
    let started = Instant::now();
    tools::setup(true)?;
    build()?;
    step("Checking the bundle's size budget", || {
        size::check_budget(&root())
    })?;
    step("Checking formatting", || {
        run(cargo().args(["fmt", "--all", "--check"]))
    })?;
    // `--features xtask/cluster`: the cluster demo's module too.
    step("Linting (native)", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--features",
            "xtask/cluster",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("Linting (wasm32)", || {
        run(cargo().args([
            "clippy",
            "-p",
            "porchlight",
            "-p",
            "porchlight-protocol",
            "-p",
            "porchlight-console",
            "-p",
            "porchlight-web",
            "--all-targets",
            "--target",
            "wasm32-unknown-unknown",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The end-to-end tests also run the server as its own process, to kill it with SIGKILL.
    step("Building the server for the tests", || {
        run(cargo().args(["build", "--locked", "-p", "porchlight-server"]))
    })?;
    let server_bin = target_dir().join("debug").join("porchlight-server");
    step(
        "Running every test (unit, integration, end-to-end in Chromium)",
        || {
            run(cargo()
                .args([
                    "test",
                    "--workspace",
                    "--locked",
                    "--features",
                    "xtask/cluster",
                ])
                .args(["--", "--include-ignored"])
                .env("PORCHLIGHT_WIDGET_DIR", root().join("dist"))
                .env("PORCHLIGHT_CONSOLE_DIR", console_dist())
                .env("PORCHLIGHT_AXE", tools::axe_script())
                .env("PORCHLIGHT_SERVER_BIN", &server_bin)
                .env("CHROMEDRIVER", tools::CHROMEDRIVER))
        },
    )?;
    // The server's desk and socket suites once more on each database engine (the run above
    // kept the store in memory): every desk a fresh SQLite file, then a fresh database in a
    // throwaway PostgreSQL that the tests start under target/.
    for engine in ["sqlite", "postgres"] {
        step(&format!("Running the server's suites on {engine}"), || {
            run(cargo()
                .args(["test", "--locked", "-p", "porchlight-server", "--test", "*"])
                .env("PORCHLIGHT_TEST_DB", engine))
        })?;
    }
    eprintln!(
        "xtask test: all green in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
