//! The caller's account and preferences, and account administration (admins). A role change
//! is an event in the account's stream; preferences are a stream of their own.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::{read_models, schemas};
use crate::error::ApiError;
use crate::extract::{request_info, CurrentUser, MinPosition};
use crate::routes::support::written;
use reserver_app::AppError;
use reserver_app::{admin_accounts, preferences, Services};

#[derive(OpenApi)]
#[openapi(paths(
    me,
    set_preferences,
    change_password,
    my_sessions,
    revoke_my_session,
    revoke_other_sessions,
    user_sessions,
    revoke_user_session,
    list_users,
    grant_role
))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/me", web::get().to(me))
        .route("/users/me/preferences", web::patch().to(set_preferences))
        .route("/users/me/password", web::post().to(change_password))
        .route("/users/me/sessions", web::get().to(my_sessions))
        .route("/users/me/sessions/revoke-others", web::post().to(revoke_other_sessions))
        .route("/users/me/sessions/{id}", web::delete().to(revoke_my_session))
        .route("/users/{id}/sessions", web::get().to(user_sessions))
        .route("/users/{id}/sessions/{session_id}", web::delete().to(revoke_user_session))
        .route("/roles", web::get().to(roles))
        .route("/users", web::get().to(list_users))
        .route("/users/{id}/role", web::put().to(grant_role));
}

/// Every account (admins).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "auth",
    operation_id = "list_users",
    summary = "All accounts (admin)",
    params(MinPosition),
    responses(
        (status = 200, description = "Every account", body = Vec<read_models::User>),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list_users(state: web::Data<Services>, user: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin_accounts::list(&state, &user, None, min.0).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleInput {
    #[schema(value_type = schemas::Role)]
    role: Role,
}

/// An account's role.
#[derive(Serialize, ToSchema)]
struct RoleGranted {
    id: Uuid,
    #[schema(value_type = schemas::Role)]
    role: Role,
}

/// Changes an account's role (admins).
///
/// Takes effect at the account's next login or refresh.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/role",
    tag = "auth",
    operation_id = "grant_role",
    summary = "Change an account's role (admin)",
    params(("id" = Uuid, Path, description = "The account")),
    request_body = RoleInput,
    responses(
        (status = 200, description = "The new role", body = RoleGranted),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn grant_role(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: RoleInput = crate::routes::support::json_body(&body)?;
    let id = id.into_inner();
    let position = admin_accounts::grant_role(&state, &request_info(&req), &user, id, input.role, &body).await?;
    Ok(written(StatusCode::OK, position, RoleGranted { id, role: input.role }))
}

/// Settings the service acts on; other keys are kept as given.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct Preferences {
    /// Where notifications are mailed; `null` removes it.
    email: Option<String>,
    email_notifications: Option<bool>,
    /// Minutes before a booking to send a reminder, 0 (off) to 10080.
    reminder_minutes: Option<u32>,
    /// `en`, `es` or `fr`.
    language: Option<String>,
    /// `light`, `dark` or `system`.
    theme: Option<String>,
    /// IANA time zone to show times in.
    time_zone: Option<String>,
    /// Show times in the `resource`'s zone or the viewer's `local` one.
    time_zone_display: Option<String>,
}

/// The caller's account.
#[derive(Serialize, ToSchema)]
struct Me {
    id: Uuid,
    username: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    locked_until: Option<chrono::DateTime<Utc>>,
    #[schema(value_type = Preferences)]
    preferences: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
struct PreferencesBody {
    #[schema(value_type = Preferences)]
    preferences: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "auth",
    operation_id = "me",
    summary = "The caller's account and preferences",
    responses((status = 200, description = "The account", body = Me), Unauthenticated, NotFound, RateLimited),
    security(("bearer" = []))
)]
async fn me(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let (_, s) = state.users.load(user.user_id).await?;
    let account = s.user.ok_or_else(|| AppError::NotFound("user".into()))?;
    let preferences = serde_json::Value::Object(preferences::get(&state, user.user_id).await?);
    Ok(HttpResponse::Ok().json(Me {
        id: account.id,
        username: account.username,
        role: account.role,
        locked_until: account.locked_until,
        preferences,
    }))
}

/// Merges the given preferences.
///
/// Keys: `email`, `email_notifications` (bool), `reminder_minutes` (0–10080), `language` (`en`,
/// `es`, `fr`), `theme` (`light`, `dark`, `system`), `time_zone` (IANA), `time_zone_display`
/// (`resource`, `local`); any other key or a wrong type is `422` naming it.
#[utoipa::path(
    patch,
    path = "/api/v1/users/me/preferences",
    tag = "auth",
    operation_id = "set_preferences",
    summary = "Merge preferences",
    request_body = Preferences,
    responses(
        (status = 200, description = "All preferences after the merge", body = PreferencesBody),
        Unauthenticated, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_preferences(
    state: web::Data<Services>,
    user: CurrentUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let serde_json::Value::Object(patch) = body.into_inner() else {
        return Err(AppError::validation("body", "preferences must be a JSON object").into());
    };
    let (current, position) = preferences::merge(&state, user.user_id, patch).await?;
    Ok(written(StatusCode::OK, position, PreferencesBody { preferences: current }))
}

/// A password change: the current password, and the new one (checked against the policy).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    #[schema(example = "N3w-Str0ng-Passw0rd!")]
    new_password: String,
    /// Also end every other session of the account (default false).
    #[serde(default)]
    revoke_other_sessions: bool,
}

#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    password_changed: bool,
}

/// Changes the caller's password.
///
/// A wrong current password is `422` on `current_password`; a new one that breaks the password
/// policy is `422` on `password` listing every rule it breaks. Other sessions stay logged in
/// unless `revoke_other_sessions` is true.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/password",
    tag = "auth",
    operation_id = "change_password",
    summary = "Change the caller's password",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "The password is changed", body = PasswordChanged),
        Unauthenticated, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn change_password(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: PasswordChange = crate::routes::support::json_body(&body)?;
    let position = reserver_app::accounts::change_password(
        &state,
        &request_info(&req),
        &user,
        &input.current_password,
        &input.new_password,
        input.revoke_other_sessions,
    )
    .await?;
    Ok(written(StatusCode::OK, position, PasswordChanged { password_changed: true }))
}

