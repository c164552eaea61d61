use super::*;
use crate::context::Actor;
use chrono::{Duration, TimeZone};

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
fn failures_are_recorded_but_never_lock_the_account() {
    let mut state = registered();
    for attempt in 1..=20 {
        let events = run(&mut state, UserCommand::RecordLogin { succeeded: false }, &ctx(attempt, Role::User)).unwrap();
        assert_eq!(
            events,
            vec![UserEvent::LoginFailed { consecutive_failures: attempt as u32, at: ctx(attempt, Role::User).now }]
        );
    }
    assert_eq!(state.user.as_ref().unwrap().locked_until, None);
    let events = run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(21, Role::User)).unwrap();
    assert_eq!(events[0].event_type(), "login_succeeded");
    assert_eq!(state.user.as_ref().unwrap().consecutive_failures, 0);
}

/// Logs written while lockout existed still decode and replay, and their lock refuses nothing.
#[test]
fn legacy_lockout_events_replay_and_no_longer_refuse() {
    let mut state = registered();
    let old: Vec<UserEvent> = [
        r#"{"type":"login_failed","consecutive_failures":5,"at":"2030-03-04T08:05:00Z"}"#,
        r#"{"type":"locked_out","until":"2030-03-04T08:20:00Z","at":"2030-03-04T08:05:00Z"}"#,
    ]
    .iter()
    .map(|json| serde_json::from_str(json).unwrap())
    .collect();
    for event in &old {
        state = evolve_user(state, event);
    }
    assert_eq!(old[1].event_type(), "locked_out");
    assert_eq!(state.user.as_ref().unwrap().locked_until, Some(ctx(20, Role::User).now));
    let events = run(&mut state, UserCommand::RecordLogin { succeeded: true }, &ctx(6, Role::User)).unwrap();
    assert_eq!(events[0].event_type(), "login_succeeded");
    assert_eq!(state.user.as_ref().unwrap().locked_until, None);
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
        UserCommand::Register { user_id: ID, username: "xavier".into(), password_hash: "h".into(), role: Role::Admin };
    let err = decide_user(&UserState::default(), &privileged, &ctx(0, Role::User)).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(user_stream_id(ID), format!("user-{ID}"));
}

#[test]
fn admin_unlock_lifts_a_legacy_lockout_and_is_otherwise_a_no_op() {
    let mut state = registered();
    assert_eq!(run(&mut state, UserCommand::Unlock, &ctx(1, Role::Admin)).unwrap(), Vec::new());
    state = evolve_user(state, &UserEvent::LockedOut { until: ctx(20, Role::User).now, at: ctx(5, Role::User).now });
    assert_eq!(run(&mut state, UserCommand::Unlock, &ctx(6, Role::User)).unwrap_err().code(), "forbidden");
    assert_eq!(run(&mut state, UserCommand::Unlock, &ctx(6, Role::Admin)).unwrap()[0].event_type(), "unlocked");
    assert_eq!(state.user.as_ref().unwrap().locked_until, None);
}

#[test]
fn usernames_and_hashes_are_checked_text() {
    let register = |username: &str, hash: &str| UserCommand::Register {
        user_id: ID,
        username: username.into(),
        password_hash: hash.into(),
        role: Role::User,
    };
    let field = |command: UserCommand| match decide_user(&UserState::default(), &command, &ctx(0, Role::Guest)) {
        Err(Rejection::InvalidField { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    for bad in ["a\u{0}b", "al", "   ", "al ice", "ali\nce", &"x".repeat(65)] {
        assert_eq!(field(register(bad, "h1")), "username", "{bad:?}");
    }
    for bad in ["", "h\u{0}", "h 1"] {
        assert_eq!(field(register("alice", bad)), "password_hash", "{bad:?}");
    }
    let events = decide_user(&UserState::default(), &register("  Alice.B@x ", "h1"), &ctx(0, Role::Guest)).unwrap();
    let UserEvent::Registered { username, .. } = &events[0] else { panic!() };
    assert_eq!(username, "Alice.B@x", "recorded trimmed");
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

#[test]
fn a_totp_step_is_accepted_once_and_older_steps_never() {
    let mut state = registered();
    let me = ctx(1, Role::User);
    run(&mut state, UserCommand::SetUpMfa { totp_secret: "JBSWY3DPEHPK3PXP".into() }, &me).unwrap();
    assert!(!state.user.as_ref().unwrap().mfa.enabled);
    assert!(run(&mut state, UserCommand::UseTotpStep { step: 100 }, &me).is_err(), "not enabled yet");
    let enable = UserCommand::EnableMfa { step: 100, backup_code_hashes: vec!["b1".into(), "b2".into()] };
    run(&mut state, enable, &me).unwrap();
    assert!(run(&mut state, UserCommand::UseTotpStep { step: 100 }, &me).is_err(), "the enabling code is spent");
    assert_eq!(run(&mut state, UserCommand::UseTotpStep { step: 101 }, &me).unwrap().len(), 1);
    assert!(run(&mut state, UserCommand::UseTotpStep { step: 101 }, &me).is_err(), "replay refused");
    assert!(run(&mut state, UserCommand::UseTotpStep { step: 99 }, &me).is_err(), "older step refused");
    assert_eq!(run(&mut state, UserCommand::UseBackupCode { code_hash: "b1".into() }, &me).unwrap().len(), 1);
    assert!(run(&mut state, UserCommand::UseBackupCode { code_hash: "b1".into() }, &me).is_err(), "used once");
    assert!(run(&mut state, UserCommand::UseBackupCode { code_hash: "zz".into() }, &me).is_err());
    let other = DecisionContext { actor: Actor { user_id: Uuid::from_u128(7), role: Role::Admin }, ..me };
    assert!(run(&mut state, UserCommand::UseTotpStep { step: 200 }, &other).is_err(), "only the user");
    run(&mut state, UserCommand::DisableMfa, &me).unwrap();
    assert_eq!(state.user.as_ref().unwrap().mfa, Mfa::default());
}

#[test]
fn admins_disable_enable_and_reset() {
    let mut state = registered();
    let admin =
        DecisionContext { actor: Actor { user_id: Uuid::from_u128(7), role: Role::Admin }, ..ctx(1, Role::Admin) };
    assert!(run(&mut state, UserCommand::Disable, &ctx(1, Role::User)).is_err());
    run(&mut state, UserCommand::Disable, &admin).unwrap();
    assert!(state.user.as_ref().unwrap().disabled);
    assert!(run(&mut state, UserCommand::Disable, &admin).unwrap().is_empty());
    run(&mut state, UserCommand::Enable, &admin).unwrap();
    assert!(!state.user.as_ref().unwrap().disabled);
    run(&mut state, UserCommand::ResetPassword { password_hash: "h2".into() }, &admin).unwrap();
    assert!(state.user.as_ref().unwrap().must_change_password);
    run(&mut state, UserCommand::ChangePassword { password_hash: "h3".into() }, &ctx(2, Role::User)).unwrap();
    assert!(!state.user.as_ref().unwrap().must_change_password);
}
