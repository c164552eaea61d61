//! Accounts and sessions: first-run setup, registration, login, logout and password change,
//! shared by the JSON API (bearer tokens) and the web app (a session cookie). Every security
//! fact is an event in the log; both transports run exactly this code.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use reserver_auth::{check_password_policy, hash_password, new_refresh_token, parse_refresh_token, SessionCommand};
use reserver_commands::CommandError;
use reserver_domain::user::UserCommand;
use reserver_domain::{Actor, Role};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;

const SETUP_REOPENED_STREAM: &str = "setup-reopened";

/// The stream whose first event marks setup as done in the current setup epoch.
pub async fn setup_epoch(services: &Services) -> Result<u64, AppError> {
    Ok(services.store.stream_version(SETUP_REOPENED_STREAM).await?)
}

/// Whether the first administrator exists (in the current setup epoch).
pub async fn setup_complete(services: &Services) -> Result<bool, AppError> {
    let epoch = setup_epoch(services).await?;
    Ok(services.store.stream_version(&format!("setup-{epoch}")).await? > 0)
}

/// The stream that reopens setup (`POST /setup/unlock`).
pub fn setup_reopened_stream() -> &'static str {
    SETUP_REOPENED_STREAM
}

/// A newly registered account and the log position of its registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub position: u64,
}

fn username_claim(username: &str) -> String {
    format!("username-{}", username.trim().to_lowercase())
}

/// Checks a username (3 to 64 letters, digits or `._-@`) and the password policy; returns the
/// trimmed name. Errors: `Validation` on `username` or `password` (every violated rule).
pub fn validate_credentials(username: &str, password: &str) -> Result<String, AppError> {
    let username = username.trim();
    if username.chars().count() < 3
        || username.chars().count() > 64
        || !username.chars().all(|ch| ch.is_alphanumeric() || "._-@".contains(ch))
    {
        return Err(AppError::validation("username", "3 to 64 letters, digits or . _ - @"));
    }
    check_new_password(username, password)?;
    Ok(username.to_string())
}

fn check_new_password(username: &str, password: &str) -> Result<(), AppError> {
    check_password_policy(username, password).map_err(|violations| {
        let message = violations.iter().map(|v| format!("{}: {}", v.rule, v.message)).collect::<Vec<_>>().join("; ");
        AppError::validation("password", message)
    })
}

async fn register_user(
    services: &Services,
    info: &RequestInfo<'_>,
    username: &str,
    password: &str,
    role: Role,
    extra_claims: Vec<String>,
) -> Result<Registered, AppError> {
    let hash = hash_password(password).map_err(|e| AppError::Internal(e.to_string()))?;
    let user_id = Uuid::new_v4();
    let command = UserCommand::Register { user_id, username: username.to_string(), password_hash: hash, role };
    let mut meta = command_meta(info, None, &[])?;
    meta.claims = std::iter::once(username_claim(username)).chain(extra_claims).collect();
    // The registrant acts for itself; setup's first admin is registered by the system.
    let actor = Actor { user_id, role: if role == Role::Admin { Role::Admin } else { Role::User } };
    let decided = services.users.execute(user_id, actor, command, meta).await.map_err(|e| match e {
        CommandError::ClaimTaken(claim) if claim.starts_with("username-") => {
            AppError::Conflict { slug: "username-taken", detail: format!("username {username} is already taken") }
        }
        CommandError::ClaimTaken(_) => {
            AppError::Conflict { slug: "setup-complete", detail: "setup is already complete".into() }
        }
        other => other.into(),
    })?;
    Ok(Registered { user_id, username: username.to_string(), role, position: decided.position })
}

/// Creates the first administrator, once per setup epoch.
/// Errors: `Conflict{setup-complete}`, `Validation` on the credentials.
pub async fn initialize(
    services: &Services,
    info: &RequestInfo<'_>,
    username: &str,
    password: &str,
) -> Result<Registered, AppError> {
    if setup_complete(services).await? {
        return Err(AppError::Conflict { slug: "setup-complete", detail: "setup is already complete".into() });
    }
    let username = validate_credentials(username, password)?;
    let epoch = setup_epoch(services).await?;
    register_user(services, info, &username, password, Role::Admin, vec![format!("setup-{epoch}")]).await
}

