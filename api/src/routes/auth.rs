//! Setup, registration, login, token refresh, logout and the caller's profile. Every security
//! fact (registration, login success or failure, lockout, session start, rotation, reuse,
//! revocation) is an event in the log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_auth::{check_password_policy, hash_password, new_refresh_token, parse_refresh_token, reuse_detected};
use reserver_auth::{verify_password, SessionCommand};
use reserver_commands::CommandError;
use reserver_domain::user::{UserCommand, UserEvent};
use reserver_domain::{Actor, Rejection, Role};
use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser};
use crate::routes::support::written;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup/status", web::get().to(setup_status))
        .route("/setup/initialize", web::post().to(setup_initialize))
        .route("/setup/unlock", web::post().to(setup_unlock))
        .route("/register", web::post().to(register))
        .route("/token", web::post().to(login))
        .route("/token/refresh", web::post().to(refresh))
        .route("/logout", web::post().to(logout))
        .route("/users/me", web::get().to(me))
        .route("/users/me/preferences", web::patch().to(set_preferences))
        .route("/users", web::get().to(list_users))
        .route("/users/{id}/role", web::put().to(grant_role));
}

/// Every account (admins).
async fn list_users(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: crate::extract::MinPosition,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(reserver_projections::users::list_users(&state.db(), None).await?))
}

#[derive(Debug, Deserialize)]
struct RoleInput {
    role: Role,
}

/// Changes an account's role (admins). Takes effect at the account's next login or refresh.
async fn grant_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: RoleInput = crate::routes::support::json_body(&body)?;
    let id = id.into_inner();
    let decided = state
        .users
        .execute(id, user.actor(), UserCommand::GrantRole { role: input.role }, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(StatusCode::OK, decided.position, json!({ "id": id, "role": input.role })))
}

/// Reopening setup bumps the epoch; setup is complete when the current epoch's claim exists.
const SETUP_REOPENED_STREAM: &str = "setup-reopened";

async fn setup_epoch(state: &AppState) -> Result<u64, ApiError> {
    Ok(state.store.stream_version(SETUP_REOPENED_STREAM).await?)
}

async fn setup_complete(state: &AppState) -> Result<bool, ApiError> {
    let epoch = setup_epoch(state).await?;
    Ok(state.store.stream_version(&format!("setup-{epoch}")).await? > 0)
}

async fn setup_status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "setup_complete": setup_complete(&state).await? })))
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

fn username_claim(username: &str) -> String {
    format!("username-{}", username.trim().to_lowercase())
}

fn validate_credentials(c: &Credentials) -> Result<String, ApiError> {
    let username = c.username.trim();
    if username.len() < 3
        || username.len() > 64
        || !username.chars().all(|ch| ch.is_alphanumeric() || "._-@".contains(ch))
    {
        return Err(ApiError::validation("username", "3 to 64 letters, digits or . _ - @"));
    }
    if let Err(violations) = check_password_policy(username, &c.password) {
        let message = violations.iter().map(|v| format!("{}: {}", v.rule, v.message)).collect::<Vec<_>>().join("; ");
        return Err(ApiError::validation("password", message));
    }
    Ok(username.to_string())
}

/// Registers an account (the password already checked), claiming its username atomically.
async fn register_user(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password: &str,
    role: Role,
    extra_claims: Vec<String>,
) -> Result<(Uuid, u64), ApiError> {
    let hash = hash_password(password).map_err(|e| ApiError::Internal(e.to_string()))?;
    let user_id = Uuid::new_v4();
    let command = UserCommand::Register { user_id, username: username.to_string(), password_hash: hash, role };
    let mut meta = command_meta(req, None, &[])?;
    meta.claims = std::iter::once(username_claim(username)).chain(extra_claims).collect();
    // The registrant acts for itself; setup's first admin is registered by the system.
    let actor = Actor { user_id, role: if role == Role::Admin { Role::Admin } else { Role::User } };
    let decided = state.users.execute(user_id, actor, command, meta).await.map_err(|e| match e {
        CommandError::ClaimTaken(claim) if claim.starts_with("username-") => {
            ApiError::Conflict { slug: "username-taken", detail: format!("username {username} is already taken") }
        }
        CommandError::ClaimTaken(_) => {
            ApiError::Conflict { slug: "setup-complete", detail: "setup is already complete".into() }
        }
        other => other.into(),
    })?;
    Ok((user_id, decided.position))
}

