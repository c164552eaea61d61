//! Two-step verification (`/mfa`): set up TOTP (QR code and secret), turn it on with a code
//! (the backup codes are shown once), replace the backup codes, turn it off. The request logic
//! is `reserver_app::mfa`, shared with the API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use reserver_app::mfa::{self, Setup, Status};
use reserver_app::Services;
use serde::Deserialize;

use super::request_info;
use crate::errors::FormErrors;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/mfa", web::get().to(show))
        .route("/mfa/setup", web::post().to(setup))
        .route("/mfa/enable", web::post().to(enable))
        .route("/mfa/backup-codes", web::post().to(backup_codes))
        .route("/mfa/disable", web::post().to(disable));
}

type Page = Result<HttpResponse, PageError>;

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    ctx: Ctx,
    errors: FormErrors,
    status: Status,
    /// A setup waiting for its first code.
    setup: Option<Setup>,
    /// Backup codes to show once (after enabling or replacing them).
    codes: Vec<String>,
    notice: String,
    /// Why the reader was sent here: the MFA policy requires MFA for their role (empty if not).
    required: String,
}

pages!(MfaPage);

impl MfaPage {
    /// The QR code: an SVG document this service generated from the otpauth URI (no user text
    /// in it but the URI's modules), from its `<svg` element on.
    fn qr(&self) -> &str {
        self.setup
            .as_ref()
            .map(|s| s.qr_svg.as_str())
            .map(|svg| svg.find("<svg").map_or("", |i| &svg[i..]))
            .unwrap_or("")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MfaForm {
    csrf: String,
    code: String,
    password: String,
}

async fn page(services: &Services, ctx: Ctx, errors: FormErrors, codes: Vec<String>, notice: String) -> Page {
    let user_id = ctx.caller().user_id;
    let status = mfa::status(services, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let setup = mfa::pending_setup(services, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let required = required_sentence(services, &ctx);
    Ok(respond(MfaPage { ctx, errors, status, setup, codes, notice, required }, StatusCode::OK))
}

async fn failed(services: &Services, ctx: Ctx, error: reserver_app::AppError) -> Page {
    let errors = FormErrors::from_error(ctx.lang, &error, &["code", "password"]);
    let user_id = ctx.caller().user_id;
    let status = mfa::status(services, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let setup = mfa::pending_setup(services, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let required = required_sentence(services, &ctx);
    Ok(respond_failed(
        MfaPage { ctx, errors, status, setup, codes: Vec::new(), notice: String::new(), required },
        &error,
    ))
}

/// The sentence telling a reader the MFA policy requires MFA for their role, while it is off.
fn required_sentence(services: &Services, ctx: &Ctx) -> String {
    if reserver_app::mfa_policy::setup_required(services, ctx.caller()) {
        ctx.t("mfa-required-by-policy")
    } else {
        String::new()
    }
}

async fn show(req: HttpRequest, services: web::Data<Services>, keys: web::Data<WebKeys>) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    page(&services, ctx, FormErrors::default(), Vec::new(), String::new()).await
}

async fn setup(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MfaForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    match mfa::setup(&services, &request_info(&req, &services), &caller).await {
        Ok(_) => page(&services, ctx, FormErrors::default(), Vec::new(), String::new()).await,
        Err(error) => failed(&services, ctx, error).await,
    }
}

async fn enable(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MfaForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    match mfa::enable(&services, &request_info(&req, &services), &caller, &form.code).await {
        Ok((codes, _)) => {
            let notice = ctx.t("mfa-enabled-notice");
            page(&services, ctx, FormErrors::default(), codes, notice).await
        }
        Err(error) => failed(&services, ctx, error).await,
    }
}

async fn backup_codes(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MfaForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    match mfa::regenerate_backup_codes(&services, &request_info(&req, &services), &caller).await {
        Ok((codes, _)) => {
            let notice = ctx.t("mfa-codes-replaced");
            page(&services, ctx, FormErrors::default(), codes, notice).await
        }
        Err(error) => failed(&services, ctx, error).await,
    }
}

async fn disable(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MfaForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    let info = request_info(&req, &services);
    match mfa::disable(&services, &info, &caller, Some(form.code.as_str()), Some(form.password.as_str())).await {
        Ok(_) => {
            let notice = ctx.t("mfa-disabled-notice");
            page(&services, ctx, FormErrors::default(), Vec::new(), notice).await
        }
        Err(error) => failed(&services, ctx, error).await,
    }
}
