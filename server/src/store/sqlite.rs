//! The embedded engine: one SQLite file, written by one server process (a lock file beside
//! it keeps a second one out). The journal is WAL with `synchronous=NORMAL`: a committed
//! transaction survives the process dying (not the machine losing power). Statements are
//! the shared ones of [`sql`](super::sql); this module opens the file, brings its schema up
//! to date and runs them.

use super::database::PersistError;
use super::sql::{Dialect, Sql, SqlError, Value};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::path::{Path, PathBuf};

/// The schema this server writes, kept in SQLite's `user_version`. 1 was the first (before
/// channels), 2 before identities; older databases are brought up to date when opened, newer ones refused.
pub const SCHEMA_VERSION: i64 = 4;

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
    ("sessions", "user_id", "TEXT"),
];

/// Indexes for what is read on demand, and the verified users of sessions written before
/// schema 4 kept them apart.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS conversations_phase ON conversations (phase);
UPDATE sessions SET user_id = json_extract(identity, '$.user_id')
    WHERE user_id IS NULL AND identity IS NOT NULL AND json_extract(identity, '$.verified');
";

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

/// An open SQLite database.
pub struct Sqlite {
    pub(crate) connection: Connection,
    /// Held open for the lock on it (see [`lock`]); a reader takes none.
    _lock: Option<std::fs::File>,
}

