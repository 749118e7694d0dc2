//! The database the server keeps its state in: which one `--db` names ([`Target`]), the
//! open engine ([`Database`]) and why opening it failed ([`PersistError`]). The writer
//! thread owns the [`Database`] and commits through it.

use super::Store;
use super::postgres::Postgres;
use super::sql::{self, Invalid, ReadError, Rows, Sql, SqlError};
use super::sqlite::{BUSY_TIMEOUT, Sqlite};
use std::path::{Path, PathBuf};

/// Where the state lives: an SQLite file (one process), or a PostgreSQL database that any
/// number of processes may share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::str::FromStr for Target {
    type Err = std::convert::Infallible;

    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else a file's path.
    fn from_str(s: &str) -> Result<Target, Self::Err> {
        Ok(
            if s.starts_with("postgres://") || s.starts_with("postgresql://") {
                Target::Postgres(s.to_string())
            } else {
                Target::Sqlite(PathBuf::from(s))
            },
        )
    }
}

impl Target {
    /// What `--db` takes to name this database, password included: for starting a server
    /// on it, never for showing.
    pub fn argument(&self) -> String {
        match self {
            Target::Sqlite(path) => path.display().to_string(),
            Target::Postgres(url) => url.clone(),
        }
    }
}

impl std::fmt::Display for Target {
    /// The path, or the URL without its password: what logs and errors may show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "{}", path.display()),
            Target::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

/// A connection URL with any password replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An error with the causes under it, as one sentence: `error connecting to server:
/// Connection refused (os error 111)`.
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Why the database could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot create the folder for {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database {database}: {}", with_causes(source))]
    Postgres {
        /// The URL without its password.
        database: String,
        source: postgres::Error,
    },
    #[error(
        "database {database} was written by a newer Porchlight (schema {found}; this server knows up to {known}); use a newer server or another --db"
    )]
    NewerSchema {
        database: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} is in use by another Porchlight server (it holds {lock}); stop that one or use another --db"
    )]
    InUse { path: PathBuf, lock: PathBuf },
    #[error("database {database}: cannot start its {thread} thread: {source}")]
    Thread {
        database: String,
        /// Which: the writer or the reader.
        thread: &'static str,
        source: std::io::Error,
    },
    #[error("database {database} cannot be read: {source}")]
    Read { database: String, source: SqlError },
    #[error("database {database} holds {source}")]
    Corrupt { database: String, source: Invalid },
}

enum Engine {
    Sqlite(Sqlite),
    Postgres(Box<Postgres>),
}

/// The open database, either engine.
pub struct Database {
    engine: Engine,
    /// What errors call it: the path or the password-less URL.
    name: String,
    /// PostgreSQL: the newest desk log version when the store was read.
    log_version: u64,
}

impl Database {
    /// Opens (creating if needed) the database `target` names and reads the whole store
    /// back.
    pub fn open(target: &Target) -> Result<(Database, Store), PersistError> {
        match target {
            Target::Sqlite(path) => Database::open_sqlite(path, BUSY_TIMEOUT),
            Target::Postgres(url) => Database::open_postgres(url),
        }
    }

    /// The SQLite file at `path`, with writes waiting at most `busy_timeout` for another
    /// connection's lock.
    pub fn open_sqlite(
        path: &Path,
        busy_timeout: std::time::Duration,
    ) -> Result<(Database, Store), PersistError> {
        let engine = Engine::Sqlite(Sqlite::open(path, busy_timeout)?);
        Database::read(engine, path.display().to_string())
    }

    /// The PostgreSQL database at `url`. Opened on a thread of its own: the blocking
    /// client may not run on a thread that drives an async runtime.
    pub fn open_postgres(url: &str) -> Result<(Database, Store), PersistError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let engine = Engine::Postgres(Box::new(Postgres::open(url)?));
                    Database::read(engine, redacted(url))
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    fn read(engine: Engine, name: String) -> Result<(Database, Store), PersistError> {
        let mut database = Database {
            engine,
            name,
            log_version: 0,
        };
        // The log's version before the store is read: whatever is logged after it is
        // caught up on, so nothing committed meanwhile is missed.
        let read = |db: &mut Database| {
            if matches!(db.engine, Engine::Postgres(_)) {
                db.log_version = super::cluster::latest_version(db.sql())?;
            }
            sql::read_store(db.sql())
        };
        let store = match read(&mut database) {
            Ok(store) => store,
            Err(ReadError::Sql(source)) => {
                return Err(PersistError::Read {
                    database: database.name,
                    source,
                });
            }
            Err(ReadError::Invalid(source)) => {
                return Err(PersistError::Corrupt {
                    database: database.name,
                    source,
                });
            }
        };
        Ok((database, store))
    }

    /// PostgreSQL: the newest desk log version when the store was read (0 for SQLite).
    pub fn log_version(&self) -> u64 {
        self.log_version
    }

    /// Whether other server processes may share this database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// What errors call this database.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn sql(&mut self) -> &mut dyn Sql {
        match &mut self.engine {
            Engine::Sqlite(sqlite) => sqlite,
            Engine::Postgres(postgres) => postgres.as_mut(),
        }
    }

    /// The SQLite connection, for tests that reach under the engine.
    pub fn sqlite_connection(&self) -> Option<&rusqlite::Connection> {
        match &self.engine {
            Engine::Sqlite(sqlite) => Some(&sqlite.connection),
            Engine::Postgres(_) => None,
        }
    }

    /// Writes `batches` (oldest first) in one transaction: all of them or, when it fails,
    /// none.
    pub fn commit(&mut self, batches: &[Rows]) -> Result<(), SqlError> {
        sql::commit(self.sql(), batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_postgres_and_anything_else_a_file() {
        assert_eq!(
            "postgres://u@127.0.0.1:5432/db".parse(),
            Ok(Target::Postgres("postgres://u@127.0.0.1:5432/db".into()))
        );
        assert_eq!(
            "postgresql://h/db".parse(),
            Ok(Target::Postgres("postgresql://h/db".into()))
        );
        assert_eq!(
            "chats.sqlite3".parse(),
            Ok(Target::Sqlite(PathBuf::from("chats.sqlite3")))
        );
    }

    #[test]
    fn a_password_is_never_shown() {
        let target: Target = "postgres://porch:s3cret@db.example:5432/chat"
            .parse()
            .unwrap_or_else(|never| match never {});
        assert_eq!(
            target.to_string(),
            "postgres://porch:***@db.example:5432/chat"
        );
        assert_eq!(
            redacted("postgres://porch@db.example/chat"),
            "postgres://porch@db.example/chat"
        );
        assert_eq!(redacted("postgres://a:b:c@h/d"), "postgres://a:***@h/d");
    }
}
