//! Many server processes on one PostgreSQL database: the database side.
//!
//! Every operation that changes the desk is decided by one process at a time across the
//! cluster. Its [`Decider`] connection begins a transaction and takes [`DESK_LOCK`] (an
//! advisory transaction lock), reads the `desk_log` rows other processes wrote since this
//! one last looked ([`entries_after`]) and what they point at ([`fetch`]); the desk catches
//! up, decides in memory with the same code as a lone server, and [`write`]s its rows, one
//! log row (which conversations and sessions changed, whether routing did), the routing
//! state and a `NOTIFY` carrying the log version, then commits — which releases the lock.
//! So each decision (an accept, a seq, a message id, a timer's expiry) is taken once, on
//! state no older than the last commit.
//!
//! Each process also has a [`Listener`] connection: a notification makes the process catch
//! up between operations, so its sockets and consoles see every change. A listening
//! connection that drops reconnects and catches up from the last version seen, so no
//! notification is ever the only copy. Typing, which is never stored, travels in the
//! notification on [`TYPING_CHANNEL`] only.

use super::Conversation;
use super::database::Database;
use super::postgres::Postgres;
use super::sql::{self, ReadError, Rows, Sql, SqlError, Value};
use crate::routing::SharedRouting;
use porchlight_protocol::{ConversationId, Seq, SessionToken};
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Any number, the same in every process: the advisory lock each decision is taken under.
const DESK_LOCK: i64 = 0x706f_7263_686c_6965;

/// The notification channel a committed log row is told on; its payload is the version.
pub const CHANGE_CHANNEL: &str = "porchlight";

/// The `application_name` of listening connections, so an operator can tell them.
pub const LISTENER_NAME: &str = "porchlight-listener";

/// The notification channel typing is told on (JSON [`Typing`]).
pub const TYPING_CHANNEL: &str = "porchlight_typing";

/// How long log rows are kept: a process that has not caught up for longer reads
/// everything live again.
const LOG_KEPT_MS: u64 = 10 * 60 * 1000;

/// How often (in log versions) old log rows are deleted.
const PRUNE_EVERY: u64 = 1_000;

/// How soon a listening connection that dropped is opened again.
const RECONNECT_AFTER: Duration = Duration::from_millis(200);

/// One `desk_log` row: what one committed operation changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub version: u64,
    pub conversations: Vec<ConversationId>,
    pub sessions: Vec<SessionToken>,
    pub routing: bool,
}

/// Someone started or stopped typing, as told between processes. `node` is the process
/// that told it, so it does not hear itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub node: String,
    pub conversation: ConversationId,
    /// The agent's name, or none for the visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub typing: bool,
}

type Job = Box<dyn FnOnce(&mut dyn Sql) + Send>;

/// The thread that owns this process's deciding connection. Operations hand it work and
/// wait for the answer (the blocking client may not run on an async runtime's thread).
pub struct Decider {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Decider {
    /// Starts the thread that owns `database`.
    pub fn start(mut database: Database) -> std::io::Result<Decider> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("porchlight-decider".into())
            .spawn(move || {
                for job in queue {
                    job(database.sql());
                }
            })?;
        Ok(Decider {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the deciding connection and blocks until it answers; `None` when the
    /// thread is gone.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = mpsc::channel();
        let job: Job = Box::new(move |db| {
            let _ = answer.send(work(db));
        });
        self.jobs.as_ref()?.send(job).ok()?;
        answered.recv().ok()
    }

    /// Runs `work` on the deciding connection without waiting for it.
    pub fn send(&self, work: impl FnOnce(&mut dyn Sql) + Send + 'static) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Box::new(work));
        }
    }
}

impl Drop for Decider {
    fn drop(&mut self) {
        self.jobs = None;
        // The desk may be let go by a job on the deciding thread itself, which then ends
        // once its queue is empty.
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
            && thread.join().is_err()
        {
            tracing::error!("the deciding connection's thread panicked");
        }
    }
}

/// Begins a decision: a transaction holding the cluster's desk lock.
pub fn begin(db: &mut dyn Sql) -> Result<(), SqlError> {
    db.batch("BEGIN")?;
    if let Err(err) = db.execute("SELECT pg_advisory_xact_lock($1)", &[Value::Int(DESK_LOCK)]) {
        rollback(db);
        return Err(err);
    }
    Ok(())
}

/// Ends a decision that wrote nothing, or one that failed.
pub fn rollback(db: &mut dyn Sql) {
    if let Err(err) = db.batch("ROLLBACK") {
        tracing::warn!("ending a decision failed: {err}");
    }
}

/// The newest log version (0 for none).
pub fn latest_version(db: &mut dyn Sql) -> Result<u64, ReadError> {
    let rows = db.query("SELECT COALESCE(MAX(version), 0) FROM desk_log", &[])?;
    Ok(
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(Value::Int(v)) => u64::try_from(v).unwrap_or(0),
            _ => 0,
        },
    )
}

