//! Multi-factor authentication (TOTP, RFC 6238): setup, enabling with a code, backup codes,
//! disabling, and the second step of a login; and what admins do to other accounts (unlock,
//! disable, enable, password reset). The request logic is in `reserver_app::{mfa, admin_accounts}`.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::error::ApiError;
use crate::extract::{request_info, CurrentUser};
use crate::routes::support::{json_body, written};
use reserver_app::{admin_accounts, mfa, mfa_policy, Services};

#[derive(OpenApi)]
#[openapi(paths(
    mfa_setup,
    mfa_verify,
    mfa_disable,
    mfa_backup_codes,
    login_mfa,
    unlock_user,
    disable_user,
    enable_user,
    reset_password,
    mfa_policy,
    set_mfa_policy
))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/mfa/setup", web::post().to(mfa_setup))
        .route("/auth/mfa/verify", web::post().to(mfa_verify))
        .route("/auth/mfa/disable", web::post().to(mfa_disable))
        .route("/auth/mfa/backup-codes", web::post().to(mfa_backup_codes))
        .service(
            web::resource("/auth/mfa/policy").route(web::get().to(mfa_policy)).route(web::put().to(set_mfa_policy)),
        )
        .route("/auth/admin/reset-password", web::post().to(reset_password))
        .route("/token/mfa", web::post().to(login_mfa))
        .route("/users/{id}/unlock", web::post().to(unlock_user))
        .route("/users/{id}/disable", web::post().to(disable_user))
        .route("/users/{id}/enable", web::post().to(enable_user));
}

/// The roles whose accounts must use MFA. An account in such a role without MFA on may log in,
/// but every route except MFA setup and verification, `GET /users/me`, the password change and
/// logout answers `403 …/mfa-setup-required` until it turns MFA on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MfaPolicy {
    /// Role names: `admin`, `approver`, `auditor`, `user`, `guest` (empty: MFA stays optional).
    #[schema(example = json!(["admin", "approver"]))]
    required_roles: Vec<String>,
}

fn policy_body(roles: &[reserver_domain::Role]) -> MfaPolicy {
    let name = |r: &reserver_domain::Role| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string));
    MfaPolicy { required_roles: roles.iter().filter_map(name).collect() }
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/mfa/policy",
    tag = "auth",
    operation_id = "mfa_policy",
    summary = "Admin: the roles that must use MFA",
    responses(
        (status = 200, description = "The policy in force", body = MfaPolicy),
        Unauthenticated, Forbidden, RateLimited
    ),
    security(("bearer" = []))
)]
async fn mfa_policy(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let (_, roles) = mfa_policy::current(&state).await?;
    Ok(HttpResponse::Ok().json(policy_body(&roles)))
}