async fn setup_initialize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    if setup_complete(&state).await? {
        return Err(ApiError::Conflict { slug: "setup-complete", detail: "setup is already complete".into() });
    }
    let username = validate_credentials(&body)?;
    let epoch = setup_epoch(&state).await?;
    let (id, position) =
        register_user(&state, &req, &username, &body.password, Role::Admin, vec![format!("setup-{epoch}")]).await?;
    Ok(written(
        StatusCode::CREATED,
        position,
        json!({ "id": id, "username": username, "role": "admin", "setup_complete": true }),
    ))
}

async fn setup_unlock(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let presented = req.headers().get("X-Setup-Token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(expected) = state.setup_reopen_token.as_deref() else {
        return Err(ApiError::Forbidden("setup cannot be reopened: SETUP_REOPEN_TOKEN is not configured".into()));
    };
    let matches = presented.len() == expected.len()
        && presented.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !matches {
        return Err(ApiError::Forbidden("invalid X-Setup-Token".into()));
    }
    let event = NewEvent::new(Uuid::new_v4(), "setup_reopened", json!({ "at": Utc::now() }).to_string());
    let outcome = state
        .store
        .append(AppendRequest::single(SETUP_REOPENED_STREAM, ExpectedVersion::Any, vec![event]))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(written(StatusCode::OK, outcome.last_position(), json!({ "setup_complete": false })))
}

async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let username = validate_credentials(&body)?;
    let (id, position) = register_user(&state, &req, &username, &body.password, Role::User, vec![]).await?;
    Ok(written(StatusCode::CREATED, position, json!({ "id": id, "username": username, "role": "user" })))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// The user id a username's claim points at.
async fn user_id_for(state: &AppState, username: &str) -> Result<Option<Uuid>, ApiError> {
    let claim = state.store.read_stream(&username_claim(username), 1, 1).await?;
    Ok(claim.first().and_then(|e| {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).ok()?;
        payload["claimed_by"].as_str()?.strip_prefix("user-").and_then(|id| Uuid::parse_str(id).ok())
    }))
}

fn invalid_login() -> ApiError {
    ApiError::Unauthorized("incorrect username or password".into())
}

async fn tokens_for(
    state: &AppState,
    user_id: Uuid,
    username: &str,
    role: Role,
    session_id: Uuid,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let access = state
        .tokens
        .issue_access(user_id, username, role, session_id, state.clock.now())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "access_token": access.token,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": access.expires_in,
    })))
}

/// OAuth2 password grant (form `username`, `password`).
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(user_id) = user_id_for(&state, &form.username).await? else {
        // Same work and answer as a wrong password, so usernames cannot be probed by timing.
        let _ = verify_password(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0000000000000000000000000000000000000000000",
            &form.password,
        );
        return Err(invalid_login());
    };
    let (_, user_state) = state.users.load(user_id).await?;
    let user = user_state.user.ok_or_else(invalid_login)?;
    let now = state.clock.now();
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        return Err(locked(until));
    }
    let succeeded = verify_password(&user.password_hash, &form.password);
    let actor = Actor { user_id, role: user.role };
    let recorded = state
        .users
        .execute(user_id, actor, UserCommand::RecordLogin { succeeded }, command_meta(&req, None, &[])?)
        .await;
    match recorded {
        Err(CommandError::Rejected(Rejection::InvalidState { .. })) => {
            let (_, s) = state.users.load(user_id).await?;
            return Err(locked(s.user.and_then(|u| u.locked_until).unwrap_or(now)));
        }
        Err(e) => return Err(e.into()),
        Ok(d) => {
            if let Some(until) =
                d.events
                    .iter()
                    .find_map(|e| if let UserEvent::LockedOut { until, .. } = e { Some(*until) } else { None })
            {
                return Err(locked(until));
            }
        }
    }
    if !succeeded {
        return Err(invalid_login());
    }
    let session_id = Uuid::new_v4();
    let (refresh_token, hash) = new_refresh_token(session_id).map_err(|e| ApiError::Internal(e.to_string()))?;
    let start = SessionCommand::Start { user_id, token_hash: hash, expires_at: now + state.refresh_ttl };
    state.sessions.execute(session_id, actor, start, command_meta(&req, None, &[])?).await?;
    tokens_for(&state, user_id, &user.username, user.role, session_id, refresh_token).await
}

fn locked(until: chrono::DateTime<Utc>) -> ApiError {
    ApiError::Locked { until }
}

#[derive(Debug, Deserialize)]
struct RefreshInput {
    refresh_token: String,
}

