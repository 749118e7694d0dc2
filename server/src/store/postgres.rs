//! The shared engine: a PostgreSQL database that any number of server processes may use at
//! once. Statements are the shared ones of [`sql`](super::sql); this module connects,
//! creates or upgrades the schema (under an advisory lock, so processes starting together
//! do it once) and runs them. Integers are `BIGINT`; rows keep their insertion order in a
//! `BIGSERIAL` column `ord`.

use super::database::{PersistError, redacted};
use super::sql::{Dialect, Sql, SqlError, Value};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;

/// The schema this server writes, kept in `settings` as `schema_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// Any number, the same in every process: the advisory lock held while the schema is made.
const SCHEMA_LOCK: i64 = 0x706f_7263_686c_6967;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    current TEXT NOT NULL,
    past TEXT NOT NULL,
    identity TEXT,
    user_id TEXT
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS conversations (
    ord BIGSERIAL,
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    phase TEXT NOT NULL,
    agent TEXT,
    agent_name TEXT,
    answers TEXT NOT NULL,
    request TEXT,
    message_request TEXT,
    rating TEXT,
    replies_said BIGINT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'web',
    handled_by TEXT,
    channel_state TEXT
);
CREATE TABLE IF NOT EXISTS events (
    conversation TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (conversation, seq)
);
CREATE INDEX IF NOT EXISTS conversations_phase ON conversations (phase);
CREATE TABLE IF NOT EXISTS outbox (
    ord BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    conversation TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    call TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_log (
    version BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    conversations TEXT NOT NULL,
    sessions TEXT NOT NULL,
    routing BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_messages (
    ord BIGSERIAL PRIMARY KEY,
    conversation TEXT NOT NULL,
    answers TEXT NOT NULL,
    text TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
";

/// An open PostgreSQL database.
pub struct Postgres {
    client: Client,
    /// Each statement prepared once per connection: a run of it then costs one round trip
    /// instead of two.
    prepared: HashMap<String, Statement>,
}

impl Postgres {
    /// The connection itself, for listening.
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// A connection to `url`, its schema left as it is.
    pub fn connect(url: &str) -> Result<Postgres, postgres::Error> {
        Ok(Postgres {
            client: Client::connect(url, NoTls)?,
            prepared: HashMap::new(),
        })
    }

    /// Connects to `url` and brings the schema up to date; a database a newer server wrote
    /// is refused.
    pub fn open(url: &str) -> Result<Postgres, PersistError> {
        let failed = |source| PersistError::Postgres {
            database: redacted(url),
            source,
        };
        let mut client = Client::connect(url, NoTls).map_err(failed)?;
        let mut tx = client.transaction().map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(failed)?;
        tx.batch_execute(SCHEMA).map_err(failed)?;
        let found: Option<i64> = tx
            .query_opt(
                "SELECT value FROM settings WHERE key = 'schema_version'",
                &[],
            )
            .map_err(failed)?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(failed)?;
        if let Some(found) = found.filter(|v| *v > SCHEMA_VERSION) {
            return Err(PersistError::NewerSchema {
                database: redacted(url),
                found,
                known: SCHEMA_VERSION,
            });
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&SCHEMA_VERSION],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(Postgres {
            client,
            prepared: HashMap::new(),
        })
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Text(text) => text.to_sql(ty, out),
            Value::Int(n) => n.to_sql(ty, out),
            Value::NullText | Value::NullInt => Ok(IsNull::Yes),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty) || <i64 as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl Postgres {
    /// `sql` prepared on this connection, once.
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Sql for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, SqlError> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &params(values))?)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Vec<Value>>, SqlError> {
        let statement = self.statement(sql)?;
        let rows = self.client.query(&statement, &params(values))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_();
                        Ok(if *ty == Type::INT8 {
                            row.try_get::<_, Option<i64>>(i)?
                                .map_or(Value::NullInt, Value::Int)
                        } else if *ty == Type::INT4 {
                            row.try_get::<_, Option<i32>>(i)?
                                .map_or(Value::NullInt, |n| Value::Int(i64::from(n)))
                        } else {
                            row.try_get::<_, Option<String>>(i)?
                                .map_or(Value::NullText, Value::Text)
                        })
                    })
                    .collect::<Result<Vec<Value>, SqlError>>()
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), SqlError> {
        Ok(self.client.batch_execute(sql)?)
    }
}
