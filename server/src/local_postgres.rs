//! A throwaway PostgreSQL cluster on loopback, for the tests, `cargo xtask demo --nodes N`
//! and the benchmarks — never production.
//!
//! [`LocalPostgres::start`] initialises a cluster in a folder if it holds none yet, starts
//! `postgres` on 127.0.0.1 at a free port and waits until it accepts connections;
//! dropping the [`LocalPostgres`] stops the server. Everyone connects as the superuser
//! `postgres` without a password (`trust`), and only over loopback.
//!
//! The server's binaries come from [`bin_dir`]. `initdb` and `postgres` refuse to run as
//! root, so when we are root the data folder is handed to the `postgres` system user and
//! both run as it through `setpriv`.
//!
//! The server dies with the process that started it, even when that process is killed
//! with SIGKILL or exits without dropping: it runs under `setpriv --pdeathsig=KILL`
//! (parent-death signal). The kernel sends that signal when the *thread* that spawned the
//! child ends, and test harnesses run each test on a short-lived thread, so every child is
//! spawned from one thread that lives as long as the process. Without `setpriv` on the
//! PATH (only possible when not root, where it is optional) the server may outlive a
//! killed parent.
//!
//! The server writes its log to `server.log` inside the data folder (rewritten at each
//! start); start-up failures quote its end.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

/// How long [`LocalPostgres::start`] waits for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long dropping waits for a fast shutdown before killing the server.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// The server's log, inside the data folder.
const LOG_FILE: &str = "server.log";
/// How many of the log's last lines an error quotes.
const LOG_TAIL_LINES: usize = 25;
/// The longest prefix [`LocalPostgres::fresh_database`] keeps: with `_` and 32 hex
/// digits the name stays within PostgreSQL's 63 bytes (longer names are cut silently).
const MAX_PREFIX: usize = 30;
/// The longest Unix socket path (`sun_path` is 108 bytes with its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// What can go wrong starting or using a [`LocalPostgres`].
#[derive(Debug, thiserror::Error)]
pub enum LocalPostgresError {
    #[error(
        "No PostgreSQL server binaries were found: set PORCHLIGHT_PG_BIN, or install Debian's postgresql package (cargo xtask setup does)."
    )]
    NoBinaries,
    #[error("PORCHLIGHT_PG_BIN is {0}, which holds no initdb.")]
    NoInitdbInPgBin(PathBuf),
    #[error("We run as root and the server must not, but no postgres system user was found ({0}).")]
    NoPostgresUser(String),
    #[error(
        "We run as root, so setpriv (from util-linux) must run the server as postgres, but it is not on the PATH."
    )]
    NoSetpriv,
    #[error("The data folder {path} cannot be prepared: {source}.")]
    DataFolder { path: PathBuf, source: io::Error },
    #[error(
        "The data folder {0} holds files but no PostgreSQL cluster; empty it or choose another folder."
    )]
    NotACluster(PathBuf),
    #[error("{program} cannot be run: {source}.")]
    Spawn { program: String, source: io::Error },
    #[error("initdb failed for {path} ({status}); it said:\n{output}")]
    Initdb {
        path: PathBuf,
        status: String,
        output: String,
    },
    #[error("A PostgreSQL server (pid {pid}) is already running on the data folder {path}.")]
    AlreadyRunning { path: PathBuf, pid: u32 },
    #[error("No free port was found on 127.0.0.1: {0}.")]
    NoPort(io::Error),
    #[error(
        "The PostgreSQL server exited while starting ({status}); the end of its log {log}:\n{tail}"
    )]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "The PostgreSQL server did not accept connections within {secs} s (last error: {last}); the end of its log {log}:\n{tail}"
    )]
    NotReady {
        secs: u64,
        last: String,
        log: PathBuf,
        tail: String,
    },
    #[error("The PostgreSQL server on port {port} refused a connection: {source}.")]
    Connect { port: u16, source: postgres::Error },
    #[error("Database {name} could not be created: {source}.")]
    CreateDatabase {
        name: String,
        source: postgres::Error,
    },
}

