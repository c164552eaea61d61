//! First run (`/setup`), login, registration, logout, password change, and the language and
//! theme choices of visitors who are not logged in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use reserver_app::{accounts, preferences, AppError, Services};
use serde::Deserialize;

use super::{request_info, safe_next, CsrfOnly};
use crate::errors::FormErrors;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::{self, WebKeys};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_form))
        .route("/setup", web::post().to(setup))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/login/mfa", web::post().to(login_mfa))
        .route("/register", web::get().to(register_form))
        .route("/register", web::post().to(register))
        .route("/logout", web::post().to(logout))
        .route("/password", web::get().to(password_form))
        .route("/password", web::post().to(change_password))
        .route("/language", web::post().to(language))
        .route("/theme", web::post().to(theme));
}

type Page = Result<HttpResponse, PageError>;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    errors: FormErrors,
    username: String,
    next: String,
    notice: String,
}

#[derive(Template)]
#[template(path = "credentials.html")]
struct CredentialsPage {
    ctx: Ctx,
    errors: FormErrors,
    title: String,
    intro: String,
    action: &'static str,
    submit: String,
    username: String,
    show_login_link: bool,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: Ctx,
    errors: FormErrors,
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CredentialsForm {
    csrf: String,
    username: String,
    password: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn context(req: &HttpRequest, services: &Services, keys: &WebKeys) -> Result<Ctx, PageError> {
    Ctx::load(req, services, keys).await.map_err(|e| PageError::plain(req, e))
}

fn credentials_page(ctx: Ctx, setup: bool, username: String, errors: FormErrors) -> CredentialsPage {
    let (title, intro, action, submit) = if setup {
        (ctx.t("setup-title"), ctx.t("setup-intro"), "/setup", ctx.t("setup-submit"))
    } else {
        (ctx.t("register-title"), String::new(), "/register", ctx.t("register-submit"))
    };
    CredentialsPage { ctx, errors, title, intro, action, submit, username, show_login_link: !setup }
}

async fn setup_form(req: HttpRequest, services: web::Data<Services>, keys: web::Data<WebKeys>) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    if accounts::setup_complete(&services).await.map_err(|e| PageError::of(&ctx, e))? {
        return Ok(ctx.redirect(&req, "/login"));
    }
    Ok(respond(credentials_page(ctx, true, String::new(), FormErrors::default()), StatusCode::OK))
}

async fn setup(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CredentialsForm>,
) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    match accounts::initialize(&services, &request_info(&req, &services), &form.username, &form.password).await {
        Ok(_) => sign_in(req, services, keys, ctx, &form, "/").await,
        Err(error) => {
            let errors = FormErrors::from_error(ctx.lang, &error, &["username", "password"]);
            let page = credentials_page(ctx, true, form.username.clone(), errors);
            Ok(respond_failed(page, &error))
        }
    }
}

/// The second step of a login with MFA: a code field; the challenge rides in a hidden field.
#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaLoginPage {
    ctx: Ctx,
    errors: FormErrors,
    mfa_token: String,
    next: String,
}

pages!(CredentialsPage, LoginPage, PasswordPage, MfaLoginPage);

/// Logs in with the form's credentials and sets the session cookie.
async fn sign_in(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    ctx: Ctx,
    form: &CredentialsForm,
    next: &str,
) -> Page {
    let source = super::client_ip(&req, &services).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let info = request_info(&req, &services);
    match accounts::login(&services, &info, source, &form.username, &form.password).await {
        Ok(session) => Ok(start_web_session(&req, &services, &keys, ctx, session, next).await),
        Err(AppError::MfaRequired { mfa_token }) => {
            let page = MfaLoginPage { ctx, errors: FormErrors::default(), mfa_token, next: safe_next(next) };
            Ok(respond(page, StatusCode::OK))
        }
        Err(error) => {
            let errors = FormErrors::from_error(ctx.lang, &error, &[]);
            let page = LoginPage {
                ctx,
                errors,
                username: form.username.clone(),
                next: safe_next(next),
                notice: String::new(),
            };
            Ok(respond_failed(page, &error))
        }
    }
}

/// Sets the session cookie of a started session, adopting a language or theme chosen before.
async fn start_web_session(
    req: &HttpRequest,
    services: &Services,
    keys: &WebKeys,
    mut ctx: Ctx,
    started: accounts::StartedSession,
    next: &str,
) -> HttpResponse {
    // A language or theme chosen before logging in becomes the account's preference.
    let mut chosen = serde_json::Map::new();
    if let Some(lang) = req.cookie(session::LANG_COOKIE).and_then(|c| crate::Lang::from_code(c.value())) {
        chosen.insert("language".into(), lang.code().into());
    }
    if let Some(theme) = req
        .cookie(session::THEME_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| ["light", "dark"].contains(&t.as_str()))
    {
        chosen.insert("theme".into(), theme.into());
    }
    if !chosen.is_empty() {
        let current = preferences::get(services, started.user_id).await.unwrap_or_default();
        chosen.retain(|key, _| !current.contains_key(key));
        if !chosen.is_empty() {
            // Best effort: a failure here must not fail the login.
            let _ = preferences::merge(services, started.user_id, chosen).await;
        }
    }
    ctx.add_cookie(keys.session_cookie(req, started.refresh_token));
    ctx.redirect(req, &safe_next(next))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MfaLoginForm {
    csrf: String,
    mfa_token: String,
    code: String,
    next: String,
}

async fn login_mfa(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MfaLoginForm>,
) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let info = request_info(&req, &services);
    match reserver_app::mfa::complete_login(&services, &info, &form.mfa_token, &form.code).await {
        Ok(session) => Ok(start_web_session(&req, &services, &keys, ctx, session, &form.next).await),
        Err(error) => {
            let errors = FormErrors::from_error(ctx.lang, &error, &["code"]);
            let page = MfaLoginPage { ctx, errors, mfa_token: form.mfa_token.clone(), next: safe_next(&form.next) };
            Ok(respond_failed(page, &error))
        }
    }
}