/// Self-service registration with the role `user`.
/// Errors: `Conflict{username-taken}`, `Validation` on the credentials.
pub async fn register(
    services: &Services,
    info: &RequestInfo<'_>,
    username: &str,
    password: &str,
) -> Result<Registered, AppError> {
    let username = validate_credentials(username, password)?;
    register_user(services, info, &username, password, Role::User, vec![]).await
}

/// A started session: the refresh token is its only key (for the API a rotating refresh token,
/// for the web app the value of the session cookie).
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub session_id: Uuid,
    pub refresh_token: String,
}

async fn user_id_for(services: &Services, username: &str) -> Result<Option<Uuid>, AppError> {
    let claim = services.store.read_stream(&username_claim(username), 1, 1).await?;
    Ok(claim.first().and_then(|e| {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).ok()?;
        payload["claimed_by"].as_str()?.strip_prefix("user-").and_then(|id| Uuid::parse_str(id).ok())
    }))
}

/// Metadata for the commands of a login. An `Idempotency-Key` means nothing here: every login
/// is a new attempt and a new session, never a replay of an earlier one.
pub(crate) fn unkeyed(info: &RequestInfo<'_>) -> Result<reserver_commands::CommandMeta, AppError> {
    let mut meta = command_meta(info, None, &[])?;
    meta.idempotency = None;
    Ok(meta)
}

fn invalid_login() -> AppError {
    AppError::Unauthorized("incorrect username or password".into())
}

/// Checks a username and password and starts a session.
///
/// Failed attempts are throttled per name, per source and per pair before any password is
/// checked, the same way whether or not the name exists, and an unknown name costs the same
/// argon2id verification as a known one. Errors: `Unauthorized` (wrong name or password, one
/// message for both), `LoginThrottled{retry_after}`, `Validation` for a multi-line name.
pub async fn login(
    services: &Services,
    info: &RequestInfo<'_>,
    source: IpAddr,
    username: &str,
    password: &str,
) -> Result<StartedSession, AppError> {
    crate::input::single_line("username", username)?;
    let now = services.clock.now();
    let attempt = services
        .login_throttle
        .begin(username, source, now)
        .map_err(|t| AppError::LoginThrottled { retry_after: t.retry_after_seconds })?;
    let account = match user_id_for(services, username).await? {
        Some(user_id) => services.users.load(user_id).await?.1.user.map(|user| (user_id, user)),
        None => None,
    };
    let succeeded =
        reserver_auth::password::verify_login(account.as_ref().map(|(_, u)| u.password_hash.as_str()), password);
    let Some((user_id, user)) = account else {
        services.login_throttle.failed(attempt);
        return Err(invalid_login());
    };
    let actor = Actor { user_id, role: user.role };
    if !succeeded {
        services.users.execute(user_id, actor, UserCommand::RecordLogin { succeeded }, unkeyed(info)?).await?;
        services.login_throttle.failed(attempt);
        return Err(invalid_login());
    }
    services.login_throttle.succeeded(attempt, now);
    if user.disabled {
        return Err(AppError::AccountDisabled);
    }
    if user.mfa.enabled {
        // The password was right; the session starts only with a code (`mfa::complete_login`).
        return Err(crate::mfa::challenge(services, user_id)?);
    }
    start_session(services, info, &user).await
}

/// Records a successful login of `user` and starts a session (the last step of every login).
pub(crate) async fn start_session(
    services: &Services,
    info: &RequestInfo<'_>,
    user: &reserver_domain::user::User,
) -> Result<StartedSession, AppError> {
    let now = services.clock.now();
    let (user_id, actor) = (user.id, Actor { user_id: user.id, role: user.role });
    services.users.execute(user_id, actor, UserCommand::RecordLogin { succeeded: true }, unkeyed(info)?).await?;
    let session_id = Uuid::new_v4();
    let (refresh_token, hash) = new_refresh_token(session_id).map_err(|e| AppError::Internal(e.to_string()))?;
    let absolute_expires_at = now + services.session_max_lifetime;
    let start = SessionCommand::Start {
        user_id,
        token_hash: hash,
        expires_at: now + services.refresh_ttl,
        absolute_expires_at,
        user_agent: info.user_agent.map(str::to_string),
    };
    services.sessions.execute(session_id, actor, start, unkeyed(info)?).await?;
    Ok(StartedSession { user_id, username: user.username.clone(), role: user.role, session_id, refresh_token })
}

