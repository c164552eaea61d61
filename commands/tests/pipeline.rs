//! The command pipeline on both backends: decide, append, conflicts, idempotency keys, claims,
//! snapshots, stale caches across replicas.

mod common;

use std::collections::HashSet;

use common::*;
use futures::future::join_all;
use reserver_commands::{CommandError, CommandMeta, CommandPipeline, IdempotencyKey, PipelineConfig, UserAggregate};
use reserver_domain::user::{user_stream_id, UserCommand};
use reserver_domain::{BookingPolicy, Rejection, ResourceCommand, Role};
use reserver_store::EventMetadata;
use uuid::Uuid;

async fn books_and_explains_conflicts(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone(), clock());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;

    let (first, cmd) = book(slot(60, 120));
    let booked = p.execute(resource, user(1), cmd, CommandMeta::new()).await.expect("book");
    assert_eq!(confirmed_id(&booked), Some(first));
    assert_eq!(booked.stream_version, 2);
    assert!(booked.position >= 2);

    let (_, clash) = book(slot(90, 150));
    match p.execute(resource, user(2), clash, CommandMeta::new()).await {
        Err(CommandError::Rejected(Rejection::Conflict { conflicts, next_free })) => {
            assert_eq!(conflicts.len(), 1);
            assert_eq!(conflicts[0].reservation_id, first);
            let next = next_free.first().expect("a next free slot is offered");
            assert_eq!(
                next.start(),
                slot(120, 180).start(),
                "the next free 60-minute slot starts when the booking ends"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Half-open: the slot right after is free.
    let (_, adjacent) = book(slot(120, 180));
    p.execute(resource, user(2), adjacent, CommandMeta::new()).await.expect("adjacent slot");

    let recorded = store.read_stream(&format!("resource-{resource}"), 1, 10).await.expect("read");
    assert_eq!(
        recorded.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        ["resource_created", "reservation_confirmed", "reservation_confirmed"]
    );
    let meta: EventMetadata = serde_json::from_str(&recorded[1].metadata).expect("metadata");
    assert_eq!(meta.actor, Some(user(1).user_id.to_string()));
    assert!(meta.command_id.is_some());
}

async fn idempotency_keys_answer_once(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone(), clock());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;
    let keyed = |key: &str, body: &[u8]| CommandMeta {
        idempotency: Some(IdempotencyKey::new("alice", key, body)),
        ..CommandMeta::new()
    };

    // Concurrent first attempts with one key: one booking, every caller the same answer.
    let (reservation, cmd) = book(slot(60, 120));
    let attempts =
        join_all((0..12).map(|_| p.execute(resource, user(1), cmd.clone(), keyed("k1", b"book 60-120")))).await;
    let answers: Vec<_> = attempts.into_iter().map(|a| a.expect("answered")).collect();
    assert!(answers.iter().all(|a| confirmed_id(a) == Some(reservation)));
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "decided once, replayed for the rest");
    let head = store.head().await.expect("head").position;

    // A later retry gets the first answer and writes nothing, even though deciding again would conflict.
    let retry = p.execute(resource, user(1), cmd.clone(), keyed("k1", b"book 60-120")).await.expect("retry");
    assert!(retry.replayed);
    assert_eq!(confirmed_id(&retry), Some(reservation));
    assert_eq!(retry.position, answers[0].position);
    assert_eq!(store.head().await.expect("head").position, head);

    let reused = p.execute(resource, user(1), cmd.clone(), keyed("k1", b"something else")).await;
    assert!(matches!(reused, Err(CommandError::IdempotencyKeyReused)), "{reused:?}");

    // A rejection is recorded too: the same key keeps answering the same rejection.
    let (_, clash) = book(slot(60, 120));
    let first = p.execute(resource, user(1), clash.clone(), keyed("k2", b"clash")).await;
    assert!(matches!(first, Err(CommandError::Rejected(Rejection::Conflict { .. }))));
    p.execute(
        resource,
        ADMIN,
        ResourceCommand::CancelReservation { reservation_id: reservation, reason: None },
        CommandMeta::new(),
    )
    .await
    .expect("cancel");
    let again = p.execute(resource, user(1), clash, keyed("k2", b"clash")).await;
    assert!(matches!(again, Err(CommandError::Rejected(Rejection::Conflict { .. }))), "{again:?}");
}

async fn usernames_are_claimed_once(db: &ScratchDatabase) {
    let store = db.open().await;
    let users: CommandPipeline<UserAggregate> = CommandPipeline::new(store.clone(), clock(), PipelineConfig::default());
    let register = |username: &str| {
        let user_id = Uuid::new_v4();
        let command = UserCommand::Register {
            user_id,
            username: username.into(),
            password_hash: "hash".into(),
            role: Role::User,
        };
        let meta = CommandMeta { claims: vec![format!("username-{}", username.to_lowercase())], ..CommandMeta::new() };
        (user_id, command, meta)
    };
    let attempts = (0..6).map(|_| {
        let (id, command, meta) = register("Alice");
        let users = users.clone();
        async move { (id, users.execute(id, user(1), command, meta).await) }
    });
    let results = join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).map(|(id, _)| *id).collect();
    assert_eq!(winners.len(), 1, "exactly one account gets the name");
    for (_, r) in results.iter().filter(|(_, r)| r.is_err()) {
        assert!(matches!(r, Err(CommandError::ClaimTaken(s)) if s == "username-alice"), "{r:?}");
    }
    assert_eq!(store.stream_version(&user_stream_id(winners[0])).await.expect("version"), 1);
    let (id, command, meta) = register("ALICE");
    assert!(matches!(users.execute(id, user(1), command, meta).await, Err(CommandError::ClaimTaken(_))));
}

