//! The dashboard: the reader's next booking (with check-in when its window is open), upcoming
//! reservations, offers waiting for them, and the catalogue at a glance.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use reserver_app::Services;
use reserver_projections::catalog::{self, ResourceQuery};
use reserver_projections::page::PageRequest;
use reserver_projections::reservations::{self as rm, TimeScope};

use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard));
}

/// A reservation as a list shows it.
pub struct ReservationRow {
    pub id: String,
    pub resource_id: String,
    pub resource: String,
    pub when: String,
    pub zone: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    resources: usize,
    upcoming: Vec<ReservationRow>,
    offers: usize,
    waiting: usize,
}

pages!(DashboardPage);

async fn dashboard(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let fail = |e| PageError::of(&ctx, e);
    let db = services.db();
    let user_id = ctx.caller().user_id;
    let resources = catalog::list_resources(&db, &ResourceQuery::default(), &PageRequest::first(500))
        .await
        .map_err(|e| fail(e.into()))?
        .data;
    let mine = rm::reservations_for_user(&db, user_id, TimeScope::Upcoming, Utc::now(), &PageRequest::first(5))
        .await
        .map_err(|e| fail(e.into()))?;
    let waiting = rm::waitlist_for_user(&db, user_id).await.map_err(|e| fail(e.into()))?.len();
    let offers = mine.data.iter().filter(|r| r.offer_expires_at.is_some()).count();
    let upcoming = mine
        .data
        .iter()
        .map(|r| {
            let resource = resources.iter().find(|v| v.resource_id == r.resource_id);
            let zone = resource.map(|v| v.time_zone).unwrap_or(chrono_tz::UTC);
            ReservationRow {
                id: r.reservation_id.to_string(),
                resource_id: r.resource_id.to_string(),
                resource: resource.map(|v| v.name.clone()).unwrap_or_default(),
                when: crate::format::range(ctx.lang, r.range.start(), r.range.end(), zone),
                zone: zone.name().to_string(),
                status: rm::status_label(r.status),
            }
        })
        .collect();
    let page = DashboardPage { resources: resources.len(), upcoming, offers, waiting, ctx };
    Ok(respond(page, StatusCode::OK))
}