async fn login_form(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<NextQuery>,
) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    if !accounts::setup_complete(&services).await.map_err(|e| PageError::of(&ctx, e))? {
        return Ok(ctx.redirect(&req, "/setup"));
    }
    let next = safe_next(query.next.as_deref().unwrap_or("/"));
    if ctx.signed_in_now() {
        return Ok(ctx.redirect(&req, &next));
    }
    let notice = if query.next.as_deref().is_some_and(|n| n != "/") { ctx.t("login-needed") } else { String::new() };
    Ok(respond(LoginPage { ctx, errors: FormErrors::default(), username: String::new(), next, notice }, StatusCode::OK))
}

async fn login(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CredentialsForm>,
) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let next = form.next.clone();
    sign_in(req, services, keys, ctx, &form, &next).await
}

async fn register_form(req: HttpRequest, services: web::Data<Services>, keys: web::Data<WebKeys>) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    let page = credentials_page(ctx, false, String::new(), FormErrors::default());
    Ok(respond(page, StatusCode::OK))
}

async fn register(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CredentialsForm>,
) -> Page {
    let ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    match accounts::register(&services, &request_info(&req, &services), &form.username, &form.password).await {
        Ok(_) => sign_in(req, services, keys, ctx, &form, "/").await,
        Err(error) => {
            let errors = FormErrors::from_error(ctx.lang, &error, &["username", "password"]);
            Ok(respond_failed(credentials_page(ctx, false, form.username.clone(), errors), &error))
        }
    }
}

async fn logout(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
) -> Page {
    let mut ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    if let Some(reader) = &ctx.reader {
        let caller = reader.caller.clone();
        accounts::logout(&services, &request_info(&req, &services), &caller)
            .await
            .map_err(|e| PageError::of(&ctx, e))?;
    }
    ctx.add_cookie(keys.ended_session_cookie(&req));
    Ok(ctx.redirect(&req, "/login"))
}

async fn password_form(req: HttpRequest, services: web::Data<Services>, keys: web::Data<WebKeys>) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    Ok(respond(PasswordPage { ctx, errors: FormErrors::default(), done: false }, StatusCode::OK))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    current_password: String,
    password: String,
    /// A checkbox: present ("on") when ticked.
    end_other_sessions: Option<String>,
}

async fn change_password(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<PasswordForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    let info = request_info(&req, &services);
    match accounts::change_password(
        &services,
        &info,
        &caller,
        &form.current_password,
        &form.password,
        form.end_other_sessions.is_some(),
    )
    .await
    {
        Ok(_) => Ok(respond(PasswordPage { ctx, errors: FormErrors::default(), done: true }, StatusCode::OK)),
        Err(error) => {
            let errors = FormErrors::from_error(ctx.lang, &error, &["current_password", "password"]);
            Ok(respond_failed(PasswordPage { ctx, errors, done: false }, &error))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChoiceForm {
    csrf: String,
    language: String,
    theme: String,
    next: String,
}

/// Chooses the language: an account's preference, or a cookie before logging in.
async fn language(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<ChoiceForm>,
) -> Page {
    choose(req, services, keys, form.into_inner(), "language").await
}

/// Chooses the theme (`light`, `dark`, `system`), the same way.
async fn theme(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<ChoiceForm>,
) -> Page {
    choose(req, services, keys, form.into_inner(), "theme").await
}

async fn choose(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: ChoiceForm,
    key: &'static str,
) -> Page {
    let mut ctx = context(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let value = if key == "language" { form.language.clone() } else { form.theme.clone() };
    let valid = match key {
        "language" => crate::Lang::from_code(&value).map(|l| l.code().to_string()),
        _ => ["light", "dark", "system"].contains(&value.as_str()).then(|| value.clone()),
    };
    let Some(value) = valid else {
        return Err(PageError::of(&ctx, AppError::validation(key, "not a choice offered")));
    };
    match ctx.reader.as_ref().map(|r| r.caller.user_id) {
        Some(user_id) => {
            let mut patch = serde_json::Map::new();
            patch.insert(key.into(), value.into());
            preferences::merge(&services, user_id, patch).await.map_err(|e| PageError::of(&ctx, e))?;
        }
        None => {
            let name = if key == "language" { session::LANG_COOKIE } else { session::THEME_COOKIE };
            ctx.add_cookie(keys.preference_cookie(&req, name, &value));
        }
    }
    if req.headers().contains_key("hx-request") {
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(ctx.redirect(&req, &safe_next(&form.next)))
}