/// A live login session.
#[derive(Serialize, ToSchema)]
struct SessionBody {
    id: Uuid,
    created_at: chrono::DateTime<Utc>,
    /// The last refresh-token exchange, else the login.
    last_used_at: chrono::DateTime<Utc>,
    /// Idle expiry (pushed back by each refresh, never past `absolute_expires_at`).
    expires_at: chrono::DateTime<Utc>,
    /// The session ends then however often it is refreshed (`REFRESH_SESSION_MAX_DAYS`).
    absolute_expires_at: Option<chrono::DateTime<Utc>>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    /// Whether this is the session of the token asking.
    current: bool,
}

#[derive(Serialize, ToSchema)]
struct SessionList {
    sessions: Vec<SessionBody>,
}

fn session_list(listed: Vec<reserver_app::sessions::ListedSession>) -> SessionList {
    SessionList {
        sessions: listed
            .into_iter()
            .map(|s| SessionBody {
                id: s.view.session_id,
                created_at: s.view.started_at,
                last_used_at: s.view.last_used_at,
                expires_at: s.view.expires_at,
                absolute_expires_at: s.view.absolute_expires_at,
                ip_address: s.view.client_ip,
                user_agent: s.view.user_agent,
                current: s.current,
            })
            .collect(),
    }
}

