//! Persistence in an embedded SQLite file: sessions, conversations with where each stands,
//! their pre-chat answers and ratings, every event, and the messages visitors left.
//!
//! The store stays the working copy in memory; this layer reads it all back on start
//! ([`Database::open`]). Under the desk's lock each operation's changes become [`Rows`];
//! the [`writer`](crate::store::writer) thread commits them ([`Database::commit`]) before anyone is
//! told or acked — so whatever the server acked survives a `kill -9`. The journal is WAL
//! with `synchronous=NORMAL`: a committed transaction survives the process dying (not the
//! machine losing power).

use crate::channels::outbound::OutboxRecord;
use crate::store::{Changes, Conversation, OfflineMessage, Phase, Rating, Store, StoredEvent};
use porchlight_protocol::{
    AgentId, ChannelId, ConversationId, IdError, RequestId, Seq, SessionToken,
};
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::time::Instant;

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
    #[error(
        "database {path} was written by a newer Porchlight (schema {found}; this server knows up to {SCHEMA_VERSION}); use a newer server or another --db"
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error(
        "database {path} is in use by another Porchlight server (it holds {lock}); stop that one or use another --db"
    )]
    InUse { path: PathBuf, lock: PathBuf },
    #[error("database {path}: cannot start its writer thread: {source}")]
    Writer {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path} holds an invalid {what}: {detail}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
}

/// The schema this server writes, kept in SQLite's `user_version`. 1 was the first (before
/// channels), 2 before identities; older databases are brought up to date when opened, newer ones refused.
pub const SCHEMA_VERSION: i64 = 3;

