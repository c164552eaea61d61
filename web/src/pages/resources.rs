//! The resources list (search, filters, sort, pages; free now and the next free slot of each),
//! a resource's page with its schedule (day and week views in the resource's time zone), and
//! the booking form with its conflict alternatives.
//!
//! The schedule is built from the resource state the read side folds with the domain's own
//! `evolve`, judged cell by cell with the domain's `check_slot` — the very rules a booking
//! command applies — so the grid and the API can never disagree.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_app::availability;
use reserver_app::{reservations, AppError, Services};
use reserver_domain::availability::{free_intervals, local_day, next_available, open_intervals};
use reserver_domain::resource::rules::{check_slot, occupied, peak_concurrency, reach_of};
use reserver_domain::resource::state::{ResourceKind, ResourceStatus};
use reserver_domain::schedule_rules::{blocking_blackout, resolve_local};
use reserver_domain::{Rejection, ResourceState, TimeRange};
use reserver_projections::catalog::{self, GroupNode, ResourceQuery, ResourceSort, ResourceView};
use reserver_projections::page::PageRequest;
use reserver_projections::reservations as rm;
use serde::Deserialize;
use uuid::Uuid;

use super::{request_info, url_encode};
use crate::errors::FormErrors;
use crate::format;
use crate::i18n::Lang;
use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources", web::get().to(list))
        .route("/resources/{id}", web::get().to(resource_page))
        .route("/resources/{id}/schedule", web::get().to(schedule_fragment))
        .route("/resources/{id}/book", web::get().to(book_form))
        .route("/resources/{id}/book", web::post().to(book));
}

type Page = Result<HttpResponse, PageError>;

/// Whether to answer with the fragment htmx asked for rather than the whole page.
fn wants_fragment(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request") && !req.headers().contains_key("hx-history-restore-request")
}

fn kind_code(kind: ResourceKind) -> &'static str {
    catalog::kind_label(kind)
}

fn parse_kind(text: &str) -> Option<ResourceKind> {
    match text {
        "room" => Some(ResourceKind::Room),
        "desk" => Some(ResourceKind::Desk),
        "equipment" => Some(ResourceKind::Equipment),
        "lab" => Some(ResourceKind::Lab),
        "other" => Some(ResourceKind::Other),
        _ => None,
    }
}

// ---------------------------------------------------------------- the list

/// The list's query string, all text so that nothing a reader types fails the page.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct ListQuery {
    q: String,
    tags: String,
    status: String,
    min_capacity: String,
    group: String,
    kind: String,
    sort: String,
    order: String,
    limit: String,
    cursor: String,
    /// The cursors of the pages before this one (the first page is implied), `.`-separated.
    trail: String,
}

impl ListQuery {
    /// The filters as a query string, without paging.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("tags", &self.tags),
            ("status", &self.status),
            ("min_capacity", &self.min_capacity),
            ("group", &self.group),
            ("kind", &self.kind),
            ("sort", &self.sort),
            ("order", &self.order),
            ("limit", &self.limit),
        ] {
            if !value.trim().is_empty() {
                parts.push(format!("{name}={}", url_encode(value.trim())));
            }
        }
        parts.join("&")
    }

    fn url(&self, cursor: &str, trail: &[&str]) -> String {
        let mut query = self.filters();
        if !cursor.is_empty() {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("cursor={}", url_encode(cursor)));
            if !trail.is_empty() {
                query.push_str(&format!("&trail={}", url_encode(&trail.join("."))));
            }
        }
        if query.is_empty() {
            "/resources".into()
        } else {
            format!("/resources?{query}")
        }
    }
}

/// One resource as the list shows it.
pub struct ResourceRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub capacity: u32,
    pub location: String,
    pub tags: String,
    pub status: &'static str,
    pub free_now: bool,
    /// When it is next free, in its zone; empty when nothing is free within its horizon.
    pub next_free: String,
    pub zone: String,
}

/// A group for the filter, indented by depth.
pub struct GroupOption {
    pub id: String,
    pub label: String,
}

