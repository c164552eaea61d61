//! Accounts (admins): every account with its role and standing, and one account's page where an
//! admin changes the role, ends sessions, lifts a login throttle, disables or enables the
//! account, or sets a temporary password. The same `reserver_app::admin_accounts` functions serve
//! the API's `/api/v1/users…` routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use reserver_app::{admin_accounts, sessions, AppError, Services};
use reserver_domain::Role;
use reserver_projections::users::{role_label, UserView};
use serde::Deserialize;
use uuid::Uuid;

use super::{request_info, CsrfOnly};
use crate::errors::FormErrors;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

type Page = Result<HttpResponse, PageError>;

/// Every role, in the order the role picker lists them.
const ROLES: [Role; 5] = [Role::Admin, Role::Approver, Role::Auditor, Role::User, Role::Guest];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(list))
        .route("/admin/users/{id}", web::get().to(detail))
        .route("/admin/users/{id}/role", web::post().to(grant_role))
        .route("/admin/users/{id}/unlock", web::post().to(unlock))
        .route("/admin/users/{id}/disable", web::post().to(disable))
        .route("/admin/users/{id}/enable", web::post().to(enable))
        .route("/admin/users/{id}/reset-password", web::post().to(reset_password))
        .route("/admin/users/{id}/sessions/{session}/revoke", web::post().to(revoke_session));
}

/// An account as the list and the account page show it.
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub role: &'static str,
    pub registered: String,
    /// Badges: (CSS status class, sentence).
    pub standing: Vec<(&'static str, String)>,
    pub disabled: bool,
}

impl AccountRow {
    /// The catalogue key of the role's name.
    pub fn role_key(&self) -> String {
        format!("role-{}", self.role)
    }
}

fn row(ctx: &Ctx, zone: Tz, user: &UserView) -> AccountRow {
    let mut standing = Vec::new();
    if user.disabled {
        standing.push(("status-cancelled", ctx.t("admin-users-disabled")));
    }
    if user.password_change_required {
        standing.push(("status-pending_approval", ctx.t("admin-users-must-change-password")));
    }
    if user.mfa_enabled {
        standing.push(("status-unread", ctx.t("admin-users-mfa-on")));
    }
    if standing.is_empty() {
        standing.push(("status-confirmed", ctx.t("admin-users-active")));
    }
    AccountRow {
        id: user.user_id.to_string(),
        username: user.username.clone(),
        role: role_label(user.role),
        registered: crate::format::date_time(ctx.lang, user.registered_at, zone),
        standing,
        disabled: user.disabled,
    }
}

