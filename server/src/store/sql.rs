//! What the two engines share: the rows one desk operation changed ([`Rows`]), how they are
//! written, and how the store is read back — each statement written once, for SQLite and
//! PostgreSQL alike. An engine only runs statements ([`Sql`]); where the dialects differ
//! (the column that orders rows by insertion) it says so in its [`Dialect`].
//!
//! Statements number their parameters `$1`, `$2`, … in order of first use: PostgreSQL
//! reads them so, and SQLite binds `$N` by the order it first meets them.

use crate::channels::outbound::OutboxRecord;
use crate::store::{Changes, Conversation, OfflineMessage, Phase, Rating, Store, StoredEvent};
use porchlight_protocol::{AgentId, ChannelId, ConversationId, RequestId, Seq, SessionToken};
use tokio::time::Instant;

/// One parameter or column value. Nulls are typed, as PostgreSQL wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
    NullText,
    NullInt,
}

impl Value {
    fn text(value: Option<&str>) -> Value {
        value.map_or(Value::NullText, |v| Value::Text(v.to_string()))
    }

    /// An unsigned count or time; past `i64::MAX` (never in practice) it is capped.
    pub(crate) fn count(value: u64) -> Value {
        Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
}

/// What differs between the engines' SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The column that orders a table's rows as they were first inserted.
    pub fn insertion_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "ord",
        }
    }

    /// The text member `field` of the JSON object in `column`.
    fn json_member(self, column: &str, field: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{field}')"),
            Dialect::Postgres => format!("({column}::json ->> '{field}')"),
        }
    }

    /// Whether any value of the JSON object (of strings) in `column` is LIKE `pattern`.
    fn any_value_like(self, column: &str, pattern: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each({column}) WHERE LOWER(value) LIKE {pattern} ESCAPE '\\')"
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM json_each_text({column}::json) AS a WHERE LOWER(a.value) LIKE {pattern} ESCAPE '\\')"
            ),
        }
    }
}

/// A connection that runs statements: each engine's one implementation.
pub trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, SqlError>;
    /// Every row a query returns, each as its columns' values.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, SqlError>;
    /// Runs statements with no parameters, such as `BEGIN` or a schema.
    fn batch(&mut self, sql: &str) -> Result<(), SqlError>;
}

/// Why what was read back is not what this server writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an invalid {what}: {detail}")]
pub struct Invalid {
    pub what: &'static str,
    pub detail: String,
}

