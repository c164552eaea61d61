//! Refresh sessions through the real command pipeline on both backends: rotation, reuse of a
//! rotated-away token revoking the whole family, logout, idle and absolute expiry under an
//! injected clock, and the security history in the log.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reserver_auth::session::session_stream_id;
use reserver_auth::{
    new_refresh_token, parse_refresh_token, reuse_detected, SessionAggregate, SessionCommand, SessionLifetimes,
};
use reserver_commands::{Clock, CommandError, CommandMeta, CommandPipeline, ManualClock, PipelineConfig};
use reserver_domain::{Actor, Rejection, Role};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{Backend, EventStore};
use uuid::Uuid;

const USER: Actor = Actor { user_id: Uuid::from_u128(42), role: Role::User };

/// Refreshes come in without an access token: the refresh token is the credential.
const ANONYMOUS: Actor = Actor { user_id: Uuid::nil(), role: Role::Guest };

fn base_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).single().expect("valid date")
}

/// Idle expiry 7 days, absolute 30 days.
const LIFETIMES: SessionLifetimes = SessionLifetimes { idle: Duration::days(7), absolute: Duration::days(30) };

fn pipeline(store: Arc<dyn EventStore>) -> CommandPipeline<SessionAggregate> {
    pipeline_at(store, Arc::new(ManualClock::new(base_now())))
}

fn pipeline_at(store: Arc<dyn EventStore>, clock: Arc<ManualClock>) -> CommandPipeline<SessionAggregate> {
    let clock: Arc<dyn Clock> = clock;
    CommandPipeline::new(store, clock, PipelineConfig::default())
}

/// Logs in: a new session and its first refresh token.
async fn login(p: &CommandPipeline<SessionAggregate>) -> (Uuid, String) {
    let session = Uuid::new_v4();
    let (token, token_hash) = new_refresh_token(session).expect("token");
    let start = LIFETIMES.start(USER.user_id, token_hash, p.clock().now());
    p.execute(session, USER, start, CommandMeta::new()).await.expect("start");
    (session, token)
}

/// Presents `token` at the refresh endpoint: the new token, or why not.
async fn refresh(p: &CommandPipeline<SessionAggregate>, token: &str) -> Result<String, &'static str> {
    let (session, presented_hash) = parse_refresh_token(token).ok_or("malformed")?;
    let (new_token, new_hash) = new_refresh_token(session).expect("token");
    let rotate = LIFETIMES.rotate(presented_hash, new_hash, p.clock().now());
    match p.execute(session, ANONYMOUS, rotate, CommandMeta::new()).await {
        Ok(decided) if reuse_detected(&decided.events) => Err("reuse detected"),
        Ok(_) => Ok(new_token),
        Err(CommandError::Rejected(Rejection::InvalidState { reason })) if reason == "session revoked" => {
            Err("session revoked")
        }
        Err(CommandError::Rejected(Rejection::InvalidState { reason })) if reason == "refresh token expired" => {
            Err("expired")
        }
        Err(CommandError::Rejected(Rejection::InvalidState { reason })) if reason.contains("absolute lifetime") => {
            Err("session over")
        }
        Err(CommandError::Rejected(_)) => Err("refused"),
        Err(e) => panic!("pipeline failed: {e}"),
    }
}

async fn event_types(store: &Arc<dyn EventStore>, session: Uuid) -> Vec<String> {
    let events = store.read_stream(&session_stream_id(session), 1, 100).await.expect("read stream");
    events.into_iter().map(|e| e.event_type).collect()
}

async fn reuse_revokes_the_family(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone());
    let (session, first) = login(&p).await;

    let second = refresh(&p, &first).await.expect("first rotation");
    assert_eq!(refresh(&p, &first).await, Err("reuse detected"), "a rotated-away token came back");
    assert_eq!(refresh(&p, &second).await, Err("session revoked"), "the thief's or user's newer token dies too");
    assert_eq!(refresh(&p, &first).await, Err("session revoked"));

    assert_eq!(
        event_types(&store, session).await,
        ["session_started", "session_rotated", "refresh_token_reuse_detected"]
    );
    let payloads = store.read_stream(&session_stream_id(session), 1, 100).await.expect("read stream");
    assert!(payloads.iter().all(|e| !e.payload.contains(first.split('.').nth(1).unwrap_or("?"))), "no raw secret");

    // Another replica, rebuilding from the log alone, refuses the family as well.
    let other = pipeline(db.open().await);
    let (_, state) = other.load(session).await.expect("load");
    assert!(state.revoked);
    assert_eq!(refresh(&other, &second).await, Err("session revoked"));
}

async fn rotation_chains_and_logout_revokes(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone());
    let (session, mut token) = login(&p).await;
    for _ in 0..5 {
        token = refresh(&p, &token).await.expect("rotation");
    }
    let forged = format!("{session}.{}", "A".repeat(43));
    assert_eq!(refresh(&p, &forged).await, Err("refused"), "a well-formed but unknown secret");

    let logout = SessionCommand::Revoke { reason: "logout".into() };
    p.execute(session, USER, logout, CommandMeta::new()).await.expect("logout");
    assert_eq!(refresh(&p, &token).await, Err("session revoked"));
    let types = event_types(&store, session).await;
    assert_eq!(types.first().map(String::as_str), Some("session_started"));
    assert_eq!(types.iter().filter(|t| *t == "session_rotated").count(), 5);
    assert_eq!(types.last().map(String::as_str), Some("session_revoked"));
}

/// Two refreshes racing with one token: exactly one wins, the other counts as reuse.
async fn racing_refreshes_revoke_the_family(db: &ScratchDatabase) {
    let p = pipeline(db.open().await);
    let (_, token) = login(&p).await;
    let (a, b) = tokio::join!(refresh(&p, &token), refresh(&p, &token));
    let mut outcomes = [a.map(|_| "rotated"), b.map(|_| "rotated")];
    outcomes.sort();
    assert_eq!(outcomes, [Ok("rotated"), Err("reuse detected")]);
}

/// The clock moves; a token unused for the idle lifetime dies, and a session refreshed
/// diligently still ends at its absolute lifetime.
async fn sessions_expire_idle_and_absolute(db: &ScratchDatabase) {
    let store = db.open().await;
    let clock = Arc::new(ManualClock::new(base_now()));
    let p = pipeline_at(store.clone(), clock.clone());

    let (_, idle) = login(&p).await;
    clock.advance(Duration::days(7));
    assert_eq!(refresh(&p, &idle).await, Err("expired"), "unused for the whole idle lifetime");

    clock.set(base_now());
    let (session, mut token) = login(&p).await;
    for _ in 0..5 {
        clock.advance(Duration::days(5));
        token = refresh(&p, &token).await.expect("refreshed within the idle lifetime");
    }
    // 25 days after login the current token is fresh until day 30, not day 32.
    clock.advance(Duration::days(5));
    assert_eq!(refresh(&p, &token).await, Err("session over"), "30 days after login");
    // Another replica, rebuilding the session from the log, agrees.
    let other = pipeline_at(db.open().await, clock.clone());
    assert_eq!(refresh(&other, &token).await, Err("session over"));
    let (_, state) = other.load(session).await.expect("load");
    assert_eq!(state.absolute_expires_at, Some(base_now() + Duration::days(30)));
}

async fn all(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    reuse_revokes_the_family(&db).await;
    rotation_chains_and_logout_revokes(&db).await;
    racing_refreshes_revoke_the_family(&db).await;
    sessions_expire_idle_and_absolute(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_sqlite() {
    all(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_postgres() {
    all(Backend::Postgres).await;
}