/// The caller's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/users/me/sessions",
    tag = "auth",
    operation_id = "my_sessions",
    summary = "The caller's live sessions",
    params(MinPosition),
    responses((status = 200, description = "Live sessions", body = SessionList), Unauthenticated, RateLimited, Lagging),
    security(("bearer" = []))
)]
async fn my_sessions(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let listed = reserver_app::sessions::list(&state, &user, user.user_id).await?;
    Ok(HttpResponse::Ok().json(session_list(listed)))
}

/// Ends one of the caller's sessions (its tokens and live connections stop at once).
#[utoipa::path(
    delete,
    path = "/api/v1/users/me/sessions/{id}",
    tag = "auth",
    operation_id = "revoke_my_session",
    summary = "End one of the caller's sessions",
    params(("id" = Uuid, Path, description = "The session")),
    responses((status = 204, description = "Ended (or already ended)"), Unauthenticated, NotFound, RateLimited),
    security(("bearer" = []))
)]
async fn revoke_my_session(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let info = request_info(&req);
    let position = reserver_app::sessions::revoke(&state, &info, &user, user.user_id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().insert_header((crate::extract::LOG_POSITION_HEADER, position.to_string())).finish())
}

#[derive(Serialize, ToSchema)]
struct Revoked {
    revoked: usize,
}

/// Ends every session of the caller but the one asking.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/sessions/revoke-others",
    tag = "auth",
    operation_id = "revoke_other_sessions",
    summary = "End every other session of the caller",
    responses((status = 200, description = "How many ended", body = Revoked), Unauthenticated, RateLimited),
    security(("bearer" = []))
)]
async fn revoke_other_sessions(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let info = request_info(&req);
    let (revoked, position) = reserver_app::sessions::revoke_others(&state, &info, &user).await?;
    Ok(written(StatusCode::OK, position, Revoked { revoked }))
}

/// An account's live sessions (admins).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/sessions",
    tag = "auth",
    operation_id = "user_sessions",
    summary = "An account's live sessions (admin)",
    params(("id" = Uuid, Path, description = "The account"), MinPosition),
    responses((status = 200, description = "Live sessions", body = SessionList), Unauthenticated, Forbidden, RateLimited, Lagging),
    security(("bearer" = []))
)]
async fn user_sessions(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    state.caught_up(min.0).await?;
    let listed = reserver_app::sessions::list(&state, &user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(session_list(listed)))
}

/// Ends a session of an account (admins).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions/{session_id}",
    tag = "auth",
    operation_id = "revoke_user_session",
    summary = "End an account's session (admin)",
    params(("id" = Uuid, Path, description = "The account"), ("session_id" = Uuid, Path, description = "The session")),
    responses((status = 204, description = "Ended (or already ended)"), Unauthenticated, Forbidden, NotFound, RateLimited),
    security(("bearer" = []))
)]
async fn revoke_user_session(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (owner, session_id) = path.into_inner();
    let info = request_info(&req);
    let position = reserver_app::sessions::revoke(&state, &info, &user, owner, session_id).await?;
    Ok(HttpResponse::NoContent().insert_header((crate::extract::LOG_POSITION_HEADER, position.to_string())).finish())
}

/// One role and what it may do.
#[derive(Serialize, ToSchema)]
struct RoleBody {
    #[schema(example = "approver")]
    name: &'static str,
    description: &'static str,
    /// Stable snake_case permission names, e.g. `reservations:write`, `approvals:answer`.
    permissions: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct RoleList {
    roles: Vec<RoleBody>,
}

/// The fixed roles (admin, approver, auditor, user, guest) and what each may do.
#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "auth",
    operation_id = "list_roles",
    summary = "The roles and what each may do",
    responses((status = 200, description = "Every role", body = RoleList), Unauthenticated, RateLimited),
    security(("bearer" = []))
)]
async fn roles(_user: CurrentUser) -> HttpResponse {
    let roles = reserver_app::roles::all()
        .into_iter()
        .map(|r| RoleBody { name: r.name, description: r.description, permissions: r.permissions })
        .collect();
    HttpResponse::Ok().json(RoleList { roles })
}
