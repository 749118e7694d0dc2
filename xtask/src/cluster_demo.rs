//! `cargo xtask demo --nodes N`: the demo as a cluster on this machine — N release server
//! processes sharing one PostgreSQL database, behind nginx, which spreads requests and
//! sockets round-robin over them (no sticky sessions).
//!
//! PostgreSQL ([`LocalPostgres`], data under `target/porchlight-demo/cluster/postgres`,
//! database `porchlight`, kept across runs) and nginx ([`Balancer`], its files under
//! `…/cluster/nginx`) come from the server library, which is why this module is built only
//! with the `cluster` feature. Each process listens on a free loopback port, shares one
//! admin secret (random, or the `--admin-token` given after `--`) and answers to the
//! balancer's address as its public host. With `--db` or `--memory` after `--` no
//! PostgreSQL is started and the processes use what was given.
//!
//! Its processes' logs go to stderr, each line behind `node K |`. It runs until Ctrl-C or
//! until one of its processes dies (or one fails to start), then stops the others — the
//! server processes first (SIGTERM, SIGKILL after 10 s), then nginx, then PostgreSQL —
//! and fails naming the process that died, with its last lines. Every child runs in a
//! process group of its own, so that Ctrl-C reaches only this command, which stops them
//! in that order; should this command be killed outright, they die with it
//! (`setpriv --pdeathsig`).

use porchlight_protocol::AdminToken;
use porchlight_server::balancer::{self, Balancer};
use porchlight_server::local_postgres::{self, Durability, LocalPostgres};
use porchlight_server::process::{announced_addr, announcement};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The database the processes share, created on first use.
const DATABASE: &str = "porchlight";
/// How many of a process's last output lines a report quotes.
const TAIL_LINES: usize = 30;
/// How long a server process has to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the running cluster is checked for a dead process.
const WATCH_INTERVAL: Duration = Duration::from_millis(200);

/// What `cargo xtask demo --nodes N` was given, and where the built demo is.
pub struct Options<'a> {
    /// The balancer's address (`--addr`), which visitors and agents open.
    pub addr: &'a str,
    /// How many server processes.
    pub nodes: usize,
    /// The arguments after `--`, given to every process.
    pub extra: &'a [String],
    /// The release server binary.
    pub server: PathBuf,
    pub widget_dir: PathBuf,
    pub console_dir: PathBuf,
    /// Where PostgreSQL's data and nginx's files go.
    pub data: PathBuf,
}

/// Starts the cluster, prints where it is and runs it until Ctrl-C or a process dies.
pub fn run(options: &Options) -> Result<(), String> {
    let listen: SocketAddr = options.addr.parse().map_err(|_| {
        format!(
            "--addr {} is not IP:PORT, which --nodes needs (e.g. 127.0.0.1:3000)",
            options.addr
        )
    })?;
    let public = if listen.port() == 0 {
        balancer::free_addr(listen.ip()).map_err(|e| e.to_string())?
    } else {
        listen
    };
    let token = match given_value(options.extra, "--admin-token") {
        Some(token) => {
            AdminToken::new(token).map_err(|e| format!("--admin-token {token:?}: {e}"))?
        }
        None => AdminToken::new(porchlight_server::store::random_id())
            .map_err(|e| format!("a random admin token: {e}"))?,
    };

    let mut cluster = Cluster::default();
    let result = start_and_watch(options, public, &token, &mut cluster);
    cluster.stop();
    result
}

/// Everything the demo started, stopped in order by [`Cluster::stop`].
#[derive(Default)]
struct Cluster {
    postgres: Option<LocalPostgres>,
    nodes: Vec<Node>,
    balancer: Option<Balancer>,
}

fn start_and_watch(
    options: &Options,
    public: SocketAddr,
    token: &AdminToken,
    cluster: &mut Cluster,
) -> Result<(), String> {
    let store = if given(options.extra, "--db") || given(options.extra, "--memory") {
        Vec::new()
    } else {
        let postgres = crate::step("Starting PostgreSQL", || {
            start_postgres(&options.data.join("postgres"))
        })?;
        let url = postgres.url(DATABASE);
        eprintln!(
            "    {url} (log: {})",
            postgres.data_dir().join("server.log").display()
        );
        cluster.postgres = Some(postgres);
        vec!["--db".to_string(), url]
    };

    let mut args: Vec<String> = vec!["--demo".into(), "--widget-dir".into()];
    args.push(options.widget_dir.display().to_string());
    if !given(options.extra, "--console-dir") {
        args.push("--console-dir".into());
        args.push(options.console_dir.display().to_string());
    }
    if !given(options.extra, "--admin-token") {
        args.push("--admin-token".into());
        args.push(token.to_string());
    }
    for host in public_hosts(public) {
        args.push("--public-host".into());
        args.push(host);
    }
    args.extend(store);
    args.extend(options.extra.iter().cloned());

    let processes = match options.nodes {
        1 => "1 server process".to_string(),
        n => format!("{n} server processes"),
    };
    crate::step(&format!("Starting {processes}"), || {
        for number in 1..=options.nodes {
            cluster
                .nodes
                .push(Node::start(number, &options.server, &args)?);
        }
        Ok(())
    })?;
    let upstreams: Vec<SocketAddr> = cluster.nodes.iter().map(|node| node.addr).collect();
    let balancer = crate::step("Starting nginx in front of them", || {
        Balancer::start(&options.data.join("nginx"), public, &upstreams).map_err(|e| e.to_string())
    })?;
    let addr = balancer.addr();
    cluster.balancer = Some(balancer);

    let mut lines = announcement(addr, token);
    for node in &cluster.nodes {
        lines.push_str(&format!(
            "\nNode {}: http://{}/ (pid {})",
            node.number,
            node.addr,
            node.child.id()
        ));
    }
    println!("{lines}");
    let _ = std::io::stdout().flush();
    eprintln!("==> Serving the demo on {processes} behind nginx (Ctrl-C stops it)");
    watch(cluster)
}