use LocalPostgresError as Error;

/// How carefully the server writes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// PostgreSQL's defaults, for the benchmarks and the demo.
    Full,
    /// No fsync, asynchronous commits and no full-page writes, for the tests: a crash of
    /// the machine may lose or corrupt the cluster.
    Fast,
}

impl Durability {
    fn settings(self) -> &'static [&'static str] {
        match self {
            Durability::Full => &[],
            Durability::Fast => &[
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ],
        }
    }
}

/// A PostgreSQL server on 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct LocalPostgres {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl LocalPostgres {
    /// Initialises a cluster in `data` if it holds none yet (`initdb -U postgres -A trust
    /// -E UTF8 --locale=C --no-sync`), then starts `postgres` on 127.0.0.1 at a free port
    /// with up to 200 connections and its Unix socket in `data`, and waits until it
    /// accepts connections (at most 30 s).
    ///
    /// A `postmaster.pid` left by a killed earlier server is removed unless a postgres
    /// still runs with that pid in `data`.
    pub fn start(data: &Path, durability: Durability) -> Result<LocalPostgres, Error> {
        let runner = Runner::new(bin_dir()?)?;
        let data = std::path::absolute(data).map_err(|source| Error::DataFolder {
            path: data.to_path_buf(),
            source,
        })?;
        runner.prepare(&data)?;
        remove_stale_pid_file(&data)?;

        let log = data.join(LOG_FILE);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut retries = 0;
        loop {
            let port = free_port()?;
            let child = runner.launch(&data, port, durability, &log)?;
            let mut server = LocalPostgres {
                child,
                port,
                data: data.clone(),
            };
            match server.wait_until_ready(deadline) {
                Ok(()) => return Ok(server),
                Err(Error::Exited { status, log, tail }) => {
                    drop(server);
                    let busy_port = tail.contains("Address already in use");
                    // A killed server's backends may take a moment to leave its memory.
                    let busy_memory = tail.contains("pre-existing shared memory block");
                    if retries < 3 && (busy_port || busy_memory) && Instant::now() < deadline {
                        retries += 1;
                        std::thread::sleep(Duration::from_millis(if busy_memory {
                            300
                        } else {
                            10
                        }));
                        continue;
                    }
                    return Err(Error::Exited { status, log, tail });
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The TCP port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database named `prefix` (lower-cased, anything but ASCII letters, digits
    /// and `_` made `_`, cut to 30 characters) followed by `_` and 32 random hex digits,
    /// and returns its [`url`](Self::url).
    pub fn fresh_database(&self, prefix: &str) -> Result<String, Error> {
        let name = database_name(prefix, &crate::store::random_id());
        let port = self.port;
        off_runtime(|| {
            let mut client = connect(port).map_err(|source| Error::Connect { port, source })?;
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|source| Error::CreateDatabase {
                    name: name.clone(),
                    source,
                })
        })?;
        Ok(self.url(&name))
    }

    /// Polls with real connections until one succeeds, the server exits or `deadline`.
    fn wait_until_ready(&mut self, deadline: Instant) -> Result<(), Error> {
        let port = self.port;
        let log = self.data.join(LOG_FILE);
        let child = &mut self.child;
        off_runtime(move || {
            loop {
                let last = match connect(port) {
                    Ok(_) => return Ok(()),
                    Err(error) => error.to_string(),
                };
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::Exited {
                        status: status.to_string(),
                        tail: log_tail(&log),
                        log,
                    });
                }
                if Instant::now() >= deadline {
                    return Err(Error::NotReady {
                        secs: READY_TIMEOUT.as_secs(),
                        last,
                        tail: log_tail(&log),
                        log,
                    });
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    }
}

impl Drop for LocalPostgres {
    /// A fast shutdown (SIGINT: clients disconnected, a checkpoint), then SIGKILL if the
    /// server is still there after 20 s.
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let signalled = Command::new("kill")
            .args(["-s", "INT", &self.child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if signalled {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder of PostgreSQL's server binaries: `$PORCHLIGHT_PG_BIN` if set, else the
/// highest version's `/usr/lib/postgresql/*/bin` holding `initdb` (Debian's layout), else
/// what `pg_config --bindir` prints.
pub fn bin_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("PORCHLIGHT_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(Error::NoInitdbInPgBin(dir))
        };
    }
    if let Some(dir) = debian_bin_dir(Path::new("/usr/lib/postgresql")) {
        return Ok(dir);
    }
    let output = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    if let Ok(output) = output
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    Err(Error::NoBinaries)
}

/// The `VERSION/bin` under `root` with the highest version that holds `initdb`.
fn debian_bin_dir(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name
                .to_str()?
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// How to run the server's binaries: directly, or as `postgres` through `setpriv`.
struct Runner {
    bin: PathBuf,
    /// `setpriv`, which sets the parent-death signal (and the user when we are root).
    setpriv: Option<PathBuf>,
    /// The `postgres` user's uid and gid, when we are root.
    owner: Option<(u32, u32)>,
}

impl Runner {
    fn new(bin: PathBuf) -> Result<Runner, Error> {
        let setpriv = find_on_path("setpriv");
        if !running_as_root() {
            return Ok(Runner {
                bin,
                setpriv,
                owner: None,
            });
        }
        let setpriv = setpriv.ok_or(Error::NoSetpriv)?;
        let owner = Some((id_of("-u")?, id_of("-g")?));
        Ok(Runner {
            bin,
            setpriv: Some(setpriv),
            owner,
        })
    }

    /// A command running the binary `program`, as `postgres` when we are root, killed
    /// when the thread that spawns it ends.
    fn command(&self, program: &str) -> Command {
        let binary = self.bin.join(program);
        let mut command = match &self.setpriv {
            Some(setpriv) => {
                let mut command = Command::new(setpriv);
                if let Some((uid, gid)) = self.owner {
                    command.args([
                        format!("--reuid={uid}"),
                        format!("--regid={gid}"),
                        "--init-groups".into(),
                    ]);
                }
                command.args(["--pdeathsig=KILL", "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        // A process group of its own: a terminal's Ctrl-C reaches only our process, which
        // stops its clients before dropping us (the cluster demo), or dies (the signal
        // above then stops the server).
        command
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .process_group(0);
        command
    }

    /// Makes sure `data` holds a cluster the server's user owns.
    fn prepare(&self, data: &Path) -> Result<(), Error> {
        let folder_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::DataFolder { path, source }
        };
        if data.join("PG_VERSION").is_file() {
            if let Some(owner) = self.owner {
                chown_tree(data, owner).map_err(folder_error(data))?;
            }
            return Ok(());
        }
        match fs::read_dir(data).map(|mut entries| entries.next().is_some()) {
            Ok(true) => return Err(Error::NotACluster(data.to_path_buf())),
            Ok(false) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(folder_error(data)(error)),
        }

        // initdb in a sibling folder renamed into place once complete, so that a run
        // killed halfway leaves no half-made cluster behind.
        let (Some(parent), Some(name)) = (data.parent(), data.file_name()) else {
            return Err(folder_error(data)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it has no parent folder",
            )));
        };
        fs::create_dir_all(parent).map_err(folder_error(parent))?;
        let mut temporary = name.to_os_string();
        temporary.push(format!(".initdb-{}", std::process::id()));
        let temporary = parent.join(temporary);
        match fs::remove_dir_all(&temporary) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(folder_error(&temporary)(error));
            }
            _ => {}
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&temporary)
            .map_err(folder_error(&temporary))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&temporary, Some(uid), Some(gid))
                .map_err(folder_error(&temporary))?;
        }

        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(&temporary)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = spawn_from_lasting_thread(initdb)
            .and_then(Child::wait_with_output)
            .map_err(|source| Error::Spawn {
                program: self.bin.join("initdb").display().to_string(),
                source,
            })?;
        if !output.status.success() {
            let _ = fs::remove_dir_all(&temporary);
            return Err(Error::Initdb {
                path: data.to_path_buf(),
                status: output.status.to_string(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        // Replaces `data` if it is an empty folder.
        fs::rename(&temporary, data).map_err(|source| {
            let _ = fs::remove_dir_all(&temporary);
            folder_error(data)(source)
        })
    }

    /// Starts `postgres` on `data` and `port`, its output going to `log`.
    fn launch(
        &self,
        data: &Path,
        port: u16,
        durability: Durability,
        log: &Path,
    ) -> Result<Child, Error> {
        let log_error = |source| Error::DataFolder {
            path: log.to_path_buf(),
            source,
        };
        let stdout = fs::File::create(log).map_err(log_error)?;
        let stderr = stdout.try_clone().map_err(log_error)?;
        let mut postgres = self.command("postgres");
        postgres.arg("-D").arg(data).arg("-p").arg(port.to_string());
        let sockets = format!("unix_socket_directories={}", socket_directory(data, port));
        let settings = [
            "listen_addresses=127.0.0.1",
            "max_connections=200",
            "logging_collector=off",
            &sockets,
        ];
        for setting in settings.iter().chain(durability.settings()) {
            postgres.args(["-c", setting]);
        }
        postgres.stdout(stdout).stderr(stderr);
        spawn_from_lasting_thread(postgres).map_err(|source| Error::Spawn {
            program: self.bin.join("postgres").display().to_string(),
            source,
        })
    }
}

/// The Unix socket folder for `data`: `data` itself, or none (an empty setting) when the
/// socket's path would be too long or the path cannot be written in the setting.
fn socket_directory(data: &Path, port: u16) -> String {
    let data = data.to_string_lossy();
    let socket = format!("{data}/.s.PGSQL.{port}");
    let plain = !data.contains([',', '"', '\'', '\\']) && !data.contains(char::is_whitespace);
    if plain && socket.len() <= MAX_SOCKET_PATH {
        data.into_owned()
    } else {
        String::new()
    }
}

/// `prefix` made a safe identifier of at most 30 characters, then `_` and `id`.
fn database_name(prefix: &str, id: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "db");
    }
    name.truncate(MAX_PREFIX);
    format!("{name}_{id}")
}

/// Connects as `postgres` to the database `postgres` on 127.0.0.1:`port`.
fn connect(port: u16) -> Result<postgres::Client, postgres::Error> {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(5))
        .connect(postgres::NoTls)
}

/// Runs `f` on a plain thread: the `postgres` crate's blocking client runs its own Tokio
/// runtime, which panics inside another (an async test calling us).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A port nobody listens on at the moment, on 127.0.0.1.
fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(Error::NoPort)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts_connections(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// The last lines of the log at `path`.
pub(crate) fn log_tail(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(error) => format!("(cannot read it: {error})"),
    }
}

/// Removes `data/postmaster.pid` unless a postgres with its pid runs on `data`: a killed
/// server leaves it, and its pid may since have gone to another process, which makes
/// PostgreSQL refuse to start.
fn remove_stale_pid_file(data: &Path) -> Result<(), Error> {
    let path = data.join("postmaster.pid");
    let contents = match fs::read_to_string(&path) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(Error::DataFolder { path, source }),
    };
    let pid = contents.lines().next().and_then(|l| l.trim().parse().ok());
    if let Some(pid) = pid.filter(|&pid| postgres_runs_on(pid, data)) {
        return Err(Error::AlreadyRunning {
            path: data.to_path_buf(),
            pid,
        });
    }
    match fs::remove_file(&path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(Error::DataFolder {
            path,
            source: error,
        }),
        _ => Ok(()),
    }
}

/// Whether process `pid` is a live postgres working in `data` (the postmaster makes its
/// data folder its working folder). When its working folder cannot be read, any live
/// postgres counts.
fn postgres_runs_on(pid: u32, data: &Path) -> bool {
    let process = PathBuf::from(format!("/proc/{pid}"));
    let status = fs::read_to_string(process.join("status")).unwrap_or_default();
    let zombie = status
        .lines()
        .any(|line| line.starts_with("State:") && line.contains('Z'));
    let comm = fs::read_to_string(process.join("comm")).unwrap_or_default();
    if pid == 0 || zombie || comm.trim() != "postgres" {
        return false;
    }
    match (fs::read_link(process.join("cwd")), fs::canonicalize(data)) {
        (Ok(cwd), Ok(data)) => cwd == data,
        _ => true,
    }
}

/// Whether our effective user is root.
pub(crate) fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    match fs::metadata("/proc/self") {
        Ok(metadata) => metadata.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0"),
    }
}

/// The `postgres` user's uid (`flag` `-u`) or gid (`-g`), from `id`.
fn id_of(flag: &str) -> Result<u32, Error> {
    let output = Command::new("id")
        .args([flag, "postgres"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| Error::NoPostgresUser(format!("id cannot be run: {error}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.trim().parse() {
        Ok(id) if output.status.success() => Ok(id),
        _ => Err(Error::NoPostgresUser(format!(
            "id {flag} postgres said {:?}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// Gives `path` and everything under it (symbolic links themselves, not their targets) to
/// `owner`.
fn chown_tree(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), (uid, gid))?;
        }
    }
    Ok(())
}

/// `program` from the PATH.
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A spawn request for the lasting thread, and where to send the child back.
type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` from a thread that lives as long as the process, so that the
/// parent-death signal fires only when the process ends, not when the calling thread does.
/// The balancer ([`crate::balancer`]) spawns nginx from it too.
pub(crate) fn spawn_from_lasting_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("lasting-spawner".into())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok()
            .map(|_| requests)
    });
    let gone = || io::Error::other("the thread that spawns PostgreSQL and nginx is gone");
    let spawner = spawner.as_ref().ok_or_else(gone)?;
    let (reply, child) = mpsc::channel();
    spawner.send((command, reply)).map_err(|_| gone())?;
    child.recv().map_err(|_| gone())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_safe_identifiers_within_63_bytes() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(database_name("persist", id), format!("persist_{id}"));
        assert_eq!(database_name("Node-A 1", id), format!("node_a_1_{id}"));
        assert_eq!(database_name("7up", id), format!("db7up_{id}"));
        assert_eq!(database_name("", id), format!("_{id}"));
        let long = database_name(&"x".repeat(100), id);
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn the_highest_version_with_initdb_wins() {
        let root = std::env::temp_dir().join(format!("pg-bin-dirs-{}", std::process::id()));
        for (version, initdb) in [("9.6", true), ("15", true), ("16", false), ("13", true)] {
            let bin = root.join(version).join("bin");
            fs::create_dir_all(&bin).expect("create bin");
            if initdb {
                fs::write(bin.join("initdb"), "").expect("write initdb");
            }
        }
        assert_eq!(debian_bin_dir(&root), Some(root.join("15").join("bin")));
        assert_eq!(debian_bin_dir(&root.join("missing")), None);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn the_socket_folder_is_dropped_when_its_path_is_too_long() {
        assert_eq!(socket_directory(Path::new("/tmp/pg"), 5432), "/tmp/pg");
        let long = format!("/tmp/{}", "d".repeat(100));
        assert_eq!(socket_directory(Path::new(&long), 5432), "");
        assert_eq!(socket_directory(Path::new("/tmp/a b"), 5432), "");
    }
}