#[utoipa::path(
    put,
    path = "/api/v1/auth/mfa/policy",
    tag = "auth",
    operation_id = "set_mfa_policy",
    summary = "Admin: require MFA for roles (in force at once, on every replica; audited)",
    request_body = MfaPolicy,
    responses(
        (status = 200, description = "The policy now in force", body = MfaPolicy),
        Unauthenticated, Forbidden, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_mfa_policy(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let input: MfaPolicy = json_body(&body)?;
    let roles = mfa_policy::parse_roles(&input.required_roles)?;
    let (position, roles) = mfa_policy::set(&state, &request_info(&req), &user, roles).await?;
    Ok(written(StatusCode::OK, position, policy_body(&roles)))
}

/// Secrets and one-time codes must not be kept by caches.
fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A TOTP secret being set up (not active until `POST /auth/mfa/verify`).
#[derive(Serialize, ToSchema)]
struct MfaSetup {
    /// Base32 secret, for typing into an authenticator app.
    secret: String,
    /// `otpauth://totp/Resource%20Reserver:alice?secret=…&issuer=…`
    otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an SVG document.
    qr_svg: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/setup",
    tag = "auth",
    operation_id = "mfa_setup",
    summary = "Start TOTP setup: a new secret, its otpauth URI and QR code",
    responses(
        (status = 200, description = "The secret; MFA is on only after a code is verified", body = MfaSetup),
        Unauthenticated, StateConflict, RateLimited
    ),
    security(("bearer" = []))
)]
async fn mfa_setup(state: web::Data<Services>, req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let setup = mfa::setup(&state, &request_info(&req), &user).await?;
    Ok(no_store(written(
        StatusCode::OK,
        setup.position,
        MfaSetup { secret: setup.secret, otpauth_uri: setup.otpauth_uri, qr_svg: setup.qr_svg },
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    /// A 6-digit code of the authenticator app.
    #[schema(example = "123456")]
    code: String,
}

/// Backup codes, shown once: each works once in place of a TOTP code.
#[derive(Serialize, ToSchema)]
struct BackupCodes {
    mfa_enabled: bool,
    backup_codes: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/verify",
    tag = "auth",
    operation_id = "mfa_verify",
    summary = "Turn MFA on with one valid code; answers 10 backup codes",
    request_body = CodeInput,
    responses(
        (status = 200, description = "MFA is on", body = BackupCodes),
        Unauthenticated, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn mfa_verify(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CodeInput = json_body(&body)?;
    let (codes, position) = mfa::enable(&state, &request_info(&req), &user, &input.code).await?;
    Ok(no_store(written(StatusCode::OK, position, BackupCodes { mfa_enabled: true, backup_codes: codes })))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DisableInput {
    /// A current TOTP code or a backup code.
    code: Option<String>,
    /// Or the account's password.
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct MfaDisabled {
    mfa_enabled: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/disable",
    tag = "auth",
    operation_id = "mfa_disable",
    summary = "Turn MFA off (needs a current code or the password)",
    request_body = DisableInput,
    responses(
        (status = 200, description = "MFA is off", body = MfaDisabled),
        Unauthenticated, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn mfa_disable(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: DisableInput = if body.is_empty() { DisableInput::default() } else { json_body(&body)? };
    let position =
        mfa::disable(&state, &request_info(&req), &user, input.code.as_deref(), input.password.as_deref()).await?;
    Ok(written(StatusCode::OK, position, MfaDisabled { mfa_enabled: false }))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/backup-codes",
    tag = "auth",
    operation_id = "mfa_backup_codes",
    summary = "Replace the backup codes (the old ones stop working)",
    responses(
        (status = 200, description = "The new codes", body = BackupCodes),
        Unauthenticated, StateConflict, RateLimited
    ),
    security(("bearer" = []))
)]
async fn mfa_backup_codes(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let (codes, position) = mfa::regenerate_backup_codes(&state, &request_info(&req), &user).await?;
    Ok(no_store(written(StatusCode::OK, position, BackupCodes { mfa_enabled: true, backup_codes: codes })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MfaLogin {
    /// From the `401 mfa-required` answer of `POST /api/v1/token` (valid 5 minutes).
    mfa_token: String,
    /// A TOTP code or a backup code.
    code: String,
}

/// The second step of a login with MFA.
///
/// Each TOTP code works once; wrong codes are throttled like wrong passwords.
#[utoipa::path(
    post,
    path = "/api/v1/token/mfa",
    tag = "auth",
    operation_id = "login_mfa",
    summary = "Finish a login with a one-time code",
    request_body = MfaLogin,
    responses(
        (status = 200, description = "Access and refresh tokens (as `POST /api/v1/token`)"),
        Unauthenticated, Forbidden, Invalid, RateLimited
    )
)]
async fn login_mfa(state: web::Data<Services>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let input: MfaLogin = json_body(&body)?;
    let session = mfa::complete_login(&state, &request_info(&req), &input.mfa_token, &input.code).await?;
    super::auth::tokens_for(
        &state,
        session.user_id,
        &session.username,
        session.role,
        session.session_id,
        session.refresh_token,
    )
    .await
}

#[derive(Serialize, ToSchema)]
struct AccountState {
    id: Uuid,
    /// Present for disable/enable.
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unlocked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_reset: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/unlock",
    tag = "auth",
    operation_id = "unlock_user",
    summary = "Admin: clear the login throttle of an account (on every replica)",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Unlocked", body = AccountState),
        Unauthenticated, Forbidden, NotFound, RateLimited
    ),
    security(("bearer" = []))
)]
async fn unlock_user(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let position = admin_accounts::unlock(&state, &request_info(&req), &user, id).await?;
    Ok(written(
        StatusCode::OK,
        position,
        AccountState { id, disabled: None, unlocked: Some(true), password_reset: None },
    ))
}

/// Admin: disable an account.
///
/// It can no longer log in and its sessions end at once; its reservations are kept.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    tag = "auth",
    operation_id = "disable_user",
    summary = "Admin: disable an account (its sessions end at once)",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Disabled", body = AccountState),
        Unauthenticated, Forbidden, NotFound, StateConflict, RateLimited
    ),
    security(("bearer" = []))
)]
async fn disable_user(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let position = admin_accounts::disable(&state, &request_info(&req), &user, id).await?;
    Ok(written(
        StatusCode::OK,
        position,
        AccountState { id, disabled: Some(true), unlocked: None, password_reset: None },
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/enable",
    tag = "auth",
    operation_id = "enable_user",
    summary = "Admin: enable a disabled account",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Enabled", body = AccountState),
        Unauthenticated, Forbidden, NotFound, RateLimited
    ),
    security(("bearer" = []))
)]
async fn enable_user(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let position = admin_accounts::enable(&state, &request_info(&req), &user, id).await?;
    Ok(written(
        StatusCode::OK,
        position,
        AccountState { id, disabled: Some(false), unlocked: None, password_reset: None },
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetInput {
    user_id: Uuid,
    /// Checked against the password policy; the user must replace it at the next login.
    new_password: String,
}

/// Admin: set a temporary password.
///
/// The account's sessions end and its login throttle is cleared. After logging in with it, the
/// user gets `403 password-change-required` from every route but `POST /api/v1/users/me/password`,
/// `GET /api/v1/users/me` and `POST /api/v1/logout` until they choose a new password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/admin/reset-password",
    tag = "auth",
    operation_id = "admin_reset_password",
    summary = "Admin: reset a password, forcing a change at the next login",
    request_body = ResetInput,
    responses(
        (status = 200, description = "Reset", body = AccountState),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn reset_password(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ResetInput = json_body(&body)?;
    let position =
        admin_accounts::reset_password(&state, &request_info(&req), &user, input.user_id, &input.new_password).await?;
    Ok(written(
        StatusCode::OK,
        position,
        AccountState { id: input.user_id, disabled: None, unlocked: None, password_reset: Some(true) },
    ))
}
