//! A throwaway nginx in front of server processes, for the tests and
//! `cargo xtask demo --nodes N` — never production.
//!
//! [`Balancer::start`] writes `nginx.conf` into a folder, starts nginx on it in the
//! foreground (a master and one worker) and waits until it listens; dropping the
//! [`Balancer`] stops it and its worker. nginx spreads requests round-robin over the
//! upstreams with no sticky sessions, so consecutive requests of one client land on
//! different processes; it passes WebSockets through and keeps idle ones for an hour, and
//! it skips an upstream that refuses connections (trying the next one at once, and leaving
//! the failed one out for 2 s).
//!
//! Everything nginx writes stays in the folder: `nginx.conf`, its pid file, `error.log`
//! (rewritten at each start; start-up failures quote its end) and the temp folders. No
//! access log is kept. As root the worker runs as root too (`user root;`), so that it can
//! use a folder that only root can reach; otherwise everything runs as we do.
//!
//! The nginx binary is `$PORCHLIGHT_NGINX` if set, else `/usr/sbin/nginx` (Debian's), else
//! the first on the PATH.
//!
//! nginx dies with the process that started it: it runs under
//! `setpriv --pdeathsig=TERM`, and on SIGTERM its master stops the worker before it exits
//! (a SIGKILL would orphan the worker). Like [`crate::local_postgres`]'s server it is
//! spawned from a thread that lives as long as the process, and in a process group of its
//! own, so that a terminal's Ctrl-C reaches only its owner, who stops it in turn. Without
//! `setpriv` on the PATH nginx may outlive a killed parent.

use crate::local_postgres::{find_on_path, log_tail, running_as_root, spawn_from_lasting_thread};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long [`Balancer::start`] waits for nginx to listen (nginx itself retries a busy
/// port for 2.5 s before it gives up).
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long dropping waits for nginx to stop before killing it.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Debian's nginx.
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";
/// The files nginx keeps in the balancer's folder.
const CONFIG_FILE: &str = "nginx.conf";
const ERROR_LOG: &str = "error.log";
const PID_FILE: &str = "nginx.pid";
/// The folder of nginx's temp folders, inside the balancer's folder.
const TEMP_FOLDER: &str = "temp";
/// A bit above axum's default body limit (2 MiB), the largest request body the server
/// reads anywhere, so that the server's own limits decide (and answer in JSON).
const MAX_BODY: &str = "3m";
/// Connections the worker holds at once: a proxied request or socket takes two.
const WORKER_CONNECTIONS: u32 = 4096;
/// How many times a start on a picked port is retried when someone took the port first.
const BUSY_PORT_RETRIES: u32 = 3;

/// What can go wrong starting a [`Balancer`].
#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    #[error(
        "No nginx was found at /usr/sbin/nginx or on the PATH: set PORCHLIGHT_NGINX, or install Debian's nginx package (cargo xtask setup --browser does)."
    )]
    NoNginx,
    #[error("PORCHLIGHT_NGINX is {0}, which is not a file.")]
    NoNginxAt(PathBuf),
    #[error("A balancer needs at least one upstream.")]
    NoUpstreams,
    #[error("{nginx} was built without its {module} module, which the balancer needs.")]
    MissingModule {
        nginx: PathBuf,
        module: &'static str,
    },
    #[error("The folder {path} cannot be prepared: {source}.")]
    Folder { path: PathBuf, source: io::Error },
    #[error("The folder {0} is not valid UTF-8, which nginx's configuration needs.")]
    NotUtf8(PathBuf),
    #[error("{program} cannot be run: {source}.")]
    Spawn { program: String, source: io::Error },
    #[error("No free port was found on {ip}: {source}.")]
    NoPort { ip: IpAddr, source: io::Error },
    #[error("nginx exited while starting ({status}); the end of its log {log}:\n{tail}")]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("nginx did not listen on {addr} within {secs} s; the end of its log {log}:\n{tail}")]
    NotReady {
        addr: SocketAddr,
        secs: u64,
        log: PathBuf,
        tail: String,
    },
}

use BalancerError as Error;

