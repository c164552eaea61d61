//! "Your sessions": where and when the reader is logged in, with a way to end any of them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use reserver_app::{sessions, Services};
use serde::Deserialize;
use uuid::Uuid;

use super::{request_info, CsrfOnly};
use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions", web::get().to(list))
        .route("/sessions/revoke-others", web::post().to(revoke_others))
        .route("/sessions/{id}/revoke", web::post().to(revoke));
}

pub struct SessionRow {
    pub id: String,
    pub started: String,
    pub last_used: String,
    pub client: String,
    pub ip: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    ctx: Ctx,
    rows: Vec<SessionRow>,
    notice: String,
}

pages!(SessionsPage);

#[derive(Debug, Default, Deserialize)]
struct Notice {
    ended: Option<usize>,
}

async fn list(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let caller = ctx.caller().clone();
    let zone = ctx.reader.as_ref().and_then(|r| r.time_zone).unwrap_or(chrono_tz::UTC);
    let listed = sessions::list(&services, &caller, caller.user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    let rows = listed
        .into_iter()
        .map(|s| SessionRow {
            id: s.view.session_id.to_string(),
            started: crate::format::date_time(ctx.lang, s.view.started_at, zone),
            last_used: crate::format::date_time(ctx.lang, s.view.last_used_at, zone),
            client: s.view.user_agent.unwrap_or_else(|| ctx.t("sessions-unknown-client")),
            ip: s.view.client_ip.unwrap_or_default(),
            current: s.current,
        })
        .collect();
    let notice = match query.ended {
        Some(n) => ctx.t1("sessions-ended", "count", n),
        None => String::new(),
    };
    Ok(respond(SessionsPage { ctx, rows, notice }, StatusCode::OK))
}

async fn revoke(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    let position =
        sessions::revoke(&services, &request_info(&req, &services), &caller, caller.user_id, id.into_inner())
            .await
            .map_err(|e| PageError::of(&ctx, e))?;
    Ok(ctx.redirect(&req, &format!("/sessions?ended=1&min_position={position}")))
}

async fn revoke_others(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller().clone();
    let (ended, position) = sessions::revoke_others(&services, &request_info(&req, &services), &caller)
        .await
        .map_err(|e| PageError::of(&ctx, e))?;
    Ok(ctx.redirect(&req, &format!("/sessions?ended={ended}&min_position={position}")))
}
