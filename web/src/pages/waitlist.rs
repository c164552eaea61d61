//! The waitlist: my entries with their place in line, the offers waiting for my answer (with a
//! live countdown), joining from a busy slot with a flexible window, and leaving.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_app::{waitlist, AppError, Services};
use reserver_projections::catalog::ResourceView;
use serde::Deserialize;
use uuid::Uuid;

use super::{request_info, CsrfOnly};
use crate::errors::{FormErrors, Problem};
use crate::format;
use crate::i18n::Lang;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/waitlist", web::get().to(overview))
        .route("/waitlist/join", web::get().to(join_form))
        .route("/waitlist/join", web::post().to(join))
        .route("/waitlist/offers/{id}/accept", web::post().to(accept))
        .route("/waitlist/offers/{id}/decline", web::post().to(decline))
        .route("/waitlist/{id}/leave", web::post().to(leave));
}

type Page = Result<HttpResponse, PageError>;

/// A waitlist entry as the list shows it.
pub struct EntryRow {
    pub id: String,
    pub resource_id: String,
    pub resource: String,
    pub when: String,
    pub zone: String,
    pub flexible: String,
    pub place: String,
}

/// An offer waiting for an answer.
pub struct OfferRow {
    pub id: String,
    pub resource_id: String,
    pub resource: String,
    pub when: String,
    pub zone: String,
    /// RFC 3339, for the countdown.
    pub expires_iso: String,
    /// `m:ss` left when the page was made (the script keeps it ticking).
    pub left: String,
    /// The expiry in the resource's zone.
    pub expires_at: String,
}

#[derive(Template)]
#[template(path = "waitlist.html")]
struct WaitlistPage {
    ctx: Ctx,
    offers: Vec<OfferRow>,
    entries: Vec<EntryRow>,
    notice: String,
    error: String,
}

#[derive(Template)]
#[template(path = "waitlist_lists.html")]
struct WaitlistLists {
    ctx: Ctx,
    offers: Vec<OfferRow>,
    entries: Vec<EntryRow>,
}

#[derive(Template)]
#[template(path = "waitlist_join.html")]
struct JoinPage {
    ctx: Ctx,
    errors: FormErrors,
    resource_id: String,
    resource: String,
    zone: String,
    desired_start: String,
    desired_end: String,
    flexible_minutes: String,
}

pages!(WaitlistPage, WaitlistLists, JoinPage);

