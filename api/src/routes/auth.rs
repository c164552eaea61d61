//! Setup, registration, login, token refresh and logout. Every security fact (registration,
//! login success or failure, lockout, session start, rotation, reuse, revocation) is an event
//! in the log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_auth::SessionCommand;
use reserver_auth::{new_refresh_token, parse_refresh_token, reuse_detected};
use reserver_commands::CommandError;
use reserver_domain::{Actor, Role};
use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::schemas;
use crate::error::ApiError;
use crate::extract::{command_meta, request_info, CurrentUser};
use crate::routes::support::written;
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(setup_status, setup_initialize, setup_unlock, register, login, refresh, logout))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup/status", web::get().to(setup_status))
        .route("/setup/initialize", web::post().to(setup_initialize))
        .route("/setup/unlock", web::post().to(setup_unlock))
        .route("/register", web::post().to(register))
        .route("/token", web::post().to(login))
        .route("/token/refresh", web::post().to(refresh))
        .route("/logout", web::post().to(logout));
}

/// Reopening setup bumps the epoch; setup is complete when the current epoch's claim exists.
use reserver_app::accounts;

#[derive(Serialize, ToSchema)]
struct SetupStatus {
    setup_complete: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/setup/status",
    tag = "setup",
    operation_id = "setup_status",
    summary = "Whether the first admin exists",
    responses((status = 200, description = "Setup state", body = SetupStatus), RateLimited)
)]
async fn setup_status(state: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(SetupStatus { setup_complete: accounts::setup_complete(&state).await? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    /// 3 to 64 letters, digits or `. _ - @`.
    #[schema(example = "alice")]
    username: String,
    /// At least 10 characters with upper- and lower-case letters, a digit and a special
    /// character, not containing the username.
    #[schema(example = "Str0ng-Passw0rd!")]
    password: String,
}

/// A new account.
#[derive(Serialize, ToSchema)]
struct Registered {
    id: Uuid,
    username: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    /// Only after setup: `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    setup_complete: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/api/v1/setup/initialize",
    tag = "setup",
    operation_id = "setup_initialize",
    summary = "Create the first admin (once)",
    request_body = Credentials,
    responses(
        (status = 201, description = "The first administrator", body = Registered),
        StateConflict, Invalid, RateLimited
    )
)]
async fn setup_initialize(
    state: web::Data<Services>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let done = accounts::initialize(&state, &request_info(&req), &body.username, &body.password).await?;
    Ok(written(
        StatusCode::CREATED,
        done.position,
        Registered { id: done.user_id, username: done.username, role: done.role, setup_complete: Some(true) },
    ))
}

/// Reopens setup.
///
/// Lets `POST /setup/initialize` run again (e.g. after losing the admin password), if
/// `SETUP_REOPEN_TOKEN` is configured and sent as `X-Setup-Token`.
#[utoipa::path(
    post,
    path = "/api/v1/setup/unlock",
    tag = "setup",
    operation_id = "setup_unlock",
    summary = "Reopen setup with X-Setup-Token",
    params(("X-Setup-Token" = String, Header, description = "The configured SETUP_REOPEN_TOKEN")),
    responses((status = 200, description = "Setup is open again", body = SetupStatus), Forbidden, RateLimited)
)]
async fn setup_unlock(state: web::Data<Services>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let presented = req.headers().get("X-Setup-Token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(expected) = state.setup_reopen_token.as_deref() else {
        return Err(AppError::Forbidden("setup cannot be reopened: SETUP_REOPEN_TOKEN is not configured".into()).into());
    };
    let matches = presented.len() == expected.len()
        && presented.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !matches {
        return Err(AppError::Forbidden("invalid X-Setup-Token".into()).into());
    }
    let event = NewEvent::new(Uuid::new_v4(), "setup_reopened", json!({ "at": Utc::now() }).to_string());
    let outcome = state
        .store
        .append(AppendRequest::single(accounts::setup_reopened_stream(), ExpectedVersion::Any, vec![event]))
        .await
        .map_err(|e| AppError::Storage(e.to_string()))?;
    Ok(written(StatusCode::OK, outcome.last_position(), SetupStatus { setup_complete: false }))
}