/// Ends a session: its access tokens and its refresh token (or cookie) stop working at once.
/// Returns the log position of the revocation.
pub async fn logout(services: &Services, info: &RequestInfo<'_>, caller: &Caller) -> Result<u64, AppError> {
    let command = SessionCommand::Revoke { reason: "logout".into() };
    let decided = services
        .sessions
        .execute(caller.session_id, caller.actor(), command, command_meta(info, Some(caller), &[])?)
        .await?;
    services.revocations.end(caller.session_id);
    Ok(decided.position)
}

/// The caller behind a web session cookie (the refresh token of a session that is never
/// rotated, so parallel requests of one page cannot trip reuse detection).
///
/// The session must be live in the log: not revoked, not past its idle or absolute expiry, and
/// the cookie must carry its current token. Errors: `Unauthorized` otherwise.
pub async fn session_caller(services: &Services, cookie: &str) -> Result<Caller, AppError> {
    let refused = || AppError::Unauthorized("your session has ended; log in again".into());
    let (session_id, presented_hash) = parse_refresh_token(cookie).ok_or_else(refused)?;
    let (_, session) = services.sessions.load(session_id).await?;
    let now: DateTime<Utc> = services.clock.now();
    let live = !session.revoked
        && session.current_hash.as_deref() == Some(presented_hash.as_str())
        && session.expires_at.is_some_and(|t| t > now)
        && session.absolute_expires_at.is_none_or(|t| t > now);
    let user_id = session.user_id.filter(|_| live).ok_or_else(refused)?;
    let (_, user) = services.users.load(user_id).await?;
    let user = user.user.filter(|u| !u.disabled).ok_or_else(refused)?;
    let expires_at = session.expires_at.map(|t| t.timestamp()).unwrap_or_default();
    Ok(Caller { user_id, role: user.role, session_id, expires_at, client: None })
}

/// Replaces the caller's password after checking the current one and the password policy, and
/// with `end_other_sessions` ends every other session of the account (a password change after a
/// suspected leak). Errors: `Validation` on `current_password` (wrong) or `password` (policy).
pub async fn change_password(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    current_password: &str,
    new_password: &str,
    end_other_sessions: bool,
) -> Result<u64, AppError> {
    let (_, state) = services.users.load(caller.user_id).await?;
    let user = state.user.ok_or_else(|| AppError::not_found("user"))?;
    if !reserver_auth::password::verify_password(&user.password_hash, current_password) {
        return Err(AppError::validation("current_password", "is not your current password"));
    }
    check_new_password(&user.username, new_password)?;
    if current_password == new_password {
        return Err(AppError::validation("password", "must differ from the current password"));
    }
    let hash = hash_password(new_password).map_err(|e| AppError::Internal(e.to_string()))?;
    let decided = services
        .users
        .execute(
            caller.user_id,
            caller.actor(),
            UserCommand::ChangePassword { password_hash: hash },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    services.revocations.password_changed(caller.user_id);
    let mut position = decided.position;
    if end_other_sessions {
        // The read model lists the sessions: let it see every login up to now.
        services.caught_up(Some(position)).await?;
        position = position.max(crate::sessions::revoke_others(services, info, caller).await?.1);
    }
    Ok(position)
}

/// The username of a user, for greetings and headers.
pub async fn username(services: &Services, user_id: Uuid) -> Result<String, AppError> {
    let (_, state) = services.users.load(user_id).await?;
    state.user.map(|u| u.username).ok_or_else(|| AppError::not_found("user"))
}