/// The list's results: what the htmx fragment re-renders.
pub struct Results {
    pub rows: Vec<ResourceRow>,
    pub next_url: String,
    pub previous_url: String,
    pub first_url: String,
    pub filtered: bool,
}

#[derive(Template)]
#[template(path = "resources.html")]
struct ListPage {
    ctx: Ctx,
    query: ListQuery,
    groups: Vec<GroupOption>,
    errors: FormErrors,
    results: Results,
}

#[derive(Template)]
#[template(path = "resources_results.html")]
struct ResultsFragment {
    ctx: Ctx,
    results: Results,
}

pages!(ListPage, ResultsFragment);

fn flatten_groups(nodes: &[GroupNode], depth: usize, out: &mut Vec<GroupOption>) {
    for node in nodes {
        out.push(GroupOption {
            id: node.group.group_id.to_string(),
            label: format!("{}{}", "— ".repeat(depth), node.group.name),
        });
        if depth < 16 {
            flatten_groups(&node.children, depth + 1, out);
        }
    }
}

async fn list(req: HttpRequest, services: web::Data<Services>, keys: web::Data<WebKeys>) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let query = web::Query::<ListQuery>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let db = services.db();
    let mut errors = FormErrors::default();
    let min_capacity = match query.min_capacity.trim() {
        "" => 0,
        text => match text.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                errors.fields.push(("min_capacity".into(), ctx.t("resources-error-capacity")));
                0
            }
        },
    };
    let filter = ResourceQuery {
        tags: query.tags.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
        kind: parse_kind(&query.kind),
        status: Some(query.status.clone()).filter(|s| ["available", "maintenance", "retired"].contains(&s.as_str())),
        group_id: query.group.parse().ok(),
        include_subgroups: true,
        text: Some(query.q.trim().to_string()).filter(|t| !t.is_empty()),
        sort: match query.sort.as_str() {
            "status" => ResourceSort::Status,
            "created" => ResourceSort::Created,
            _ => ResourceSort::Name,
        },
        descending: query.order == "desc",
    };
    let limit = query.limit.parse::<usize>().unwrap_or(20).clamp(1, 100);
    // The capacity filter is applied to each page read; reading on until the page is full
    // keeps every cursor handed out at a row boundary of the underlying list.
    let mut found: Vec<ResourceView> = Vec::new();
    let mut cursor = Some(query.cursor.clone()).filter(|c| !c.is_empty());
    let mut next_cursor = None;
    for _ in 0..20 {
        let want = (limit - found.len()) as u32;
        let page = reserver_app::catalog::list_resources(
            &services,
            &filter,
            &PageRequest { limit: Some(want), cursor: cursor.clone() },
            None,
        )
        .await
        .map_err(|e| PageError::of(&ctx, e))?;
        found.extend(page.data.into_iter().filter(|v| v.capacity >= min_capacity));
        next_cursor = page.next_cursor.filter(|_| page.has_more);
        if found.len() >= limit || next_cursor.is_none() {
            break;
        }
        cursor = next_cursor.clone();
    }
    let now = Utc::now();
    let user = ctx.caller().user_id;
    let mut rows = Vec::with_capacity(found.len());
    for view in &found {
        let answered =
            availability::with_state(&services, view.resource_id, |state| row(&ctx, view, Some(state), now, user))
                .await
                .map_err(|e| PageError::of(&ctx, e))?;
        rows.push(answered.unwrap_or_else(|| row(&ctx, view, None, now, user)));
    }
    let trail: Vec<&str> = query.trail.split('.').filter(|c| !c.is_empty()).collect();
    let results = Results {
        rows,
        next_url: match &next_cursor {
            Some(next) => {
                let mut longer = trail.clone();
                if !query.cursor.is_empty() {
                    longer.push(&query.cursor);
                }
                query.url(next, &longer)
            }
            None => String::new(),
        },
        previous_url: if query.cursor.is_empty() {
            String::new()
        } else {
            match trail.split_last() {
                Some((last, before)) => query.url(last, before),
                None => query.url("", &[]),
            }
        },
        first_url: if query.cursor.is_empty() { String::new() } else { query.url("", &[]) },
        filtered: !query.filters().replace("limit=", "").is_empty() || min_capacity > 0,
    };
    if wants_fragment(&req) {
        return Ok(respond(ResultsFragment { ctx, results }, StatusCode::OK));
    }
    let tree = catalog::group_tree(&db).await.map_err(|e| PageError::of(&ctx, e.into()))?;
    let mut groups = Vec::new();
    flatten_groups(&tree, 0, &mut groups);
    Ok(respond(ListPage { ctx, query, groups, errors, results }, StatusCode::OK))
}

