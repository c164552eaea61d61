use chrono::{Duration, TimeZone};
use reserver_domain::Actor;

use super::*;

const USER: Uuid = Uuid::from_u128(7);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).single().expect("valid date")
}

fn ctx_at(now: DateTime<Utc>, user_id: Uuid, role: Role) -> DecisionContext {
    DecisionContext { now, actor: Actor { user_id, role } }
}

fn as_user() -> DecisionContext {
    ctx_at(now(), USER, Role::User)
}

/// Applies `command`, panicking on a rejection (test helper).
fn run(state: SessionState, command: SessionCommand, ctx: &DecisionContext) -> (SessionState, Vec<SessionEvent>) {
    let events = decide_session(&state, &command, ctx).expect("accepted");
    (events.iter().fold(state, evolve_session), events)
}

/// Idle expiry 7 days, absolute 30 days.
const LIFETIMES: SessionLifetimes = SessionLifetimes { idle: Duration::days(7), absolute: Duration::days(30) };

fn started() -> SessionState {
    run(SessionState::default(), LIFETIMES.start(USER, "h1".into(), now()), &as_user()).0
}

fn rotate(presented: &str, new: &str) -> SessionCommand {
    SessionCommand::Rotate {
        presented_hash: presented.into(),
        new_hash: new.into(),
        expires_at: now() + Duration::days(7),
    }
}

#[test]
fn rotation_replaces_the_current_token() {
    let (state, events) = run(started(), rotate("h1", "h2"), &as_user());
    assert_eq!(events[0].event_type(), "session_rotated");
    assert!(!reuse_detected(&events));
    assert_eq!(state.current_hash.as_deref(), Some("h2"));
    assert_eq!(state.used_hashes, ["h1"]);
}

#[test]
fn presenting_a_used_token_revokes_the_family() {
    let (state, _) = run(started(), rotate("h1", "h2"), &as_user());
    let (state, events) = run(state, rotate("h1", "h3"), &as_user());
    assert!(reuse_detected(&events));
    assert_eq!(events[0].event_type(), "refresh_token_reuse_detected");
    assert!(state.revoked);
    let refused = decide_session(&state, &rotate("h2", "h4"), &as_user());
    assert!(matches!(refused, Err(Rejection::InvalidState { reason }) if reason == "session revoked"));
}

#[test]
fn unknown_and_expired_tokens_are_rejected() {
    assert!(matches!(decide_session(&started(), &rotate("zz", "h2"), &as_user()), Err(Rejection::Forbidden { .. })));
    let late = ctx_at(now() + Duration::days(7), USER, Role::User);
    assert!(matches!(decide_session(&started(), &rotate("h1", "h2"), &late), Err(Rejection::InvalidState { .. })));
    let missing = decide_session(&SessionState::default(), &rotate("h1", "h2"), &as_user());
    assert!(matches!(missing, Err(Rejection::NotFound { .. })));
}

#[test]
fn a_new_hash_must_be_fresh() {
    let (state, _) = run(started(), rotate("h1", "h2"), &as_user());
    assert!(matches!(decide_session(&state, &rotate("h2", "h1"), &as_user()), Err(Rejection::InvalidInput { .. })));
    assert!(matches!(decide_session(&state, &rotate("h2", "h2"), &as_user()), Err(Rejection::InvalidInput { .. })));
}

#[test]
fn only_the_user_or_an_admin_starts_or_revokes() {
    let stranger = ctx_at(now(), Uuid::from_u128(8), Role::User);
    let start = LIFETIMES.start(USER, "h1".into(), now());
    assert!(matches!(decide_session(&SessionState::default(), &start, &stranger), Err(Rejection::Forbidden { .. })));
    let revoke = SessionCommand::Revoke { reason: "logout".into() };
    assert!(matches!(decide_session(&started(), &revoke, &stranger), Err(Rejection::Forbidden { .. })));
    let admin = ctx_at(now(), Uuid::from_u128(1), Role::Admin);
    let (state, events) = run(started(), revoke.clone(), &admin);
    assert_eq!(events[0].event_type(), "session_revoked");
    assert!(state.revoked);
    assert_eq!(run(state, revoke, &as_user()).1, Vec::new(), "revoking twice changes nothing");
}