impl Invalid {
    pub fn new(what: &'static str, detail: impl Into<String>) -> Invalid {
        Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// Why reading the store back failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

fn invalid(what: &'static str) -> impl Fn(String) -> Invalid {
    move |detail| Invalid { what, detail }
}

/// Reads column values by kind, each failure naming what it read.
struct Columns(Vec<Value>);

impl Columns {
    fn take(&mut self, i: usize) -> Value {
        self.0
            .get_mut(i)
            .map_or(Value::NullText, |v| std::mem::replace(v, Value::NullText))
    }

    fn text(&mut self, i: usize, what: &'static str) -> Result<String, Invalid> {
        self.opt_text(i, what)?
            .ok_or_else(|| invalid(what)("missing".into()))
    }

    fn opt_text(&mut self, i: usize, what: &'static str) -> Result<Option<String>, Invalid> {
        match self.take(i) {
            Value::Text(s) => Ok(Some(s)),
            Value::NullText | Value::NullInt => Ok(None),
            Value::Int(n) => Err(invalid(what)(format!("a number ({n}) where text belongs"))),
        }
    }

    fn count(&mut self, i: usize, what: &'static str) -> Result<u64, Invalid> {
        match self.take(i) {
            Value::Int(n) => u64::try_from(n).map_err(|_| invalid(what)(format!("{n}"))),
            other => Err(invalid(what)(format!("{other:?} where a number belongs"))),
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T, Invalid> {
    serde_json::from_str(text).map_err(|e| invalid(what)(e.to_string()))
}

fn id<T, E: std::fmt::Display>(
    what: &'static str,
    make: impl FnOnce(String) -> Result<T, E>,
    raw: String,
) -> Result<T, Invalid> {
    make(raw).map_err(|e| invalid(what)(e.to_string()))
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

/// The columns of a `conversations` row, as [`conversation_from`] reads them.
pub const CONVERSATION_COLUMNS: &str = "id, token, phase, agent, agent_name, answers, request, \
     message_request, rating, replies_said, channel, handled_by, channel_state";

/// The phases a conversation waits or talks in: what the desk must hold in memory.
pub const LIVE_PHASES: &str = "('queued', 'connecting', 'live')";

/// The phases of a conversation that is over: history.
pub const CLOSED_PHASES: &str = "('missed', 'message_left', 'ended', 'ended_rated')";

/// How many of its first events a history row reads: enough for the visitor's first words.
const ROW_EVENTS: usize = 20;

/// A conversation for a folder row: its first [`ROW_EVENTS`] events and its last, not
/// all of them (so never one to hold or write back), and who its visitor said they are.
pub struct RowConversation {
    pub id: ConversationId,
    pub conversation: Conversation,
    pub identity: Option<porchlight_protocol::KnownIdentity>,
}

/// The conversations `sql` selects ([`CONVERSATION_COLUMNS`] first), for folder rows.
fn rows_of(
    db: &mut dyn Sql,
    sql: &str,
    params: &[Value],
) -> Result<Vec<RowConversation>, ReadError> {
    let now = Instant::now();
    let rows = db.query(sql, params)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let raw_id = match row.first() {
            Some(Value::Text(id)) => id.clone(),
            _ => return Err(invalid("conversation id")("missing".into()).into()),
        };
        let mut events = db
            .query(
                "SELECT seq, at_ms, event FROM events WHERE conversation = $1 ORDER BY seq LIMIT $2",
                &[Value::Text(raw_id.clone()), Value::count(ROW_EVENTS as u64)],
            )?
            .into_iter()
            .map(event_from)
            .collect::<Result<Vec<_>, _>>()?;
        let last = db.query(
            "SELECT seq, at_ms, event FROM events WHERE conversation = $1 ORDER BY seq DESC LIMIT 1",
            &[Value::Text(raw_id)],
        )?;
        if let Some(last) = last.into_iter().next().map(event_from).transpose()?
            && events.last().is_none_or(|e| e.seq < last.seq)
        {
            events.push(last);
        }
        let (id, conversation) = conversation_from(row, events, now, false)?;
        let identity = session(db, &conversation.token)?.and_then(|s| s.identity);
        found.push(RowConversation {
            id,
            conversation,
            identity,
        });
    }
    Ok(found)
}

/// The newest `limit` conversations that are over, newest first.
pub fn newest_closed(db: &mut dyn Sql, limit: usize) -> Result<Vec<RowConversation>, ReadError> {
    let order = db.dialect().insertion_order();
    rows_of(
        db,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE phase IN {CLOSED_PHASES} \
             ORDER BY {order} DESC LIMIT $1"
        ),
        &[Value::count(limit as u64)],
    )
}

/// Conversations that are over whose pre-chat answers or messages hold `query`
/// (case-insensitive), newest first, at most `limit`.
pub fn search_closed(
    db: &mut dyn Sql,
    query: &str,
    limit: usize,
) -> Result<Vec<RowConversation>, ReadError> {
    let dialect = db.dialect();
    let order = dialect.insertion_order();
    let needle = query.trim().to_lowercase();
    let escaped: String = needle
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let text = dialect.json_member("e.event", "text");
    let answers = dialect.any_value_like("c.answers", "$1");
    rows_of(
        db,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.phase IN {CLOSED_PHASES} \
             AND ($1 = '%%' OR {answers} OR EXISTS (SELECT 1 FROM events e \
             WHERE e.conversation = c.id AND LOWER({text}) LIKE $1 ESCAPE '\\')) \
             ORDER BY c.{order} DESC LIMIT $2"
        ),
        &[
            Value::Text(format!("%{escaped}%")),
            Value::count(limit as u64),
        ],
    )
}

/// An event row (`seq, at_ms, event`).
fn event_from(row: Vec<Value>) -> Result<StoredEvent, Invalid> {
    let mut row = Columns(row);
    Ok(StoredEvent {
        seq: Seq(row.count(0, "event seq")?),
        at_ms: row.count(1, "event time")?,
        event: from_json("event", &row.text(2, "event")?)?,
    })
}

/// The events of `conversation` after `after`, in seq order: at most `limit`, and while
/// `budget` (bytes of JSON, spent here) lasts — at least one.
pub fn events_after(
    db: &mut dyn Sql,
    conversation: &ConversationId,
    after: Seq,
    limit: usize,
    budget: &mut usize,
) -> Result<Vec<StoredEvent>, ReadError> {
    let rows = db.query(
        "SELECT seq, at_ms, event FROM events WHERE conversation = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3",
        &[
            Value::Text(conversation.as_str().to_string()),
            Value::count(after.0),
            Value::count(limit as u64),
        ],
    )?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        // The event's JSON and the record around it (seq, at_ms, their names).
        let size = match row.get(2) {
            Some(Value::Text(json)) => json.len() + RECORD_OVERHEAD,
            _ => RECORD_OVERHEAD,
        };
        if size > *budget && !events.is_empty() {
            *budget = 0;
            break;
        }
        *budget = budget.saturating_sub(size);
        events.push(event_from(row)?);
    }
    Ok(events)
}

/// What an event record adds to its event's JSON: `{"seq":…,"at_ms":…,"event":…}`.
const RECORD_OVERHEAD: usize = 64;

/// The session `conversation` belongs to, if stored.
pub fn conversation_token(
    db: &mut dyn Sql,
    conversation: &ConversationId,
) -> Result<Option<SessionToken>, ReadError> {
    let rows = db.query(
        "SELECT token FROM conversations WHERE id = $1",
        &[Value::Text(conversation.as_str().to_string())],
    )?;
    match rows.into_iter().next() {
        Some(row) => Ok(Some(id(
            "token",
            SessionToken::new,
            Columns(row).text(0, "token")?,
        )?)),
        None => Ok(None),
    }
}

/// A `conversations` row ([`CONVERSATION_COLUMNS`]) with its events, as the store holds
/// it. A chat that was waiting for an agent waits again from `now`.
fn conversation_from(
    row: Vec<Value>,
    events: Vec<StoredEvent>,
    now: Instant,
    whole: bool,
) -> Result<(ConversationId, Conversation), Invalid> {
    let mut row = Columns(row);
    let raw_id = row.text(0, "conversation id")?;
    if whole
        && events
            .iter()
            .enumerate()
            .any(|(i, e)| e.seq.0 != i as u64 + 1)
    {
        return Err(invalid("event sequence")(format!("{raw_id} has a gap")));
    }
    let request_id = |what, r: Option<String>| r.map(|r| id(what, RequestId::new, r)).transpose();
    let token = id("token", SessionToken::new, row.text(1, "token")?)?;
    let mut conv = Conversation::blank(token);
    conv.events = events;
    let phase = row.text(2, "phase")?;
    conv.phase = phase_from(
        &phase,
        row.opt_text(3, "agent")?,
        row.opt_text(4, "agent name")?,
        now,
    )
    .ok_or_else(|| invalid("phase")(phase))?;
    conv.answers = from_json("answers", &row.text(5, "answers")?)?;
    conv.request = request_id("request id", row.opt_text(6, "request id")?)?;
    conv.message_request = request_id("request id", row.opt_text(7, "request id")?)?;
    conv.rating = row
        .opt_text(8, "rating")?
        .map(|r| from_json::<Rating>("rating", &r))
        .transpose()?;
    conv.replies_said = usize::try_from(row.count(9, "replies said")?).unwrap_or(usize::MAX);
    conv.channel = id("channel id", ChannelId::new, row.text(10, "channel id")?)?;
    conv.handled_by = row
        .opt_text(11, "agent id")?
        .map(|a| id("agent id", AgentId::new, a))
        .transpose()?;
    conv.channel_state = row
        .opt_text(12, "channel state")?
        .map(|s| from_json("channel state", &s))
        .transpose()?;
    Ok((id("conversation id", ConversationId::new, raw_id)?, conv))
}

/// The conversations `sql` selects ([`CONVERSATION_COLUMNS`] first), each with all its
/// events, in the order selected.
pub fn conversations(
    db: &mut dyn Sql,
    sql: &str,
    params: &[Value],
) -> Result<Vec<(ConversationId, Conversation)>, ReadError> {
    let now = Instant::now();
    let rows = db.query(sql, params)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let raw_id = match row.first() {
            Some(Value::Text(id)) => id.clone(),
            _ => return Err(invalid("conversation id")("missing".into()).into()),
        };
        let events = db
            .query(
                "SELECT seq, at_ms, event FROM events WHERE conversation = $1 ORDER BY seq",
                &[Value::Text(raw_id)],
            )?
            .into_iter()
            .map(event_from)
            .collect::<Result<Vec<_>, _>>()?;
        found.push(conversation_from(row, events, now, true)?);
    }
    Ok(found)
}

/// Conversation `id` as stored, with only the events after `after`, if stored.
pub fn conversation_since(
    db: &mut dyn Sql,
    id: &ConversationId,
    after: Seq,
) -> Result<Option<Conversation>, ReadError> {
    let rows = db.query(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"),
        &[Value::Text(id.as_str().to_string())],
    )?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let events = db
        .query(
            "SELECT seq, at_ms, event FROM events WHERE conversation = $1 AND seq > $2 \
             ORDER BY seq",
            &[Value::Text(id.as_str().to_string()), Value::count(after.0)],
        )?
        .into_iter()
        .map(event_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        conversation_from(row, events, Instant::now(), false)?.1,
    ))
}

