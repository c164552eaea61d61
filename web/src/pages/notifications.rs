//! The notifications center: newest first a page at a time, unread ones marked, mark one or all
//! read (htmx swaps the list; plain forms work too), refreshed live.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use fluent_templates::fluent_bundle::FluentValue;
use reserver_app::{notifications, AppError, Services};
use reserver_projections::notifications::NotificationView;
use reserver_projections::page::PageRequest;
use serde::Deserialize;
use uuid::Uuid;

use super::url_encode;
use super::waitlist::Resources;
use crate::format;
use crate::page::{pages, respond, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(center))
        .route("/notifications/read-all", web::post().to(read_all))
        .route("/notifications/{id}/read", web::post().to(read_one));
}

type Page = Result<HttpResponse, PageError>;

/// Notifications shown at a time.
const PAGE_SIZE: u32 = 20;

/// A notification as the list shows it.
pub struct NotificationRow {
    pub id: String,
    pub read: bool,
    pub title: String,
    pub resource: String,
    pub link: String,
    pub when: String,
    pub received: String,
}

/// One page of the list.
pub struct ListState {
    /// "3 unread", in the reader's language.
    pub heading: String,
    pub rows: Vec<NotificationRow>,
    pub unread: u64,
    /// The cursor of this page (empty for the newest).
    pub cursor: String,
    /// The cursor of the next, older page.
    pub older: Option<String>,
}

impl ListState {
    /// The URL that returns this list's fresh HTML.
    pub fn live_url(&self) -> String {
        if self.cursor.is_empty() {
            "/notifications?fragment=list".into()
        } else {
            format!("/notifications?fragment=list&cursor={}", url_encode(&self.cursor))
        }
    }

    pub fn older_url(&self) -> String {
        self.older.as_deref().map(|c| format!("/notifications?cursor={}", url_encode(c))).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct CenterPage {
    ctx: Ctx,
    list: ListState,
    oob: bool,
}

#[derive(Template)]
#[template(path = "notifications_list.html")]
struct ListFragment {
    ctx: Ctx,
    list: ListState,
    /// Also update the bell's count (htmx out-of-band swap).
    oob: bool,
}

pages!(CenterPage, ListFragment);

fn title(ctx: &Ctx, n: &NotificationView) -> String {
    match n.kind.as_str() {
        "reservation_confirmed" => ctx.t("notification-kind-reservation-confirmed"),
        "series_booked" => ctx.t("notification-kind-series-booked"),
        "reservation_cancelled" => ctx.t("notification-kind-reservation-cancelled"),
        "reservation_approved" => ctx.t("notification-kind-reservation-approved"),
        "reservation_rejected" => ctx.t("notification-kind-reservation-rejected"),
        "approval_expired" => ctx.t("notification-kind-approval-expired"),
        "approval_needed" => ctx.t("notification-kind-approval-needed"),
        "waitlist_offer" => ctx.t("notification-kind-waitlist-offer"),
        "no_show_released" => ctx.t("notification-kind-no-show-released"),
        "webhook_disabled" => ctx.t("notification-kind-webhook-disabled"),
        "reminder" => ctx.t("notification-kind-reminder"),
        _ => n.message.clone(),
    }
}

async fn load_list(ctx: &Ctx, services: &Services, cursor: &str) -> Result<ListState, AppError> {
    let user_id = ctx.caller().user_id;
    let request = PageRequest { limit: Some(PAGE_SIZE), cursor: Some(cursor.to_string()).filter(|c| !c.is_empty()) };
    let (page, unread) = notifications::list(services, user_id, false, &request).await?;
    let mut resources = Resources::new();
    let mut rows = Vec::with_capacity(page.data.len());
    for n in &page.data {
        let (resource, zone, link) = match resources.get(services, n.resource_id).await? {
            Some(view) => (view.name.clone(), view.time_zone, format!("/resources/{}", view.resource_id)),
            None => {
                (String::new(), ctx.reader.as_ref().and_then(|r| r.time_zone).unwrap_or(chrono_tz::UTC), String::new())
            }
        };
        let zone = super::waitlist::shown_zone(ctx, zone);
        let link = if n.kind == "waitlist_offer" { "/waitlist".to_string() } else { link };
        rows.push(NotificationRow {
            id: n.notification_id.to_string(),
            read: n.read,
            title: title(ctx, n),
            resource,
            link,
            when: n
                .range
                .map(|r| format!("{} ({})", format::range(ctx.lang, r.start(), r.end(), zone), zone.name()))
                .unwrap_or_default(),
            received: format!("{} ({})", format::date_time(ctx.lang, n.created_at, zone), zone.name()),
        });
    }
    let heading = ctx.lang.t_with("notifications-unread-count", &[("count", FluentValue::from(unread))]);
    Ok(ListState {
        heading,
        rows,
        unread,
        cursor: cursor.to_string(),
        older: page.next_cursor.filter(|_| page.has_more),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CenterQuery {
    cursor: String,
    fragment: String,
}

async fn center(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<CenterQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    show(ctx, &req, &services, &query.cursor, query.fragment == "list").await
}

async fn show(ctx: Ctx, req: &HttpRequest, services: &Services, cursor: &str, fragment: bool) -> Page {
    let list = load_list(&ctx, services, cursor).await.map_err(|e| PageError::of(&ctx, e))?;
    if fragment || req.headers().contains_key("hx-request") {
        Ok(respond(ListFragment { ctx, list, oob: true }, StatusCode::OK))
    } else {
        Ok(respond(CenterPage { ctx, list, oob: false }, StatusCode::OK))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MarkForm {
    csrf: String,
    cursor: String,
}

/// After a mark: htmx gets the fresh list, a plain form the page again (303).
async fn after_mark(ctx: Ctx, req: &HttpRequest, services: &Services, cursor: &str) -> Page {
    if req.headers().contains_key("hx-request") {
        return show(ctx, req, services, cursor, true).await;
    }
    let to = if cursor.is_empty() {
        "/notifications".to_string()
    } else {
        format!("/notifications?cursor={}", url_encode(cursor))
    };
    Ok(ctx.redirect(req, &to))
}

async fn read_one(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MarkForm>,
    id: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::of(&ctx, AppError::not_found("notification")))?;
    let user_id = ctx.caller().user_id;
    notifications::mark_read(&services, user_id, id).await.map_err(|e| PageError::of(&ctx, e))?;
    after_mark(ctx, &req, &services, &form.cursor).await
}

async fn read_all(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<MarkForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let user_id = ctx.caller().user_id;
    notifications::mark_all_read(&services, user_id).await.map_err(|e| PageError::of(&ctx, e))?;
    after_mark(ctx, &req, &services, &form.cursor).await
}
