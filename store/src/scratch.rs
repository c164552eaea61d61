//! Scratch databases for tests and benchmarks: a temp SQLite file, or a new PostgreSQL database
//! created through an admin URL (tests: `TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped again when the handle goes away.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, Connection};

use crate::{open, Backend, EventStore, GroupCommitConfig, StoreConfig};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Every scratch database's name starts with this, so leftovers of a killed run can be found.
pub const SCRATCH_DATABASE_PREFIX: &str = "reserver_scratch_";

/// A database that exists for one test or benchmark run.
pub struct ScratchDatabase {
    backend: Backend,
    url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl ScratchDatabase {
    /// The backend named by `RESERVER_TEST_BACKEND` (`sqlite` or `postgres`), default SQLite.
    pub async fn from_env() -> Self {
        match std::env::var("RESERVER_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::postgres().await,
            _ => Self::sqlite().await,
        }
    }

    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file in a temp folder that is removed with the handle.
    pub async fn sqlite() -> Self {
        Self::sqlite_in(&std::env::temp_dir()).unwrap_or_else(|e| panic!("temp dir for a scratch database: {e}"))
    }

    /// A fresh SQLite file in a new folder under `parent` (benchmarks put it on the disk they measure).
    pub fn sqlite_in(parent: &std::path::Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(parent)?;
        let dir = tempfile::Builder::new().prefix("reserver-scratch-").tempdir_in(parent)?;
        let url = format!("sqlite://{}", dir.path().join("reserver.db").display());
        Ok(Self { backend: Backend::Sqlite, url, admin_url: None, name: String::new(), _dir: Some(dir) })
    }

    /// A fresh PostgreSQL database next to the one `TEST_DATABASE_URL` names. Panics when
    /// PostgreSQL is unreachable: a test that needs it must not pass without it.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
        Self::postgres_beside(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is needed for this test: {e}"))
    }

    /// A fresh PostgreSQL database on the server `admin_url` points at.
    pub async fn postgres_beside(admin_url: &str) -> Result<Self, sqlx::Error> {
        let name = format!("{SCRATCH_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        let url = with_database(admin_url, &name);
        Ok(Self { backend: Backend::Postgres, url, admin_url: Some(admin_url.to_string()), name, _dir: None })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on this database with default settings. Panics if it cannot be opened.
    pub async fn open(&self) -> Arc<dyn EventStore> {
        self.open_with(GroupCommitConfig::default()).await
    }

    /// Another store on the same database, as another replica would open it.
    pub async fn open_with(&self, group_commit: GroupCommitConfig) -> Arc<dyn EventStore> {
        let mut config = StoreConfig::new(&self.url);
        config.group_commit = group_commit;
        config.max_connections = 4;
        open(&config).await.expect("open test store")
    }

    /// Runs raw SQL on its own connection, as an operator with a SQL shell would.
    pub async fn execute(&self, sql: &str) -> Result<u64, String> {
        let result = match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut c).await.map(|r| r.rows_affected())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut c).await.map(|r| r.rows_affected())
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Rewrites an event's payload behind the log's back: the append-only trigger is switched
    /// off for the edit, as only a superuser could.
    pub async fn tamper_payload(&self, position: u64, payload: &str) {
        let payload = payload.replace('\'', "''");
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "DROP TRIGGER events_no_update; \
                 UPDATE events SET payload = '{payload}' WHERE position = {position}; \
                 CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN \
                 SELECT RAISE(ABORT, 'the event log is append-only: UPDATE on events is not allowed'); END;"
            ),
            Backend::Postgres => format!(
                "ALTER TABLE events DISABLE TRIGGER events_append_only; \
                 UPDATE events SET payload = '{payload}' WHERE position = {position}; \
                 ALTER TABLE events ENABLE TRIGGER events_append_only;"
            ),
        };
        let changed = self.execute(&sql).await.expect("tamper with the log");
        assert!(changed >= 1, "tampering changed no row");
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.take() else { return };
        let name = std::mem::take(&mut self.name);
        // Drop runs inside the test's runtime; a thread of its own may block on a new one.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