/// The ids of every conversation waiting for or talking with an agent.
pub fn live_conversation_ids(db: &mut dyn Sql) -> Result<Vec<ConversationId>, ReadError> {
    let rows = db.query(
        &format!("SELECT id FROM conversations WHERE phase IN {LIVE_PHASES}"),
        &[],
    )?;
    rows.into_iter()
        .map(|row| {
            let raw = Columns(row).text(0, "conversation id")?;
            Ok(id("conversation id", ConversationId::new, raw)?)
        })
        .collect()
}

/// One conversation with its events, if stored.
pub fn conversation(
    db: &mut dyn Sql,
    conversation: &ConversationId,
) -> Result<Option<Conversation>, ReadError> {
    Ok(conversations(
        db,
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"),
        &[Value::Text(conversation.as_str().to_string())],
    )?
    .pop()
    .map(|(_, conv)| conv))
}

/// The `columns` of the newest `limit` rows of `table`, oldest of them first.
fn newest(
    db: &mut dyn Sql,
    columns: &str,
    table: &str,
    limit: usize,
) -> Result<Vec<Vec<Value>>, SqlError> {
    let order = db.dialect().insertion_order();
    db.query(
        &format!(
            "SELECT {columns} FROM (SELECT {columns}, {order} AS n FROM {table} \
             ORDER BY {order} DESC LIMIT $1) AS newest ORDER BY n"
        ),
        &[Value::count(limit as u64)],
    )
}

