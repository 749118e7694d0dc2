//! The setups the cluster bench compares, each started fresh for a run: one server process
//! on SQLite, one on PostgreSQL, or several processes on one PostgreSQL database behind
//! the throwaway nginx balancer. A [`Deployment`] says where the sockets connect and what
//! memory its server processes hold (PostgreSQL's and nginx's own are not counted).

use crate::fds;
use crate::server::Server;
use porchlight_server::balancer::{Balancer, BalancerError, free_addr};
use porchlight_server::local_postgres::{Durability, LocalPostgres, LocalPostgresError};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Server processes of a `cluster` setup when the number is not given.
pub const DEFAULT_CLUSTER_PROCESSES: usize = 3;

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One process, an SQLite file.
    Sqlite,
    /// One process, a PostgreSQL database.
    Postgres,
    /// This many processes on one PostgreSQL database, behind nginx.
    Cluster(usize),
}

/// A list of setups that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no setup {0:?}: the setups are sqlite, postgres and cluster (3 processes) or cluster:N (N ≥ 2)"
)]
pub struct UnknownSetup(pub String);

impl Topology {
    /// `sqlite,postgres,cluster` (or `cluster:N`) as setups, in the order given.
    pub fn parse_list(text: &str) -> Result<Vec<Topology>, UnknownSetup> {
        text.split(',')
            .map(|name| Topology::parse(name.trim()))
            .collect()
    }

    fn parse(name: &str) -> Result<Topology, UnknownSetup> {
        let unknown = || UnknownSetup(name.to_string());
        match name {
            "sqlite" => Ok(Topology::Sqlite),
            "postgres" => Ok(Topology::Postgres),
            "cluster" => Ok(Topology::Cluster(DEFAULT_CLUSTER_PROCESSES)),
            _ => match name.strip_prefix("cluster:").map(str::parse::<usize>) {
                Some(Ok(processes)) if processes >= 2 => Ok(Topology::Cluster(processes)),
                _ => Err(unknown()),
            },
        }
    }

    /// Server processes it runs.
    pub fn processes(self) -> usize {
        match self {
            Topology::Sqlite | Topology::Postgres => 1,
            Topology::Cluster(processes) => processes,
        }
    }

    /// A short name for files: `sqlite`, `postgres`, `cluster3`.
    pub fn slug(self) -> String {
        match self {
            Topology::Sqlite => "sqlite".into(),
            Topology::Postgres => "postgres".into(),
            Topology::Cluster(processes) => format!("cluster{processes}"),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Sqlite => write!(f, "1 process, SQLite"),
            Topology::Postgres => write!(f, "1 process, PostgreSQL"),
            Topology::Cluster(n) => write!(f, "{n} processes, PostgreSQL, nginx"),
        }
    }
}

/// What can go wrong starting a setup.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot create {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} holds files but is not a scratch folder of an earlier run; choose another with --scratch"
    )]
    NotScratch(PathBuf),
    #[error("a throwaway PostgreSQL: {0}")]
    Postgres(#[from] LocalPostgresError),
    #[error("the nginx balancer: {0}")]
    Balancer(#[from] BalancerError),
    #[error("server process {number}: {why}")]
    Server { number: usize, why: String },
    #[error(
        "the balancer's nginx holds at most {capacity} sockets, not {sockets}: {workers} worker(s) of worker_connections {worker_connections} and {open_files} open files, each socket taking two of each"
    )]
    OverBalancer {
        sockets: usize,
        capacity: usize,
        workers: usize,
        worker_connections: usize,
        open_files: u64,
    },
    #[error("{0}")]
    OpenFiles(String),
}

/// The scratch folder of a run and the PostgreSQL server its setups share, started the
/// first time one needs it.
pub struct Scratch {
    dir: PathBuf,
    postgres: Option<LocalPostgres>,
}

/// The file that marks a folder as a scratch folder of ours, which a later run may empty.
const SCRATCH_MARK: &str = ".porchlight-cluster-load";