/// An nginx balancing over server processes, stopped when dropped.
#[derive(Debug)]
pub struct Balancer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    /// The worker's process id, once it runs.
    workers: Vec<u32>,
}

impl Balancer {
    /// Writes the configuration into `dir` (created if missing), starts nginx listening on
    /// `listen` in front of `upstreams` and waits until it listens (at most 10 s). Port 0
    /// in `listen` picks a free port; [`addr`](Self::addr) tells which.
    pub fn start(
        dir: &Path,
        listen: SocketAddr,
        upstreams: &[SocketAddr],
    ) -> Result<Balancer, Error> {
        if upstreams.is_empty() {
            return Err(Error::NoUpstreams);
        }
        let nginx = nginx_binary()?;
        let build = inspect(&nginx)?;
        let dir = std::path::absolute(dir).map_err(|source| Error::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
        let dir_text = dir.to_str().ok_or_else(|| Error::NotUtf8(dir.clone()))?;
        for name in &build.temp_paths {
            let path = dir.join(TEMP_FOLDER).join(name);
            fs::create_dir_all(&path).map_err(|source| Error::Folder { path, source })?;
        }
        let settings = Settings {
            dir: dir_text,
            temp_paths: &build.temp_paths,
            worker_user: running_as_root().then_some("root"),
        };

        let deadline = Instant::now() + READY_TIMEOUT;
        let mut retries = 0;
        loop {
            let addr = if listen.port() == 0 {
                free_addr(listen.ip())?
            } else {
                listen
            };
            let config = config_text(&settings, addr, upstreams);
            let config_path = dir.join(CONFIG_FILE);
            fs::write(&config_path, config).map_err(|source| Error::Folder {
                path: config_path,
                source,
            })?;
            let child = launch(&nginx, &dir, build.error_log_flag)?;
            let mut balancer = Balancer {
                child,
                addr,
                dir: dir.clone(),
                workers: Vec::new(),
            };
            match balancer.wait_until_ready(deadline) {
                Ok(()) => return Ok(balancer),
                Err(Error::Exited { status, log, tail }) => {
                    drop(balancer);
                    let taken = listen.port() == 0 && tail.contains("Address already in use");
                    if taken && retries < BUSY_PORT_RETRIES && Instant::now() < deadline {
                        retries += 1;
                        continue;
                    }
                    return Err(Error::Exited { status, log, tail });
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The nginx master's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// nginx's error log, in the balancer's folder.
    pub fn error_log(&self) -> PathBuf {
        self.dir.join(ERROR_LOG)
    }

    /// How nginx ended, if it has (it runs until dropped unless something kills it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Polls until nginx has written its pid file (which it does once it has bound its
    /// port), its worker runs and it accepts a connection, or it exits, or `deadline`.
    fn wait_until_ready(&mut self, deadline: Instant) -> Result<(), Error> {
        let pid_file = self.dir.join(PID_FILE);
        let log = self.error_log();
        let master = self.child.id();
        loop {
            let pid_written =
                fs::read_to_string(&pid_file).is_ok_and(|pid| pid.trim() == master.to_string());
            if pid_written {
                self.workers = children_of(master);
                if !self.workers.is_empty() && accepts(self.addr) {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Exited {
                    status: status.to_string(),
                    tail: log_tail(&log),
                    log,
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    addr: self.addr,
                    secs: READY_TIMEOUT.as_secs(),
                    tail: log_tail(&log),
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Balancer {
    /// SIGTERM (nginx's fast shutdown: the master stops its worker, then exits), SIGKILL
    /// if the master is still there after 5 s; then any worker still running — the one
    /// seen at start, or one the master started since — is killed.
    fn drop(&mut self) {
        let master = self.child.id();
        let mut workers = children_of(master);
        workers.extend(&self.workers);
        if matches!(self.child.try_wait(), Ok(None)) {
            let stopped = signal("TERM", master) && {
                let deadline = Instant::now() + STOP_TIMEOUT;
                loop {
                    if !matches!(self.child.try_wait(), Ok(None)) {
                        break true;
                    }
                    if Instant::now() >= deadline {
                        break false;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            };
            if !stopped {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        for worker in workers.into_iter().filter(|&pid| is_live_nginx(pid)) {
            signal("KILL", worker);
        }
    }
}

/// An address on `ip` with a port nobody listens on at the moment: for a balancer whose
/// address must be known before it starts (the upstreams' `--public-host`).
pub fn free_addr(ip: IpAddr) -> Result<SocketAddr, Error> {
    TcpListener::bind((ip, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(|source| Error::NoPort { ip, source })
}

/// The nginx binary: `$PORCHLIGHT_NGINX`, Debian's, or the first on the PATH.
fn nginx_binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("PORCHLIGHT_NGINX") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::NoNginxAt(path))
        };
    }
    let debian = PathBuf::from(DEBIAN_NGINX);
    if debian.is_file() {
        return Ok(debian);
    }
    find_on_path("nginx").ok_or(Error::NoNginx)
}

/// What the configuration and the command line depend on in the nginx at hand.
struct Build {
    /// The temp path directives to set, from [`built_in_temp_paths`].
    temp_paths: Vec<&'static str>,
    /// Whether it takes `-e FILE` (nginx 1.19.5 and later): the log for what it says
    /// before it has read the configuration, instead of its built-in place.
    error_log_flag: bool,
}

/// Reads what [`Build`] says from `nginx -V`; an nginx without the modules the
/// configuration uses is refused.
fn inspect(nginx: &Path) -> Result<Build, Error> {
    let output = Command::new(nginx)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: format!("{} -V", nginx.display()),
            source,
        })?;
    // nginx prints its version and build to stderr.
    let build = String::from_utf8_lossy(&output.stderr);
    for module in ["proxy", "map"] {
        if build.contains(&format!("--without-http_{module}_module")) {
            return Err(Error::MissingModule {
                nginx: nginx.to_path_buf(),
                module,
            });
        }
    }
    Ok(Build {
        temp_paths: built_in_temp_paths(&build),
        error_log_flag: version(&build).is_none_or(|version| version >= (1, 19, 5)),
    })
}

/// The version in `nginx -V`'s first line (`nginx version: nginx/1.22.1`).
fn version(build: &str) -> Option<(u32, u32, u32)> {
    let (_, rest) = build.split_once("nginx version: nginx/")?;
    let number = rest
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?;
    let mut parts = number.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch))) => Some((major, minor, patch)),
        _ => None,
    }
}

/// The temp path directives (`NAME_temp_path`) an nginx with these configure arguments
/// knows: the client body's always, and each of proxy, fastcgi, uwsgi and scgi unless
/// built `--without-http_NAME_module`.
fn built_in_temp_paths(configure_arguments: &str) -> Vec<&'static str> {
    let mut names = vec!["client_body"];
    names.extend(
        ["proxy", "fastcgi", "uwsgi", "scgi"]
            .into_iter()
            .filter(|name| !configure_arguments.contains(&format!("--without-http_{name}_module"))),
    );
    names
}

/// What the configuration says besides the addresses.
struct Settings<'a> {
    /// The balancer's folder, absolute.
    dir: &'a str,
    /// The temp path directives to set, from [`built_in_temp_paths`].
    temp_paths: &'a [&'static str],
    /// The worker's user when the master runs as root.
    worker_user: Option<&'a str>,
}

/// `nginx.conf`: one worker, everything inside `settings.dir`, round-robin over
/// `upstreams` (no sticky sessions) with WebSockets passed through.
fn config_text(settings: &Settings, listen: SocketAddr, upstreams: &[SocketAddr]) -> String {
    let file = |name: &str| quoted(&format!("{}/{name}", settings.dir));
    let mut text = String::from(
        "# Written by porchlight-server's balancer at each start; changes are overwritten.\n\
         daemon off;\n\
         master_process on;\n\
         worker_processes 1;\n",
    );
    if let Some(user) = settings.worker_user {
        let _ = writeln!(text, "user {user};");
    }
    let _ = writeln!(text, "pid {};", file(PID_FILE));
    let _ = writeln!(text, "lock_file {};", file("nginx.lock"));
    let _ = writeln!(text, "error_log {} warn;", file(ERROR_LOG));
    let _ = write!(
        text,
        "\nevents {{\n    worker_connections {WORKER_CONNECTIONS};\n}}\n\nhttp {{\n    access_log off;\n"
    );
    for name in settings.temp_paths {
        let _ = writeln!(
            text,
            "    {name}_temp_path {};",
            file(&format!("{TEMP_FOLDER}/{name}"))
        );
    }
    let _ = write!(
        text,
        "    client_max_body_size {MAX_BODY};\n\
         \n\
         \x20   # A WebSocket upgrade is passed on; any other request closes its upstream connection.\n\
         \x20   map $http_upgrade $connection_upgrade {{\n\
         \x20       default upgrade;\n\
         \x20       '' close;\n\
         \x20   }}\n\
         \n\
         \x20   # Round-robin, no sticky sessions. An upstream that fails is left out for 2 s.\n\
         \x20   upstream porchlight {{\n"
    );
    for upstream in upstreams {
        let _ = writeln!(
            text,
            "        server {upstream} max_fails=1 fail_timeout=2s;"
        );
    }
    let _ = write!(
        text,
        "    }}\n\
         \n\
         \x20   server {{\n\
         \x20       listen {listen};\n\
         \n\
         \x20       location / {{\n\
         \x20           proxy_pass http://porchlight;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Upgrade $http_upgrade;\n\
         \x20           proxy_set_header Connection $connection_upgrade;\n\
         \x20           proxy_set_header Host $http_host;\n\
         \x20           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20           proxy_buffering off;\n\
         \x20           # A refused or silent upstream: the next one, after at most 1 s.\n\
         \x20           proxy_next_upstream error timeout;\n\
         \x20           proxy_connect_timeout 1s;\n\
         \x20           # Idle sockets stay open (the widget's heartbeats are far more frequent).\n\
         \x20           proxy_read_timeout 1h;\n\
         \x20           proxy_send_timeout 1h;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    );
    text
}

/// `text` as an nginx quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Starts nginx on the configuration in `dir`, its output going to the error log (also
/// the log of what it says before reading the configuration, with `error_log_flag`).
fn launch(nginx: &Path, dir: &Path, error_log_flag: bool) -> Result<Child, Error> {
    let log = dir.join(ERROR_LOG);
    let log_error = |source| Error::Folder {
        path: log.clone(),
        source,
    };
    let _ = fs::remove_file(dir.join(PID_FILE));
    // Rewritten at each start; nginx and its stderr both append to it.
    fs::File::create(&log).map_err(log_error)?;
    let stdout = fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .map_err(log_error)?;
    let stderr = stdout.try_clone().map_err(log_error)?;
    let mut command = match find_on_path("setpriv") {
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.args(["--pdeathsig=TERM", "--"]).arg(nginx);
            command
        }
        None => Command::new(nginx),
    };
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join(CONFIG_FILE));
    if error_log_flag {
        command.arg("-e").arg(&log);
    }
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    spawn_from_lasting_thread(command).map_err(|source| Error::Spawn {
        program: nginx.display().to_string(),
        source,
    })
}

/// Whether `addr` accepts a TCP connection (an unspecified address: its loopback).
fn accepts(addr: SocketAddr) -> bool {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    TcpStream::connect_timeout(&SocketAddr::new(ip, addr.port()), Duration::from_secs(1)).is_ok()
}

/// Sends signal `name` to process `pid` with `kill`; whether it was delivered.
fn signal(name: &str, pid: u32) -> bool {
    Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            (parent_in_stat(&stat)? == pid).then_some(child)
        })
        .collect()
}

/// The parent pid in a `/proc/PID/stat` line: the second field after the command name,
/// which is in parentheses and may itself hold spaces and parentheses.
fn parent_in_stat(stat: &str) -> Option<u32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` is a live (not zombie) nginx.
fn is_live_nginx(pid: u32) -> bool {
    let process = PathBuf::from(format!("/proc/{pid}"));
    let comm = fs::read_to_string(process.join("comm")).unwrap_or_default();
    let status = fs::read_to_string(process.join("status")).unwrap_or_default();
    let zombie = status
        .lines()
        .any(|line| line.starts_with("State:") && line.contains('Z'));
    comm.trim() == "nginx" && !zombie
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    fn sample(worker_user: Option<&str>) -> String {
        let settings = Settings {
            dir: "/tmp/lb",
            temp_paths: &["client_body", "proxy"],
            worker_user,
        };
        config_text(
            &settings,
            addr("127.0.0.1:3000"),
            &[addr("127.0.0.1:4001"), addr("[::1]:4002")],
        )
    }

    #[test]
    fn every_upstream_is_a_round_robin_server_skipped_quickly_when_it_fails() {
        let text = sample(None);
        assert!(text.contains(
            "    upstream porchlight {\n        server 127.0.0.1:4001 max_fails=1 fail_timeout=2s;\n        server [::1]:4002 max_fails=1 fail_timeout=2s;\n    }\n"
        ));
        let directives: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect();
        for sticky in ["ip_hash", "hash ", "sticky", "least_conn"] {
            assert!(!directives.contains(sticky), "{sticky} in:\n{text}");
        }
        assert!(text.contains("listen 127.0.0.1:3000;"));
        assert!(text.contains("proxy_pass http://porchlight;"));
        assert!(text.contains("proxy_next_upstream error timeout;"));
        assert!(text.contains("proxy_connect_timeout 1s;"));
    }

    #[test]
    fn websockets_are_upgraded_and_kept_open() {
        let text = sample(None);
        for line in [
            "map $http_upgrade $connection_upgrade {",
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_buffering off;",
            "proxy_read_timeout 1h;",
            "proxy_send_timeout 1h;",
            "client_max_body_size 3m;",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn everything_nginx_writes_stays_in_the_folder() {
        let text = sample(None);
        for line in [
            "daemon off;",
            "master_process on;",
            "worker_processes 1;",
            "pid \"/tmp/lb/nginx.pid\";",
            "error_log \"/tmp/lb/error.log\" warn;",
            "access_log off;",
            "client_body_temp_path \"/tmp/lb/temp/client_body\";",
            "proxy_temp_path \"/tmp/lb/temp/proxy\";",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(!text.contains("fastcgi"));
        assert!(!text.contains("user "));
        assert!(sample(Some("root")).contains("\nuser root;\n"));
    }

    #[test]
    fn braces_balance() {
        let text = sample(Some("root"));
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }

    #[test]
    fn only_the_modules_built_in_get_temp_paths() {
        let debian = "--http-proxy-temp-path=/var/lib/nginx/proxy --with-threads";
        assert_eq!(
            built_in_temp_paths(debian),
            ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        );
        let light = "--without-http_uwsgi_module --without-http_scgi_module";
        assert_eq!(
            built_in_temp_paths(light),
            ["client_body", "proxy", "fastcgi"]
        );
    }

    #[test]
    fn a_missing_nginx_says_how_to_install_it() {
        let message = BalancerError::NoNginx.to_string();
        assert!(message.contains("cargo xtask setup"), "{message}");
    }

    #[test]
    fn the_version_decides_whether_nginx_takes_an_early_error_log() {
        let debian = "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.22";
        assert_eq!(version(debian), Some((1, 22, 1)));
        assert_eq!(
            version("nginx version: nginx/1.18.0 (Ubuntu)"),
            Some((1, 18, 0))
        );
        assert_eq!(version("nginx version: openresty/1.21.4.1"), None);
        assert!(version("nginx version: nginx/1.18.0").is_some_and(|v| v < (1, 19, 5)));
    }

    #[test]
    fn paths_are_quoted_for_nginx() {
        assert_eq!(quoted("/tmp/a b"), "\"/tmp/a b\"");
        assert_eq!(quoted(r#"/tmp/a"b\c"#), r#""/tmp/a\"b\\c""#);
    }

    #[test]
    fn the_parent_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parent_in_stat("42 (nginx) S 7 42 42 0"), Some(7));
        assert_eq!(parent_in_stat("42 (a) b) (c) S 9 1"), Some(9));
        assert_eq!(parent_in_stat("garbage"), None);
    }
}