/// A conversation's id, status as the control API names it, and rating.
pub type ConversationStatus = (ConversationId, &'static str, Option<Rating>);

/// The newest `limit` conversations as `(id, status, rating)`, oldest of them first; the
/// status as the control API names it (`ended` whether rated or not).
pub fn conversation_statuses(
    db: &mut dyn Sql,
    limit: usize,
) -> Result<Vec<ConversationStatus>, ReadError> {
    let rows = newest(db, "id, phase, rating", "conversations", limit)?;
    let now = Instant::now();
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let mut row = Columns(row);
        let conversation = id(
            "conversation id",
            ConversationId::new,
            row.text(0, "conversation id")?,
        )?;
        let phase = row.text(1, "phase")?;
        // A live chat's agent does not change its name.
        let status = phase_from(&phase, Some("agent".into()), Some(String::new()), now)
            .ok_or_else(|| invalid("phase")(phase))?
            .name();
        let rating = row
            .opt_text(2, "rating")?
            .map(|r| from_json::<Rating>("rating", &r))
            .transpose()?;
        found.push((conversation, status, rating));
    }
    Ok(found)
}

/// A session as stored: its current conversation, earlier ones oldest first, identity.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub token: SessionToken,
    pub current: ConversationId,
    pub past: Vec<ConversationId>,
    pub identity: Option<porchlight_protocol::KnownIdentity>,
}