/// Starts (or restarts) the cluster in `data` and makes sure the database exists.
fn start_postgres(data: &Path) -> Result<LocalPostgres, String> {
    let postgres = LocalPostgres::start(data, Durability::Full).map_err(|e| e.to_string())?;
    let createdb = local_postgres::bin_dir()
        .map_err(|e| e.to_string())?
        .join("createdb");
    let output = Command::new(&createdb)
        .args(["-h", "127.0.0.1", "-p", &postgres.port().to_string()])
        .args(["-U", "postgres", DATABASE])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", createdb.display()))?;
    let said = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || said.contains("already exists") {
        Ok(postgres)
    } else {
        Err(format!(
            "{} {DATABASE} failed ({}): {}",
            createdb.display(),
            output.status,
            said.trim()
        ))
    }
}

/// The `Host` names the processes must accept: the balancer's address, and on a loopback
/// or any-address the loopback names on its port — what one server listening there would
/// accept itself.
fn public_hosts(public: SocketAddr) -> Vec<String> {
    let mut hosts = vec![public.to_string()];
    if public.ip().is_loopback() || public.ip().is_unspecified() {
        let port = public.port();
        for name in ["localhost", "127.0.0.1", "[::1]"] {
            let host = format!("{name}:{port}");
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

/// Whether `flag` is among `args`, alone or as `flag=VALUE`.
fn given(args: &[String], flag: &str) -> bool {
    args.iter().any(|arg| {
        arg == flag
            || arg
                .strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
    })
}

/// The value of `flag` in `args` (`flag VALUE` or `flag=VALUE`), the last if repeated.
fn given_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let mut value = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == flag {
            value = rest.next().map(String::as_str);
        } else if let Some(inline) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            value = Some(inline);
        }
    }
    value
}

/// One server process of the cluster, its output relayed to stderr.
struct Node {
    number: usize,
    addr: SocketAddr,
    child: Child,
    /// Its last lines of output, for a report when it dies.
    tail: Arc<Mutex<VecDeque<String>>>,
    relays: Vec<JoinHandle<()>>,
}

impl Node {
    /// Starts the server on a free loopback port and waits for its announcement.
    fn start(number: usize, server: &Path, args: &[String]) -> Result<Node, String> {
        let mut command = match find_on_path("setpriv") {
            Some(setpriv) => {
                let mut command = Command::new(setpriv);
                command.args(["--pdeathsig=TERM", "--"]).arg(server);
                command
            }
            None => Command::new(server),
        };
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut relays = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            relays.push(relay(number, Output::Stderr(stderr), Arc::clone(&tail)));
        }
        let addr = child
            .stdout
            .take()
            .and_then(|stdout| announced(number, stdout, &tail, &mut relays));
        let Some(addr) = addr else {
            // Its stdout closed before the announcement: it exited, or is about to.
            let status = wait_for_exit(&mut child, STOP_TIMEOUT);
            return Err(report(
                number,
                &format!("while starting, {status}"),
                relays,
                &tail,
            ));
        };
        Ok(Node {
            number,
            addr,
            child,
            tail,
            relays,
        })
    }

    /// How it ended, if it has: a report quoting its last lines.
    fn death(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        let relays = std::mem::take(&mut self.relays);
        Some(report(self.number, &status.to_string(), relays, &self.tail))
    }
}

/// Waits up to `timeout` for `child` to exit, then kills it; its status, as text.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.to_string(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                return match child.wait() {
                    Ok(status) => format!("{status}, killed"),
                    Err(error) => format!("killed, then {error}"),
                };
            }
        }
    }
}

/// That server process `number` ended (`how`), with its last lines once its relays have
/// read them all.
fn report(
    number: usize,
    how: &str,
    relays: Vec<JoinHandle<()>>,
    tail: &Mutex<VecDeque<String>>,
) -> String {
    for relay in relays {
        let _ = relay.join();
    }
    let said: Vec<String> = tail
        .lock()
        .map(|tail| tail.iter().cloned().collect())
        .unwrap_or_default();
    if said.is_empty() {
        format!("server process {number} exited ({how}) without a word")
    } else {
        format!(
            "server process {number} exited ({how}); its last lines:\n{}",
            said.join("\n")
        )
    }
}

