//! My reservations: upcoming, past or all, a page at a time; cancelling one, this and the
//! following occurrences of a series, or the whole series (after a confirmation step); one
//! reservation with its history; its `.ics`; and the personal calendar feed's URL to copy.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use chrono_tz::Tz;
use reserver_app::client_ip::ForwardingHeaders;
use reserver_app::{reservations, series, AppError, Services};
use reserver_domain::resource::ReservationStatus;
use reserver_domain::Rejection;
use reserver_projections::page::PageRequest;
use reserver_projections::reservations::{self as rm, ReservationView, TimeScope};
use serde::Deserialize;
use uuid::Uuid;

use super::{request_info, url_encode};
use crate::i18n::Lang;
use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

/// Rows per page of the list.
const PAGE_SIZE: u32 = 20;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `.ics` first: `/reservations/{id}` would take it otherwise.
    cfg.route("/reservations", web::get().to(list))
        .route("/reservations/{id}.ics", web::get().to(ics))
        .route("/reservations/{id}", web::get().to(detail))
        .route("/reservations/{id}/cancel", web::get().to(confirm_cancel))
        .route("/reservations/{id}/cancel", web::post().to(cancel));
}

type Page = Result<HttpResponse, PageError>;

/// A reservation as the list shows it.
pub struct Row {
    pub id: String,
    pub resource_id: String,
    pub resource: String,
    pub when: String,
    pub zone: String,
    pub status: &'static str,
    pub in_series: bool,
    pub cancellable: bool,
}

fn cancellable(r: &ReservationView) -> bool {
    matches!(r.status, ReservationStatus::Confirmed | ReservationStatus::PendingApproval) && r.range.end() > Utc::now()
}

/// Names and zones of resources, read once each.
#[derive(Default)]
struct Resources(HashMap<Uuid, (String, Tz)>);

impl Resources {
    async fn get(&mut self, services: &Services, id: Uuid) -> Result<(String, Tz), AppError> {
        if let Some(found) = self.0.get(&id) {
            return Ok(found.clone());
        }
        let found = reserver_app::catalog::get_resource(services, id, None)
            .await?
            .map(|v| (v.name, v.time_zone))
            .unwrap_or_else(|| (String::new(), chrono_tz::UTC));
        self.0.insert(id, found.clone());
        Ok(found)
    }
}

async fn row(lang: Lang, services: &Services, names: &mut Resources, r: &ReservationView) -> Result<Row, AppError> {
    let (resource, zone) = names.get(services, r.resource_id).await?;
    Ok(Row {
        id: r.reservation_id.to_string(),
        resource_id: r.resource_id.to_string(),
        resource,
        when: crate::format::range(lang, r.range.start(), r.range.end(), zone),
        zone: zone.name().to_string(),
        status: rm::status_label(r.status),
        in_series: r.series_id.is_some(),
        cancellable: cancellable(r),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    scope: String,
    cursor: String,
    /// How many were just cancelled (the confirmation after a cancel).
    cancelled: Option<usize>,
}

/// The list, its own fragment for htmx and live refreshes.
#[derive(Template)]
#[template(path = "reservations_list.html")]
struct ListFragment {
    ctx: Ctx,
    scope: &'static str,
    rows: Vec<Row>,
    live_url: String,
    next_url: String,
    first_url: String,
}

#[derive(Template)]
#[template(path = "reservations.html")]
struct ListPage {
    ctx: Ctx,
    scope: &'static str,
    rows: Vec<Row>,
    live_url: String,
    next_url: String,
    first_url: String,
    notice: String,
    feed_url: String,
}

pages!(ListFragment, ListPage);

fn link_base(req: &HttpRequest, services: &Services) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = ForwardingHeaders {
        forwarded: header("forwarded"),
        x_forwarded_for: header("x-forwarded-for"),
        x_forwarded_host: header("x-forwarded-host"),
        x_forwarded_proto: header("x-forwarded-proto"),
    };
    let peer = req.peer_addr().map(|a| a.ip());
    services.link_base(services.trusted_proxies.forwarded_origin(peer, &headers))
}

async fn list(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<ListQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let fail = |ctx: &Ctx, e: AppError| PageError::of(ctx, e);
    let (scope, time_scope) = match query.scope.as_str() {
        "past" => ("past", TimeScope::Past),
        "all" => ("all", TimeScope::All),
        _ => ("upcoming", TimeScope::Upcoming),
    };
    let page = match query.cursor.as_str() {
        "" => PageRequest::first(PAGE_SIZE),
        cursor => PageRequest::after(PAGE_SIZE, cursor),
    };
    let user_id = ctx.caller().user_id;
    let found = rm::reservations_for_user(&services.db(), user_id, time_scope, Utc::now(), &page)
        .await
        .map_err(|e| fail(&ctx, e.into()))?;
    let mut names = Resources::default();
    let mut rows = Vec::with_capacity(found.data.len());
    for r in &found.data {
        rows.push(row(ctx.lang, &services, &mut names, r).await.map_err(|e| fail(&ctx, e))?);
    }
    let first_url = format!("/reservations?scope={scope}");
    let live_url = match query.cursor.as_str() {
        "" => first_url.clone(),
        cursor => format!("{first_url}&cursor={}", url_encode(cursor)),
    };
    let next_url = match (&found.next_cursor, found.has_more) {
        (Some(cursor), true) => format!("{first_url}&cursor={}", url_encode(cursor)),
        _ => String::new(),
    };
    let first_url = if query.cursor.is_empty() { String::new() } else { first_url };
    if req.headers().contains_key("hx-request") {
        let fragment = ListFragment { ctx, scope, rows, live_url, next_url, first_url };
        return Ok(respond(fragment, StatusCode::OK));
    }
    let notice = match query.cancelled {
        Some(n) => ctx.lang.t_with("reservations-cancelled", &[("count", (n as i64).into())]),
        None => String::new(),
    };
    let feed = reservations::subscription_url(&services, ctx.caller(), &link_base(&req, &services))
        .await
        .map_err(|e| fail(&ctx, e))?;
    let page = ListPage { ctx, scope, rows, live_url, next_url, first_url, notice, feed_url: feed.url };
    Ok(respond(page, StatusCode::OK))
}

fn parse_id(ctx: &Ctx, id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::of(ctx, AppError::not_found("reservation")))
}