/// `1st`, `2.º`, `2e`: a place in line as the language writes it.
pub fn ordinal(lang: Lang, n: usize) -> String {
    match lang {
        Lang::En => {
            let suffix = match (n % 10, n % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
        Lang::Es => format!("{n}.º"),
        Lang::Fr if n == 1 => "1er".to_string(),
        Lang::Fr => format!("{n}e"),
    }
}

/// The zone times of a resource are shown in: the resource's own, or the reader's when they
/// chose "my time zone" in their preferences (always named on screen either way).
pub(crate) fn shown_zone(ctx: &Ctx, resource_zone: Tz) -> Tz {
    match &ctx.reader {
        Some(reader) if reader.time_zone_display == "local" => reader.time_zone.unwrap_or(resource_zone),
        _ => resource_zone,
    }
}

/// Resources by id, read once per page.
pub(crate) struct Resources {
    known: HashMap<Uuid, Option<ResourceView>>,
}

impl Resources {
    pub(crate) fn new() -> Resources {
        Resources { known: HashMap::new() }
    }

    pub(crate) async fn get(&mut self, services: &Services, id: Uuid) -> Result<Option<&ResourceView>, AppError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.known.entry(id) {
            slot.insert(reserver_app::catalog::get_resource(services, id, None).await?);
        }
        Ok(self.known.get(&id).and_then(Option::as_ref))
    }

    /// Name and zone of a resource (a removed one keeps its id and UTC).
    pub(crate) async fn name_and_zone(&mut self, services: &Services, id: Uuid) -> Result<(String, Tz), AppError> {
        Ok(match self.get(services, id).await? {
            Some(view) => (view.name.clone(), view.time_zone),
            None => (id.to_string(), chrono_tz::UTC),
        })
    }
}

/// The offers and entries of the reader.
async fn lists(ctx: &Ctx, services: &Services) -> Result<(Vec<OfferRow>, Vec<EntryRow>), AppError> {
    let user_id = ctx.caller().user_id;
    let now = Utc::now();
    let mut resources = Resources::new();
    let mut offers = Vec::new();
    for offer in waitlist::open_offers(services, user_id, now).await? {
        let (resource, zone) = resources.name_and_zone(services, offer.resource_id).await?;
        let zone = shown_zone(ctx, zone);
        let expires = offer.offer_expires_at.unwrap_or(offer.range.start());
        let left = (expires - now).num_seconds().max(0);
        offers.push(OfferRow {
            id: offer.reservation_id.to_string(),
            resource_id: offer.resource_id.to_string(),
            resource,
            when: format::range(ctx.lang, offer.range.start(), offer.range.end(), zone),
            zone: zone.name().to_string(),
            expires_iso: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
            left: format!("{}:{:02}", left / 60, left % 60),
            expires_at: format!("{} ({})", format::date_time(ctx.lang, expires, zone), zone.name()),
        });
    }
    let mut entries = Vec::new();
    for (entry, place) in waitlist::my_entries(services, user_id).await? {
        let (resource, zone) = resources.name_and_zone(services, entry.resource_id).await?;
        let zone = shown_zone(ctx, zone);
        entries.push(EntryRow {
            id: entry.entry_id.to_string(),
            resource_id: entry.resource_id.to_string(),
            resource,
            when: format::range(ctx.lang, entry.desired.start(), entry.desired.end(), zone),
            zone: zone.name().to_string(),
            flexible: if entry.flex_minutes == 0 {
                ctx.t("waitlist-flex-none")
            } else {
                ctx.t1("waitlist-flex", "minutes", entry.flex_minutes)
            },
            place: match place {
                Some(n) => ctx.t1("waitlist-place", "place", ordinal(ctx.lang, n)),
                None => "—".to_string(),
            },
        });
    }
    Ok((offers, entries))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OverviewQuery {
    fragment: String,
    done: String,
}

async fn overview(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<OverviewQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let notice = match query.done.as_str() {
        "joined" => ctx.t("waitlist-joined"),
        "offered" => ctx.t("waitlist-joined-offered"),
        "left" => ctx.t("waitlist-left"),
        "accepted" => ctx.t("waitlist-accepted"),
        "awaiting" => ctx.t("waitlist-accepted-awaiting"),
        "declined" => ctx.t("waitlist-declined"),
        _ => String::new(),
    };
    render(ctx, &services, notice, None, query.fragment == "lists").await
}

/// The waitlist page (or only its lists), with a notice or the error of an answer.
async fn render(ctx: Ctx, services: &Services, notice: String, error: Option<&AppError>, fragment: bool) -> Page {
    let (offers, entries) = lists(&ctx, services).await.map_err(|e| PageError::of(&ctx, e))?;
    if fragment {
        return Ok(respond(WaitlistLists { ctx, offers, entries }, StatusCode::OK));
    }
    let message = error.map(|e| Problem::of(e).sentence(ctx.lang)).unwrap_or_default();
    let page = WaitlistPage { ctx, offers, entries, notice, error: message };
    Ok(match error {
        Some(error) => respond_failed(page, error),
        None => respond(page, StatusCode::OK),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JoinQuery {
    resource_id: String,
    start: String,
    end: String,
    flexible_minutes: Option<u32>,
}

/// A `datetime-local` value (`2031-03-04T09:00`) for `value`: an RFC 3339 instant shown in
/// `zone`, or a local date-time passed through.
fn local_input(value: &str, zone: Tz) -> String {
    match DateTime::parse_from_rfc3339(value) {
        Ok(at) => zone.from_utc_datetime(&at.naive_utc()).format("%Y-%m-%dT%H:%M").to_string(),
        Err(_) => parse_naive(value).map(|n| n.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default(),
    }
}

fn parse_naive(value: &str) -> Option<NaiveDateTime> {
    let value = value.trim();
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// A `datetime-local` value read in `zone`. Errors, as a sentence for `field`: not a date and
/// time, a time the clocks skip, or one they pass twice.
pub fn parse_local(lang: Lang, value: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let Some(naive) = parse_naive(value) else { return Err(lang.t("error-invalid-time")) };
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        LocalResult::None => Err(lang.t_with("waitlist-error-skipped-time", &[("zone", zone.name().into())])),
        LocalResult::Ambiguous(..) => Err(lang.t_with("waitlist-error-repeated-time", &[("zone", zone.name().into())])),
    }
}

async fn resource_for(ctx: &Ctx, services: &Services, id: &str) -> Result<ResourceView, PageError> {
    let not_found = || PageError::of(ctx, AppError::not_found("resource"));
    let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    reserver_app::catalog::get_resource(services, id, None)
        .await
        .map_err(|e| PageError::of(ctx, e))?
        .filter(|r| !r.retired)
        .ok_or_else(not_found)
}

async fn join_form(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<JoinQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let resource = resource_for(&ctx, &services, &query.resource_id).await?;
    let zone = resource.time_zone;
    let page = JoinPage {
        ctx,
        errors: FormErrors::default(),
        resource_id: resource.resource_id.to_string(),
        resource: resource.name.clone(),
        zone: zone.name().to_string(),
        desired_start: local_input(&query.start, zone),
        desired_end: local_input(&query.end, zone),
        flexible_minutes: query.flexible_minutes.unwrap_or(0).to_string(),
    };
    Ok(respond(page, StatusCode::OK))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JoinForm {
    csrf: String,
    resource_id: String,
    desired_start: String,
    desired_end: String,
    flexible_minutes: String,
}

const JOIN_FIELDS: [&str; 5] = ["desired_start", "desired_end", "flexible_minutes", "start_time", "end_time"];

async fn join(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<JoinForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let resource = resource_for(&ctx, &services, &form.resource_id).await?;
    let zone = resource.time_zone;
    let mut errors = FormErrors::default();
    let start = parse_local(ctx.lang, &form.desired_start, zone)
        .map_err(|e| errors.fields.push(("desired_start".into(), e)))
        .ok();
    let end =
        parse_local(ctx.lang, &form.desired_end, zone).map_err(|e| errors.fields.push(("desired_end".into(), e))).ok();
    let flexible = form.flexible_minutes.trim();
    let flexible = if flexible.is_empty() { Ok(0) } else { flexible.parse::<u32>() };
    let flexible = flexible
        .map_err(|_| {
            let error = AppError::validation("flexible_minutes", "whole minutes");
            errors.fields.extend(FormErrors::from_error(ctx.lang, &error, &JOIN_FIELDS).fields);
        })
        .ok();
    let outcome = match (start, end, flexible) {
        (Some(start), Some(end), Some(flexible)) => {
            let info = request_info(&req, &services);
            let result =
                waitlist::join(&services, &info, ctx.caller(), resource.resource_id, (start, end), flexible, &[]).await;
            match result {
                Ok(joined) => {
                    let done = if joined.offered { "offered" } else { "joined" };
                    let to = format!("/waitlist?done={done}&min_position={}", joined.position);
                    return Ok(ctx.redirect(&req, &to));
                }
                Err(error) => {
                    errors = FormErrors::from_error(ctx.lang, &error, &JOIN_FIELDS);
                    for (field, _) in errors.fields.iter_mut() {
                        if field == "start_time" {
                            *field = "desired_start".into();
                        } else if field == "end_time" {
                            *field = "desired_end".into();
                        }
                    }
                    error
                }
            }
        }
        _ => AppError::validation("desired_start", "invalid"),
    };
    let page = JoinPage {
        ctx,
        errors,
        resource_id: resource.resource_id.to_string(),
        resource: resource.name.clone(),
        zone: zone.name().to_string(),
        desired_start: form.desired_start.clone(),
        desired_end: form.desired_end.clone(),
        flexible_minutes: form.flexible_minutes.clone(),
    };
    Ok(respond_failed(page, &outcome))
}

/// Runs an answer or a leave: back to the waitlist with a notice, or the waitlist with the
/// error (someone else's offer or entry is "not found").
async fn act(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
    id: &str,
    action: &'static str,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(PageError::of(
            &ctx,
            AppError::not_found(if action == "left" { "waitlist entry" } else { "offer" }),
        ));
    };
    let info = request_info(&req, &services);
    let caller = ctx.caller().clone();
    let result = match action {
        "left" => waitlist::leave(&services, &info, &caller, id).await.map(|position| (action, position)),
        accepted => waitlist::answer_offer(&services, &info, &caller, id, accepted == "accepted").await.map(|a| {
            // Taken where bookings need approval: the notice says it awaits an approver.
            (if a.status == "pending_approval" { "awaiting" } else { action }, a.position)
        }),
    };
    match result {
        Ok((done, position)) => Ok(ctx.redirect(&req, &format!("/waitlist?done={done}&min_position={position}"))),
        Err(error @ AppError::NotFound(_)) => Err(PageError::of(&ctx, error)),
        Err(error) => render(ctx, &services, String::new(), Some(&error), false).await,
    }
}

async fn accept(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
    id: web::Path<String>,
) -> Page {
    act(req, services, keys, form, &id, "accepted").await
}

async fn decline(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
    id: web::Path<String>,
) -> Page {
    act(req, services, keys, form, &id, "declined").await
}

async fn leave(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<CsrfOnly>,
    id: web::Path<String>,
) -> Page {
    act(req, services, keys, form, &id, "left").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_line_read_naturally() {
        assert_eq!(ordinal(Lang::En, 1), "1st");
        assert_eq!(ordinal(Lang::En, 2), "2nd");
        assert_eq!(ordinal(Lang::En, 12), "12th");
        assert_eq!(ordinal(Lang::En, 23), "23rd");
        assert_eq!(ordinal(Lang::Fr, 1), "1er");
        assert_eq!(ordinal(Lang::Es, 2), "2.º");
    }

    #[test]
    fn local_times_in_the_resource_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap_or(chrono_tz::UTC);
        let at = parse_local(Lang::En, "2031-03-04T09:00", paris).map_err(|e| e.to_string());
        assert_eq!(at.map(|a| a.to_rfc3339()), Ok("2031-03-04T08:00:00+00:00".to_string()));
        // 02:30 does not exist on the last Sunday of March in Paris; 02:30 in October is twice.
        assert!(parse_local(Lang::En, "2031-03-30T02:30", paris).is_err_and(|e| e.contains("Europe/Paris")));
        assert!(parse_local(Lang::En, "2031-10-26T02:30", paris).is_err_and(|e| e.contains("Europe/Paris")));
        assert!(parse_local(Lang::En, "tomorrow", paris).is_err());
        assert_eq!(local_input("2031-03-04T08:00:00Z", paris), "2031-03-04T09:00");
    }
}