fn session_from(row: Vec<Value>) -> Result<StoredSession, Invalid> {
    let mut row = Columns(row);
    Ok(StoredSession {
        token: id("token", SessionToken::new, row.text(0, "token")?)?,
        current: id(
            "conversation id",
            ConversationId::new,
            row.text(1, "conversation id")?,
        )?,
        past: from_json("session history", &row.text(2, "session history")?)?,
        identity: row
            .opt_text(3, "session identity")?
            .map(|i| from_json("session identity", &i))
            .transpose()?,
    })
}

/// Session `token`, if stored.
pub fn session(db: &mut dyn Sql, token: &SessionToken) -> Result<Option<StoredSession>, ReadError> {
    let rows = db.query(
        "SELECT token, current, past, identity FROM sessions WHERE token = $1",
        &[Value::Text(token.as_str().to_string())],
    )?;
    Ok(rows.into_iter().next().map(session_from).transpose()?)
}

/// The session of verified user `user_id`, if stored.
pub fn user_session(db: &mut dyn Sql, user_id: &str) -> Result<Option<StoredSession>, ReadError> {
    let rows = db.query(
        "SELECT token, current, past, identity FROM sessions WHERE user_id = $1 LIMIT 1",
        &[Value::Text(user_id.to_string())],
    )?;
    Ok(rows.into_iter().next().map(session_from).transpose()?)
}

/// Reads back what the desk must hold at start: the sessions whose current conversation
/// waits for or talks with an agent, with that conversation; the newest left messages and
/// sends; the clock. Everything else stays in the database until asked for.
pub fn read_store(db: &mut dyn Sql) -> Result<Store, ReadError> {
    let order = db.dialect().insertion_order();
    let mut store = Store::default();
    let live = conversations(
        db,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE phase IN {LIVE_PHASES} \
             ORDER BY {order}"
        ),
        &[],
    )?;
    let mut tokens = std::collections::BTreeSet::new();
    for (id, conv) in live {
        tokens.insert(conv.token.clone());
        store.restore_conversation(id, conv);
    }
    for token in tokens {
        // A social channel's conversation belongs to no stored session.
        if let Some(stored) = session(db, &token)? {
            store.restore_session(stored);
        }
    }

    let offline = newest(
        db,
        "conversation, answers, text, at_ms",
        "offline_messages",
        crate::store::KEPT_IN_MEMORY,
    )?;
    for row in offline {
        let mut row = Columns(row);
        store.restore_offline_message(OfflineMessage {
            conversation: id(
                "conversation id",
                ConversationId::new,
                row.text(0, "conversation id")?,
            )?,
            answers: from_json("answers", &row.text(1, "answers")?)?,
            text: row.text(2, "left message")?,
            at_ms: row.count(3, "left message time")?,
        });
    }

    let outbox = newest(
        db,
        "channel, conversation, at_ms, call",
        "outbox",
        crate::store::KEPT_IN_MEMORY,
    )?;
    for row in outbox {
        let mut row = Columns(row);
        store.restore_send(
            id("channel id", ChannelId::new, row.text(0, "channel id")?)?,
            OutboxRecord {
                conversation: id(
                    "conversation id",
                    ConversationId::new,
                    row.text(1, "conversation id")?,
                )?,
                at_ms: row.count(2, "send time")?,
                call: from_json("outbox record", &row.text(3, "outbox record")?)?,
            },
        );
    }

    let clock = db.query(
        "SELECT value FROM settings WHERE key = 'clock_offset_ms'",
        &[],
    )?;
    let offset = match clock.into_iter().next() {
        Some(row) => Columns(row).count(0, "clock offset")?,
        None => 0,
    };
    store.restore_clock(offset);
    Ok(store)
}

/// Writes `batches` (oldest first) in one transaction: all of them or, when it fails,
/// none.
pub fn commit(db: &mut dyn Sql, batches: &[Rows]) -> Result<(), SqlError> {
    if batches.iter().all(Rows::is_empty) {
        return Ok(());
    }
    db.batch("BEGIN")?;
    let written = Rows::merged(batches).write(db);
    match written {
        Ok(()) => db.batch("COMMIT"),
        Err(err) => {
            if let Err(rollback) = db.batch("ROLLBACK") {
                tracing::warn!("rolling back a failed write failed too: {rollback}");
            }
            Err(err)
        }
    }
}

/// One `conversations` row to write.
#[derive(Debug, Clone)]
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

