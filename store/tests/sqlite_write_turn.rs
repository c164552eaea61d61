//! Every SQLite write of the process queues for the one write turn of its database file
//! (`write_gate`): a write that skipped the queue met the lock in SQLite's sleeping busy handler
//! (a snapshot insert once waited 1.5 s there under booking load) and made the queued writers,
//! the log's among them, meet it there too. SQLite only: PostgreSQL has no such lock.

use reserver_store::scratch::ScratchDatabase;
use reserver_store::{assert_waits_for_write_turn, Backend, Database, Snapshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_waits_for_the_write_turn() {
    let db = ScratchDatabase::new(Backend::Sqlite).await;
    let store = db.open().await;
    let Database::Sqlite(pool) = store.database() else { panic!("a SQLite scratch database") };
    let snapshot = Snapshot { stream_id: "resource-1".into(), version: 3, schema_version: 1, state: vec![1, 2, 3] };
    let (writer, saved) = (store.clone(), snapshot.clone());
    assert_waits_for_write_turn(&pool, async move { writer.save_snapshot(&saved).await }).await.expect("saved");
    assert_eq!(store.load_snapshot("resource-1").await.expect("read"), Some(snapshot));
}