async fn replicas_see_each_others_writes(db: &ScratchDatabase) {
    let a = pipeline(db.open().await, clock());
    let b = pipeline(db.open().await, clock());
    let resource = new_resource(&a, 1, BookingPolicy::default()).await;
    let (_, first) = book(slot(60, 120));
    b.execute(resource, user(1), first, CommandMeta::new()).await.expect("b books");
    // a's cache is stale; it must still see b's booking before deciding.
    let (_, clash) = book(slot(60, 120));
    assert!(matches!(a.execute(resource, user(2), clash, CommandMeta::new()).await, Err(CommandError::Rejected(_))));
    let (_, other) = book(slot(120, 180));
    let d = a.execute(resource, user(2), other, CommandMeta::new()).await.expect("a books a free slot");
    assert_eq!(d.stream_version, 3);

    // The other way round: a's cache says the slot is taken, but b has since freed it. A
    // rejection writes nothing, but it checks the stream's version with the store, finds the
    // cache stale, and is decided again on the log.
    let (taken, cmd) = book(slot(300, 360));
    a.execute(resource, user(1), cmd, CommandMeta::new()).await.expect("a books");
    let (_, again) = book(slot(300, 360));
    assert!(matches!(b.execute(resource, user(2), again, CommandMeta::new()).await, Err(CommandError::Rejected(_))));
    let cancel = ResourceCommand::CancelReservation { reservation_id: taken, reason: None };
    b.execute(resource, user(1), cancel, CommandMeta::new()).await.expect("b cancels");
    let (_, freed) = book(slot(300, 360));
    a.execute(resource, user(2), freed, CommandMeta::new()).await.expect("a sees the slot b freed");
}

async fn snapshots_make_loading_short(db: &ScratchDatabase) {
    let store = db.open().await;
    let config = PipelineConfig { snapshot_every: 10, ..PipelineConfig::default() };
    let p: CommandPipeline<_> = CommandPipeline::new(store.clone(), clock(), config.clone());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;
    for i in 0..25 {
        let (_, cmd) = book(slot(60 * i, 60 * i + 30));
        p.execute(resource, user(1), cmd, CommandMeta::new()).await.expect("book");
    }
    let stream = format!("resource-{resource}");
    let mut snapshot = None;
    for _ in 0..50 {
        snapshot = store.load_snapshot(&stream).await.expect("load");
        if snapshot.as_ref().is_some_and(|s| s.version == 20) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(snapshot.map(|s| s.version), Some(20), "a snapshot every 10 events");
    let fresh: CommandPipeline<reserver_commands::ResourceAggregate> = CommandPipeline::new(store, clock(), config);
    assert_eq!(fresh.load(resource).await.expect("load"), p.load(resource).await.expect("load"));
}

async fn maintenance_blocks_booking(db: &ScratchDatabase) {
    let p = pipeline(db.open().await, clock());
    let resource = new_resource(&p, 2, BookingPolicy::default()).await;
    p.execute(resource, ADMIN, maintenance(), CommandMeta::new()).await.expect("maintenance");
    let (_, cmd) = book(slot(60, 120));
    let refused = p.execute(resource, user(1), cmd, CommandMeta::new()).await;
    assert!(matches!(refused, Err(CommandError::Rejected(Rejection::ResourceInMaintenance))), "{refused:?}");
    let (_, cmd) = book(slot(60, 120));
    let forbidden = p.execute(resource, user(1), maintenance(), CommandMeta::new()).await;
    assert!(matches!(forbidden, Err(CommandError::Rejected(Rejection::Forbidden { .. }))), "{forbidden:?}");
    drop(cmd);
}

async fn concurrent_bookings_of_distinct_slots_all_land(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone(), clock());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;
    let results = join_all((0..40).map(|i| {
        let p = p.clone();
        async move {
            let (id, cmd) = book(slot(30 * i, 30 * i + 30));
            (id, p.execute(resource, user(i as u128 % 5), cmd, CommandMeta::new()).await)
        }
    }))
    .await;
    let mut positions = HashSet::new();
    for (id, r) in results {
        let d = r.expect("every distinct slot is booked");
        assert_eq!(confirmed_id(&d), Some(id));
        assert!(positions.insert(d.position));
    }
    assert_eq!(store.stream_version(&format!("resource-{resource}")).await.expect("version"), 41);
}

async fn previews_decide_without_appending(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone(), clock());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;
    let head = store.head().await.expect("head").position;
    let (id, cmd) = book(slot(60, 120));
    let events = p.preview(resource, user(1), &cmd).await.expect("a preview of a free slot");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "reservation_confirmed");
    assert_eq!(store.head().await.expect("head").position, head, "a preview appended something");
    // The slot is still free: booking it for real works, and a preview then sees the conflict.
    let booked = p.execute(resource, user(1), cmd.clone(), CommandMeta::new()).await.expect("book");
    assert_eq!(confirmed_id(&booked), Some(id));
    let (_, clash) = book(slot(90, 150));
    match p.preview(resource, user(2), &clash).await {
        Err(CommandError::Rejected(Rejection::Conflict { conflicts, .. })) => {
            assert_eq!(conflicts[0].reservation_id, id)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.head().await.expect("head").position, booked.position);
}

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() { super::$check(&ScratchDatabase::new(Backend::Sqlite).await).await; }
        )* }
        mod postgres { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() { super::$check(&ScratchDatabase::new(Backend::Postgres).await).await; }
        )* }
    };
}

on_both_backends!(
    books_and_explains_conflicts,
    idempotency_keys_answer_once,
    usernames_are_claimed_once,
    replicas_see_each_others_writes,
    snapshots_make_loading_short,
    maintenance_blocks_booking,
    concurrent_bookings_of_distinct_slots_all_land,
    previews_decide_without_appending,
);