/// One `sessions` row to write: token, current conversation, earlier ones (JSON),
/// identity (JSON) and the verified user's id.
type SessionValues = (String, String, String, Option<String>, Option<String>);

/// What one desk operation changed, as the rows to write: read from the store under the
/// desk's lock, written later by the [`writer`](crate::store::writer) thread.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    conversations: Vec<ConversationValues>,
    /// (conversation, seq, at_ms, event JSON)
    events: Vec<(String, u64, u64, String)>,
    sessions: Vec<SessionValues>,
    /// (conversation, answers JSON, text, at_ms)
    offline_messages: Vec<(String, String, String, u64)>,
    /// (channel, conversation, at_ms, call JSON)
    outbox: Vec<(String, String, u64, String)>,
    clock_offset_ms: Option<u64>,
    /// Sessions forgotten, and their conversations.
    purged_sessions: Vec<String>,
    purged_conversations: Vec<String>,
}

/// How many rows one multi-row `INSERT` takes: a batch is written in chunks of these
/// sizes, largest first, so each engine prepares at most four statements per table.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Inserts `rows` (each `width` values) as `{head} VALUES (…), (…) {tail}`, in chunks of
/// [`CHUNKS`] rows.
fn insert_many(
    db: &mut dyn Sql,
    head: &str,
    tail: &str,
    width: usize,
    rows: Vec<Vec<Value>>,
) -> Result<(), SqlError> {
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let n = CHUNKS
            .iter()
            .copied()
            .find(|&c| c <= rest.len())
            .unwrap_or(1);
        let (chunk, later) = rest.split_at(n);
        let tuples: Vec<String> = (0..n)
            .map(|row| {
                let places: Vec<String> = (1..=width)
                    .map(|col| format!("${}", row * width + col))
                    .collect();
                format!("({})", places.join(", "))
            })
            .collect();
        let sql = format!("{head} VALUES {} {tail}", tuples.join(", "));
        let values: Vec<Value> = chunk.iter().flatten().cloned().collect();
        db.execute(sql.trim_end(), &values)?;
        rest = later;
    }
    Ok(())
}

