//! The conformance suite every backend must pass. Each check takes a fresh [`TestDatabase`]
//! and asserts concrete outcomes; `tests/conformance.rs` runs all of them on SQLite and on
//! PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use futures::StreamExt;
use uuid::Uuid;

use crate::scratch::ScratchDatabase as TestDatabase;
use crate::{
    subscribe, verify_chain, AppendError, AppendRequest, Backend, EventStore, ExpectedVersion, GroupCommitConfig,
    NewEvent, Snapshot, SubscribeOptions,
};

fn event(n: usize) -> NewEvent {
    NewEvent::new(Uuid::new_v4(), "test_event", format!(r#"{{"n":{n}}}"#))
}

fn events(count: usize) -> Vec<NewEvent> {
    (0..count).map(event).collect()
}

async fn append_one(store: &dyn EventStore, stream: &str, expected: ExpectedVersion) -> Result<u64, AppendError> {
    let outcome = store.append(AppendRequest::single(stream, expected, vec![event(0)])).await?;
    Ok(outcome.last_position())
}

/// Appends land at consecutive positions and read back exactly as written.
pub async fn append_and_read_back(db: &TestDatabase) {
    let store = db.open().await;
    let written = events(3);
    let outcome = store
        .append(AppendRequest::single("order-1", ExpectedVersion::NoStream, written.clone()))
        .await
        .expect("first append");
    assert_eq!(outcome.positions, vec![1, 2, 3]);
    assert_eq!(outcome.stream_versions, vec![("order-1".to_string(), 3)]);
    assert!(!outcome.duplicate);

    let more = store
        .append(AppendRequest::single("order-1", ExpectedVersion::Exact(3), events(2)))
        .await
        .expect("second append");
    assert_eq!(more.positions, vec![4, 5]);

    let stream = store.read_stream("order-1", 1, 100).await.expect("read stream");
    assert_eq!(stream.len(), 5);
    assert_eq!(stream.iter().map(|e| e.stream_version).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    for (read, sent) in stream.iter().zip(&written) {
        assert_eq!(read.event_id, sent.event_id);
        assert_eq!(read.payload, sent.payload, "payload bytes are stored exactly");
        assert_eq!(read.event_type, "test_event");
    }
    let tail = store.read_stream("order-1", 4, 100).await.expect("read from version 4");
    assert_eq!(tail.iter().map(|e| e.position).collect::<Vec<_>>(), vec![4, 5]);

    let all = store.read_all(2, 2).await.expect("read all");
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(store.stream_version("order-1").await.expect("version"), 5);
    assert_eq!(store.stream_version("nope").await.expect("version"), 0);
    assert_eq!(store.head().await.expect("head").position, 5);
}

/// Malformed appends are refused before they reach the database and change nothing.
pub async fn invalid_appends_change_nothing(db: &TestDatabase) {
    let store = db.open().await;
    let duplicate_id = event(1);
    let cases = vec![
        AppendRequest::default(),
        AppendRequest::single("s", ExpectedVersion::Any, vec![]),
        AppendRequest { streams: vec![] },
        AppendRequest::single("s", ExpectedVersion::Any, vec![duplicate_id.clone(), duplicate_id]),
        AppendRequest::single("s", ExpectedVersion::Any, vec![NewEvent::new(Uuid::new_v4(), "t", "{not json")]),
        AppendRequest::single("", ExpectedVersion::Any, events(1)),
        AppendRequest::single("s\0t", ExpectedVersion::Any, events(1)),
        AppendRequest::single("s", ExpectedVersion::Any, vec![NewEvent::new(Uuid::new_v4(), "t\0", "{}")]),
        AppendRequest::single("s", ExpectedVersion::Any, events(1)).with_stream("s", ExpectedVersion::Any, events(1)),
    ];
    for request in cases {
        let result = store.append(request.clone()).await;
        assert!(matches!(result, Err(AppendError::Invalid(_))), "{request:?} gave {result:?}");
    }
    assert_eq!(store.head().await.expect("head").position, 0);
}

/// A stream without events checks its version and writes nothing, alone or beside real appends.
pub async fn version_checks_write_nothing(db: &TestDatabase) {
    let store = db.open().await;
    store.append(AppendRequest::single("room", ExpectedVersion::NoStream, events(2))).await.expect("seed");
    let check = |expected| AppendRequest::single("room", expected, vec![]);
    let held = store.append(check(ExpectedVersion::Exact(2))).await.expect("current version holds");
    assert_eq!((held.positions.clone(), held.stream_versions.clone()), (vec![], vec![("room".to_string(), 2)]));
    assert!(store.append(check(ExpectedVersion::NoStream)).await.is_err(), "the stream exists");
    match store.append(check(ExpectedVersion::Exact(1))).await {
        Err(AppendError::WrongExpectedVersion { current, .. }) => assert_eq!(current, 2),
        other => panic!("a stale check must fail, got {other:?}"),
    }
    store
        .append(check(ExpectedVersion::NoStream).with_stream("fresh", ExpectedVersion::NoStream, vec![]))
        .await
        .expect_err("one failing check fails the append");
    // Checks beside appends in the same batches: each answered against the log as it stands.
    let answers = join_all((0..16).map(|i| {
        let store = store.clone();
        async move {
            if i % 2 == 0 {
                store.append(AppendRequest::single(format!("busy-{i}"), ExpectedVersion::NoStream, events(1))).await
            } else {
                store
                    .append(check(ExpectedVersion::Exact(2)).with_stream("other", ExpectedVersion::NoStream, vec![]))
                    .await
            }
        }
    }))
    .await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    // A check joined to an append guards it: stale, and the append's events are not written.
    let guarded = AppendRequest::single("room", ExpectedVersion::Exact(1), vec![]).with_stream(
        "guarded",
        ExpectedVersion::NoStream,
        events(1),
    );
    assert!(store.append(guarded).await.is_err());
    assert_eq!(store.stream_version("guarded").await.expect("version"), 0);
    assert_eq!(store.head().await.expect("head").position, 10, "only the 2 seeded and 8 busy events exist");
}

/// Many appenders expecting the same version: exactly one wins, across replicas too.
pub async fn concurrent_appenders_one_wins(db: &TestDatabase) {
    let replicas = [db.open().await, db.open().await];
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = replicas[i % 2].clone();
        tasks.push(tokio::spawn(async move { append_one(store.as_ref(), "race", ExpectedVersion::Exact(0)).await }));
    }
    let results: Vec<_> = join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one appender wins: {results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        match r {
            Err(AppendError::WrongExpectedVersion { stream_id, current, .. }) => {
                assert_eq!(stream_id, "race");
                assert_eq!(*current, 1, "the error carries the current version");
            }
            other => panic!("expected a version conflict, got {other:?}"),
        }
    }
    assert_eq!(replicas[0].stream_version("race").await.expect("version"), 1);
}

/// Re-sending an append returns the original answer; reusing an id for other content fails.
pub async fn idempotent_retry(db: &TestDatabase) {
    let store = db.open().await;
    let request = AppendRequest::single("pay-1", ExpectedVersion::NoStream, events(2));
    let first = store.append(request.clone()).await.expect("append");
    append_one(store.as_ref(), "other", ExpectedVersion::Any).await.expect("unrelated append");
    // The stream has moved on and NoStream no longer holds, yet the retry is recognised.
    store.append(AppendRequest::single("pay-1", ExpectedVersion::Exact(2), events(1))).await.expect("advance");
    let retry = store.append(request.clone()).await.expect("retry");
    assert_eq!(retry.positions, first.positions);
    assert_eq!(retry.stream_versions, first.stream_versions);
    assert!(retry.duplicate);
    assert_eq!(store.head().await.expect("head").position, 4, "the retry wrote nothing");

    let mut changed = request.clone();
    changed.streams[0].events[0].payload = r#"{"n":"changed"}"#.into();
    let conflict = store.append(changed).await;
    assert!(
        matches!(conflict, Err(AppendError::EventIdConflict { event_id }) if event_id == request.streams[0].events[0].event_id),
        "{conflict:?}"
    );

    // Concurrent duplicates of one request: one write, every caller gets the same positions.
    let request = AppendRequest::single("pay-2", ExpectedVersion::NoStream, events(3));
    let answers = join_all((0..8).map(|_| store.append(request.clone()))).await;
    let positions: HashSet<_> = answers.into_iter().map(|a| a.expect("duplicate answered").positions).collect();
    assert_eq!(positions.len(), 1);
    assert_eq!(store.head().await.expect("head").position, 7);
}

/// A multi-stream append is all or nothing.
pub async fn multi_stream_atomicity(db: &TestDatabase) {
    let store = db.open().await;
    store.append(AppendRequest::single("b", ExpectedVersion::NoStream, events(2))).await.expect("seed b");
    let bad = AppendRequest::single("a", ExpectedVersion::NoStream, events(2)).with_stream(
        "b",
        ExpectedVersion::Exact(1),
        events(1),
    );
    match store.append(bad).await {
        Err(AppendError::WrongExpectedVersion { stream_id, current, expected }) => {
            assert_eq!((stream_id.as_str(), current, expected), ("b", 2, ExpectedVersion::Exact(1)));
        }
        other => panic!("expected a version conflict on b, got {other:?}"),
    }
    assert_eq!(store.stream_version("a").await.expect("a"), 0, "nothing of the failed append was written");
    assert_eq!(store.head().await.expect("head").position, 2);

    let good = AppendRequest::single("a", ExpectedVersion::NoStream, events(2)).with_stream(
        "b",
        ExpectedVersion::Exact(2),
        events(1),
    );
    let outcome = store.append(good).await.expect("atomic append");
    assert_eq!(outcome.positions, vec![3, 4, 5]);
    assert_eq!(outcome.stream_versions, vec![("a".to_string(), 2), ("b".to_string(), 3)]);
}

/// Group commit answers every request of a batch on its own: the bad ones with their own error.
pub async fn group_commit_answers_each(db: &TestDatabase) {
    // Slow commits make the queue fill while a transaction is open, so requests share batches.
    let store =
        db.open_with(GroupCommitConfig { max_batch: 512, slow_commit: Some((1, Duration::from_millis(150))) }).await;
    append_one(store.as_ref(), "taken", ExpectedVersion::NoStream).await.expect("seed");
    let reused = event(0);
    store.append(AppendRequest::single("reused", ExpectedVersion::Any, vec![reused.clone()])).await.expect("seed");
    let mut conflicting = reused.clone();
    conflicting.payload = r#"{"other":true}"#.into();

    let mut requests = Vec::new();
    for i in 0..60 {
        let request = match i % 4 {
            0 => AppendRequest::single("taken", ExpectedVersion::NoStream, events(1)),
            1 => AppendRequest::single("reused", ExpectedVersion::Any, vec![conflicting.clone()]),
            _ => AppendRequest::single(format!("fresh-{i}"), ExpectedVersion::NoStream, events(2)),
        };
        requests.push(request);
    }
    let answers = join_all(requests.iter().cloned().map(|r| {
        let store = store.clone();
        tokio::spawn(async move { store.append(r).await })
    }))
    .await;
    let mut positions = HashSet::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match (i % 4, answer.expect("task")) {
            (0, Err(AppendError::WrongExpectedVersion { current: 1, .. })) => {}
            (1, Err(AppendError::EventIdConflict { event_id })) => assert_eq!(event_id, reused.event_id),
            (2 | 3, Ok(o)) => {
                assert_eq!(o.positions.len(), 2);
                assert!(o.positions.iter().all(|p| positions.insert(*p)), "positions are unique");
            }
            (kind, other) => panic!("request {i} (kind {kind}) got {other:?}"),
        }
    }
    assert_eq!(positions.len(), 60, "30 good appends of 2 events each");
    let head = store.head().await.expect("head");
    assert_eq!(head.position, 62);
    assert!(verify_chain(store.as_ref()).await.expect("verify").is_ok());
}

/// The gap test: many writers, some transactions slow to commit, while a subscriber follows the
/// log. It must see every event exactly once, in position order, with no position skipped.
pub async fn subscriber_never_skips_late_commits(db: &TestDatabase) {
    // PostgreSQL: eight replicas, each its own writer. SQLite is single-node: one writer
    // serves eight concurrent appenders (other processes would queue on its file lock).
    let replica_count = if db.backend() == Backend::Postgres { 8 } else { 1 };
    let mut replicas = Vec::new();
    for i in 0..replica_count {
        let slow = Some((3 + i as u64, Duration::from_millis(15)));
        replicas.push(db.open_with(GroupCommitConfig { max_batch: 64, slow_commit: slow }).await);
    }
    const WRITERS: usize = 8;
    const APPENDS_PER_WRITER: usize = 420;
    let reader = db.open().await;
    let subscription =
        subscribe(reader.clone(), 0, SubscribeOptions { batch_size: 300, poll_interval: Duration::from_millis(50) });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = replicas[w % replica_count].clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..APPENDS_PER_WRITER {
                let batch = events(1 + (w + i) % 5);
                ids.extend(batch.iter().map(|e| e.event_id));
                let stream = format!("writer-{w}-{}", i % 7);
                store.append(AppendRequest::single(stream, ExpectedVersion::Any, batch)).await.expect("append");
            }
            ids
        }));
    }
    let expected_ids: HashSet<Uuid> =
        join_all(writers).await.into_iter().flat_map(|ids| ids.expect("writer")).collect();
    let total = expected_ids.len();
    assert!(total >= 10_000, "the gap test covers at least 10,000 events, got {total}");

    let seen: Vec<_> = tokio::time::timeout(Duration::from_secs(120), subscription.take(total).collect::<Vec<_>>())
        .await
        .expect("subscriber caught up");
    let mut seen_ids = HashSet::new();
    for (i, e) in seen.into_iter().enumerate() {
        let e = e.expect("subscription read");
        assert_eq!(e.position, i as u64 + 1, "positions arrive gapless and in order");
        assert!(seen_ids.insert(e.event_id), "event {} delivered twice", e.event_id);
    }
    assert_eq!(seen_ids, expected_ids, "the subscriber saw exactly the appended events");
    assert_eq!(reader.head().await.expect("head").position, total as u64);
}