/// How long a write waits for another connection's lock before it fails.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Takes the lock file beside the database at `path` (`…sqlite3.lock`), held while the
/// returned file is open, so a second server on the same database refuses to start.
fn lock(path: &Path) -> Result<std::fs::File, PersistError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| PersistError::LockFile {
            path: lock.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(PersistError::InUse {
            path: path.to_path_buf(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(source)) => {
            Err(PersistError::LockFile { path: lock, source })
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    current TEXT NOT NULL,
    past TEXT NOT NULL,
    identity TEXT
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    phase TEXT NOT NULL,
    agent TEXT,
    agent_name TEXT,
    answers TEXT NOT NULL,
    request TEXT,
    message_request TEXT,
    rating TEXT,
    replies_said INTEGER NOT NULL,
    channel TEXT NOT NULL DEFAULT 'web',
    handled_by TEXT,
    channel_state TEXT
);
CREATE TABLE IF NOT EXISTS events (
    conversation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (conversation, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    channel TEXT NOT NULL,
    conversation TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    call TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_messages (
    conversation TEXT NOT NULL,
    answers TEXT NOT NULL,
    text TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
";

/// Columns added since the first schema, with their definitions: a database written by an
/// older server gains them when opened.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("conversations", "channel", "TEXT NOT NULL DEFAULT 'web'"),
    ("conversations", "handled_by", "TEXT"),
    ("conversations", "channel_state", "TEXT"),
    ("sessions", "identity", "TEXT"),
];

/// Adds the [`ADDED_COLUMNS`] a database lacks.
fn add_missing_columns(connection: &Connection) -> rusqlite::Result<()> {
    for (table, column, definition) in ADDED_COLUMNS {
        let mut statement = connection.prepare(&format!("PRAGMA table_info({table})"))?;
        let present = statement
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if !present.iter().any(|c| c == column) {
            connection.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            ))?;
        }
    }
    Ok(())
}

/// One row of `conversations`, as read.
struct ConversationRow {
    id: String,
    token: String,
    phase: String,
    agent: Option<String>,
    agent_name: Option<String>,
    answers: String,
    request: Option<String>,
    message_request: Option<String>,
    rating: Option<String>,
    replies_said: u64,
    channel: String,
    handled_by: Option<String>,
    channel_state: Option<String>,
}

/// The open database.
pub struct Database {
    connection: Connection,
    path: PathBuf,
    /// Held open for the lock on it (see [`lock`]).
    _lock: std::fs::File,
}

/// A phase as stored: its name, the agent of a live chat, whether an ended chat is rated.
fn phase_columns(phase: &Phase) -> (&'static str, Option<&str>, Option<&str>) {
    match phase {
        Phase::Live { agent, name } => ("live", Some(agent.as_str()), Some(name.as_str())),
        Phase::Ended { rated: true } => ("ended_rated", None, None),
        other => (other.name(), None, None),
    }
}

/// The phase a stored row stands for. A chat that was waiting for an agent waits again
/// from `now`: the desk asks for an agent anew once the store is read.
fn phase_from(
    name: &str,
    agent: Option<String>,
    agent_name: Option<String>,
    now: Instant,
) -> Option<Phase> {
    Some(match name {
        "bot" => Phase::Bot,
        "queued" => Phase::Queued {
            position: 0,
            since: now,
        },
        "connecting" => Phase::Connecting { since: now },
        "live" => Phase::Live {
            agent: AgentId::new(agent?).ok()?,
            name: agent_name?,
        },
        "missed" => Phase::Missed,
        "message_left" => Phase::MessageLeft,
        "ended" => Phase::Ended { rated: false },
        "ended_rated" => Phase::Ended { rated: true },
        _ => return None,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Database {
    /// Opens (creating if needed) the database at `path` and reads the whole store back.
    pub fn open(path: &Path) -> Result<(Database, Store), PersistError> {
        Database::open_with(path, BUSY_TIMEOUT)
    }

    /// Like [`Database::open`], with writes waiting at most `busy_timeout` for another
    /// connection's lock.
    pub fn open_with(
        path: &Path,
        busy_timeout: std::time::Duration,
    ) -> Result<(Database, Store), PersistError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| PersistError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let sqlite = |source| PersistError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let lock = lock(path)?;
        let connection = Connection::open(path).map_err(sqlite)?;
        connection.busy_timeout(busy_timeout).map_err(sqlite)?;
        let found: i64 = connection
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite)?;
        if found > SCHEMA_VERSION {
            return Err(PersistError::NewerSchema {
                path: path.to_path_buf(),
                found,
            });
        }
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite)?;
        connection.execute_batch(SCHEMA).map_err(sqlite)?;
        add_missing_columns(&connection).map_err(sqlite)?;
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sqlite)?;
        let database = Database {
            connection,
            path: path.to_path_buf(),
            _lock: lock,
        };
        let store = database.read()?;
        Ok((database, store))
    }

    fn corrupt(&self, what: &'static str, detail: impl ToString) -> PersistError {
        PersistError::Corrupt {
            path: self.path.clone(),
            what,
            detail: detail.to_string(),
        }
    }

    fn sqlite(&self, source: rusqlite::Error) -> PersistError {
        PersistError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Every row `sql` selects, each read by `row`.
    fn rows<T>(
        &self,
        sql: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, PersistError> {
        let mut statement = self.connection.prepare(sql).map_err(|e| self.sqlite(e))?;
        statement
            .query_map([], row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sqlite(e))
    }

    fn read(&self) -> Result<Store, PersistError> {
        let now = Instant::now();
        let mut store = Store::default();
        let id_error = |what| move |e: IdError| self.corrupt(what, e);
        let json_error = |what| move |e: serde_json::Error| self.corrupt(what, e);

        let mut by_conversation: HashMap<String, Vec<StoredEvent>> = HashMap::new();
        let events = self.rows(
            "SELECT conversation, seq, at_ms, event FROM events ORDER BY conversation, seq",
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )?;
        for (conversation, seq, at_ms, event) in events {
            by_conversation
                .entry(conversation)
                .or_default()
                .push(StoredEvent {
                    seq: Seq(seq),
                    at_ms,
                    event: serde_json::from_str(&event).map_err(json_error("event"))?,
                });
        }

        let conversations = self.rows(
            "SELECT id, token, phase, agent, agent_name, answers, request, message_request, \
             rating, replies_said, channel, handled_by, channel_state FROM conversations \
             ORDER BY rowid",
            |r| {
                Ok(ConversationRow {
                    id: r.get(0)?,
                    token: r.get(1)?,
                    phase: r.get(2)?,
                    agent: r.get(3)?,
                    agent_name: r.get(4)?,
                    answers: r.get(5)?,
                    request: r.get(6)?,
                    message_request: r.get(7)?,
                    rating: r.get(8)?,
                    replies_said: r.get(9)?,
                    channel: r.get(10)?,
                    handled_by: r.get(11)?,
                    channel_state: r.get(12)?,
                })
            },
        )?;
        for row in conversations {
            let events = by_conversation.remove(&row.id).unwrap_or_default();
            if events
                .iter()
                .enumerate()
                .any(|(i, e)| e.seq.0 != i as u64 + 1)
            {
                return Err(self.corrupt("event sequence", format!("{} has a gap", row.id)));
            }
            let request_id = |r: Option<String>| r.map(RequestId::new).transpose();
            let mut conv =
                Conversation::blank(SessionToken::new(row.token).map_err(id_error("token"))?);
            conv.events = events;
            conv.phase = phase_from(&row.phase, row.agent, row.agent_name, now)
                .ok_or_else(|| self.corrupt("phase", &row.phase))?;
            conv.answers = serde_json::from_str(&row.answers).map_err(json_error("answers"))?;
            conv.request = request_id(row.request).map_err(id_error("request id"))?;
            conv.message_request =
                request_id(row.message_request).map_err(id_error("request id"))?;
            conv.rating = row
                .rating
                .map(|r| serde_json::from_str::<Rating>(&r))
                .transpose()
                .map_err(json_error("rating"))?;
            conv.replies_said = usize::try_from(row.replies_said).unwrap_or(usize::MAX);
            conv.channel = ChannelId::new(row.channel).map_err(id_error("channel id"))?;
            conv.handled_by = row
                .handled_by
                .map(AgentId::new)
                .transpose()
                .map_err(id_error("agent id"))?;
            conv.channel_state = row
                .channel_state
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(json_error("channel state"))?;
            let id = ConversationId::new(row.id).map_err(id_error("conversation id"))?;
            store.restore_conversation(id, conv);
        }

        let sessions = self.rows("SELECT token, current, past, identity FROM sessions", |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        for (token, current, past, identity) in sessions {
            store.restore_session(
                SessionToken::new(token).map_err(id_error("token"))?,
                ConversationId::new(current).map_err(id_error("conversation id"))?,
                serde_json::from_str(&past).map_err(json_error("session history"))?,
                identity
                    .map(|i| serde_json::from_str(&i))
                    .transpose()
                    .map_err(json_error("session identity"))?,
            );
        }

        let offline = self.rows(
            "SELECT conversation, answers, text, at_ms FROM offline_messages ORDER BY rowid",
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                ))
            },
        )?;
        for (conversation, answers, text, at_ms) in offline {
            store.restore_offline_message(OfflineMessage {
                conversation: ConversationId::new(conversation)
                    .map_err(id_error("conversation id"))?,
                answers: serde_json::from_str(&answers).map_err(json_error("answers"))?,
                text,
                at_ms,
            });
        }
        let outbox = self.rows(
            "SELECT channel, conversation, at_ms, call FROM outbox ORDER BY rowid",
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )?;
        for (channel, conversation, at_ms, call) in outbox {
            store.restore_send(
                ChannelId::new(channel).map_err(id_error("channel id"))?,
                OutboxRecord {
                    conversation: ConversationId::new(conversation)
                        .map_err(id_error("conversation id"))?,
                    at_ms,
                    call: serde_json::from_str(&call).map_err(json_error("outbox record"))?,
                },
            );
        }
        let clock = self.rows(
            "SELECT value FROM settings WHERE key = 'clock_offset_ms'",
            |r| r.get::<_, u64>(0),
        )?;
        store.restore_clock(clock.first().copied().unwrap_or(0));
        Ok(store)
    }

    /// Writes `batches` (oldest first) in one transaction: all of them or, when it fails,
    /// none.
    pub fn commit(&mut self, batches: &[Rows]) -> Result<(), rusqlite::Error> {
        if batches.iter().all(Rows::is_empty) {
            return Ok(());
        }
        let tx = self.connection.transaction()?;
        for rows in batches {
            rows.write(&tx)?;
        }
        tx.commit()
    }
}

/// One `conversations` row to write.
#[derive(Debug)]
struct ConversationValues {
    id: String,
    token: String,
    phase: &'static str,
    agent: Option<String>,
    agent_name: Option<String>,
    answers: String,
    request: Option<String>,
    message_request: Option<String>,
    rating: Option<String>,
    replies_said: u64,
    channel: String,
    handled_by: Option<String>,
    channel_state: Option<String>,
}

/// What one desk operation changed, as the rows to write: read from the store under the
/// desk's lock, written later by the [`writer`](crate::store::writer) thread.
#[derive(Debug, Default)]
pub struct Rows {
    conversations: Vec<ConversationValues>,
    /// (conversation, seq, at_ms, event JSON)
    events: Vec<(String, u64, u64, String)>,
    /// (token, current, past JSON, identity JSON)
    sessions: Vec<(String, String, String, Option<String>)>,
    /// (conversation, answers JSON, text, at_ms)
    offline_messages: Vec<(String, String, String, u64)>,
    /// (channel, conversation, at_ms, call JSON)
    outbox: Vec<(String, String, u64, String)>,
    clock_offset_ms: Option<u64>,
    /// Sessions forgotten, and their conversations.
    purged_sessions: Vec<String>,
    purged_conversations: Vec<String>,
}

impl Rows {
    /// The rows for `changes`, as `store` holds them now.
    pub fn read(store: &Store, changes: &Changes) -> Rows {
        let conversations = changes
            .conversations
            .iter()
            .filter_map(|id| {
                let conv = store.conversation(id)?;
                let (phase, agent, agent_name) = phase_columns(&conv.phase);
                Some(ConversationValues {
                    id: id.as_str().to_string(),
                    token: conv.token.as_str().to_string(),
                    phase,
                    agent: agent.map(str::to_string),
                    agent_name: agent_name.map(str::to_string),
                    answers: json(&conv.answers),
                    request: conv.request.as_ref().map(|r| r.as_str().to_string()),
                    message_request: conv
                        .message_request
                        .as_ref()
                        .map(|r| r.as_str().to_string()),
                    rating: conv.rating.as_ref().map(json),
                    replies_said: conv.replies_said as u64,
                    channel: conv.channel.as_str().to_string(),
                    handled_by: conv.handled_by.as_ref().map(|a| a.as_str().to_string()),
                    channel_state: conv.channel_state.as_ref().map(json),
                })
            })
            .collect();
        let events = changes
            .events
            .iter()
            .map(|(conversation, event)| {
                (
                    conversation.as_str().to_string(),
                    event.seq.0,
                    event.at_ms,
                    json(&event.event),
                )
            })
            .collect();
        let sessions = changes
            .sessions
            .iter()
            .filter_map(|token| {
                let (current, past) = store.session_parts(token)?;
                Some((
                    token.as_str().to_string(),
                    current.as_str().to_string(),
                    json(&past),
                    store.identity(token).map(json),
                ))
            })
            .collect();
        let offline_messages = changes
            .offline_messages
            .iter()
            .map(|m| {
                (
                    m.conversation.as_str().to_string(),
                    json(&m.answers),
                    m.text.clone(),
                    m.at_ms,
                )
            })
            .collect();
        let outbox = changes
            .outbox
            .iter()
            .map(|(channel, record)| {
                (
                    channel.as_str().to_string(),
                    record.conversation.as_str().to_string(),
                    record.at_ms,
                    json(&record.call),
                )
            })
            .collect();
        Rows {
            conversations,
            events,
            sessions,
            offline_messages,
            outbox,
            clock_offset_ms: changes.clock.then(|| store.clock_offset_ms()),
            purged_sessions: changes
                .purged
                .iter()
                .map(|(token, _)| token.as_str().to_string())
                .collect(),
            purged_conversations: changes
                .purged
                .iter()
                .flat_map(|(_, conversations)| conversations.iter())
                .map(|id| id.as_str().to_string())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
            && self.events.is_empty()
            && self.sessions.is_empty()
            && self.offline_messages.is_empty()
            && self.outbox.is_empty()
            && self.clock_offset_ms.is_none()
            && self.purged_sessions.is_empty()
    }

    /// Writes these rows inside `tx`. Writing them twice changes nothing, so a batch that
    /// failed is simply written again with the next.
    fn write(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
        for c in &self.conversations {
            tx.execute(
                "INSERT INTO conversations (id, token, phase, agent, agent_name, answers, request, \
                 message_request, rating, replies_said, channel, handled_by, channel_state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                 ON CONFLICT(id) DO UPDATE SET phase = ?3, agent = ?4, agent_name = ?5, \
                 answers = ?6, request = ?7, message_request = ?8, rating = ?9, \
                 replies_said = ?10, channel = ?11, handled_by = ?12, channel_state = ?13",
                params![
                    c.id,
                    c.token,
                    c.phase,
                    c.agent,
                    c.agent_name,
                    c.answers,
                    c.request,
                    c.message_request,
                    c.rating,
                    c.replies_said,
                    c.channel,
                    c.handled_by,
                    c.channel_state,
                ],
            )?;
        }
        for (conversation, seq, at_ms, event) in &self.events {
            tx.execute(
                "INSERT OR IGNORE INTO events (conversation, seq, at_ms, event) VALUES (?1, ?2, ?3, ?4)",
                params![conversation, seq, at_ms, event],
            )?;
        }
        for (token, current, past, identity) in &self.sessions {
            tx.execute(
                "INSERT INTO sessions (token, current, past, identity) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(token) DO UPDATE SET current = ?2, past = ?3, identity = ?4",
                params![token, current, past, identity],
            )?;
        }
        for (conversation, answers, text, at_ms) in &self.offline_messages {
            tx.execute(
                "INSERT INTO offline_messages (conversation, answers, text, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![conversation, answers, text, at_ms],
            )?;
        }
        for (channel, conversation, at_ms, call) in &self.outbox {
            tx.execute(
                "INSERT INTO outbox (channel, conversation, at_ms, call) VALUES (?1, ?2, ?3, ?4)",
                params![channel, conversation, at_ms, call],
            )?;
        }
        if let Some(offset) = self.clock_offset_ms {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('clock_offset_ms', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = ?1",
                params![offset],
            )?;
        }
        // Last, so rows of a conversation written and forgotten in one go end up gone.
        for token in &self.purged_sessions {
            tx.execute("DELETE FROM sessions WHERE token = ?1", params![token])?;
        }
        for id in &self.purged_conversations {
            tx.execute("DELETE FROM events WHERE conversation = ?1", params![id])?;
            tx.execute("DELETE FROM conversations WHERE id = ?1", params![id])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Appended;
    use porchlight_protocol::{
        Answers, Author, AuthorKind, ConversationEvent, FieldName, MessageId,
    };

    /// A fresh database path under the system's temp folder.
    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "porchlight-persist-{}-{name}-{}",
            std::process::id(),
            crate::store::random_id()
        ));
        dir.join("db.sqlite3")
    }

    fn said(id: Option<&str>, text: &str) -> ConversationEvent {
        ConversationEvent::MessageReceived {
            id: id.map(|i| MessageId::new(i).expect("id")),
            author: Author {
                kind: AuthorKind::Visitor,
                name: "You".into(),
            },
            text: text.into(),
            choices: Vec::new(),
        }
    }

    /// The rows for what `store` changed since the last call.
    fn rows(store: &mut Store) -> Rows {
        let changes = store.take_changes();
        Rows::read(store, &changes)
    }

    fn save(database: &mut Database, store: &mut Store) {
        let rows = rows(store);
        database.commit(&[rows]).expect("write");
    }

    #[tokio::test]
    async fn the_whole_store_survives_a_reopen() {
        let path = temp_db("roundtrip");
        let (mut database, mut store) = Database::open(&path).expect("open");
        let (token, first) = store.create_session();
        store.append(&first, said(None, "Hi!"));
        store.append_once(
            &first,
            &MessageId::new("m1").expect("id"),
            said(Some("m1"), "hello"),
        );
        if let Some(conv) = store.conversation_mut(&first) {
            conv.answers = [(
                FieldName::new("email").expect("name"),
                "ada@example.com".to_string(),
            )]
            .into_iter()
            .collect();
            conv.request = Some(RequestId::new("r1").expect("id"));
            conv.rating = Some(Rating {
                stars: 4,
                comment: Some("kind".into()),
            });
            conv.replies_said = 2;
        }
        store.set_phase(&first, Phase::Ended { rated: true }, Instant::now());
        store.leave_message(OfflineMessage {
            conversation: first.clone(),
            answers: Answers::new(),
            text: "call me".into(),
            at_ms: 7,
        });
        save(&mut database, &mut store);
        let second = store.start_new(&token).expect("session");
        store.set_phase(
            &second,
            Phase::Live {
                agent: AgentId::new("ann").expect("id"),
                name: "Ann".into(),
            },
            Instant::now(),
        );
        save(&mut database, &mut store);
        drop(database);

        let (_, back) = Database::open(&path).expect("reopen");
        assert_eq!(
            back.session_parts(&token),
            Some((second.clone(), vec![first.clone()]))
        );
        let old = back.conversation(&first).expect("first conversation");
        let texts: Vec<_> = old
            .events
            .iter()
            .map(|e| (e.seq, e.event.clone()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (Seq(1), said(None, "Hi!")),
                (Seq(2), said(Some("m1"), "hello"))
            ]
        );
        assert_eq!(old.phase, Phase::Ended { rated: true });
        assert_eq!(old.answers.len(), 1);
        assert_eq!(old.request, Some(RequestId::new("r1").expect("id")));
        assert_eq!(old.rating.as_ref().map(|r| r.stars), Some(4));
        assert_eq!(old.replies_said, 2);
        assert_eq!(back.offline_messages().len(), 1);
        assert_eq!(back.offline_messages()[0].text, "call me");
        assert!(matches!(
            back.conversation(&second).map(|c| &c.phase),
            Some(Phase::Live { name, .. }) if name == "Ann"
        ));
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn a_resent_message_id_is_still_known_after_a_reopen() {
        let path = temp_db("resend");
        let (mut database, mut store) = Database::open(&path).expect("open");
        let (_, conv) = store.create_session();
        let id = MessageId::new("m1").expect("id");
        store.append_once(&conv, &id, said(Some("m1"), "once"));
        save(&mut database, &mut store);
        drop(database);
        let (_, mut back) = Database::open(&path).expect("reopen");
        assert_eq!(
            back.append_once(&conv, &id, said(Some("m1"), "once")),
            Some(Appended::Duplicate(Seq(1)))
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn every_phase_is_read_back_and_waiting_ones_wait_from_the_reopen() {
        let path = temp_db("phases");
        let (mut database, mut store) = Database::open(&path).expect("open");
        let earlier = Instant::now();
        let phases = [
            Phase::Bot,
            Phase::Queued {
                position: 3,
                since: earlier,
            },
            Phase::Connecting { since: earlier },
            Phase::Live {
                agent: AgentId::new("ann").expect("id"),
                name: "Ann".into(),
            },
            Phase::Missed,
            Phase::MessageLeft,
            Phase::Ended { rated: false },
            Phase::Ended { rated: true },
        ];
        let mut ids = Vec::new();
        for phase in &phases {
            let (_, conv) = store.create_session();
            store.set_phase(&conv, phase.clone(), earlier);
            ids.push(conv);
        }
        save(&mut database, &mut store);
        drop(database);

        let reopened = Instant::now();
        let (_, back) = Database::open(&path).expect("reopen");
        let read: Vec<Phase> = ids
            .iter()
            .filter_map(|id| back.conversation(id).map(|c| c.phase.clone()))
            .collect();
        assert_eq!(read.len(), phases.len());
        for (before, after) in phases.iter().zip(&read) {
            match (before, after) {
                (Phase::Queued { .. }, Phase::Queued { since, .. })
                | (Phase::Connecting { .. }, Phase::Connecting { since }) => {
                    assert!(*since >= reopened, "a waiting chat waits afresh");
                }
                _ => assert_eq!(before, after),
            }
        }
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn the_journal_is_wal_with_normal_sync() {
        let path = temp_db("journal");
        let (database, _) = Database::open(&path).expect("open");
        let pragma = |name: &str| -> String {
            database
                .connection
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .expect("pragma")
        };
        assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
        assert_eq!(pragma("synchronous"), "Integer(1)", "1 is NORMAL");
        drop(database);
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn a_failed_batch_is_written_whole_with_the_next_one() {
        let path = temp_db("retry");
        let (mut database, mut store) = Database::open(&path).expect("open");
        let (token, conv) = store.create_session();
        store.append(&conv, said(None, "Hi!"));
        let failed = rows(&mut store);
        database
            .connection
            .pragma_update(None, "query_only", true)
            .expect("pragma");
        assert!(database.commit(std::slice::from_ref(&failed)).is_err());
        database
            .connection
            .pragma_update(None, "query_only", false)
            .expect("pragma");
        store.append(&conv, said(None, "still here?"));
        let next = rows(&mut store);
        database.commit(&[failed, next]).expect("write");
        drop(database);

        let (_, back) = Database::open(&path).expect("reopen");
        assert_eq!(back.session(&token), Some(conv.clone()));
        assert_eq!(
            back.events_after(&conv, Seq(0))
                .into_iter()
                .map(|e| e.event)
                .collect::<Vec<_>>(),
            vec![said(None, "Hi!"), said(None, "still here?")]
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn a_second_server_on_the_same_database_is_refused_until_the_first_closes_it() {
        let path = temp_db("lock");
        let (first, _) = Database::open(&path).expect("open");
        match Database::open(&path) {
            Err(err @ PersistError::InUse { .. }) => {
                assert!(
                    err.to_string()
                        .contains("in use by another Porchlight server")
                )
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("two servers on one database"),
        }
        drop(first);
        assert!(
            Database::open(&path).is_ok(),
            "free once the first is closed"
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn a_database_of_a_newer_server_is_refused_and_an_older_one_is_upgraded() {
        let path = temp_db("schema");
        {
            let (_, _) = Database::open(&path).expect("open");
        }
        let version = |path: &Path| -> i64 {
            Connection::open(path)
                .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
                .expect("read the version")
        };
        assert_eq!(version(&path), SCHEMA_VERSION);
        Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
            .expect("pretend a newer server wrote it");
        let refused = Database::open(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("newer"), "{refused}");
        // A database of the first schema (no version, no channel columns) opens and gains them.
        let old = temp_db("schema-1");
        if let Some(folder) = old.parent() {
            std::fs::create_dir_all(folder).expect("a folder");
        }
        Connection::open(&old)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TABLE conversations (id TEXT PRIMARY KEY, token TEXT NOT NULL, \
                     phase TEXT NOT NULL, agent TEXT, agent_name TEXT, answers TEXT NOT NULL, \
                     request TEXT, message_request TEXT, rating TEXT, replies_said INTEGER NOT NULL);\
                     INSERT INTO conversations VALUES ('c1', 't1', 'bot', NULL, NULL, '{}', NULL, NULL, NULL, 0);",
                )
            })
            .expect("an old database");
        let (_, store) = Database::open(&old).expect("an old database opens");
        let conversation = ConversationId::new("c1").expect("id");
        assert_eq!(
            store
                .conversation(&conversation)
                .map(|c| c.channel.as_str()),
            Some("web")
        );
        assert_eq!(version(&old), SCHEMA_VERSION);
        // A database of schema 2 (sessions without identities) gains the column.
        let two = temp_db("schema-2");
        if let Some(folder) = two.parent() {
            std::fs::create_dir_all(folder).expect("a folder");
        }
        Connection::open(&two)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TABLE sessions (token TEXT PRIMARY KEY, current TEXT NOT NULL, past TEXT NOT NULL);\
                     INSERT INTO sessions VALUES ('t2', 'c2', '[]');\
                     PRAGMA user_version = 2;",
                )
            })
            .expect("a schema-2 database");
        let (_, store) = Database::open(&two).expect("a schema-2 database opens");
        let token = SessionToken::new("t2").expect("token");
        assert!(store.session(&token).is_some());
        assert_eq!(store.identity(&token), None);
        assert_eq!(version(&two), SCHEMA_VERSION);
        let _ = std::fs::remove_file(&two);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&old);
    }

    #[test]
    fn a_database_that_cannot_be_created_is_a_clear_error() {
        let blocked = temp_db("blocked");
        let folder = blocked.parent().expect("folder").to_path_buf();
        std::fs::create_dir_all(folder.parent().expect("temp")).expect("temp");
        std::fs::write(&folder, "a file where the folder should be").expect("file");
        let err = Database::open(&blocked).err().expect("an error");
        assert!(
            err.to_string().contains("cannot create the folder"),
            "{err}"
        );
        let _ = std::fs::remove_file(&folder);
    }
}
