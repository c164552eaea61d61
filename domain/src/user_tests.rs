use super::*;
use crate::context::Actor;
use chrono::TimeZone;

const ID: Uuid = Uuid::from_u128(42);

fn ctx(minute: i64, role: Role) -> DecisionContext {
    DecisionContext {
        now: Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).unwrap() + Duration::minutes(minute),
        actor: Actor { user_id: ID, role },
    }
}

fn run(state: &mut UserState, command: UserCommand, ctx: &DecisionContext) -> Result<Vec<UserEvent>, Rejection> {
    let events = decide_user(state, &command, ctx)?;
    for event in &events {
        *state = evolve_user(state.clone(), event);
    }
    Ok(events)
}

fn registered() -> UserState {
    let mut state = UserState::default();
    let register =
        UserCommand::Register { user_id: ID, username: "alice".into(), password_hash: "h1".into(), role: Role::User };
    run(&mut state, register, &ctx(0, Role::Guest)).unwrap();
    state
}

#[test]
fn five_failures_lock_for_fifteen_minutes() {
    let mut state = registered();
    for attempt in 1..=4 {
        let events = run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(attempt, Role::User)).unwrap();
        assert_eq!(events.len(), 1);
    }
    let events = run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(5, Role::User)).unwrap();
    let names: Vec<_> = events.iter().map(UserEvent::event_type).collect();
    assert_eq!(names, vec!["login_failed", "locked_out"]);
    let until = state.user.as_ref().unwrap().locked_until.unwrap();
    assert_eq!(until, ctx(20, Role::User).now);
    let locked = run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(19, Role::User));
    assert_eq!(locked.unwrap_err().code(), "forbidden");
    let events = run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(20, Role::User)).unwrap();
    assert_eq!(events[0].event_type(), "login_succeeded");
    assert_eq!(state.user.as_ref().unwrap().consecutive_failures, 0);
}

#[test]
fn success_resets_the_failure_count() {
    let mut state = registered();
    for attempt in 1..=4 {
        run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(attempt, Role::User)).unwrap();
    }
    run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(5, Role::User)).unwrap();
    let events = run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(6, Role::User)).unwrap();
    assert_eq!(events, vec![UserEvent::LoginFailed { consecutive_failures: 1, at: ctx(6, Role::User).now }]);
}

#[test]
fn roles_and_registration_rules() {
    let mut state = registered();
    let grant = UserCommand::GrantRole { role: Role::Admin };
    assert_eq!(run(&mut state, grant.clone(), &ctx(1, Role::User)).unwrap_err().code(), "forbidden");
    run(&mut state, grant, &ctx(1, Role::Admin)).unwrap();
    assert_eq!(state.user.as_ref().unwrap().role, Role::Admin);
    let privileged =
        UserCommand::Register { user_id: ID, username: "x".into(), password_hash: "h".into(), role: Role::Admin };
    let err = decide_user(&UserState::default(), &privileged, &ctx(0, Role::User)).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(user_stream_id(ID), format!("user-{ID}"));
}

#[test]
fn admin_unlock_lifts_lockout() {
    let mut state = registered();
    for attempt in 1..=5 {
        run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(attempt, Role::User)).unwrap();
    }
    assert_eq!(run(&mut state, UserCommand::Unlock, &ctx(6, Role::User)).unwrap_err().code(), "forbidden");
    assert_eq!(run(&mut state, UserCommand::Unlock, &ctx(6, Role::Admin)).unwrap()[0].event_type(), "unlocked");
    run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(7, Role::User)).unwrap();
}

#[test]
fn calendar_token_regeneration_by_self_or_admin() {
    let mut state = registered();
    let events = run(&mut state, UserCommand::RegenerateCalendarToken, &ctx(1, Role::User)).unwrap();
    assert_eq!(events, vec![UserEvent::CalendarTokenRegenerated { by: ID, at: ctx(1, Role::User).now }]);
    assert_eq!(events[0].event_type(), "calendar_token_regenerated");
    let mut stranger = ctx(2, Role::User);
    stranger.actor.user_id = Uuid::from_u128(7);
    let err = run(&mut state, UserCommand::RegenerateCalendarToken, &stranger).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    stranger.actor.role = Role::Admin;
    assert!(run(&mut state, UserCommand::RegenerateCalendarToken, &stranger).is_ok());
    assert_eq!(state, registered(), "the token itself is not part of the state");
}