/// Reads the server's stdout up to its announcement, relays the rest; the address
/// announced, if it was.
fn announced(
    number: usize,
    stdout: ChildStdout,
    tail: &Arc<Mutex<VecDeque<String>>>,
    relays: &mut Vec<JoinHandle<()>>,
) -> Option<SocketAddr> {
    let mut stdout = BufReader::new(stdout);
    let mut addr = None;
    let mut line = String::new();
    // The demo line, then the console's: both read, so that the relay starts after them.
    for _ in 0..2 {
        line.clear();
        match stdout.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {
                if let Some(announced) = announced_addr(&line) {
                    addr = Some(announced);
                }
            }
        }
    }
    relays.push(relay(number, Output::Stdout(stdout), Arc::clone(tail)));
    addr
}

/// A process's stdout (after its announcement) or stderr.
enum Output {
    Stdout(BufReader<ChildStdout>),
    Stderr(ChildStderr),
}

/// Relays `output` line by line to our stderr behind `node K |`, keeping the last lines
/// in `tail`, until it closes.
fn relay(number: usize, output: Output, tail: Arc<Mutex<VecDeque<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match output {
            Output::Stdout(stdout) => Box::new(stdout.lines()),
            Output::Stderr(stderr) => Box::new(BufReader::new(stderr).lines()),
        };
        for line in lines.map_while(Result::ok) {
            eprintln!("node {number} | {line}");
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
    })
}

/// Why the demo stopped.
enum Ended {
    Interrupted,
    Died(String),
}

/// Waits for Ctrl-C or a dead process.
fn watch(cluster: &mut Cluster) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime that waits for Ctrl-C: {e}"))?;
    let ended = runtime.block_on(async {
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            tokio::select! {
                _ = &mut interrupted => return Ended::Interrupted,
                () = tokio::time::sleep(WATCH_INTERVAL) => {
                    if let Some(death) = cluster.death() {
                        return Ended::Died(death);
                    }
                }
            }
        }
    });
    match ended {
        Ended::Interrupted => {
            eprintln!();
            Ok(())
        }
        Ended::Died(report) => Err(report),
    }
}

impl Cluster {
    /// A report on the first process found dead, if one is.
    fn death(&mut self) -> Option<String> {
        if let Some(report) = self.nodes.iter_mut().find_map(Node::death) {
            return Some(report);
        }
        if let Some(balancer) = &mut self.balancer
            && let Some(status) = balancer.exited()
        {
            return Some(format!(
                "nginx exited ({status}); see its log {}",
                balancer.error_log().display()
            ));
        }
        if let Some(postgres) = &self.postgres
            && process_gone(postgres.pid())
        {
            return Some(format!(
                "PostgreSQL exited; see its log {}",
                postgres.data_dir().join("server.log").display()
            ));
        }
        None
    }

    /// Stops the server processes (SIGTERM, together), then nginx, then PostgreSQL.
    fn stop(&mut self) {
        if self.nodes.is_empty() && self.balancer.is_none() && self.postgres.is_none() {
            return;
        }
        eprintln!("==> Stopping the cluster");
        for node in &self.nodes {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &node.child.id().to_string()])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for node in &mut self.nodes {
            wait_for_exit(&mut node.child, STOP_TIMEOUT);
            for relay in node.relays.drain(..) {
                let _ = relay.join();
            }
        }
        self.nodes.clear();
        self.balancer = None;
        self.postgres = None;
    }
}

/// Whether process `pid` is gone (or a zombie nobody reaped).
fn process_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).map_or(true, |status| {
        status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z'))
    })
}

/// `program` from the PATH.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn flags_are_found_alone_or_with_their_value() {
        let args = strings(&["--config", "a.toml", "--memory", "--admin-token=s3cret"]);
        assert!(given(&args, "--memory"));
        assert!(given(&args, "--admin-token"));
        assert!(!given(&args, "--db"));
        assert!(!given(&strings(&["--dbx"]), "--db"));
        assert_eq!(given_value(&args, "--admin-token"), Some("s3cret"));
        assert_eq!(given_value(&args, "--config"), Some("a.toml"));
        assert_eq!(given_value(&args, "--db"), None);
        let twice = strings(&["--admin-token", "a", "--admin-token", "b"]);
        assert_eq!(given_value(&twice, "--admin-token"), Some("b"));
    }

    #[test]
    fn a_loopback_balancer_is_also_reached_by_its_loopback_names() {
        let hosts = public_hosts("127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(hosts, ["127.0.0.1:3000", "localhost:3000", "[::1]:3000"]);
        let hosts = public_hosts("0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(hosts[0], "0.0.0.0:8080");
        assert!(hosts.contains(&"localhost:8080".to_string()));
        let hosts = public_hosts("192.0.2.7:80".parse().expect("addr"));
        assert_eq!(hosts, ["192.0.2.7:80"]);
    }
}
