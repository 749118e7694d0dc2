//! Which engine the desk and socket suites run on, from `PORCHLIGHT_TEST_DB`: `sqlite` (a
//! fresh file for every desk), `postgres` (a fresh database for every desk, in a throwaway
//! PostgreSQL this test binary starts under `target/` and that dies with it), or unset for
//! the store in memory only. `cargo xtask test` runs the server's suites once each way.

use porchlight_server::ServerConfig;
use porchlight_server::desk::Desk;
use porchlight_server::local_postgres::{Durability, LocalPostgres};
use porchlight_server::store::database::Target;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Memory,
    Sqlite,
    Postgres,
}

/// The engine this run asks for; an unknown name stops the run rather than testing
/// something else.
pub fn engine() -> Engine {
    match std::env::var("PORCHLIGHT_TEST_DB").as_deref() {
        Err(_) | Ok("") | Ok("memory") => Engine::Memory,
        Ok("sqlite") => Engine::Sqlite,
        Ok("postgres") => Engine::Postgres,
        Ok(other) => panic!("PORCHLIGHT_TEST_DB={other:?}: use sqlite, postgres or memory"),
    }
}

/// This test binary's scratch folder under `target/`. The first call removes those of
/// earlier runs whose process is gone.
fn scratch() -> PathBuf {
    static SWEPT: OnceLock<()> = OnceLock::new();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    SWEPT.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(&root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("engines-")
                .and_then(|rest| rest.rsplit('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
    root.join(format!(
        "engines-{}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ))
}

/// The throwaway PostgreSQL of this test binary, started on first use.
pub fn postgres() -> &'static LocalPostgres {
    static CLUSTER: OnceLock<LocalPostgres> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        LocalPostgres::start(&scratch().join("postgres"), Durability::Fast)
            .unwrap_or_else(|err| panic!("a throwaway PostgreSQL: {err}"))
    })
}

/// A database nobody used yet: a PostgreSQL one when the run asks for PostgreSQL, else a
/// fresh SQLite file.
pub fn fresh_target() -> Target {
    match engine() {
        Engine::Postgres => Target::Postgres(
            postgres()
                .fresh_database("t")
                .unwrap_or_else(|err| panic!("a fresh database: {err}")),
        ),
        Engine::Memory | Engine::Sqlite => Target::Sqlite(
            scratch()
                .join(porchlight_server::store::random_id())
                .join("db.sqlite3"),
        ),
    }
}

/// A desk for `config` on this run's engine, with nothing in it.
pub fn desk(config: ServerConfig) -> Arc<Desk> {
    match engine() {
        Engine::Memory => Desk::new(config),
        Engine::Sqlite | Engine::Postgres => {
            Desk::open_at(config, &fresh_target()).unwrap_or_else(|err| panic!("a desk: {err}"))
        }
    }
}

/// Removes a SQLite test database with its folder; a PostgreSQL one goes with its cluster.
pub fn remove(target: &Target) {
    if let Target::Sqlite(path) = target
        && let Some(folder) = path.parent()
    {
        let _ = std::fs::remove_dir_all(folder);
    }
}