fn reader_zone(ctx: &Ctx) -> Tz {
    ctx.reader.as_ref().and_then(|r| r.time_zone).unwrap_or(chrono_tz::UTC)
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct AccountsPage {
    ctx: Ctx,
    rows: Vec<AccountRow>,
    q: String,
    role: String,
    roles: Vec<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountsQuery {
    /// Part of a username (any case).
    q: String,
    /// One role's accounts only.
    role: String,
}

async fn list(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<AccountsQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let role = ROLES.into_iter().find(|r| role_label(*r) == query.role);
    let users = admin_accounts::list(&services, ctx.caller(), role, None).await.map_err(|e| PageError::of(&ctx, e))?;
    let needle = query.q.trim().to_lowercase();
    let zone = reader_zone(&ctx);
    let rows = users
        .iter()
        .filter(|u| needle.is_empty() || u.username.to_lowercase().contains(&needle))
        .map(|u| row(&ctx, zone, u))
        .collect();
    let page = AccountsPage {
        ctx,
        rows,
        q: query.q.trim().to_string(),
        role: role.map(role_label).unwrap_or_default().to_string(),
        roles: ROLES.iter().map(|r| role_label(*r)).collect(),
    };
    Ok(respond(page, StatusCode::OK))
}

pub struct SessionRow {
    pub id: String,
    pub client: String,
    pub ip: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct AccountPage {
    ctx: Ctx,
    account: AccountRow,
    roles: Vec<&'static str>,
    sessions: Vec<SessionRow>,
    notice: String,
    errors: FormErrors,
    is_self: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Done {
    /// What was just done: `role`, `unlocked`, `disabled`, `enabled`, `reset`, `ended`.
    done: String,
}

async fn account_page(
    ctx: Ctx,
    services: &Services,
    user_id: Uuid,
    notice: String,
    errors: FormErrors,
) -> Result<AccountPage, PageError> {
    let caller = ctx.caller().clone();
    let user = admin_accounts::get(services, &caller, user_id, None).await.map_err(|e| PageError::of(&ctx, e))?;
    let zone = reader_zone(&ctx);
    let listed = sessions::list(services, &caller, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let sessions = listed
        .into_iter()
        .map(|s| SessionRow {
            id: s.view.session_id.to_string(),
            client: s.view.user_agent.unwrap_or_else(|| ctx.t("sessions-unknown-client")),
            ip: s.view.client_ip.unwrap_or_default(),
            last_used: crate::format::date_time(ctx.lang, s.view.last_used_at, zone),
        })
        .collect();
    Ok(AccountPage {
        account: row(&ctx, zone, &user),
        roles: ROLES.iter().map(|r| role_label(*r)).collect(),
        sessions,
        notice,
        errors,
        is_self: user_id == caller.user_id,
        ctx,
    })
}

async fn detail(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    query: web::Query<Done>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let notice = match query.done.as_str() {
        done @ ("role" | "unlocked" | "disabled" | "enabled" | "reset" | "ended") => {
            ctx.t(&format!("admin-users-done-{done}"))
        }
        _ => String::new(),
    };
    let page = account_page(ctx, &services, id.into_inner(), notice, FormErrors::default()).await?;
    Ok(respond(page, StatusCode::OK))
}

/// After an action: back to the account's page, saying what was done, once the read models
/// show it.
fn done(ctx: Ctx, req: &HttpRequest, user_id: Uuid, what: &str, position: u64) -> HttpResponse {
    ctx.redirect(req, &format!("/admin/users/{user_id}?done={what}&min_position={position}"))
}

/// The account's page again, with `error` next to the form field it concerns.
async fn failed(ctx: Ctx, services: &Services, user_id: Uuid, error: AppError, fields: &[&str]) -> Page {
    let errors = FormErrors::from_error(ctx.lang, &error, fields);
    let page = account_page(ctx, services, user_id, String::new(), errors).await?;
    Ok(respond_failed(page, &error))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RoleForm {
    csrf: String,
    role: String,
}

async fn grant_role(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<RoleForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let user_id = id.into_inner();
    let Some(role) = ROLES.into_iter().find(|r| role_label(*r) == form.role) else {
        let error = AppError::validation("role", "one of admin, approver, auditor, user, guest");
        return failed(ctx, &services, user_id, error, &["role"]).await;
    };
    let caller = ctx.caller().clone();
    match admin_accounts::grant_role(&services, &request_info(&req, &services), &caller, user_id, role, &[]).await {
        Ok(position) => Ok(done(ctx, &req, user_id, "role", position)),
        Err(error) => failed(ctx, &services, user_id, error, &["role"]).await,
    }
}

/// The account actions that take no input but their CSRF token.
#[derive(Clone, Copy)]
enum Action {
    Unlock,
    Enable,
}

async fn act(
    req: HttpRequest,
    services: &Services,
    keys: &WebKeys,
    user_id: Uuid,
    form: &CsrfOnly,
    action: Action,
) -> Page {
    let ctx = Ctx::signed_in(&req, services, keys).await?;
    ctx.check_csrf(&req, keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    let info = request_info(&req, services);
    let (result, what) = match action {
        Action::Unlock => (admin_accounts::unlock(services, &info, &caller, user_id).await, "unlocked"),
        Action::Enable => (admin_accounts::enable(services, &info, &caller, user_id).await, "enabled"),
    };
    match result {
        Ok(position) => Ok(done(ctx, &req, user_id, what, position)),
        Err(error) => failed(ctx, services, user_id, error, &[]).await,
    }
}

async fn unlock(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfOnly>,
) -> Page {
    act(req, &services, &keys, id.into_inner(), &form, Action::Unlock).await
}

async fn enable(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfOnly>,
) -> Page {
    act(req, &services, &keys, id.into_inner(), &form, Action::Enable).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DisableForm {
    csrf: String,
    /// The "I understand" checkbox: present ("on") when ticked.
    confirm: Option<String>,
}

/// Disabling ends every session of the account at once, so the form asks for a ticked box.
async fn disable(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<DisableForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let user_id = id.into_inner();
    if form.confirm.is_none() {
        let error = AppError::validation("confirm", "tick the box to confirm");
        return failed(ctx, &services, user_id, error, &["confirm"]).await;
    }
    let caller = ctx.caller().clone();
    match admin_accounts::disable(&services, &request_info(&req, &services), &caller, user_id).await {
        Ok(position) => Ok(done(ctx, &req, user_id, "disabled", position)),
        Err(error) => failed(ctx, &services, user_id, error, &[]).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResetForm {
    csrf: String,
    password: String,
}

async fn reset_password(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<ResetForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let user_id = id.into_inner();
    let caller = ctx.caller().clone();
    let info = request_info(&req, &services);
    match admin_accounts::reset_password(&services, &info, &caller, user_id, &form.password).await {
        Ok(position) => Ok(done(ctx, &req, user_id, "reset", position)),
        Err(error) => failed(ctx, &services, user_id, error, &["password"]).await,
    }
}

async fn revoke_session(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<CsrfOnly>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let (user_id, session_id) = path.into_inner();
    let caller = ctx.caller().clone();
    match sessions::revoke(&services, &request_info(&req, &services), &caller, user_id, session_id).await {
        Ok(position) => Ok(done(ctx, &req, user_id, "ended", position)),
        Err(error) => failed(ctx, &services, user_id, error, &[]).await,
    }
}

pages!(AccountsPage, AccountPage);