/// What the log holds after `version`, oldest first, and whether rows after it were
/// already deleted (then the caller must read everything live again).
pub fn entries_after(db: &mut dyn Sql, version: u64) -> Result<(Vec<Entry>, bool), ReadError> {
    let rows = db.query(
        "SELECT version, conversations, sessions, routing FROM desk_log WHERE version > $1 \
         ORDER BY version",
        &[Value::count(version)],
    )?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let mut row = row.into_iter();
        let (Some(Value::Int(v)), Some(Value::Text(c)), Some(Value::Text(s)), Some(Value::Int(r))) =
            (row.next(), row.next(), row.next(), row.next())
        else {
            return Err(sql::Invalid::new("desk log row", "columns").into());
        };
        entries.push(Entry {
            version: u64::try_from(v).unwrap_or(0),
            conversations: sql::from_json("desk log conversations", &c)?,
            sessions: sql::from_json("desk log sessions", &s)?,
            routing: r != 0,
        });
    }
    // A gap right after `version` means rows were pruned before this process read them.
    let pruned = match entries.first() {
        Some(first) if version > 0 && first.version > version + 1 => {
            let older = db.query(
                "SELECT COUNT(*) FROM desk_log WHERE version <= $1",
                &[Value::count(version)],
            )?;
            matches!(older.first().and_then(|r| r.first()), Some(Value::Int(0)))
        }
        _ => false,
    };
    Ok((entries, pruned))
}

/// What a catching-up process asks for: each conversation with the newest seq it holds
/// (`None`: not held, read it whole), the sessions it holds that changed, and whether
/// routing changed.
#[derive(Debug, Default)]
pub struct Wanted {
    pub conversations: Vec<(ConversationId, Option<Seq>)>,
    pub sessions: Vec<SessionToken>,
    pub routing: bool,
    /// Also every conversation waiting for or talking with an agent.
    pub every_live: bool,
}

/// What [`fetch`] read for a [`Wanted`].
#[derive(Debug, Default)]
pub struct Fetched {
    /// Each conversation as stored, with the events after the seq asked for (all of them
    /// when `whole`); `None` when no longer stored.
    pub conversations: Vec<(ConversationId, Option<(Conversation, bool)>)>,
    pub sessions: Vec<(SessionToken, Option<sql::StoredSession>)>,
    pub routing: Option<SharedRouting>,
}

/// Reads what `wanted` asks for.
pub fn fetch(db: &mut dyn Sql, wanted: Wanted) -> Result<Fetched, ReadError> {
    let mut fetched = Fetched::default();
    let mut asked = wanted.conversations;
    if wanted.every_live {
        for id in sql::live_conversation_ids(db)? {
            if !asked.iter().any(|(a, _)| *a == id) {
                asked.push((id, None));
            }
        }
    }
    for (id, held) in asked {
        let found = match held {
            Some(seq) => sql::conversation_since(db, &id, seq)?.map(|c| (c, false)),
            None => sql::conversation(db, &id)?.map(|c| (c, true)),
        };
        fetched.conversations.push((id, found));
    }
    for token in wanted.sessions {
        let found = sql::session(db, &token)?;
        fetched.sessions.push((token, found));
    }
    if wanted.routing {
        fetched.routing = routing(db)?;
    }
    Ok(fetched)
}

/// The routing state as the last decision left it, if any decision was taken yet.
pub fn routing(db: &mut dyn Sql) -> Result<Option<SharedRouting>, ReadError> {
    let rows = db.query("SELECT value FROM desk_state WHERE key = 'routing'", &[])?;
    match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
        Some(Value::Text(json)) => Ok(Some(sql::from_json("routing state", &json)?)),
        _ => Ok(None),
    }
}

/// Writes a window's decisions' rows, one log row and (when it changed) the routing
/// state, tells every process, and commits. Returns the log version, or `None` when there was nothing
/// to log. On failure the transaction is rolled back.
pub fn write(
    db: &mut dyn Sql,
    rows: &Rows,
    entry: &Entry,
    routing: Option<&str>,
) -> Result<Option<u64>, SqlError> {
    let written = write_in(db, rows, entry, routing);
    match written {
        Ok(version) => {
            db.batch("COMMIT")?;
            Ok(version)
        }
        Err(err) => {
            rollback(db);
            Err(err)
        }
    }
}

