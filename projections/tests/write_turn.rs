//! Writes outside a projector's transaction (`sql::execute`, `sql::execute_returning`: the
//! mail and webhook workers' claims, fault records, feed tokens, webhook secrets) queue for the
//! SQLite write turn like every other write of the process (see `reserver_store::write_gate`).
//! SQLite only: PostgreSQL has no such lock.

use reserver_projections::sql::{execute, execute_returning, fetch_all, Value};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{assert_waits_for_write_turn, Backend, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_outside_a_transaction_wait_for_the_write_turn() {
    let scratch = ScratchDatabase::new(Backend::Sqlite).await;
    let store = scratch.open().await;
    let db = store.database();
    let Database::Sqlite(pool) = db.clone() else { panic!("a SQLite scratch database") };
    execute(&db, "CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)", &[]).await.expect("table");

    let writer = db.clone();
    let inserted = assert_waits_for_write_turn(&pool, async move {
        execute(&writer, "INSERT INTO counters (name, n) VALUES ($1, $2)", &["a".into(), Value::Int(1)]).await
    })
    .await
    .expect("inserted");
    assert_eq!(inserted, 1);

    let writer = db.clone();
    let returned = assert_waits_for_write_turn(&pool, async move {
        execute_returning(&writer, "UPDATE counters SET n = n + 1 WHERE name = $1 RETURNING n", &["a".into()]).await
    })
    .await
    .expect("updated");
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].int(0).expect("n"), 2);

    let rows = fetch_all(&db, "SELECT n FROM counters WHERE name = 'a'", &[]).await.expect("read");
    assert_eq!(rows[0].int(0).expect("n"), 2);
}