/// Exchanges a refresh token for a new pair. Presenting a token that was already exchanged
/// revokes the whole session: someone else has a copy.
async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshInput>,
) -> Result<HttpResponse, ApiError> {
    let (session_id, presented_hash) = parse_refresh_token(&body.refresh_token)
        .ok_or_else(|| ApiError::Unauthorized("invalid refresh token".into()))?;
    let (_, session) = state.sessions.load(session_id).await?;
    let user_id = session.user_id.ok_or_else(|| ApiError::Unauthorized("invalid refresh token".into()))?;
    let (refresh_token, new_hash) = new_refresh_token(session_id).map_err(|e| ApiError::Internal(e.to_string()))?;
    let command =
        SessionCommand::Rotate { presented_hash, new_hash, expires_at: state.clock.now() + state.refresh_ttl };
    let actor = Actor { user_id, role: Role::User };
    let decided = state.sessions.execute(session_id, actor, command, command_meta(&req, None, &[])?).await.map_err(
        |e| match e {
            CommandError::Rejected(r) => ApiError::Unauthorized(format!("refresh token refused: {r}")),
            other => other.into(),
        },
    )?;
    if reuse_detected(&decided.events) {
        return Err(ApiError::Unauthorized(
            "refresh token reuse detected: the session has been revoked; log in again".into(),
        ));
    }
    let (_, user) = state.users.load(user_id).await?;
    let user = user.user.ok_or_else(|| ApiError::Unauthorized("account no longer exists".into()))?;
    tokens_for(&state, user_id, &user.username, user.role, session_id, refresh_token).await
}

async fn logout(state: web::Data<AppState>, req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let command = SessionCommand::Revoke { reason: "logout".into() };
    let decided =
        state.sessions.execute(user.session_id, user.actor(), command, command_meta(&req, Some(&user), &[])?).await?;
    state.revocations.end(user.session_id);
    Ok(written(StatusCode::OK, decided.position, json!({ "logged_out": true })))
}

fn preferences_stream(user_id: Uuid) -> String {
    format!("preferences-{user_id}")
}

async fn me(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let (_, s) = state.users.load(user.user_id).await?;
    let account = s.user.ok_or_else(|| ApiError::NotFound("user".into()))?;
    let stream = preferences_stream(user.user_id);
    let version = state.store.stream_version(&stream).await?;
    let preferences = match version {
        0 => json!({}),
        v => state
            .store
            .read_stream(&stream, v, 1)
            .await?
            .first()
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or(json!({})),
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "locked_until": account.locked_until,
        "preferences": preferences,
    })))
}

/// The preferences the service acts on must make sense; anything else is kept as given.
fn check_preferences(patch: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
    use serde_json::Value;
    if let Some(email) = patch.get("email") {
        let valid = match email {
            Value::Null => true,
            Value::String(e) => {
                let e = e.trim();
                e.len() <= 254 && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            }
            _ => false,
        };
        if !valid {
            return Err(ApiError::validation("email", "expected an email address like name@example.org, or null"));
        }
    }
    if let Some(flag) = patch.get("email_notifications") {
        if !flag.is_boolean() {
            return Err(ApiError::validation("email_notifications", "expected true or false"));
        }
    }
    if let Some(minutes) = patch.get("reminder_minutes") {
        if !minutes.as_i64().is_some_and(|m| (0..=7 * 24 * 60).contains(&m)) {
            return Err(ApiError::validation("reminder_minutes", "expected whole minutes from 0 (off) to 10080"));
        }
    }
    Ok(())
}

/// Merges the given preferences (e.g. `email`, `email_notifications`, `reminder_minutes`, `language`).
async fn set_preferences(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let serde_json::Value::Object(patch) = patch else {
        return Err(ApiError::validation("body", "preferences must be a JSON object"));
    };
    check_preferences(&patch)?;
    let stream = preferences_stream(user.user_id);
    let version = state.store.stream_version(&stream).await?;
    let mut current = match version {
        0 => serde_json::Map::new(),
        v => state
            .store
            .read_stream(&stream, v, 1)
            .await?
            .first()
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or_default(),
    };
    current.extend(patch);
    let event =
        NewEvent::new(Uuid::new_v4(), "preferences_set", serde_json::Value::Object(current.clone()).to_string());
    let outcome = state
        .store
        .append(AppendRequest::single(&stream, ExpectedVersion::Exact(version), vec![event]))
        .await
        .map_err(|e| match e {
            reserver_store::AppendError::WrongExpectedVersion { .. } => {
                ApiError::Conflict { slug: "concurrent-update", detail: "preferences changed meanwhile; retry".into() }
            }
            other => ApiError::Unavailable(other.to_string()),
        })?;
    Ok(written(StatusCode::OK, outcome.last_position(), json!({ "preferences": current })))
}
