//! How long a stalled PostgreSQL session may hold what every replica needs. The log's writers
//! serialize on one row lock (`log_head`), projectors and planners on their checkpoint rows; a
//! replica that stops inside such a transaction — a paused process, a frozen VM, a network
//! partition with the connection still open — would otherwise stop every other replica until
//! it wakes. The server ends such sessions instead: `idle_in_transaction_session_timeout` cuts
//! a session that sits inside a transaction without sending anything (a paused process), TCP
//! keepalives notice a peer that is gone, and the writer's `lock_timeout` bounds its wait for
//! the head lock whatever the holder is doing. A cut session's transaction rolls back, so its
//! late COMMIT fails and nothing of it is written; appends are idempotent by event id, so the
//! caller's retry writes each event once.
//!
//! Each limit is a session setting sent when a connection opens. One named explicitly in the
//! database URL (`?options[lock_timeout]=3s`) or in `PGOPTIONS` wins over these defaults.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

/// Session limits of a PostgreSQL store. A zero duration leaves the server's own setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresLimits {
    /// `idle_in_transaction_session_timeout` on every session of the store: a session idle
    /// inside a transaction this long is ended by the server and its locks are released.
    /// Default 5 s; none of the service's transactions pauses between statements.
    pub idle_in_transaction: Duration,
    /// `lock_timeout` on the log writer's sessions: the longest wait for the log head lock
    /// before the batch fails with an error its callers see. Default 10 s, above
    /// `idle_in_transaction`, so a paused holder is cut before a waiter gives up.
    pub writer_lock_timeout: Duration,
    /// `tcp_keepalives_idle`: seconds of silence before the server probes a client. Default 10 s.
    pub keepalive_idle: Duration,
    /// `tcp_keepalives_interval`: between unanswered probes. Default 5 s.
    pub keepalive_interval: Duration,
    /// `tcp_keepalives_count`: unanswered probes before the connection counts as lost. Default 3.
    pub keepalive_count: u32,
}

impl Default for PostgresLimits {
    fn default() -> Self {
        Self {
            idle_in_transaction: Duration::from_secs(5),
            writer_lock_timeout: Duration::from_secs(10),
            keepalive_idle: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(5),
            keepalive_count: 3,
        }
    }
}

impl PostgresLimits {
    /// Settings of every session (readers, projectors, planners, the writer).
    fn session_settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = Vec::new();
        let millis = |d: Duration| format!("{}ms", d.as_millis());
        if !self.idle_in_transaction.is_zero() {
            settings.push(("idle_in_transaction_session_timeout", millis(self.idle_in_transaction)));
        }
        if !self.keepalive_idle.is_zero() {
            settings.push(("tcp_keepalives_idle", self.keepalive_idle.as_secs().max(1).to_string()));
        }
        if !self.keepalive_interval.is_zero() {
            settings.push(("tcp_keepalives_interval", self.keepalive_interval.as_secs().max(1).to_string()));
        }
        if self.keepalive_count > 0 {
            settings.push(("tcp_keepalives_count", self.keepalive_count.to_string()));
        }
        settings
    }

    /// `options` with the settings of every session added, except those it already names.
    pub(crate) fn apply(&self, options: PgConnectOptions) -> PgConnectOptions {
        with_defaults(options, self.session_settings())
    }

    /// [`apply`](Self::apply), plus the writer's `lock_timeout`.
    pub(crate) fn apply_writer(&self, options: PgConnectOptions) -> PgConnectOptions {
        let mut settings = self.session_settings();
        if !self.writer_lock_timeout.is_zero() {
            settings.push(("lock_timeout", format!("{}ms", self.writer_lock_timeout.as_millis())));
        }
        with_defaults(options, settings)
    }
}

/// Adds each setting unless the options (from the URL or `PGOPTIONS`) already set it.
fn with_defaults(options: PgConnectOptions, settings: Vec<(&'static str, String)>) -> PgConnectOptions {
    let named = options.get_options().unwrap_or_default().to_string();
    let missing: Vec<_> = settings.into_iter().filter(|(key, _)| !names_setting(&named, key)).collect();
    if missing.is_empty() {
        options
    } else {
        options.options(missing)
    }
}

/// Whether a libpq `options` string (`-c key=value`, `-ckey=value` or `--key=value` words)
/// sets `key`.
fn names_setting(options: &str, key: &str) -> bool {
    options.split_whitespace().any(|word| {
        let word = word.strip_prefix("--").or_else(|| word.strip_prefix("-c")).unwrap_or(word);
        word.split_once('=').is_some_and(|(k, _)| k.eq_ignore_ascii_case(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options_of(url: &str, writer: bool) -> String {
        let parsed: PgConnectOptions = url.parse().expect("url");
        let limits = PostgresLimits::default();
        let options = if writer { limits.apply_writer(parsed) } else { limits.apply(parsed) };
        options.get_options().unwrap_or_default().to_string()
    }

    #[test]
    fn defaults_bound_every_session_and_the_writer_waits() {
        let readers = options_of("postgres://u@h/db", false);
        assert!(readers.contains("idle_in_transaction_session_timeout=5000ms"), "{readers}");
        assert!(readers.contains("tcp_keepalives_idle=10"), "{readers}");
        assert!(!readers.contains("lock_timeout"), "readers keep the server's lock timeout: {readers}");
        let writer = options_of("postgres://u@h/db", true);
        assert!(writer.contains("lock_timeout=10000ms"), "{writer}");
    }

    #[test]
    fn a_setting_in_the_url_wins() {
        let writer = options_of("postgres://u@h/db?options[lock_timeout]=3s", true);
        assert!(writer.contains("lock_timeout=3s"), "{writer}");
        assert!(!writer.contains("lock_timeout=10000ms"), "{writer}");
        let raw = options_of("postgres://u@h/db?options=-c%20idle_in_transaction_session_timeout%3D1s", false);
        assert_eq!(raw.matches("idle_in_transaction_session_timeout").count(), 1, "{raw}");
    }

    #[test]
    fn zero_leaves_the_server_setting() {
        let limits = PostgresLimits { idle_in_transaction: Duration::ZERO, ..PostgresLimits::default() };
        let options = limits.apply("postgres://u@h/db".parse().expect("url"));
        assert!(!options.get_options().unwrap_or_default().contains("idle_in_transaction"));
    }
}