/// One event of a reservation's history, in words.
pub struct HistoryRow {
    pub at: String,
    pub what: String,
}

#[derive(Template)]
#[template(path = "reservation.html")]
struct DetailPage {
    ctx: Ctx,
    row: Row,
    history: Vec<HistoryRow>,
}

pages!(DetailPage);

async fn detail(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let id = parse_id(&ctx, &path)?;
    let caller = ctx.caller().clone();
    let view = reservations::visible(&services, &caller, id).await.map_err(|e| PageError::of(&ctx, e))?;
    let entries = reservations::history(&services, &caller, id).await.map_err(|e| PageError::of(&ctx, e))?;
    let mut names = Resources::default();
    let row = row(ctx.lang, &services, &mut names, &view).await.map_err(|e| PageError::of(&ctx, e))?;
    let zone: Tz = row.zone.parse().unwrap_or(chrono_tz::UTC);
    let history = entries
        .iter()
        .map(|e| {
            let key = format!("history-{}", e.event_type.replace('_', "-"));
            let what = ctx.t(&key);
            HistoryRow {
                at: crate::format::date_time(ctx.lang, e.at, zone),
                what: if what == key { e.event_type.replace('_', " ") } else { what },
            }
        })
        .collect();
    Ok(respond(DetailPage { ctx, row, history }, StatusCode::OK))
}

async fn ics(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let id = parse_id(&ctx, &path)?;
    let body = reservations::export_ics(&services, ctx.caller(), id).await.map_err(|e| PageError::of(&ctx, e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"reservation-{id}.ics\"")))
        .body(body))
}

/// What a cancel covers: `one`, `following` (this and the later occurrences) or `series`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CancelQuery {
    what: String,
}

fn what_of(value: &str, in_series: bool) -> &'static str {
    match value {
        "following" if in_series => "following",
        "series" if in_series => "series",
        _ => "one",
    }
}

#[derive(Template)]
#[template(path = "reservation_cancel.html")]
struct ConfirmPage {
    ctx: Ctx,
    row: Row,
    what: &'static str,
    question: String,
}

pages!(ConfirmPage);

async fn confirm_cancel(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
    query: web::Query<CancelQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let id = parse_id(&ctx, &path)?;
    let view = reservations::visible(&services, ctx.caller(), id).await.map_err(|e| PageError::of(&ctx, e))?;
    let mut names = Resources::default();
    let row = row(ctx.lang, &services, &mut names, &view).await.map_err(|e| PageError::of(&ctx, e))?;
    if !row.cancellable {
        let reason = "this reservation can no longer be cancelled".to_string();
        let error = AppError::Rejected(Rejection::InvalidState { reason });
        return Err(PageError::of(&ctx, error));
    }
    let what = what_of(&query.what, row.in_series);
    let question = ctx.t(&format!("cancel-question-{what}"));
    Ok(respond(ConfirmPage { ctx, row, what, question }, StatusCode::OK))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CancelForm {
    csrf: String,
    what: String,
}

async fn cancel(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
    form: web::Form<CancelForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let id = parse_id(&ctx, &path)?;
    let caller = ctx.caller().clone();
    let view = reservations::visible(&services, &caller, id).await.map_err(|e| PageError::of(&ctx, e))?;
    let info = request_info(&req, &services);
    let (count, position) = match (what_of(&form.what, view.series_id.is_some()), view.series_id) {
        ("following", Some(series_id)) => {
            let done = series::cancel(&services, &info, &caller, series_id, Some(id), &[]).await;
            done.map(|d| (d.cancelled, d.position))
        }
        ("series", Some(series_id)) => {
            let done = series::cancel(&services, &info, &caller, series_id, None, &[]).await;
            done.map(|d| (d.cancelled, d.position))
        }
        _ => reservations::cancel(&services, &info, &caller, id, None, &[]).await.map(|c| (1, c.position)),
    }
    .map_err(|e| PageError::of(&ctx, e))?;
    Ok(ctx.redirect(&req, &format!("/reservations?cancelled={count}&min_position={position}")))
}