fn row(ctx: &Ctx, view: &ResourceView, state: Option<&ResourceState>, now: DateTime<Utc>, user: Uuid) -> ResourceRow {
    let zone = view.time_zone;
    let bookable = !view.retired && view.status == ResourceStatus::Available;
    let (free_now, next_free) = match state {
        Some(state) if bookable => {
            let this_minute = TimeRange::starting_at(now, Duration::minutes(1));
            let free_now = this_minute
                .map(|m| free_intervals(state, &m).first().is_some_and(|f| f.start() <= now))
                .unwrap_or(false);
            let length = view.policy.min_duration().max(Duration::minutes(30));
            let next = next_available(state, now, length, now, Some(user))
                .map(|slot| format::date_time(ctx.lang, slot.start(), zone))
                .unwrap_or_default();
            (free_now, next)
        }
        _ => (false, String::new()),
    };
    ResourceRow {
        id: view.resource_id.to_string(),
        name: view.name.clone(),
        kind: kind_code(view.kind),
        capacity: view.capacity,
        location: view.location.clone(),
        tags: view.tags.join(", "),
        status: view.status_label(),
        free_now,
        next_free,
        zone: zone.name().to_string(),
    }
}

// ---------------------------------------------------------------- the schedule

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct ScheduleQuery {
    view: String,
    date: String,
    booked: String,
}

/// One cell of the grid: a slot of the resource and what can be done with it.
pub struct Cell {
    /// `free`, `full`, `closed`, `blackout`, `past`, `unavailable` or `none` (a local time
    /// the clocks skip).
    pub state: &'static str,
    /// What the cell says: `2 of 3 free`, `Closed`, …
    pub text: String,
    /// The booking form for this slot when it can be booked, or the waitlist's join form when
    /// it is full (someone else's cancellation may free it).
    pub book_url: String,
    /// The link's accessible name: `Book 09:00–09:30`, `Join the waitlist for 09:00–09:30`.
    pub book_label: String,
    /// The reader holds a booking here.
    pub mine: bool,
}

pub struct GridRow {
    pub label: String,
    pub cells: Vec<Cell>,
}

/// The schedule grid, a fragment of its own for live refreshes and htmx navigation.
pub struct Grid {
    pub resource_id: String,
    pub live_url: String,
    pub view: &'static str,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<GridRow>,
    pub prev_url: String,
    pub next_url: String,
    pub today_url: String,
    pub day_url: String,
    pub week_url: String,
}

/// The reader's booking just made, shown on top of the page.
pub struct BookedNotice {
    pub text: String,
}

#[derive(Template)]
#[template(path = "resource.html")]
struct ResourcePage {
    ctx: Ctx,
    resource: ResourceView,
    kind: &'static str,
    status: &'static str,
    zone: String,
    hours: Vec<String>,
    blackouts: Vec<String>,
    booked: Option<BookedNotice>,
    grid: Grid,
}

#[derive(Template)]
#[template(path = "schedule_grid.html")]
struct GridFragment {
    ctx: Ctx,
    grid: Grid,
}

pages!(ResourcePage, GridFragment);