#[utoipa::path(
    post,
    path = "/api/v1/register",
    tag = "auth",
    operation_id = "register",
    summary = "Register an account",
    request_body = Credentials,
    responses(
        (status = 201, description = "The account, with role `user`", body = Registered),
        StateConflict, Invalid, RateLimited
    )
)]
async fn register(
    state: web::Data<Services>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let done = accounts::register(&state, &request_info(&req), &body.username, &body.password).await?;
    Ok(written(
        StatusCode::CREATED,
        done.position,
        Registered { id: done.user_id, username: done.username, role: done.role, setup_complete: None },
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct LoginForm {
    username: String,
    password: String,
}

/// An OAuth2 token response.
#[derive(Serialize, ToSchema)]
struct TokenPair {
    /// A JWT for `Authorization: Bearer`.
    access_token: String,
    /// `<session>.<secret>`, for one `POST /api/v1/token/refresh`.
    refresh_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    token_type: &'static str,
    /// Seconds the access token is valid.
    expires_in: i64,
}

/// The user id a username's claim points at.
pub(super) async fn tokens_for(
    state: &Services,
    user_id: Uuid,
    username: &str,
    role: Role,
    session_id: Uuid,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let access = state
        .tokens
        .issue_access(user_id, username, role, session_id, state.clock.now())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(TokenPair {
        access_token: access.token,
        refresh_token,
        token_type: "bearer",
        expires_in: access.expires_in,
    }))
}

/// OAuth2 password grant (form `username`, `password`).
///
/// Failed logins are slowed, never locked out: past a few failures per name, per client address
/// and per pair, further attempts wait a growing delay (`429 login-throttled` with
/// `Retry-After`), answered alike for names that exist and names that do not.
#[utoipa::path(
    post,
    path = "/api/v1/token",
    tag = "auth",
    operation_id = "login",
    summary = "Log in (OAuth2 password form) for access and refresh tokens",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access and refresh tokens", body = TokenPair),
        Unauthenticated, Invalid, RateLimited
    )
)]
async fn login(
    state: web::Data<Services>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let source = crate::extract::client_ip(&req).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let session = accounts::login(&state, &request_info(&req), source, &form.username, &form.password).await?;
    tokens_for(&state, session.user_id, &session.username, session.role, session.session_id, session.refresh_token)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: String,
}

/// Exchanges a refresh token for a new pair.
///
/// Presenting a token that was already exchanged revokes the whole session: someone else has a copy.
#[utoipa::path(
    post,
    path = "/api/v1/token/refresh",
    tag = "auth",
    operation_id = "refresh",
    summary = "Rotate a refresh token (reuse revokes the session)",
    request_body = RefreshInput,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
        Unauthenticated, Invalid, RateLimited
    )
)]
async fn refresh(
    state: web::Data<Services>,
    req: HttpRequest,
    body: web::Json<RefreshInput>,
) -> Result<HttpResponse, ApiError> {
    let (session_id, presented_hash) = parse_refresh_token(&body.refresh_token)
        .ok_or_else(|| AppError::Unauthorized("invalid refresh token".into()))?;
    let (_, session) = state.sessions.load(session_id).await?;
    let user_id = session.user_id.ok_or_else(|| AppError::Unauthorized("invalid refresh token".into()))?;
    let (refresh_token, new_hash) = new_refresh_token(session_id).map_err(|e| AppError::Internal(e.to_string()))?;
    let command =
        SessionCommand::Rotate { presented_hash, new_hash, expires_at: state.clock.now() + state.refresh_ttl };
    let actor = Actor { user_id, role: Role::User };
    let decided = state.sessions.execute(session_id, actor, command, command_meta(&req, None, &[])?).await.map_err(
        |e| match e {
            CommandError::Rejected(r) => AppError::Unauthorized(format!("refresh token refused: {r}")),
            other => other.into(),
        },
    )?;
    if reuse_detected(&decided.events) {
        return Err(AppError::Unauthorized(
            "refresh token reuse detected: the session has been revoked; log in again".into(),
        )
        .into());
    }
    let (_, user) = state.users.load(user_id).await?;
    let user = user.user.ok_or_else(|| AppError::Unauthorized("account no longer exists".into()))?;
    tokens_for(&state, user_id, &user.username, user.role, session_id, refresh_token).await
}

#[derive(Serialize, ToSchema)]
struct LoggedOut {
    logged_out: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "auth",
    operation_id = "logout",
    summary = "Revoke the current session",
    responses((status = 200, description = "The session has ended", body = LoggedOut), Unauthenticated, RateLimited),
    security(("bearer" = []))
)]
async fn logout(state: web::Data<Services>, req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let position = accounts::logout(&state, &request_info(&req), &user).await?;
    Ok(written(StatusCode::OK, position, LoggedOut { logged_out: true }))
}
