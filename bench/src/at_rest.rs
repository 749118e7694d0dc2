//! Memory at rest, the engine of `cargo xtask bench at-rest`: databases of 0 and of many
//! ended conversations (SQLite, and PostgreSQL in a throwaway cluster), the release server
//! started on each — how long until it listens, its resident memory then and after an
//! idle spell — as a markdown table. History lives in the database, so the two should
//! differ by little.

use crate::server::Server;
use porchlight_protocol::{Author, AuthorKind, ConversationEvent};
use porchlight_server::local_postgres::{Durability, LocalPostgres};
use porchlight_server::store::database::{Database, Target};
use porchlight_server::store::sql::Rows;
use porchlight_server::store::{Phase, Store};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Conversations written per transaction while a database is filled.
const CHUNK: usize = 5_000;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Figure {
    pub engine: &'static str,
    pub conversations: usize,
    pub events: usize,
    pub fill_secs: f64,
    pub start_secs: f64,
    pub rss_start_kib: u64,
    pub rss_idle_kib: u64,
}

fn message(kind: AuthorKind, name: &str, n: usize) -> ConversationEvent {
    ConversationEvent::MessageReceived {
        id: None,
        author: Author {
            kind,
            name: name.into(),
        },
        text: format!("Message {n}: my parcel has not arrived yet, could you look?"),
        choices: Vec::new(),
    }
}

/// Writes `conversations` ended conversations of `messages` messages each, each in a
/// session of its own, into `database`.
pub fn fill(database: &mut Database, conversations: usize, messages: usize) -> Result<(), String> {
    let mut left = conversations;
    while left > 0 {
        let now = tokio::time::Instant::now();
        let mut store = Store::default();
        for _ in 0..left.min(CHUNK) {
            let (_, conversation) = store.create_session();
            for n in 0..messages {
                let event = if n % 2 == 0 {
                    message(AuthorKind::Visitor, "You", n)
                } else {
                    message(AuthorKind::Agent, "Ann", n)
                };
                store.append(&conversation, event);
            }
            store.set_phase(&conversation, Phase::Ended { rated: false }, now);
        }
        let changes = store.take_changes();
        let rows = Rows::read(&store, &changes);
        database
            .commit(&[rows])
            .map_err(|e| format!("cannot fill the database: {e}"))?;
        left -= left.min(CHUNK);
    }
    Ok(())
}

/// A filled database with its server running.
struct Running {
    figure: Figure,
    server: Server,
}

/// Fills `target`, starts `server` on it, and measures its start.
fn start(
    engine: &'static str,
    server: &Path,
    target: &Target,
    conversations: usize,
    messages: usize,
    log: &Path,
) -> Result<Running, String> {
    let filled = Instant::now();
    {
        let (mut database, _) =
            Database::open(target).map_err(|e| format!("cannot open {target}: {e}"))?;
        fill(&mut database, conversations, messages)?;
    }
    let fill_secs = filled.elapsed().as_secs_f64();
    let started = Instant::now();
    let args = vec![
        "--db".to_string(),
        target.argument(),
        "--widget-dir".into(),
        "no-widget-here".into(),
    ];
    let running = Server::start(server, &args, log)?;
    let start_secs = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let rss_start_kib = running.rss_kib()?;
    Ok(Running {
        figure: Figure {
            engine,
            conversations,
            events: conversations * messages,
            fill_secs,
            start_secs,
            rss_start_kib,
            rss_idle_kib: 0,
        },
        server: running,
    })
}