impl Scratch {
    /// Empties `dir` (created if missing) for the run; a folder that holds files but is
    /// not marked as an earlier run's scratch folder is refused, never emptied.
    pub fn new(dir: &Path) -> Result<Scratch, DeployError> {
        let folder_error = |source| DeployError::Folder {
            path: dir.to_path_buf(),
            source,
        };
        let holds_files = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
        if holds_files {
            if !dir.join(SCRATCH_MARK).is_file() {
                return Err(DeployError::NotScratch(dir.to_path_buf()));
            }
            std::fs::remove_dir_all(dir).map_err(folder_error)?;
        }
        std::fs::create_dir_all(dir).map_err(folder_error)?;
        std::fs::write(
            dir.join(SCRATCH_MARK),
            "porchlight-cluster-load's scratch folder\n",
        )
        .map_err(folder_error)?;
        Ok(Scratch {
            dir: dir.to_path_buf(),
            postgres: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh, empty database on the shared PostgreSQL server, as a URL.
    fn fresh_database(&mut self, prefix: &str) -> Result<String, DeployError> {
        let postgres = match &mut self.postgres {
            Some(postgres) => postgres,
            empty => {
                let data = self.dir.join("postgres");
                eprintln!("    starting PostgreSQL in {}", data.display());
                empty.insert(LocalPostgres::start(&data, Durability::Full)?)
            }
        };
        Ok(postgres.fresh_database(prefix)?)
    }

    /// PostgreSQL's log, if it was started.
    pub fn postgres_log(&self) -> Option<PathBuf> {
        self.postgres
            .as_ref()
            .map(|postgres| postgres.data_dir().join("server.log"))
    }
}

/// A running setup: its server processes and, for a cluster, the balancer. Everything
/// stops when it is dropped.
pub struct Deployment {
    pub topology: Topology,
    servers: Vec<Server>,
    balancer: Option<Balancer>,
    /// Where this run's logs and files are.
    pub dir: PathBuf,
}

impl Deployment {
    /// Starts `topology` for `sockets` sockets in a folder of its own under `scratch`,
    /// each process `server_bin --addr 127.0.0.1:0 --db … SERVER_ARGS…`; a cluster's
    /// processes also share an admin token and accept the balancer's address as their
    /// public host.
    pub fn start(
        topology: Topology,
        sockets: usize,
        server_bin: &Path,
        server_args: &[String],
        scratch: &mut Scratch,
    ) -> Result<Deployment, DeployError> {
        let dir = scratch.dir().join(format!("{}-{sockets}", topology.slug()));
        std::fs::create_dir_all(&dir).map_err(|source| DeployError::Folder {
            path: dir.clone(),
            source,
        })?;
        let db = match topology {
            Topology::Sqlite => dir.join("porchlight.sqlite3").display().to_string(),
            Topology::Postgres | Topology::Cluster(_) => {
                scratch.fresh_database(&format!("bench_{}", topology.slug()))?
            }
        };
        let mut args = vec!["--db".to_string(), db];
        let balancer_addr = match topology {
            Topology::Cluster(_) => {
                let addr = free_addr(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
                args.extend([
                    "--admin-token".to_string(),
                    admin_token(),
                    "--public-host".to_string(),
                    addr.to_string(),
                ]);
                Some(addr)
            }
            Topology::Sqlite | Topology::Postgres => None,
        };
        args.extend(server_args.iter().cloned());
        let mut deployment = Deployment {
            topology,
            servers: Vec::with_capacity(topology.processes()),
            balancer: None,
            dir: dir.clone(),
        };
        for number in 1..=topology.processes() {
            let log = dir.join(format!("server-{number}.log"));
            let server = Server::start(server_bin, &args, &log)
                .map_err(|why| DeployError::Server { number, why })?;
            let limit = server
                .open_files_limit()
                .map_err(|why| DeployError::Server { number, why })?;
            fds::check(sockets.div_ceil(topology.processes()), limit, "the server")
                .map_err(DeployError::OpenFiles)?;
            deployment.servers.push(server);
        }
        if let Some(addr) = balancer_addr {
            let upstreams: Vec<SocketAddr> = deployment.servers.iter().map(Server::addr).collect();
            let nginx_dir = dir.join("nginx");
            let balancer = Balancer::start(&nginx_dir, addr, &upstreams)?;
            // nginx inherits our limit on open files.
            let (open_files, _) = fds::raise_to_hard().map_err(DeployError::OpenFiles)?;
            let config = std::fs::read_to_string(nginx_dir.join("nginx.conf")).unwrap_or_default();
            if let Some(worker_connections) = nginx_setting(&config, "worker_connections") {
                let workers = nginx_setting(&config, "worker_processes").unwrap_or(1);
                let capacity = balancer_capacity(workers, worker_connections, open_files);
                if sockets > capacity {
                    return Err(DeployError::OverBalancer {
                        sockets,
                        capacity,
                        workers,
                        worker_connections,
                        open_files,
                    });
                }
            }
            deployment.balancer = Some(balancer);
        }
        Ok(deployment)
    }

    /// Where the sockets connect: the balancer, or the one server.
    pub fn addr(&self) -> Option<SocketAddr> {
        match &self.balancer {
            Some(balancer) => Some(balancer.addr()),
            None => self.servers.first().map(Server::addr),
        }
    }

    /// The server processes' ids and addresses, for the log.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .servers
            .iter()
            .map(|server| format!("pid {} on {}", server.pid(), server.addr()))
            .collect();
        if let Some(balancer) = &self.balancer {
            parts.push(format!(
                "nginx pid {} on {}",
                balancer.pid(),
                balancer.addr()
            ));
        }
        parts.join(", ")
    }

    /// Each server process's resident memory, in KiB.
    pub fn rss_kib(&self) -> Result<Vec<u64>, String> {
        self.servers.iter().map(Server::rss_kib).collect()
    }

    /// What has stopped that should be running, if anything.
    pub fn exited(&mut self) -> Option<String> {
        for (index, server) in self.servers.iter_mut().enumerate() {
            if let Some(status) = server.exited() {
                return Some(format!(
                    "server process {} exited ({status}); see {}",
                    index + 1,
                    self.dir.join(format!("server-{}.log", index + 1)).display()
                ));
            }
        }
        if let Some(balancer) = &mut self.balancer
            && let Some(status) = balancer.exited()
        {
            return Some(format!(
                "nginx exited ({status}); see {}",
                balancer.error_log().display()
            ));
        }
        None
    }
}

/// A token for a cluster's processes to share (letters, digits and `-`), different at
/// each run.
fn admin_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("bench-{}-{nanos}", std::process::id())
}

/// The number after `directive` in an nginx configuration (`worker_connections 4096;`), if
/// it says; `auto` (for `worker_processes`) is the number of CPUs.
pub fn nginx_setting(config: &str, directive: &str) -> Option<usize> {
    config.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix(directive)?
            .strip_prefix(char::is_whitespace)?
            .trim()
            .strip_suffix(';')?
            .trim();
        match value {
            "auto" => std::thread::available_parallelism().ok().map(|n| n.get()),
            number => number.parse().ok(),
        }
    })
}

