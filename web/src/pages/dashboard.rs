//! The dashboard: the reader's next booking (with check-in when its window is open), upcoming
//! reservations, offers waiting for them, and the catalogue at a glance — refreshed live.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use reserver_app::{check_in, waitlist, AppError, Services};
use reserver_domain::availability::free_intervals;
use reserver_domain::resource::state::ReservationStatus;
use reserver_domain::TimeRange;
use reserver_projections::catalog::{ResourceQuery, ResourceView};
use reserver_projections::page::PageRequest;
use reserver_projections::reservations::{self as rm, TimeScope};
use serde::Deserialize;
use uuid::Uuid;

use super::waitlist::shown_zone;
use super::{request_info, CsrfOnly};
use crate::errors::Problem;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard)).route("/check-in/{id}", web::post().to(check_in_now));
}

type Page = Result<HttpResponse, PageError>;

/// Upcoming reservations listed on the dashboard.
const UPCOMING_SHOWN: usize = 5;

/// A reservation as a list shows it.
pub struct ReservationRow {
    pub id: String,
    pub resource_id: String,
    pub resource: String,
    pub when: String,
    pub zone: String,
    pub status: &'static str,
}

/// The reader's next booking.
pub struct NextBooking {
    pub row: ReservationRow,
    /// Its check-in window is open now.
    pub can_check_in: bool,
    pub checked_in: bool,
    /// When check-in closes, in the resource's zone (while it is open).
    pub check_in_until: String,
}

/// What the live part of the dashboard shows.
pub struct Cards {
    pub resources: usize,
    pub available_now: usize,
    pub upcoming_count: usize,
    pub upcoming: Vec<ReservationRow>,
    pub next: Option<NextBooking>,
    pub offers: usize,
    pub waiting: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    cards: Cards,
    notice: String,
    error: String,
}

#[derive(Template)]
#[template(path = "dashboard_cards.html")]
struct CardsFragment {
    ctx: Ctx,
    cards: Cards,
}

pages!(DashboardPage, CardsFragment);

/// Whether `resource` can be booked at `now`: available, not retired, open, not blacked out
/// and with a free unit — the availability functions bookings are checked with.
async fn free_now(services: &Services, resource: &ResourceView, now: DateTime<Utc>) -> Result<bool, AppError> {
    if resource.status_label() != "available" {
        return Ok(false);
    }
    let Ok(instant) = TimeRange::new(now, now + Duration::seconds(1)) else { return Ok(false) };
    let free = reserver_app::availability::with_state(services, resource.resource_id, |state| {
        free_intervals(state, &instant).iter().any(|free| free.start() <= now && now < free.end())
    })
    .await?;
    Ok(free.unwrap_or(false))
}

async fn cards(ctx: &Ctx, services: &Services) -> Result<Cards, AppError> {
    let db = services.db();
    let user_id = ctx.caller().user_id;
    let now = Utc::now();
    let resources =
        reserver_app::catalog::list_resources(services, &ResourceQuery::default(), &PageRequest::first(500), None)
            .await?
            .data;
    let mut available_now = 0;
    for resource in &resources {
        if free_now(services, resource, now).await? {
            available_now += 1;
        }
    }
    let mine = rm::reservations_for_user(&db, user_id, TimeScope::Upcoming, now, &PageRequest::first(500)).await?;
    let active: Vec<_> = mine
        .data
        .into_iter()
        .filter(|r| matches!(r.status, ReservationStatus::Confirmed | ReservationStatus::PendingApproval))
        .collect();
    let find = |id: Uuid| resources.iter().find(|v| v.resource_id == id);
    let row = |r: &rm::ReservationView| {
        let resource = find(r.resource_id);
        let zone = shown_zone(ctx, resource.map(|v| v.time_zone).unwrap_or(chrono_tz::UTC));
        ReservationRow {
            id: r.reservation_id.to_string(),
            resource_id: r.resource_id.to_string(),
            resource: resource.map(|v| v.name.clone()).unwrap_or_default(),
            when: crate::format::range(ctx.lang, r.range.start(), r.range.end(), zone),
            zone: zone.name().to_string(),
            status: rm::status_label(r.status),
        }
    };
    let next = active.first().map(|r| {
        let resource = find(r.resource_id);
        let zone = shown_zone(ctx, resource.map(|v| v.time_zone).unwrap_or(chrono_tz::UTC));
        let policy = resource.map(|v| v.policy.clone()).unwrap_or_default();
        let (_, closes) = check_in::window(&policy, r.range.start());
        NextBooking {
            row: row(r),
            can_check_in: check_in::is_open(r, &policy, now),
            checked_in: r.checked_in_at.is_some(),
            check_in_until: format!("{} ({})", crate::format::time(ctx.lang, closes, zone), zone.name()),
        }
    });
    let upcoming = active.iter().take(UPCOMING_SHOWN).map(row).collect();
    let offers = waitlist::open_offers(services, user_id, now).await?.len();
    let waiting = rm::waitlist_for_user(&db, user_id).await?.len();
    Ok(Cards {
        resources: resources.iter().filter(|r| !r.retired).count(),
        available_now,
        upcoming_count: active.len(),
        upcoming,
        next,
        offers,
        waiting,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DashboardQuery {
    fragment: String,
    done: String,
}

async fn dashboard(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<DashboardQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let cards = cards(&ctx, &services).await.map_err(|e| PageError::of(&ctx, e))?;
    if query.fragment == "cards" {
        return Ok(respond(CardsFragment { ctx, cards }, StatusCode::OK));
    }
    let notice = if query.done == "checked-in" { ctx.t("dashboard-checked-in") } else { String::new() };
    Ok(respond(DashboardPage { ctx, cards, notice, error: String::new() }, StatusCode::OK))
}

/// One-click check-in from the dashboard.
async fn check_in_now(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
    id: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::of(&ctx, AppError::not_found("reservation")))?;
    let info = request_info(&req, &services);
    let caller = ctx.caller().clone();
    match check_in::check_in(&services, &info, &caller, id).await {
        Ok(done) => Ok(ctx.redirect(&req, &format!("/?done=checked-in&min_position={}", done.position))),
        Err(error @ AppError::NotFound(_)) => Err(PageError::of(&ctx, error)),
        Err(error) => {
            let cards = cards(&ctx, &services).await.map_err(|e| PageError::of(&ctx, e))?;
            let message = Problem::of(&error).sentence(ctx.lang);
            Ok(respond_failed(DashboardPage { ctx, cards, notice: String::new(), error: message }, &error))
        }
    }
}
