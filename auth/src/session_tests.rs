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

fn started() -> SessionState {
    let start = SessionCommand::Start { user_id: USER, token_hash: "h1".into(), expires_at: now() + Duration::days(7) };
    run(SessionState::default(), start, &as_user()).0
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
    let start = SessionCommand::Start { user_id: USER, token_hash: "h1".into(), expires_at: now() + Duration::days(1) };
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