#[test]
fn events_serialize_with_their_type_tag() {
    let event = SessionEvent::RefreshTokenReuseDetected { user_id: USER, presented_hash: "h1".into(), at: now() };
    let json = serde_json::to_value(&event).expect("json");
    assert_eq!(json["type"], event.event_type());
    assert!(json.get("at").is_some());
}

/// Rotates `presented` into `new` on day `day` after login, with the injected clock at that day.
fn rotate_on(state: SessionState, day: i64, presented: &str, new: &str) -> Result<SessionState, Rejection> {
    let at = now() + Duration::days(day);
    let command = LIFETIMES.rotate(presented.into(), new.into(), at);
    let events = decide_session(&state, &command, &ctx_at(at, USER, Role::User))?;
    Ok(events.iter().fold(state, evolve_session))
}

#[test]
fn an_unused_refresh_token_expires_after_the_idle_lifetime() {
    let state = started();
    assert_eq!(state.expires_at, Some(now() + Duration::days(7)));
    let refused = rotate_on(state.clone(), 7, "h1", "h2").unwrap_err();
    assert!(
        matches!(refused, Rejection::InvalidState { ref reason } if reason == "refresh token expired"),
        "{refused:?}"
    );
    let state = rotate_on(state, 6, "h1", "h2").expect("still fresh on day 6");
    assert_eq!(state.expires_at, Some(now() + Duration::days(13)), "each rotation restarts the idle clock");
}

#[test]
fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let mut state = started();
    assert_eq!(state.absolute_expires_at, Some(now() + Duration::days(30)));
    // Refreshed every 5 days, always well within the idle lifetime.
    for (i, day) in [5, 10, 15, 20, 25].into_iter().enumerate() {
        state = rotate_on(state, day, &format!("h{}", i + 1), &format!("h{}", i + 2)).expect("within both lifetimes");
    }
    // The day-25 token would be fresh until day 32, but is cut at the absolute expiry.
    assert_eq!(state.expires_at, Some(now() + Duration::days(30)));
    let late = rotate_on(state.clone(), 30, "h6", "h7").unwrap_err();
    assert!(matches!(late, Rejection::InvalidState { ref reason } if reason.contains("absolute lifetime")), "{late:?}");
    let just_before = now() + Duration::days(30) - Duration::seconds(1);
    let command = LIFETIMES.rotate("h6".into(), "h7".into(), just_before);
    let events = decide_session(&state, &command, &ctx_at(just_before, USER, Role::User)).expect("one second left");
    let SessionEvent::SessionRotated { expires_at, .. } = &events[0] else { panic!("{events:?}") };
    assert_eq!(*expires_at, now() + Duration::days(30));
}

#[test]
fn the_first_token_never_outlives_the_session() {
    let short = SessionLifetimes { idle: Duration::days(14), absolute: Duration::days(1) };
    let (state, _) = run(SessionState::default(), short.start(USER, "h1".into(), now()), &as_user());
    assert_eq!(state.expires_at, Some(now() + Duration::days(1)));
}

#[test]
fn sessions_started_before_absolute_lifetimes_end_after_the_default() {
    let old = r#"{"type":"session_started","user_id":"00000000-0000-0000-0000-000000000007",
        "token_hash":"h1","expires_at":"2030-03-18T08:00:00Z","at":"2030-03-04T08:00:00Z"}"#;
    let event: SessionEvent = serde_json::from_str(old).expect("old events decode");
    let state = evolve_session(SessionState::default(), &event);
    assert_eq!(state.absolute_expires_at, Some(now() + DEFAULT_ABSOLUTE_LIFETIME));
    assert_eq!(SessionLifetimes::default().absolute, Duration::days(30));
}

#[test]
fn token_hashes_and_reasons_are_checked_text() {
    let bad = SessionCommand::Start {
        user_id: USER,
        token_hash: "h\u{0}".into(),
        expires_at: now() + Duration::days(1),
        absolute_expires_at: now() + Duration::days(2),
        user_agent: None,
    };
    let refused = decide_session(&SessionState::default(), &bad, &as_user());
    assert!(matches!(refused, Err(Rejection::InvalidField { ref field, .. }) if field == "token_hash"), "{refused:?}");
    let revoke = SessionCommand::Revoke { reason: "bye\u{0}".into() };
    assert!(matches!(decide_session(&started(), &revoke, &as_user()), Err(Rejection::InvalidField { .. })));
}
