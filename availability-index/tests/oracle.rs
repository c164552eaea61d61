//! The index's answers against a brute-force oracle and the domain's own functions, over
//! random command sequences: in memory (many cases), and through a real log on SQLite and
//! PostgreSQL, where the index follows the appends live (fewer cases, one database each).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reserver_availability_index::{AvailabilityIndex, IndexConfig, IndexLimits, MemoryIndex};
use reserver_domain::resource::stream_id;
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventStore, ExpectedVersion};
use uuid::Uuid;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_answers_match_the_oracle(case in case()) {
        let resource = Uuid::from_u128(7);
        let outcome = run(&case, resource);
        let index = MemoryIndex::new(IndexLimits::default());
        // Fed in two uneven batches, as a follower would see them.
        let events = recorded(resource, &outcome.events, 1);
        let (first, rest) = events.split_at(events.len() / 3);
        index.apply(first);
        index.apply(rest);
        check(&case, &outcome, &index);
        prop_assert_eq!(index.stats().reservations, outcome.state.holding().count());
    }
}

fn followed_log_matches_the_oracle(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = runtime.block_on(ScratchDatabase::new(backend));
    let store: Arc<dyn EventStore> = runtime.block_on(db.open());
    let config = IndexConfig { poll_interval: Duration::from_millis(50), ..IndexConfig::default() };
    let index = runtime.block_on(AvailabilityIndex::start(store.clone(), config)).unwrap();
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    runner
        .run(&case(), |case| {
            let resource = Uuid::new_v4();
            let outcome = run(&case, resource);
            if outcome.events.is_empty() {
                return Ok(());
            }
            let request =
                AppendRequest::single(stream_id(resource), ExpectedVersion::NoStream, new_events(&outcome.events));
            runtime.block_on(async {
                let position = store.append(request).await.unwrap().last_position();
                index.wait_for(position, Duration::from_secs(10)).await.unwrap();
            });
            check(&case, &outcome, index.index());
            Ok(())
        })
        .unwrap();
    runtime.block_on(index.shutdown());
}

#[test]
fn sqlite_followed_log_matches_the_oracle() {
    followed_log_matches_the_oracle(Backend::Sqlite);
}

#[test]
fn postgres_followed_log_matches_the_oracle() {
    followed_log_matches_the_oracle(Backend::Postgres);
}