async fn load_resource(ctx: &Ctx, services: &Services, id: &str) -> Result<(ResourceView, ResourceState), PageError> {
    let not_found = || PageError::of(ctx, AppError::NotFound("resource".into()));
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let view = reserver_app::catalog::get_resource(services, id, None)
        .await
        .map_err(|e| PageError::of(ctx, e))?
        .ok_or_else(not_found)?;
    let state = availability::with_state(services, id, ResourceState::clone)
        .await
        .map_err(|e| PageError::of(ctx, e))?
        .ok_or_else(not_found)?;
    Ok((view, state))
}

async fn resource_page(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let (view, state) = load_resource(&ctx, &services, &id).await?;
    let query = web::Query::<ScheduleQuery>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let grid = build_grid(&ctx, &view, &state, &query, Utc::now());
    if wants_fragment(&req) {
        return Ok(respond(GridFragment { ctx, grid }, StatusCode::OK));
    }
    let zone = view.time_zone;
    let mut booked = None;
    if let Ok(reservation_id) = query.booked.parse::<Uuid>() {
        let found =
            rm::get_reservation(&services.db(), reservation_id).await.map_err(|e| PageError::of(&ctx, e.into()))?;
        if let Some(r) = found.filter(|r| r.user_id == ctx.caller().user_id && r.resource_id == view.resource_id) {
            let when = format!("{} ({})", format::range(ctx.lang, r.range.start(), r.range.end(), zone), zone.name());
            let pending = rm::status_label(r.status) == "pending_approval";
            let key = if pending { "resources-requested-notice" } else { "resources-booked-notice" };
            booked = Some(BookedNotice { text: ctx.t1(key, "when", when) });
        }
    }
    let hours = business_hours_lines(ctx.lang, &view);
    let resource = state.resource.as_ref();
    let now = Utc::now();
    let blackouts = resource
        .map(|r| {
            r.blackouts
                .iter()
                .filter(|b| b.range.end() > now)
                .take(10)
                .map(|b| {
                    let when = format::range(ctx.lang, b.range.start(), b.range.end(), zone);
                    if b.reason.is_empty() {
                        when
                    } else {
                        format!("{when} · {}", b.reason)
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = ResourcePage {
        kind: kind_code(view.kind),
        status: view.status_label(),
        zone: zone.name().to_string(),
        hours,
        blackouts,
        booked,
        grid,
        resource: view,
        ctx,
    };
    Ok(respond(page, StatusCode::OK))
}

/// `GET /resources/{id}/schedule`: the grid alone, for live refreshes.
async fn schedule_fragment(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let (view, state) = load_resource(&ctx, &services, &id).await?;
    let query = web::Query::<ScheduleQuery>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let grid = build_grid(&ctx, &view, &state, &query, Utc::now());
    Ok(respond(GridFragment { ctx, grid }, StatusCode::OK))
}

fn weekday_key(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => "resources-day-mon",
        chrono::Weekday::Tue => "resources-day-tue",
        chrono::Weekday::Wed => "resources-day-wed",
        chrono::Weekday::Thu => "resources-day-thu",
        chrono::Weekday::Fri => "resources-day-fri",
        chrono::Weekday::Sat => "resources-day-sat",
        chrono::Weekday::Sun => "resources-day-sun",
    }
}

/// The weekly hours, one line per day (`Monday: 09:00–17:00`), or nothing when always open.
fn business_hours_lines(lang: Lang, view: &ResourceView) -> Vec<String> {
    let Some(hours) = view.business_hours.as_ref() else { return Vec::new() };
    let days = [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
        chrono::Weekday::Sat,
        chrono::Weekday::Sun,
    ];
    days.iter()
        .enumerate()
        .map(|(i, day)| {
            let ranges = hours.days.get(i).cloned().unwrap_or_default();
            let text = if ranges.is_empty() {
                lang.t("resources-closed")
            } else {
                ranges
                    .iter()
                    .map(|r| format!("{}–{}", r.start.format("%H:%M"), r.end.format("%H:%M")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("{}: {text}", lang.t(weekday_key(*day)))
        })
        .collect()
}

fn date_label(lang: Lang, date: NaiveDate) -> String {
    format::long_date(lang, date)
}

/// `09:00` / `9:00 AM` of an instant in `zone`, with the zone's abbreviation when `marked`
/// (on days the clocks change, where a local time can repeat).
fn local_label(lang: Lang, at: DateTime<Utc>, zone: Tz, marked: bool) -> String {
    let text = format::time(lang, at, zone);
    if marked {
        format!("{text} {}", zone.from_utc_datetime(&at.naive_utc()).format("%Z"))
    } else {
        text
    }
}

fn build_grid(
    ctx: &Ctx,
    view: &ResourceView,
    state: &ResourceState,
    query: &ScheduleQuery,
    now: DateTime<Utc>,
) -> Grid {
    let zone = view.time_zone;
    let today = now.with_timezone(&zone).date_naive();
    // Dates far from now are read as today: nothing is bookable there, and date arithmetic
    // stays far from the ends of the calendar.
    let date = NaiveDate::parse_from_str(query.date.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2400).contains(&d.year()))
        .unwrap_or(today);
    let week = query.view == "week";
    let id = view.resource_id;
    let base = format!("/resources/{id}");
    let url = |view: &str, date: NaiveDate| format!("{base}?view={view}&date={}", date.format("%Y-%m-%d"));
    let view_name = if week { "week" } else { "day" };
    let step = if week { 7 } else { 1 };
    let user = ctx.caller().user_id;
    let cell = |slot: TimeRange| judge(ctx, state, slot, now, user, zone, id);
    let (caption, columns, rows) = if week {
        let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
        let days: Vec<NaiveDate> = (0..7).map(|i| monday + Duration::days(i)).collect();
        let columns = days
            .iter()
            .map(|d| format!("{} {}", ctx.t(weekday_key(d.weekday())), d.format("%d/%m")))
            .collect::<Vec<_>>();
        let rows = (0..24u32)
            .map(|hour| GridRow {
                label: hour_label(ctx.lang, hour),
                cells: days
                    .iter()
                    .map(|day| {
                        let Some(local) = day.and_hms_opt(hour, 0, 0) else { return gap(ctx) };
                        let start = match zone.from_local_datetime(&local) {
                            LocalResult::Single(t) => t.with_timezone(&Utc),
                            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
                            LocalResult::None => return gap(ctx),
                        };
                        let next_local = local + Duration::hours(1);
                        let end = resolve_local(zone, next_local);
                        match TimeRange::new(start, end) {
                            Ok(slot) => cell(slot),
                            Err(_) => gap(ctx),
                        }
                    })
                    .collect(),
            })
            .collect();
        let caption = ctx.t1("resources-week-of", "date", date_label(ctx.lang, monday));
        (caption, columns, rows)
    } else {
        let mut rows = Vec::new();
        if let Some(day) = local_day(zone, date) {
            // Walk instants, not wall-clock times: a day the clocks change has 23 or 25 hours.
            let marked = day.duration() != Duration::hours(24);
            let mut at = day.start();
            while at < day.end() && rows.len() < 30 {
                let hour_end = (at + Duration::hours(1)).min(day.end());
                let half = (at + Duration::minutes(30)).min(hour_end);
                let cells = [(at, half), (half, hour_end)]
                    .into_iter()
                    .map(|(s, e)| TimeRange::new(s, e).map(cell).unwrap_or_else(|_| gap(ctx)))
                    .collect();
                rows.push(GridRow { label: local_label(ctx.lang, at, zone, marked), cells });
                at = hour_end;
            }
        }
        let caption = date_label(ctx.lang, date);
        (caption, vec![ctx.t("resources-first-half"), ctx.t("resources-second-half")], rows)
    };
    Grid {
        resource_id: id.to_string(),
        live_url: format!("{base}/schedule?view={view_name}&date={}", date.format("%Y-%m-%d")),
        view: view_name,
        caption: format!("{caption} ({})", zone.name()),
        columns,
        rows,
        prev_url: url(view_name, date - Duration::days(step)),
        next_url: url(view_name, date + Duration::days(step)),
        today_url: url(view_name, today),
        day_url: url("day", date),
        week_url: url("week", date),
    }
}

/// A wall-clock hour as the reader's language writes it: `9:00 AM` / `09:00`.
fn hour_label(lang: Lang, hour: u32) -> String {
    let time = chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default();
    match lang {
        Lang::En => time.format("%-I:%M %p").to_string(),
        _ => time.format("%H:%M").to_string(),
    }
}

fn gap(ctx: &Ctx) -> Cell {
    Cell {
        state: "none",
        text: ctx.t("resources-cell-skipped"),
        book_url: String::new(),
        book_label: String::new(),
        mine: false,
    }
}

/// What a slot is: judged by the same rules a booking command applies.
fn judge(
    ctx: &Ctx,
    state: &ResourceState,
    slot: TimeRange,
    now: DateTime<Utc>,
    user: Uuid,
    zone: Tz,
    id: Uuid,
) -> Cell {
    let plain = |state: &'static str, key: &str| Cell {
        state,
        text: ctx.t(key),
        book_url: String::new(),
        book_label: String::new(),
        mine: false,
    };
    let Some(resource) = state.resource.as_ref() else { return plain("closed", "resources-closed") };
    let mine = state.holding_meeting(&slot).any(|r| r.user_id == user && r.range.overlaps(&slot));
    if slot.end() <= now {
        return Cell { mine, ..plain("past", "resources-cell-past") };
    }
    let open = open_intervals(state, &slot);
    if !(open.len() == 1 && open[0] == slot) {
        return Cell { mine, ..plain("closed", "resources-closed") };
    }
    if let Some(blackout) = blocking_blackout(&resource.blackouts, &slot) {
        let text = if blackout.reason.is_empty() {
            ctx.t("resources-cell-blackout")
        } else {
            format!("{} · {}", ctx.t("resources-cell-blackout"), blackout.reason)
        };
        return Cell { text, mine, ..plain("blackout", "resources-cell-blackout") };
    }
    let used = peak_concurrency(
        state
            .holding_meeting(&reach_of(resource, &slot))
            .map(|r| occupied(resource, &r.range))
            .filter(|span| span.overlaps(&slot))
            .map(|span| (span.start().max(slot.start()), span.end().min(slot.end()))),
    );
    let free = (resource.capacity as usize).saturating_sub(used);
    let text = if resource.capacity == 1 {
        ctx.t(if free > 0 { "resources-cell-free" } else { "resources-cell-busy" })
    } else {
        ctx.lang.t_with(
            "resources-cell-count",
            &[("free", (free as i64).into()), ("capacity", i64::from(resource.capacity).into())],
        )
    };
    let bookable = check_slot(state, &slot, now, Some(user)).is_ok();
    let cell_state = if bookable {
        "free"
    } else if free == 0 {
        "full"
    } else {
        "unavailable"
    };
    let range = format!("{}–{}", format::time(ctx.lang, slot.start(), zone), format::time(ctx.lang, slot.end(), zone));
    let (start, end) = (url_encode(&rfc3339(slot.start())), url_encode(&rfc3339(slot.end())));
    let (book_url, book_label) = if bookable {
        (format!("/resources/{id}/book?start={start}&end={end}"), ctx.t1("resources-book-slot", "range", range))
    } else if free == 0 && !mine {
        (
            format!("/waitlist/join?resource_id={id}&start={start}&end={end}"),
            ctx.t1("resources-wait-slot", "range", range),
        )
    } else {
        (String::new(), String::new())
    };
    Cell { state: cell_state, text, book_url, book_label, mine }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------- booking

/// The booking form as typed: local wall-clock times in the resource's zone; the offsets
/// only settle a time that occurs twice on the day the clocks go back.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct BookForm {
    csrf: String,
    start_time: String,
    end_time: String,
    start_offset: String,
    end_offset: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BookQuery {
    start: String,
    end: String,
}

/// A slot offered instead of a taken one, booked with one click.
pub struct Alternative {
    pub text: String,
    pub start_time: String,
    pub end_time: String,
    pub start_offset: String,
    pub end_offset: String,
}

/// What a conflict shows next to the start field.
pub struct ConflictInfo {
    pub taken: Vec<String>,
    pub alternatives: Vec<Alternative>,
    pub waitlist_url: String,
}

#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    ctx: Ctx,
    resource: ResourceView,
    zone: String,
    form: BookForm,
    errors: FormErrors,
    conflict: Option<ConflictInfo>,
}

pages!(BookPage);

fn local_input(at: DateTime<Utc>, zone: Tz) -> (String, String) {
    let local = zone.from_utc_datetime(&at.naive_utc());
    (local.format("%Y-%m-%dT%H:%M").to_string(), local.offset().fix().to_string())
}

/// A `datetime-local` value read in `zone`. A time the clocks skip, or one that occurs twice
/// without an offset choosing one of them, is a field error — never a guess.
fn parse_local(lang: Lang, zone: Tz, text: &str, offset: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| lang.t("resources-error-time"))?;
    let shown = naive.format("%H:%M").to_string();
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => {
            Err(lang
                .t_with("resources-error-dst-gap", &[("time", shown.into()), ("zone", zone.name().to_string().into())]))
        }
        LocalResult::Ambiguous(a, b) => {
            let chosen = [a, b].into_iter().find(|t| t.offset().fix().to_string() == offset.trim());
            chosen.map(|t| t.with_timezone(&Utc)).ok_or_else(|| {
                lang.t_with(
                    "resources-error-dst-ambiguous",
                    &[("time", shown.into()), ("zone", zone.name().to_string().into())],
                )
            })
        }
    }
}

fn instant_of(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
        zone.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
    })
}

async fn book_form(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let (view, _) = load_resource(&ctx, &services, &id).await?;
    let query = web::Query::<BookQuery>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let zone = view.time_zone;
    let mut form = BookForm::default();
    if let Some(start) = instant_of(&query.start, zone) {
        (form.start_time, form.start_offset) = local_input(start, zone);
        let end = instant_of(&query.end, zone).unwrap_or(start + Duration::minutes(30));
        (form.end_time, form.end_offset) = local_input(end, zone);
    }
    let page = BookPage {
        ctx,
        zone: zone.name().to_string(),
        resource: view,
        form,
        errors: FormErrors::default(),
        conflict: None,
    };
    Ok(respond(page, StatusCode::OK))
}

async fn book(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    id: web::Path<String>,
    form: web::Form<BookForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let (view, _) = load_resource(&ctx, &services, &id).await?;
    let form = form.into_inner();
    let zone = view.time_zone;
    let zone_name = zone.name().to_string();
    let failed = |ctx: Ctx, view: ResourceView, form: BookForm, errors: FormErrors, conflict, status| {
        respond(BookPage { ctx, zone: zone_name.clone(), resource: view, form, errors, conflict }, status)
    };
    let mut errors = FormErrors::default();
    let start = parse_local(ctx.lang, zone, &form.start_time, &form.start_offset)
        .map_err(|e| errors.fields.push(("start_time".into(), e)))
        .ok();
    let end = parse_local(ctx.lang, zone, &form.end_time, &form.end_offset)
        .map_err(|e| errors.fields.push(("end_time".into(), e)))
        .ok();
    let range = match (start, end) {
        (Some(start), Some(end)) => match TimeRange::new(start, end) {
            Ok(range) => Some(range),
            Err(_) => {
                errors.fields.push(("end_time".into(), ctx.t("error-end-before-start")));
                None
            }
        },
        _ => None,
    };
    let Some(range) = range else {
        return Ok(failed(ctx, view, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let caller = ctx.caller().clone();
    let info = request_info(&req, &services);
    match reservations::book(&services, &info, &caller, view.resource_id, range, &[]).await {
        Ok(booked) => {
            let date = zone.from_utc_datetime(&booked.range.start().naive_utc()).date_naive();
            let to = format!(
                "/resources/{}?date={}&booked={}&min_position={}",
                view.resource_id,
                date.format("%Y-%m-%d"),
                booked.reservation_id,
                booked.position
            );
            Ok(ctx.redirect(&req, &to))
        }
        Err(error) => {
            let mut errors = FormErrors::from_error(ctx.lang, &error, &["start_time", "end_time"]);
            // Every booking rule concerns the time asked for: say it next to the start.
            if let (AppError::Rejected(_), Some(sentence)) = (&error, errors.general.clone()) {
                errors.general = None;
                errors.fields.push(("start_time".into(), sentence));
            }
            let conflict = match &error {
                AppError::Rejected(Rejection::Conflict { conflicts, next_free }) => Some(ConflictInfo {
                    taken: conflicts
                        .iter()
                        .map(|c| format::range(ctx.lang, c.range.start(), c.range.end(), zone))
                        .collect(),
                    alternatives: next_free
                        .iter()
                        .map(|slot| {
                            let (start_time, start_offset) = local_input(slot.start(), zone);
                            let (end_time, end_offset) = local_input(slot.end(), zone);
                            Alternative {
                                text: format::range(ctx.lang, slot.start(), slot.end(), zone),
                                start_time,
                                end_time,
                                start_offset,
                                end_offset,
                            }
                        })
                        .collect(),
                    waitlist_url: format!(
                        "/waitlist/join?resource_id={}&start={}&end={}",
                        view.resource_id,
                        url_encode(&rfc3339(range.start())),
                        url_encode(&rfc3339(range.end()))
                    ),
                }),
                _ => None,
            };
            let status = crate::errors::Problem::of(&error).status;
            Ok(failed(ctx, view, form, errors, conflict, status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_york() -> Tz {
        "America/New_York".parse().unwrap_or(Tz::UTC)
    }

    #[test]
    fn local_times_are_read_in_the_resource_zone() {
        let at = parse_local(Lang::En, new_york(), "2031-07-01T09:00", "");
        assert_eq!(at.map(|t| t.to_rfc3339()), Ok("2031-07-01T13:00:00+00:00".to_string()));
        assert!(parse_local(Lang::En, new_york(), "tomorrow", "").is_err_and(|e| e.contains("Enter a date")));
    }

    #[test]
    fn skipped_and_repeated_times_are_errors_unless_an_offset_chooses() {
        let gap = parse_local(Lang::En, new_york(), "2031-03-09T02:30", "");
        assert!(gap.is_err_and(|e| e.contains("02:30 does not exist") && e.contains("America/New_York")));
        let twice = parse_local(Lang::Fr, new_york(), "2031-11-02T01:30", "");
        assert!(twice.is_err_and(|e| e.contains("01:30 existe deux fois")));
        let first = parse_local(Lang::En, new_york(), "2031-11-02T01:30", "-04:00");
        assert_eq!(first.map(|t| t.to_rfc3339()), Ok("2031-11-02T05:30:00+00:00".to_string()));
        let second = parse_local(Lang::En, new_york(), "2031-11-02T01:30", "-05:00");
        assert_eq!(second.map(|t| t.to_rfc3339()), Ok("2031-11-02T06:30:00+00:00".to_string()));
        // An offset settles only a repeated time; elsewhere the zone decides.
        let plain = parse_local(Lang::En, new_york(), "2031-11-03T09:00", "-04:00");
        assert_eq!(plain.map(|t| t.to_rfc3339()), Ok("2031-11-03T14:00:00+00:00".to_string()));
    }

    #[test]
    fn prefilled_values_carry_their_offset() {
        let at = Utc.with_ymd_and_hms(2031, 11, 2, 6, 30, 0).single().unwrap_or_default();
        assert_eq!(local_input(at, new_york()), ("2031-11-02T01:30".to_string(), "-05:00".to_string()));
    }
}