impl Rows {
    /// `batches` (oldest first) as one: each conversation and session once, as the newest
    /// batch has it, so one multi-row statement per table writes them all.
    pub fn merged(batches: &[Rows]) -> Rows {
        let mut merged = Rows::default();
        // Where each conversation and session sits in `merged`.
        let mut conversation_at = std::collections::HashMap::new();
        let mut session_at = std::collections::HashMap::new();
        for rows in batches {
            for c in &rows.conversations {
                match conversation_at.get(&c.id) {
                    Some(&at) => merged.conversations[at] = c.clone(),
                    None => {
                        conversation_at.insert(c.id.clone(), merged.conversations.len());
                        merged.conversations.push(c.clone());
                    }
                }
            }
            merged.events.extend(rows.events.iter().cloned());
            for session in &rows.sessions {
                match session_at.get(&session.0) {
                    Some(&at) => merged.sessions[at] = session.clone(),
                    None => {
                        session_at.insert(session.0.clone(), merged.sessions.len());
                        merged.sessions.push(session.clone());
                    }
                }
            }
            merged
                .offline_messages
                .extend(rows.offline_messages.iter().cloned());
            merged.outbox.extend(rows.outbox.iter().cloned());
            if rows.clock_offset_ms.is_some() {
                merged.clock_offset_ms = rows.clock_offset_ms;
            }
            merged
                .purged_sessions
                .extend(rows.purged_sessions.iter().cloned());
            merged
                .purged_conversations
                .extend(rows.purged_conversations.iter().cloned());
        }
        merged
    }

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
                let identity = store.identity(token);
                Some((
                    token.as_str().to_string(),
                    current.as_str().to_string(),
                    json(&past),
                    identity.map(json),
                    identity.filter(|i| i.verified).map(|i| i.user_id.clone()),
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

    /// Writes these rows inside an open transaction. Writing them twice changes nothing,
    /// so a batch that failed is simply written again with the next.
    pub(crate) fn write(&self, db: &mut dyn Sql) -> Result<(), SqlError> {
        self.write_as(db, false)
    }

    /// Like [`Rows::write`], but an event whose seq is already stored fails the write:
    /// for a decision taken among several processes, where that means it was taken on
    /// stale state.
    pub(crate) fn write_decided(&self, db: &mut dyn Sql) -> Result<(), SqlError> {
        self.write_as(db, true)
    }

    fn write_as(&self, db: &mut dyn Sql, strict: bool) -> Result<(), SqlError> {
        let conversations = self
            .conversations
            .iter()
            .map(|c| {
                vec![
                    Value::Text(c.id.clone()),
                    Value::Text(c.token.clone()),
                    Value::Text(c.phase.to_string()),
                    Value::text(c.agent.as_deref()),
                    Value::text(c.agent_name.as_deref()),
                    Value::Text(c.answers.clone()),
                    Value::text(c.request.as_deref()),
                    Value::text(c.message_request.as_deref()),
                    Value::text(c.rating.as_deref()),
                    Value::count(c.replies_said),
                    Value::Text(c.channel.clone()),
                    Value::text(c.handled_by.as_deref()),
                    Value::text(c.channel_state.as_deref()),
                ]
            })
            .collect();
        insert_many(
            db,
            "INSERT INTO conversations (id, token, phase, agent, agent_name, answers, request, \
             message_request, rating, replies_said, channel, handled_by, channel_state)",
            "ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, agent = excluded.agent, \
             agent_name = excluded.agent_name, answers = excluded.answers, \
             request = excluded.request, message_request = excluded.message_request, \
             rating = excluded.rating, replies_said = excluded.replies_said, \
             channel = excluded.channel, handled_by = excluded.handled_by, \
             channel_state = excluded.channel_state",
            13,
            conversations,
        )?;
        let events = self
            .events
            .iter()
            .map(|(conversation, seq, at_ms, event)| {
                vec![
                    Value::Text(conversation.clone()),
                    Value::count(*seq),
                    Value::count(*at_ms),
                    Value::Text(event.clone()),
                ]
            })
            .collect();
        insert_many(
            db,
            "INSERT INTO events (conversation, seq, at_ms, event)",
            if strict {
                ""
            } else {
                "ON CONFLICT (conversation, seq) DO NOTHING"
            },
            4,
            events,
        )?;
        let sessions = self
            .sessions
            .iter()
            .map(|(token, current, past, identity, user_id)| {
                vec![
                    Value::Text(token.clone()),
                    Value::Text(current.clone()),
                    Value::Text(past.clone()),
                    Value::text(identity.as_deref()),
                    Value::text(user_id.as_deref()),
                ]
            })
            .collect();
        insert_many(
            db,
            "INSERT INTO sessions (token, current, past, identity, user_id)",
            "ON CONFLICT (token) DO UPDATE SET current = excluded.current, \
             past = excluded.past, identity = excluded.identity, user_id = excluded.user_id",
            5,
            sessions,
        )?;
        for (conversation, answers, text, at_ms) in &self.offline_messages {
            db.execute(
                "INSERT INTO offline_messages (conversation, answers, text, at_ms) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    Value::Text(conversation.clone()),
                    Value::Text(answers.clone()),
                    Value::Text(text.clone()),
                    Value::count(*at_ms),
                ],
            )?;
        }
        for (channel, conversation, at_ms, call) in &self.outbox {
            db.execute(
                "INSERT INTO outbox (channel, conversation, at_ms, call) VALUES ($1, $2, $3, $4)",
                &[
                    Value::Text(channel.clone()),
                    Value::Text(conversation.clone()),
                    Value::count(*at_ms),
                    Value::Text(call.clone()),
                ],
            )?;
        }
        if let Some(offset) = self.clock_offset_ms {
            db.execute(
                "INSERT INTO settings (key, value) VALUES ('clock_offset_ms', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[Value::count(offset)],
            )?;
        }
        // Last, so rows of a conversation written and forgotten in one go end up gone.
        for token in &self.purged_sessions {
            db.execute(
                "DELETE FROM sessions WHERE token = $1",
                &[Value::Text(token.clone())],
            )?;
        }
        for id in &self.purged_conversations {
            db.execute(
                "DELETE FROM events WHERE conversation = $1",
                &[Value::Text(id.clone())],
            )?;
            db.execute(
                "DELETE FROM conversations WHERE id = $1",
                &[Value::Text(id.clone())],
            )?;
        }
        Ok(())
    }
}