/// A subscriber restarted from its checkpoint misses nothing and repeats nothing.
pub async fn subscriber_resumes_from_checkpoint(db: &TestDatabase) {
    let store = db.open().await;
    for _ in 0..10 {
        store.append(AppendRequest::single("s", ExpectedVersion::Any, events(10))).await.expect("append");
    }
    let options = SubscribeOptions { batch_size: 7, poll_interval: Duration::from_millis(50) };
    let first: Vec<_> = subscribe(store.clone(), 0, options.clone()).take(40).collect().await;
    let checkpoint = first.last().and_then(|e| e.as_ref().ok()).map(|e| e.position).expect("checkpoint");
    assert_eq!(checkpoint, 40);

    let live = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for _ in 0..5 {
                store.append(AppendRequest::single("t", ExpectedVersion::Any, events(10))).await.expect("append");
            }
        })
    };
    let resumed: Vec<u64> = tokio::time::timeout(
        Duration::from_secs(30),
        subscribe(store.clone(), checkpoint, options).take(110).map(|e| e.expect("read").position).collect::<Vec<_>>(),
    )
    .await
    .expect("resumed subscriber caught up with live appends");
    live.await.expect("writer");
    assert_eq!(resumed, (41..=150).collect::<Vec<u64>>());
}

/// The chain verifies when intact and names the first edited row when not.
pub async fn chain_detects_tampering(db: &TestDatabase) {
    let store = db.open().await;
    for i in 0..4 {
        store.append(AppendRequest::single(format!("s{i}"), ExpectedVersion::Any, events(5))).await.expect("append");
    }
    let report = verify_chain(store.as_ref()).await.expect("verify").expect("intact chain");
    assert_eq!(report.events, 20);
    assert_eq!(report.head_hash.len(), 64);

    db.tamper_payload(7, r#"{"n":999}"#).await;
    let edited = store.read_all_from_database(6, 1).await.expect("read")[0].payload.clone();
    assert_eq!(edited, r#"{"n":999}"#, "the edit took");
    let broken = verify_chain(store.as_ref()).await.expect("verify").expect_err("tampering is detected");
    assert_eq!(broken.position, 7);
}

/// The database itself refuses to change or remove events.
pub async fn database_rejects_update_and_delete(db: &TestDatabase) {
    let store = db.open().await;
    store.append(AppendRequest::single("s", ExpectedVersion::Any, events(3))).await.expect("append");
    for sql in [
        "UPDATE events SET event_type = 'forged' WHERE position = 2",
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events WHERE position = 3",
        "DELETE FROM events",
        "DELETE FROM log_head",
    ] {
        let err = db.execute(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if db.backend() == Backend::Postgres {
        let err = db.execute("TRUNCATE events").await.expect_err("truncate");
        assert!(err.contains("append-only"), "{err}");
    }
    let all = store.read_all(0, 10).await.expect("read");
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|e| e.event_type == "test_event"));
    assert!(verify_chain(store.as_ref()).await.expect("verify").is_ok());
}

/// Snapshots round-trip and an older one never replaces a newer one.
pub async fn snapshots_keep_the_newest(db: &TestDatabase) {
    let store = db.open().await;
    assert_eq!(store.load_snapshot("agg-1").await.expect("load"), None);
    let snap = |version: u64, state: &[u8]| Snapshot {
        stream_id: "agg-1".into(),
        version,
        schema_version: 2,
        state: state.to_vec(),
    };
    store.save_snapshot(&snap(5, b"five")).await.expect("save");
    store.save_snapshot(&snap(3, b"three")).await.expect("save older");
    assert_eq!(store.load_snapshot("agg-1").await.expect("load"), Some(snap(5, b"five")));
    store.save_snapshot(&snap(9, b"nine")).await.expect("save newer");
    assert_eq!(store.load_snapshot("agg-1").await.expect("load"), Some(snap(9, b"nine")));
}

/// A second store instance (another replica or process) sees appends and is woken by them.
pub async fn replicas_share_one_log(db: &TestDatabase) {
    let a = db.open().await;
    let b = db.open().await;
    let mut wake = b.watch_head();
    let follower = tokio::spawn({
        let b: Arc<dyn EventStore> = b.clone();
        async move {
            subscribe(b, 0, SubscribeOptions::default())
                .take(3)
                .map(|e| e.expect("read").position)
                .collect::<Vec<_>>()
                .await
        }
    });
    a.append(AppendRequest::single("x", ExpectedVersion::NoStream, events(3))).await.expect("append");
    let positions = tokio::time::timeout(Duration::from_secs(10), follower).await.expect("woken").expect("task");
    assert_eq!(positions, vec![1, 2, 3]);
    append_one(b.as_ref(), "x", ExpectedVersion::Exact(3)).await.expect("b continues the stream");
    assert_eq!(a.stream_version("x").await.expect("version"), 4);
    if db.backend() == Backend::Postgres {
        // LISTEN/NOTIFY carries a's commit to b's head watch.
        tokio::time::timeout(Duration::from_secs(10), async {
            while *wake.borrow_and_update() < 3 {
                wake.changed().await.expect("watch");
            }
        })
        .await
        .expect("b was notified of a's commit");
    }
}

/// Text holding NUL travels inside the JSON of payloads and metadata (as `\u0000`) and comes
/// back byte for byte on both backends; the hash chain covers it.
pub async fn nul_in_payload_and_metadata_round_trips(db: &TestDatabase) {
    let store = db.open().await;
    let payload = serde_json::json!({ "name": "a\u{0}b", "tags": ["x\u{0}"] }).to_string();
    let metadata = crate::EventMetadata {
        actor: Some("act\u{0}or".into()),
        client_ip: Some("192.0.2.1\u{0}".into()),
        ..Default::default()
    };
    let event = NewEvent::new(Uuid::new_v4(), "named", payload.clone()).with_metadata(metadata);
    store.append(AppendRequest::single("nul-1", ExpectedVersion::NoStream, vec![event])).await.expect("append");
    let read = &store.read_all_from_database(0, 10).await.expect("read")[0];
    assert_eq!(read.payload, payload);
    let stored: crate::EventMetadata = serde_json::from_str(&read.metadata).expect("metadata");
    assert_eq!(stored.actor.as_deref(), Some("act\u{0}or"));
    assert!(verify_chain(store.as_ref()).await.expect("verify").is_ok());
}

/// One secret per name, created once and shared: every replica asking at the same moment gets
/// the same 64 bytes, a reopened store finds them again, another name gets other bytes, and
/// nothing of it is in the log.
pub async fn shared_secret_is_created_once(db: &TestDatabase) {
    let a = db.open().await;
    let b = db.open().await;
    let asks = (0..8).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { store.shared_secret("token-signing").await.expect("secret") }
    });
    let answers = join_all(asks).await;
    assert!(answers.iter().all(|s| *s == answers[0]), "every replica sees the first writer's secret");
    assert_ne!(answers[0], [0u8; crate::SHARED_SECRET_BYTES], "the secret is random, not zeroes");
    let other = a.shared_secret("cursor-signing").await.expect("other secret");
    assert_ne!(other, answers[0]);
    drop((a, b));
    let reopened = db.open().await;
    assert_eq!(reopened.shared_secret("token-signing").await.expect("again"), answers[0]);
    for bad in ["", "a\0b"] {
        let refused = reopened.shared_secret(bad).await;
        assert!(matches!(refused, Err(crate::StoreError::Invalid(_))), "{bad:?}: {refused:?}");
    }
    assert_eq!(reopened.head().await.expect("head").position, 0, "secrets stay out of the log");
}