/// How many proxied sockets an nginx holds: in each worker, each socket takes two
/// connections (the client's and the upstream's) and two descriptors, besides the
/// listener and some spare descriptors; and once fewer than a sixteenth of its
/// connections are free, a worker starts closing connections it deems reusable, which
/// includes sockets still opening (seen here as resets at about 1 930 sockets with
/// 4096 connections). Workers share the sockets only roughly evenly, so with several this
/// is an upper bound.
pub fn balancer_capacity(workers: usize, worker_connections: usize, open_files: u64) -> usize {
    let usable = worker_connections - worker_connections / 16;
    let by_connections = usable.saturating_sub(1) / 2;
    let by_files = open_files.saturating_sub(fds::SPARE) / 2;
    let per_worker = by_connections.min(usize::try_from(by_files).unwrap_or(usize::MAX));
    per_worker.saturating_mul(workers.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setups_by_name() {
        assert_eq!(
            Topology::parse_list("sqlite, postgres,cluster"),
            Ok(vec![
                Topology::Sqlite,
                Topology::Postgres,
                Topology::Cluster(3)
            ])
        );
        assert_eq!(
            Topology::parse_list("cluster:5"),
            Ok(vec![Topology::Cluster(5)])
        );
        assert_eq!(
            Topology::parse_list("mysql"),
            Err(UnknownSetup("mysql".into()))
        );
        assert!(Topology::parse_list("cluster:1").is_err());
        assert!(Topology::parse_list("cluster:many").is_err());
        assert!(Topology::parse_list("").is_err());
        assert_eq!(Topology::Cluster(3).processes(), 3);
        assert_eq!(Topology::Cluster(3).slug(), "cluster3");
        assert_eq!(Topology::Sqlite.processes(), 1);
        assert_eq!(
            Topology::Cluster(3).to_string(),
            "3 processes, PostgreSQL, nginx"
        );
    }

    #[test]
    fn reads_settings_from_nginx_conf() {
        let config =
            "daemon off;\nworker_processes 2;\nevents {\n    worker_connections 4096;\n}\n";
        assert_eq!(nginx_setting(config, "worker_connections"), Some(4_096));
        assert_eq!(nginx_setting(config, "worker_processes"), Some(2));
        assert!(
            nginx_setting("worker_processes auto;", "worker_processes").is_some_and(|n| n >= 1)
        );
        assert_eq!(nginx_setting("events {}\n", "worker_connections"), None);
        assert_eq!(
            nginx_setting("worker_connections lots;", "worker_connections"),
            None
        );
        assert_eq!(
            nginx_setting("worker_connectionsx 5;", "worker_connections"),
            None
        );
    }

    #[test]
    fn the_balancer_holds_two_connections_and_two_files_per_socket() {
        assert_eq!(balancer_capacity(1, 4_096, 20_000), 1_919);
        assert_eq!(balancer_capacity(1, 65_536, 20_000), 9_872);
        assert_eq!(balancer_capacity(2, 16_384, 20_000), 15_358);
        assert_eq!(balancer_capacity(0, 4_096, 20_000), 1_919);
        assert_eq!(balancer_capacity(1, 0, 0), 0);
    }
}