impl Sqlite {
    /// Opens (creating if needed, with its folders) the database at `path`, with writes
    /// waiting at most `busy_timeout` for another connection's lock, and brings its schema
    /// up to date.
    pub fn open(path: &Path, busy_timeout: std::time::Duration) -> Result<Sqlite, PersistError> {
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
                database: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
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
        connection.execute_batch(INDEXES).map_err(sqlite)?;
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sqlite)?;
        Ok(Sqlite {
            connection,
            _lock: Some(lock),
        })
    }

    /// A second connection to the database the writer opened at `path`, for reads only.
    pub fn open_reader(
        path: &Path,
        busy_timeout: std::time::Duration,
    ) -> Result<Sqlite, PersistError> {
        let sqlite = |source| PersistError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let connection = Connection::open(path).map_err(sqlite)?;
        connection.busy_timeout(busy_timeout).map_err(sqlite)?;
        connection
            .pragma_update(None, "query_only", true)
            .map_err(sqlite)?;
        Ok(Sqlite {
            connection,
            _lock: None,
        })
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::NullText | Value::NullInt => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

impl Sql for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, SqlError> {
        let mut statement = self.connection.prepare_cached(sql)?;
        Ok(statement.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, SqlError> {
        let mut statement = self.connection.prepare_cached(sql)?;
        let columns = statement.column_count();
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => Value::NullText,
                        ValueRef::Integer(n) => Value::Int(n),
                        ValueRef::Real(x) => Value::Text(x.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Value::Text(String::from_utf8_lossy(t).into_owned())
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<Value>>>()
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn batch(&mut self, sql: &str) -> Result<(), SqlError> {
        Ok(self.connection.execute_batch(sql)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::database::Database;
    use crate::store::sql::{self, Rows};
    use crate::store::{Appended, Conversation, OfflineMessage, Phase, Rating, Store};
    use porchlight_protocol::{AgentId, ConversationId, RequestId, Seq, SessionToken};
    use tokio::time::Instant;

    fn open(path: &Path) -> Result<(Database, Store), PersistError> {
        Database::open_sqlite(path, BUSY_TIMEOUT)
    }

    /// A conversation as the database holds it.
    fn stored(database: &mut Database, id: &ConversationId) -> Option<Conversation> {
        sql::conversation(database.sql(), id).expect("read")
    }
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
        let (mut database, mut store) = open(&path).expect("open");
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

        let (mut database, back) = open(&path).expect("reopen");
        assert_eq!(
            back.session_parts(&token),
            Some((second.clone(), vec![first.clone()])),
            "a session with a live chat is held at start"
        );
        assert!(back.conversation(&first).is_none(), "history stays stored");
        assert_eq!(
            sql::session(database.sql(), &token)
                .expect("read")
                .map(|s| (s.current, s.past)),
            Some((second.clone(), vec![first.clone()]))
        );
        let old = stored(&mut database, &first).expect("first conversation");
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
        let (mut database, mut store) = open(&path).expect("open");
        let (token, conv) = store.create_session();
        let id = MessageId::new("m1").expect("id");
        store.append_once(&conv, &id, said(Some("m1"), "once"));
        save(&mut database, &mut store);
        drop(database);
        let (mut database, mut back) = open(&path).expect("reopen");
        let (token, current) = (
            sql::session(
                database.sql(),
                &SessionToken::new(token.as_str()).expect("token"),
            )
            .expect("read")
            .expect("stored"),
            stored(&mut database, &conv).expect("stored"),
        );
        back.adopt(token, vec![(conv.clone(), current)]);
        assert_eq!(
            back.append_once(&conv, &id, said(Some("m1"), "once")),
            Some(Appended::Duplicate(Seq(1)))
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn every_phase_is_read_back_and_waiting_ones_wait_from_the_reopen() {
        let path = temp_db("phases");
        let (mut database, mut store) = open(&path).expect("open");
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
        let (mut database, back) = open(&path).expect("reopen");
        let held: Vec<&ConversationId> = ids
            .iter()
            .filter(|id| back.conversation(id).is_some())
            .collect();
        assert_eq!(
            held,
            vec![&ids[1], &ids[2], &ids[3]],
            "only what waits or talks"
        );
        let read: Vec<Phase> = ids
            .iter()
            .filter_map(|id| stored(&mut database, id).map(|c| c.phase))
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
        let (database, _) = open(&path).expect("open");
        let pragma = |name: &str| -> String {
            database
                .sqlite_connection()
                .expect("sqlite")
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
        let (mut database, mut store) = open(&path).expect("open");
        let (token, conv) = store.create_session();
        store.append(&conv, said(None, "Hi!"));
        let failed = rows(&mut store);
        database
            .sqlite_connection()
            .expect("sqlite")
            .pragma_update(None, "query_only", true)
            .expect("pragma");
        assert!(database.commit(std::slice::from_ref(&failed)).is_err());
        database
            .sqlite_connection()
            .expect("sqlite")
            .pragma_update(None, "query_only", false)
            .expect("pragma");
        store.append(&conv, said(None, "still here?"));
        let next = rows(&mut store);
        database.commit(&[failed, next]).expect("write");
        drop(database);

        let (mut database, _) = open(&path).expect("reopen");
        assert_eq!(
            sql::session(database.sql(), &token)
                .expect("read")
                .map(|s| s.current),
            Some(conv.clone())
        );
        assert_eq!(
            stored(&mut database, &conv)
                .expect("stored")
                .events
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
        let (first, _) = open(&path).expect("open");
        match open(&path) {
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
        assert!(open(&path).is_ok(), "free once the first is closed");
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }

    #[tokio::test]
    async fn a_database_of_a_newer_server_is_refused_and_an_older_one_is_upgraded() {
        let path = temp_db("schema");
        {
            let (_, _) = open(&path).expect("open");
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
        let refused = open(&path).err().map(|e| e.to_string()).unwrap_or_default();
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
        let (mut database, _) = open(&old).expect("an old database opens");
        let conversation = ConversationId::new("c1").expect("id");
        assert_eq!(
            stored(&mut database, &conversation).map(|c| c.channel.as_str().to_string()),
            Some("web".to_string())
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
        let (mut database, _) = open(&two).expect("a schema-2 database opens");
        let token = SessionToken::new("t2").expect("token");
        let session = sql::session(database.sql(), &token)
            .expect("read")
            .expect("stored");
        assert_eq!(session.identity, None);
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
        let err = open(&blocked).err().expect("an error");
        assert!(
            err.to_string().contains("cannot create the folder"),
            "{err}"
        );
        let _ = std::fs::remove_file(&folder);
    }
}
