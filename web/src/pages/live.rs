//! What the page script asks for: a short-lived access token for the `/ws` socket of this
//! session, the unread count for the bell, and the offline page the service worker keeps.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use reserver_app::Services;

use super::CsrfOnly;
use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/live-token", web::post().to(live_token))
        .route("/notifications/unread", web::get().to(unread))
        .route("/offline", web::get().to(offline));
}

/// `{"token": "<JWT>", "expires_in": seconds}`: an access token of the session behind the
/// cookie, for `GET /ws?token=`; logging out closes the socket (it is revoked with the session).
async fn live_token(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let caller = ctx.caller();
    let access = services
        .tokens
        .issue_access(caller.user_id, ctx.username(), caller.role, caller.session_id, services.clock.now())
        .map_err(|e| PageError::of(&ctx, reserver_app::AppError::Internal(e.to_string())))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "token": access.token, "expires_in": access.expires_in })))
}

/// `{"unread": n}` for the bell.
async fn unread(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "unread": ctx.unread })))
}

#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    ctx: Ctx,
}

pages!(OfflinePage);

async fn offline(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::load(&req, &services, &keys).await.map_err(|e| PageError::plain(&req, e))?;
    let mut response = respond(OfflinePage { ctx }, StatusCode::OK);
    // The service worker stores this page; it must not be kept by anyone else.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    Ok(response)
}
