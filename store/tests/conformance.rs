//! The event-store conformance suite, run on both backends.

use reserver_store::conformance;
use reserver_store::scratch::ScratchDatabase as TestDatabase;
use reserver_store::Backend;

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = TestDatabase::new(Backend::Sqlite).await;
                    conformance::$check(&db).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = TestDatabase::new(Backend::Postgres).await;
                    conformance::$check(&db).await;
                }
            )*
        }
    };
}

on_both_backends!(
    append_and_read_back,
    invalid_appends_change_nothing,
    version_checks_write_nothing,
    concurrent_appenders_one_wins,
    idempotent_retry,
    multi_stream_atomicity,
    group_commit_answers_each,
    subscriber_never_skips_late_commits,
    subscriber_resumes_from_checkpoint,
    chain_detects_tampering,
    database_rejects_update_and_delete,
    snapshots_keep_the_newest,
    replicas_share_one_log,
    nul_in_payload_and_metadata_round_trips,
    shared_secret_is_created_once,
    api_usage_adds_up_across_replicas,
);