/// Daily API usage adds up across replicas: concurrent additions from two stores on one
/// database lose nothing, each answer is the running total, days are counted apart, reads
/// name only subjects with a count, pruning drops older days, bad input adds nothing, and
/// none of it is in the log.
pub async fn api_usage_adds_up_across_replicas(db: &TestDatabase) {
    let a = db.open().await;
    let b = db.open().await;
    let first = a.add_api_usage("2026-03-01", &[("alice".into(), 3), ("bob".into(), 1), ("alice".into(), 2)]).await;
    let first = first.expect("add");
    assert_eq!(first.get("alice"), Some(&5), "duplicates are summed");
    assert_eq!(first.get("bob"), Some(&1));
    let adds = (0..16).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { store.add_api_usage("2026-03-01", &[("alice".into(), 10)]).await.expect("concurrent add") }
    });
    let answers: Vec<u64> = join_all(adds).await.into_iter().map(|t| t["alice"]).collect();
    let distinct: HashSet<u64> = answers.iter().copied().collect();
    assert_eq!(distinct.len(), 16, "each addition answers its own running total: {answers:?}");
    assert_eq!(answers.iter().max(), Some(&165));
    let zero = b.add_api_usage("2026-03-01", &[("alice".into(), 0)]).await.expect("zero add");
    assert_eq!(zero["alice"], 165, "adding nothing reads the shared total");
    b.add_api_usage("2026-03-02", &[("alice".into(), 7)]).await.expect("next day");
    let read = a.api_usage("2026-03-01", &["alice".into(), "bob".into(), "carol".into()]).await.expect("read");
    assert_eq!(read.into_iter().collect::<Vec<_>>(), vec![("alice".to_string(), 165), ("bob".to_string(), 1)]);
    assert_eq!(a.api_usage("2026-03-02", &["alice".into()]).await.expect("read")["alice"], 7);
    for (day, subject) in [("2026-3-1", "alice"), ("yesterday", "alice"), ("2026-03-01", ""), ("2026-03-01", "a\0b")] {
        let refused = a.add_api_usage(day, &[("bob".into(), 1), (subject.into(), 1)]).await;
        assert!(matches!(refused, Err(crate::StoreError::Invalid(_))), "{day:?} {subject:?}: {refused:?}");
    }
    assert_eq!(a.api_usage("2026-03-01", &["bob".into()]).await.expect("read")["bob"], 1, "a refused add adds nothing");
    assert_eq!(b.prune_api_usage("2026-03-02").await.expect("prune"), 2);
    assert!(a.api_usage("2026-03-01", &["alice".into()]).await.expect("read").is_empty());
    assert_eq!(a.api_usage("2026-03-02", &["alice".into()]).await.expect("read")["alice"], 7);
    assert_eq!(a.head().await.expect("head").position, 0, "usage stays out of the log");
}