/// Runs every measurement: each engine, an empty database and one of `conversations`,
/// every server idling side by side for `idle` before its memory is read again.
pub fn run(
    server: &Path,
    scratch: &Path,
    conversations: usize,
    messages: usize,
    idle: Duration,
    engines: &[&'static str],
) -> Result<Vec<Figure>, String> {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let mut running = Vec::new();
    let mut cluster = None;
    for &engine in engines {
        for size in [0, conversations] {
            let target = match engine {
                "sqlite" => Target::Sqlite(scratch.join(format!("at-rest-{size}.sqlite3"))),
                "postgres" => {
                    if cluster.is_none() {
                        cluster = Some(
                            LocalPostgres::start(&scratch.join("postgres"), Durability::Full)
                                .map_err(|e| format!("a throwaway PostgreSQL: {e}"))?,
                        );
                    }
                    let cluster = cluster.as_ref().ok_or("no cluster")?;
                    Target::Postgres(
                        cluster
                            .fresh_database("at_rest")
                            .map_err(|e| format!("a fresh database: {e}"))?,
                    )
                }
                other => return Err(format!("no engine {other:?}: sqlite or postgres")),
            };
            let log = scratch.join(format!("server-{engine}-{size}.log"));
            let started = start(engine, server, &target, size, messages, &log)?;
            eprintln!(
                "{engine}, {size} conversations: filled in {:.1} s, listening after {:.2} s, {} KiB at start",
                started.figure.fill_secs, started.figure.start_secs, started.figure.rss_start_kib
            );
            running.push(started);
        }
    }
    eprintln!("idling {} s", idle.as_secs());
    std::thread::sleep(idle);
    let mut figures = Vec::new();
    for mut run in running {
        if let Some(exit) = run.server.exited() {
            return Err(format!("a server stopped while idle: {exit}"));
        }
        run.figure.rss_idle_kib = run.server.rss_kib()?;
        figures.push(run.figure);
    }
    Ok(figures)
}

/// The figures as a markdown table.
pub fn table(figures: &[Figure], idle: Duration) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut out = String::new();
    let _ = writeln!(out, "## Memory at rest\n");
    let _ = writeln!(
        out,
        "| engine | ended conversations | events | filled in | listening after | RSS at start | RSS after {} s idle |",
        idle.as_secs()
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} s | {:.2} s | {:.1} MiB | {:.1} MiB |",
            f.engine,
            f.conversations,
            f.events,
            f.fill_secs,
            f.start_secs,
            mib(f.rss_start_kib),
            mib(f.rss_idle_kib)
        );
    }
    for engine in ["sqlite", "postgres"] {
        let of = |n: usize| {
            figures
                .iter()
                .find(|f| f.engine == engine && (f.conversations == 0) == (n == 0))
        };
        if let (Some(empty), Some(full)) = (of(0), of(1)) {
            let _ = writeln!(
                out,
                "\n{engine}: {:+.1} MiB at start and {:+.1} MiB after idling with {} conversations against none.",
                mib(full.rss_start_kib) - mib(empty.rss_start_kib),
                mib(full.rss_idle_kib) - mib(empty.rss_idle_kib),
                full.conversations
            );
        }
    }
    out
}

/// Where scratch databases go by default.
pub fn default_scratch(target_dir: &Path) -> PathBuf {
    target_dir.join("bench").join("at-rest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_run_and_the_difference() {
        let figure = |conversations, rss| Figure {
            engine: "sqlite",
            conversations,
            events: conversations * 20,
            fill_secs: 1.0,
            start_secs: 0.25,
            rss_start_kib: rss,
            rss_idle_kib: rss + 1024,
        };
        let table = table(
            &[figure(0, 10_240), figure(100_000, 12_288)],
            Duration::from_secs(60),
        );
        assert!(
            table.contains("| sqlite | 100000 | 2000000 | 1.0 s | 0.25 s | 12.0 MiB | 13.0 MiB |")
        );
        assert!(table.contains("sqlite: +2.0 MiB at start and +2.0 MiB after idling"));
    }

    #[test]
    fn a_filled_database_holds_every_conversation() {
        let path = std::env::temp_dir()
            .join(format!("porchlight-at-rest-{}", std::process::id()))
            .join("db.sqlite3");
        let (mut database, _) = Database::open(&Target::Sqlite(path.clone())).expect("open");
        fill(&mut database, 12, 4).expect("fill");
        drop(database);
        let connection = rusqlite::Connection::open(&path).expect("open");
        let count =
            |sql: &str| -> i64 { connection.query_row(sql, [], |r| r.get(0)).expect("count") };
        assert_eq!(
            count("SELECT COUNT(*) FROM conversations WHERE phase = 'ended'"),
            12
        );
        assert_eq!(count("SELECT COUNT(*) FROM events"), 48);
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }
}
