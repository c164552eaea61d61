//! One small layer over both databases, so every read model is written once. Read-model
//! columns are only `BIGINT` and `TEXT`, and statements use `$N` placeholders, which
//! PostgreSQL and SQLite (through sqlx) both understand; this keeps the SQL identical on the
//! two backends and so keeps their query results identical too.
//!
//! Every text bound here passes [`storable_text`] first: PostgreSQL `TEXT` cannot hold NUL,
//! and whatever the log accepted must be storable by every projector (and searchable by every
//! query) on both backends alike.

use std::borrow::Cow;

use reserver_store::{sqlite_write_turn, Backend, Database};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Postgres, Row, Sqlite, Transaction};
use tokio::sync::OwnedMutexGuard;

/// Rows per multi-row INSERT: far below both databases' bind-parameter limits for our widths.
const ROWS_PER_INSERT: usize = 500;
/// Keys per `IN (…)` list.
const KEYS_PER_LOOKUP: usize = 500;

/// What stands in for NUL in stored text: U+FFFD REPLACEMENT CHARACTER.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// `text` as every backend can store it: each NUL replaced by [`NUL_REPLACEMENT`] (PostgreSQL
/// `TEXT` refuses NUL, SQLite would keep it; both must hold the same). Every other character is
/// kept. Borrowed when there is nothing to replace, which is nearly always.
pub fn storable_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', &NUL_REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(text)
    }
}

/// [`storable_text`] of every key, copying only when one needs it.
fn storable_keys(keys: &[String]) -> Cow<'_, [String]> {
    if keys.iter().any(|k| k.contains('\0')) {
        Cow::Owned(keys.iter().map(|k| storable_text(k).into_owned()).collect())
    } else {
        Cow::Borrowed(keys)
    }
}

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}

macro_rules! bind_values {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for value in $args {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(storable_text(v).into_owned()),
                Value::NullInt => query.bind(None::<i64>),
                Value::NullText => query.bind(None::<String>),
            };
        }
        query
    }};
}

/// A result row from either backend.
pub enum DbRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl DbRow {
    pub fn int(&self, index: usize) -> Result<i64, sqlx::Error> {
        match self {
            DbRow::Sqlite(row) => row.try_get(index),
            DbRow::Postgres(row) => row.try_get(index),
        }
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        match self {
            DbRow::Sqlite(row) => row.try_get(index),
            DbRow::Postgres(row) => row.try_get(index),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        match self {
            DbRow::Sqlite(row) => row.try_get(index),
            DbRow::Postgres(row) => row.try_get(index),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, sqlx::Error> {
        match self {
            DbRow::Sqlite(row) => row.try_get(index),
            DbRow::Postgres(row) => row.try_get(index),
        }
    }
}

/// Runs a read-only statement on the pool.
pub async fn fetch_all(db: &Database, sql: &str, args: &[Value]) -> Result<Vec<DbRow>, sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_string());
    Ok(match db {
        Database::Sqlite(pool) => {
            bind_values!(sqlx::query(sql), args).fetch_all(pool).await?.into_iter().map(DbRow::Sqlite).collect()
        }
        Database::Postgres(pool) => {
            bind_values!(sqlx::query(sql), args).fetch_all(pool).await?.into_iter().map(DbRow::Postgres).collect()
        }
    })
}

/// Runs a writing statement on the pool, outside any projector transaction. On SQLite it waits
/// for this process's turn at the write lock first (see `reserver_store::sqlite_write_turn`): a
/// write that skipped the queue would meet the lock in SQLite's sleeping busy handler, and make
/// the queued writers (the log's among them) meet it there too. The turn is not reentrant:
/// never call this while holding a [`DbTx`] on the same database.
pub async fn execute(db: &Database, sql: &str, args: &[Value]) -> Result<u64, sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_string());
    Ok(match db {
        Database::Sqlite(pool) => {
            let _turn = sqlite_write_turn(pool).await;
            bind_values!(sqlx::query(sql), args).execute(pool).await?.rows_affected()
        }
        Database::Postgres(pool) => bind_values!(sqlx::query(sql), args).execute(pool).await?.rows_affected(),
    })
}

/// Runs a writing statement that returns rows (`UPDATE … RETURNING`) on the pool, in this
/// process's turn at the write lock on SQLite, like [`execute`] (and, like it, never while
/// holding a [`DbTx`] on the same database).
pub async fn execute_returning(db: &Database, sql: &str, args: &[Value]) -> Result<Vec<DbRow>, sqlx::Error> {
    match db {
        Database::Sqlite(pool) => {
            let _turn = sqlite_write_turn(pool).await;
            fetch_all(db, sql, args).await
        }
        Database::Postgres(_) => fetch_all(db, sql, args).await,
    }
}

