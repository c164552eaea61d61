//! One queue for the SQLite write lock within this process. SQLite lets one transaction write
//! at a time; a writer that finds the lock taken waits in SQLite's busy handler, which sleeps
//! 1, 2, 5, 10, … ms between tries, so under load waits stretched to hundreds of milliseconds
//! even when the holder was done in one. Every write of this process — each `BEGIN IMMEDIATE`
//! (the log's writer, the projectors and planners, the scheduler) and each single writing
//! statement outside a transaction (snapshots, deadline rows, the workers' claims and outcomes)
//! — first takes this fair async lock for the database file and holds it until it is done, so
//! the next writer starts the moment the previous one commits. The lock is not reentrant: never
//! write through the pool while holding a turn. Other processes on the same file still meet the
//! busy handler.
//!
//! Always take the gate before a pooled connection, never while holding one: readers hold
//! connections without the gate, so that order cannot deadlock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::SqlitePool;
use tokio::sync::OwnedMutexGuard;

type Gates = Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>;

fn gates() -> &'static Gates {
    static GATES: OnceLock<Gates> = OnceLock::new();
    GATES.get_or_init(Default::default)
}

/// The gate of the database file at `path`. Keyed by the path as configured: every writer of
/// the process opens the file through the same URL, and a lookup costs no system call.
pub(crate) fn gate_for(path: PathBuf) -> Arc<tokio::sync::Mutex<()>> {
    let mut gates = gates().lock().unwrap_or_else(|p| p.into_inner());
    gates.entry(path).or_default().clone()
}

/// Waits for this process's turn to write to the database `pool` opens; the turn lasts as long
/// as the guard.
pub async fn sqlite_write_turn(pool: &SqlitePool) -> OwnedMutexGuard<()> {
    gate_for(pool.connect_options().get_filename().to_path_buf()).lock_owned().await
}

/// For tests: runs `write` while this test holds the write turn of `pool`'s file, checks that it
/// has not finished 200 ms later (it queues for the turn instead of meeting the lock in SQLite's
/// busy handler), then lets the turn go and returns what `write` returned.
///
/// # Panics
/// If `write` finished while the turn was held, or did not finish within 10 s after.
#[cfg(feature = "testing")]
pub async fn assert_waits_for_write_turn<F>(pool: &SqlitePool, write: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let turn = sqlite_write_turn(pool).await;
    let task = tokio::spawn(write);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!task.is_finished(), "a SQLite write ran without waiting for this process's write turn");
    drop(turn);
    match tokio::time::timeout(std::time::Duration::from_secs(10), task).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("the write panicked: {e}"),
        Err(_) => panic!("the write did not finish within 10 s of its turn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gate_per_file() {
        let dir = std::env::temp_dir();
        let a = gate_for(dir.join("reserver-gate-a.db"));
        assert!(Arc::ptr_eq(&a, &gate_for(dir.join("reserver-gate-a.db"))));
        assert!(!Arc::ptr_eq(&a, &gate_for(dir.join("reserver-gate-b.db"))));
    }
}
