//! Service settings, from flags and the environment.

use reserver_store::DEFAULT_DATABASE_URL;

/// Where the HTTP server listens when neither `--bind` nor `RESERVER_BIND` says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://PATH` (default `./data/reserver.db`) or `postgres://…`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { database_url: DEFAULT_DATABASE_URL.into(), bind: DEFAULT_BIND.into(), workers: 0 }
    }
}

impl Settings {
    /// Settings for a server on a random local port over the given database (tests).
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Self { database_url: database_url.into(), bind: "127.0.0.1:0".into(), workers: 2 }
    }
}