fn write_in(
    db: &mut dyn Sql,
    rows: &Rows,
    entry: &Entry,
    routing: Option<&str>,
) -> Result<Option<u64>, SqlError> {
    rows.write_decided(db)?;
    if let Some(json) = routing {
        db.execute(
            "INSERT INTO desk_state (key, value) VALUES ('routing', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[Value::Text(json.to_string())],
        )?;
    }
    if entry.conversations.is_empty() && entry.sessions.is_empty() && !entry.routing {
        return Ok(None);
    }
    let ids: Vec<&str> = entry.conversations.iter().map(|c| c.as_str()).collect();
    let tokens: Vec<&str> = entry.sessions.iter().map(|t| t.as_str()).collect();
    let rows = db.query(
        "INSERT INTO desk_log (at_ms, conversations, sessions, routing) \
         VALUES ($1, $2, $3, $4) RETURNING version",
        &[
            Value::count(super::now_ms()),
            Value::Text(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())),
            Value::Text(serde_json::to_string(&tokens).unwrap_or_else(|_| "[]".into())),
            Value::Int(i64::from(entry.routing)),
        ],
    )?;
    let version = match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
        Some(Value::Int(v)) => u64::try_from(v).unwrap_or(0),
        _ => 0,
    };
    if version % PRUNE_EVERY == 0 {
        db.execute(
            "DELETE FROM desk_log WHERE at_ms < $1",
            &[Value::count(super::now_ms().saturating_sub(LOG_KEPT_MS))],
        )?;
    }
    db.execute(
        "SELECT pg_notify($1, $2)",
        &[
            Value::Text(CHANGE_CHANNEL.into()),
            Value::Text(version.to_string()),
        ],
    )?;
    Ok(Some(version))
}

/// Tells every process that someone started or stopped typing (outside any decision).
pub fn tell_typing(db: &mut dyn Sql, typing: &Typing) {
    let Ok(json) = serde_json::to_string(typing) else {
        return;
    };
    if let Err(err) = db.execute(
        "SELECT pg_notify($1, $2)",
        &[Value::Text(TYPING_CHANNEL.into()), Value::Text(json)],
    ) {
        tracing::debug!("typing was not told to other processes: {err}");
    }
}

/// What the listening connection heard.
#[derive(Debug)]
pub enum Heard {
    /// Log rows up to this version are committed.
    Changed(u64),
    Typing(Typing),
    /// The connection was (re)opened: catch up on whatever was missed meanwhile.
    Listening,
}

/// The thread holding this process's listening connection.
pub struct Listener {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on `url` and hands each thing heard to `heard`, with the listening
    /// connection for any reads it needs. Returns `false` from `heard` to stop.
    pub fn start(
        url: String,
        mut heard: impl FnMut(Heard, &mut dyn Sql) -> bool + Send + 'static,
    ) -> std::io::Result<Listener> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("porchlight-listener".into())
            .spawn(move || {
                use std::sync::atomic::Ordering;
                while !stopping.load(Ordering::Acquire) {
                    match listen(&url, &mut heard, &stopping) {
                        Ok(()) => return,
                        Err(err) => {
                            tracing::warn!("the listening connection dropped (reopened): {err}");
                            std::thread::sleep(RECONNECT_AFTER);
                        }
                    }
                }
            })?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        // The desk may be let go on the listening thread itself, which then just ends.
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// How long the listening thread waits for a notification before it looks whether it
/// must stop.
const LISTEN_TICK: Duration = Duration::from_millis(250);

/// One listening connection's life: `Ok` when told to stop, `Err` when it dropped.
fn listen(
    url: &str,
    heard: &mut impl FnMut(Heard, &mut dyn Sql) -> bool,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    use postgres::fallible_iterator::FallibleIterator;
    let text = |err: postgres::Error| super::database::with_causes(&err);
    let mut db = Postgres::connect(url).map_err(text)?;
    db.client()
        .batch_execute(&format!(
            "SET application_name = '{LISTENER_NAME}'; \
             LISTEN {CHANGE_CHANNEL}; LISTEN {TYPING_CHANNEL}"
        ))
        .map_err(text)?;
    if !heard(Heard::Listening, &mut db) {
        return Ok(());
    }
    loop {
        if stop.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        // The first notification (or none within a tick), then whatever else arrived.
        let mut notes = Vec::new();
        {
            let mut notifications = db.client().notifications();
            if let Some(first) = notifications
                .timeout_iter(LISTEN_TICK)
                .next()
                .map_err(text)?
            {
                notes.push(first);
            }
            let mut arrived = notifications.iter();
            while let Some(note) = arrived.next().map_err(text)? {
                notes.push(note);
            }
        }
        if notes.is_empty() && db.client().is_closed() {
            return Err("the connection was closed".into());
        }
        let mut newest = None;
        for note in notes {
            match note.channel() {
                CHANGE_CHANNEL => {
                    if let Ok(version) = note.payload().parse::<u64>() {
                        newest = newest.max(Some(version));
                    }
                }
                TYPING_CHANNEL => {
                    if let Ok(typing) = serde_json::from_str::<Typing>(note.payload())
                        && !heard(Heard::Typing(typing), &mut db)
                    {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        if let Some(version) = newest
            && !heard(Heard::Changed(version), &mut db)
        {
            return Ok(());
        }
    }
}