/// The backend of a pool.
pub fn backend_of(db: &Database) -> Backend {
    match db {
        Database::Sqlite(_) => Backend::Sqlite,
        Database::Postgres(_) => Backend::Postgres,
    }
}

/// A transaction on either backend: a projector's read-model changes and its checkpoint.
pub enum DbTx {
    /// With this process's turn at the write lock (see `reserver_store::sqlite_write_turn`).
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    Postgres(Transaction<'static, Postgres>),
}

impl DbTx {
    /// Begins a transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
    /// so it never fails half-way with a busy snapshot when the log's writer commits meanwhile.
    pub async fn begin(db: &Database) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Database::Sqlite(pool) => {
                let turn = sqlite_write_turn(pool).await;
                DbTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Database::Postgres(pool) => DbTx::Postgres(pool.begin().await?),
        })
    }

    /// Begins a transaction that writes only what the log can rebuild; on PostgreSQL it does
    /// not wait for the disk at commit (see [`reserver_store::POSTGRES_BEGIN_DERIVED`]).
    pub async fn begin_derived(db: &Database) -> Result<Self, sqlx::Error> {
        match db {
            Database::Postgres(pool) => {
                Ok(DbTx::Postgres(pool.begin_with(reserver_store::POSTGRES_BEGIN_DERIVED).await?))
            }
            Database::Sqlite(_) => Self::begin(db).await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTx::Sqlite(..) => Backend::Sqlite,
            DbTx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, sqlx::Error> {
        let sql = AssertSqlSafe(sql.to_string());
        Ok(match self {
            DbTx::Sqlite(tx, _) => bind_values!(sqlx::query(sql), args).execute(&mut **tx).await?.rows_affected(),
            DbTx::Postgres(tx) => bind_values!(sqlx::query(sql), args).execute(&mut **tx).await?.rows_affected(),
        })
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Value]) -> Result<Vec<DbRow>, sqlx::Error> {
        let sql = AssertSqlSafe(sql.to_string());
        Ok(match self {
            DbTx::Sqlite(tx, _) => bind_values!(sqlx::query(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(DbRow::Sqlite)
                .collect(),
            DbTx::Postgres(tx) => bind_values!(sqlx::query(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(DbRow::Postgres)
                .collect(),
        })
    }

    /// Inserts many rows. `head` is `INSERT INTO t (a, b)`, `tail` an optional
    /// `ON CONFLICT …` clause; every row must have the same width and column types. On
    /// PostgreSQL the rows travel as one typed array per column through `UNNEST` — one
    /// statement text whatever the row count, prepared once per connection; on SQLite (in
    /// process, no round trips) as multi-row `VALUES` lists.
    pub async fn insert_rows(&mut self, head: &str, tail: &str, rows: &[Vec<Value>]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        if let DbTx::Postgres(tx) = self {
            if let Some(copy) = copy_statement(head, tail, rows.len()) {
                return copy_in(tx, &copy, rows).await;
            }
            return insert_unnest(tx, head, tail, rows).await;
        }
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(head.len() + tail.len() + chunk.len() * 32);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            let mut args = Vec::with_capacity(chunk.iter().map(Vec::len).sum());
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for (j, value) in row.iter().enumerate() {
                    if j > 0 {
                        sql.push(',');
                    }
                    args.push(value.clone());
                    sql.push_str(&format!("${}", args.len()));
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            self.execute(&sql, &args).await?;
        }
        Ok(())
    }

    /// Whether [`Self::insert_rows`] sends this many plain rows by `COPY` (PostgreSQL, at least
    /// [`COPY_FROM_ROWS`]).
    pub fn copies(&self, rows: usize) -> bool {
        matches!(self, DbTx::Postgres(_)) && rows >= COPY_FROM_ROWS
    }

    /// `DELETE FROM table WHERE column IN (keys)`, in chunks.
    pub async fn delete_keys(&mut self, table: &str, column: &str, keys: &[String]) -> Result<(), sqlx::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        if let DbTx::Postgres(tx) = self {
            let sql = AssertSqlSafe(format!("DELETE FROM {table} WHERE {column} = ANY($1)"));
            sqlx::query(sql).bind(storable_keys(keys).as_ref()).execute(&mut **tx).await?;
            return Ok(());
        }
        for chunk in keys.chunks(KEYS_PER_LOOKUP) {
            let sql = format!("DELETE FROM {table} WHERE {column} IN ({})", placeholders(1, chunk.len()));
            let args: Vec<Value> = chunk.iter().map(|k| Value::Text(k.clone())).collect();
            self.execute(&sql, &args).await?;
        }
        Ok(())
    }

    /// `SELECT {columns} FROM table WHERE key_column IN (keys)`, in chunks.
    pub async fn fetch_keys(
        &mut self,
        columns: &str,
        table: &str,
        key_column: &str,
        keys: &[String],
    ) -> Result<Vec<DbRow>, sqlx::Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if let DbTx::Postgres(tx) = self {
            let sql = AssertSqlSafe(format!("SELECT {columns} FROM {table} WHERE {key_column} = ANY($1)"));
            let rows = sqlx::query(sql).bind(storable_keys(keys).as_ref()).fetch_all(&mut **tx).await?;
            return Ok(rows.into_iter().map(DbRow::Postgres).collect());
        }
        let mut rows = Vec::new();
        for chunk in keys.chunks(KEYS_PER_LOOKUP) {
            let sql = format!("SELECT {columns} FROM {table} WHERE {key_column} IN ({})", placeholders(1, chunk.len()));
            let args: Vec<Value> = chunk.iter().map(|k| Value::Text(k.clone())).collect();
            rows.extend(self.fetch_all(&sql, &args).await?);
        }
        Ok(rows)
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Sqlite(tx, _) => tx.commit().await,
            DbTx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Sqlite(tx, _) => tx.rollback().await,
            DbTx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Plain inserts of at least this many rows go through `COPY … FROM STDIN` on PostgreSQL (a
/// rebuild's batches); smaller ones keep the prepared `UNNEST` statement, which costs less per
/// statement.
pub const COPY_FROM_ROWS: usize = 1_000;

/// `COPY t (a, b) FROM STDIN` for `INSERT INTO t (a, b)` without a conflict clause, when there
/// are enough rows to be worth it.
fn copy_statement(head: &str, tail: &str, rows: usize) -> Option<String> {
    if rows < COPY_FROM_ROWS || !tail.trim().is_empty() {
        return None;
    }
    let target = head.trim().strip_prefix("INSERT INTO ")?;
    Some(format!("COPY {target} FROM STDIN"))
}

/// Sends `rows` in COPY's text format: tab-separated, `\N` for NULL, and backslash, tab,
/// newline and carriage return escaped (PostgreSQL manual, COPY, "Text Format").
async fn copy_in(
    tx: &mut Transaction<'static, Postgres>,
    statement: &str,
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    let mut data = String::with_capacity(rows.len() * 128);
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                data.push('\t');
            }
            match value {
                Value::Int(v) => data.push_str(&v.to_string()),
                Value::Text(v) => copy_escape(&storable_text(v), &mut data),
                Value::NullInt | Value::NullText => data.push_str("\\N"),
            }
        }
        data.push('\n');
    }
    let mut copy = tx.copy_in_raw(statement).await?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn copy_escape(text: &str, out: &mut String) {
    // The four are ASCII, so every match is a char boundary.
    let special = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|b| special(&b)) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// One PostgreSQL `INSERT … SELECT * FROM UNNEST($1::bigint[], $2::text[], …)`.
async fn insert_unnest(
    tx: &mut Transaction<'static, Postgres>,
    head: &str,
    tail: &str,
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    let width = rows.first().map_or(0, Vec::len);
    let mut casts = Vec::with_capacity(width);
    let mut ints: Vec<Option<Vec<Option<i64>>>> = Vec::with_capacity(width);
    let mut texts: Vec<Option<Vec<Option<String>>>> = Vec::with_capacity(width);
    for column in 0..width {
        let is_int = rows.iter().any(|r| matches!(r.get(column), Some(Value::Int(_) | Value::NullInt)));
        casts.push(format!("${}::{}[]", column + 1, if is_int { "bigint" } else { "text" }));
        if is_int {
            ints.push(Some(
                rows.iter().map(|r| if let Some(Value::Int(v)) = r.get(column) { Some(*v) } else { None }).collect(),
            ));
            texts.push(None);
        } else {
            let column_values = rows.iter().map(|r| match r.get(column) {
                Some(Value::Text(v)) => Some(storable_text(v).into_owned()),
                _ => None,
            });
            texts.push(Some(column_values.collect()));
            ints.push(None);
        }
    }
    let sql = AssertSqlSafe(format!("{head} SELECT * FROM UNNEST({}) {tail}", casts.join(", ")));
    let mut query = sqlx::query(sql);
    for (int_column, text_column) in ints.into_iter().zip(texts) {
        query = match (int_column, text_column) {
            (Some(values), _) => query.bind(values),
            (None, values) => query.bind(values.unwrap_or_default()),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// `$first, $first+1, …` for `count` values.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
}

/// Builds a statement whose placeholders are numbered as values are pushed.
#[derive(Debug, Default)]
pub struct SqlBuilder {
    pub sql: String,
    pub args: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        Self { sql: sql.to_string(), args: Vec::new() }
    }

    /// Appends raw SQL.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.args.push(value.into());
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }
}
