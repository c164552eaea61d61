//! Recurring booking: a form that builds an RFC 5545 RRULE (daily, weekly or monthly, an
//! interval, weekdays, a count or an end date, exceptions) in the resource's time zone; a
//! preview of every occurrence's outcome with nothing booked; then booking all or nothing, or
//! skipping conflicts.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_app::series::{self, SeriesRequest};
use reserver_app::{AppError, Services};
use reserver_domain::recurrence::{OccurrenceOutcome, OccurrenceReport};
use reserver_domain::Rejection;
use reserver_projections::catalog::ResourceView;
use serde::Deserialize;
use uuid::Uuid;

use super::request_info;
use crate::errors::FormErrors;
use crate::i18n::Lang;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources/{id}/recurring", web::get().to(form_page))
        .route("/resources/{id}/recurring", web::post().to(submit));
}

type Page = Result<HttpResponse, PageError>;

/// Weekdays in RRULE order, with the form field of each.
const WEEKDAYS: [(&str, &str); 7] = [
    ("MO", "day_mo"),
    ("TU", "day_tu"),
    ("WE", "day_we"),
    ("TH", "day_th"),
    ("FR", "day_fr"),
    ("SA", "day_sa"),
    ("SU", "day_su"),
];

/// The fields of the form, as typed (so nothing is lost on an error).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SeriesForm {
    csrf: String,
    start_date: String,
    start_time: String,
    duration_minutes: String,
    freq: String,
    interval: String,
    day_mo: String,
    day_tu: String,
    day_we: String,
    day_th: String,
    day_fr: String,
    day_sa: String,
    day_su: String,
    /// `count` or `until`.
    ends: String,
    count: String,
    until: String,
    /// Dates to skip, `YYYY-MM-DD`, separated by spaces, commas or lines.
    exceptions: String,
    /// `preview`, `book_all` or `book_skip`.
    action: String,
}

impl SeriesForm {
    fn defaults(zone: Tz) -> SeriesForm {
        let tomorrow = zone.from_utc_datetime(&Utc::now().naive_utc()).date_naive() + Duration::days(1);
        SeriesForm {
            start_date: tomorrow.format("%Y-%m-%d").to_string(),
            start_time: "09:00".into(),
            duration_minutes: "60".into(),
            freq: "WEEKLY".into(),
            interval: "1".into(),
            ends: "count".into(),
            count: "10".into(),
            ..SeriesForm::default()
        }
    }

    fn day(&self, field: &str) -> bool {
        let value = match field {
            "day_mo" => &self.day_mo,
            "day_tu" => &self.day_tu,
            "day_we" => &self.day_we,
            "day_th" => &self.day_th,
            "day_fr" => &self.day_fr,
            "day_sa" => &self.day_sa,
            _ => &self.day_su,
        };
        !value.is_empty()
    }

    fn exception_dates(&self) -> Result<Vec<NaiveDate>, AppError> {
        self.exceptions
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter(|s| !s.is_empty())
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| AppError::validation("exceptions", "dates as YYYY-MM-DD"))
            })
            .collect()
    }

    /// The RRULE and the request it makes, or the first field in error.
    fn request(&self, resource_id: Uuid) -> Result<SeriesRequest, AppError> {
        let date = NaiveDate::parse_from_str(self.start_date.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::validation("start_date", "a date"))?;
        let time = NaiveTime::parse_from_str(self.start_time.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(self.start_time.trim(), "%H:%M:%S"))
            .map_err(|_| AppError::validation("start_time", "a time"))?;
        let duration_minutes = self
            .duration_minutes
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=24 * 60).contains(m))
            .ok_or_else(|| AppError::validation("duration_minutes", "must be between 1 and 1440"))?;
        let freq = match self.freq.as_str() {
            f @ ("DAILY" | "WEEKLY" | "MONTHLY") => f,
            _ => return Err(AppError::validation("freq", "daily, weekly or monthly")),
        };
        let interval = self
            .interval
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|i| (1..=99).contains(i))
            .ok_or_else(|| AppError::validation("interval", "1 to 99"))?;
        let mut rrule = format!("FREQ={freq}");
        if interval > 1 {
            rrule.push_str(&format!(";INTERVAL={interval}"));
        }
        let days: Vec<&str> = WEEKDAYS.iter().filter(|(_, field)| self.day(field)).map(|(code, _)| *code).collect();
        if !days.is_empty() && freq != "MONTHLY" {
            rrule.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        if self.ends == "until" {
            let until = NaiveDate::parse_from_str(self.until.trim(), "%Y-%m-%d")
                .ok()
                .filter(|u| *u >= date)
                .ok_or_else(|| AppError::validation("until", "on or after the start date"))?;
            rrule.push_str(&format!(";UNTIL={}", until.format("%Y%m%d")));
        } else {
            let count = self
                .count
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|c| (1..=reserver_domain::recurrence::MAX_OCCURRENCES as u32).contains(c))
                .ok_or_else(|| AppError::validation("count", "1 to 500"))?;
            rrule.push_str(&format!(";COUNT={count}"));
        }
        let exdates = self.exception_dates()?.into_iter().map(|d| d.and_time(time)).collect();
        Ok(SeriesRequest {
            resource_id,
            rrule,
            start_local: date.and_time(time),
            duration_minutes,
            exdates,
            skip_conflicts: self.action == "book_skip",
        })
    }
}

/// One occurrence as the page lists it.
pub struct OccurrenceRow {
    pub when: String,
    /// `bookable`, `booked`, `requested`, `conflict`, `excluded`, `outside_business_hours`, …
    pub outcome: &'static str,
    pub label: String,
    pub detail: String,
}

impl OccurrenceRow {
    pub fn ok(&self) -> bool {
        matches!(self.outcome, "bookable" | "booked" | "requested")
    }
}

fn row(lang: Lang, report: &OccurrenceReport, zone: Tz) -> OccurrenceRow {
    let (outcome, detail) = match &report.outcome {
        OccurrenceOutcome::Booked { .. } => ("booked", String::new()),
        OccurrenceOutcome::Requested { .. } => ("requested", String::new()),
        OccurrenceOutcome::Bookable { .. } => ("bookable", String::new()),
        OccurrenceOutcome::Conflict { with } => {
            ("conflict", lang.t_with("recurring-conflict-with", &[("count", (with.len() as i64).into())]))
        }
        OccurrenceOutcome::OutsideBusinessHours => ("outside_business_hours", String::new()),
        OccurrenceOutcome::Blackout { reason } => ("blackout", reason.clone()),
        OccurrenceOutcome::Refused { code, .. } => {
            let key = format!("error-{}", code.replace('_', "-"));
            let sentence = lang.t(&key);
            ("refused", if sentence == key { code.clone() } else { sentence })
        }
    };
    OccurrenceRow {
        when: crate::format::range(lang, report.range.start(), report.range.end(), zone),
        outcome,
        label: lang.t(&format!("recurring-outcome-{}", outcome.replace('_', "-"))),
        detail,
    }
}

fn excluded_row(lang: Lang, local: NaiveDateTime, duration_minutes: u32, zone: Tz) -> OccurrenceRow {
    let start = zone.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc));
    let when = match start {
        Some(s) => crate::format::range(lang, s, s + Duration::minutes(i64::from(duration_minutes)), zone),
        None => crate::format::long_date(lang, local.date()),
    };
    OccurrenceRow { when, outcome: "excluded", label: lang.t("recurring-outcome-excluded"), detail: String::new() }
}

#[derive(Template)]
#[template(path = "recurring.html")]
struct RecurringPage {
    ctx: Ctx,
    resource_id: String,
    resource_name: String,
    zone: String,
    form: SeriesForm,
    errors: FormErrors,
    /// Shown after a preview or a booking.
    occurrences: Vec<OccurrenceRow>,
    previewed: bool,
    /// After booking: "N of M booked".
    booked_notice: String,
    summary: String,
}

pages!(RecurringPage);

impl RecurringPage {
    /// Each weekday's RRULE code, form field, name in the reader's language, and whether checked.
    fn weekdays(&self) -> Vec<(&'static str, &'static str, String, bool)> {
        WEEKDAYS
            .iter()
            .map(|(code, field)| {
                let name = self.ctx.t(&format!("recurring-weekday-{}", code.to_ascii_lowercase()));
                (*code, *field, name, self.form.day(field))
            })
            .collect()
    }

    fn freq_is(&self, f: &str) -> bool {
        self.form.freq == f
    }

    fn ends_until(&self) -> bool {
        self.form.ends == "until"
    }
}

async fn resource(ctx: &Ctx, services: &Services, id: &str) -> Result<ResourceView, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::of(ctx, AppError::not_found("resource")))?;
    reserver_app::catalog::get_resource(services, id, None)
        .await
        .map_err(|e| PageError::of(ctx, e))?
        .ok_or_else(|| PageError::of(ctx, AppError::not_found("resource")))
}

fn page(ctx: Ctx, resource: &ResourceView, form: SeriesForm) -> RecurringPage {
    RecurringPage {
        ctx,
        resource_id: resource.resource_id.to_string(),
        resource_name: resource.name.clone(),
        zone: resource.time_zone.name().to_string(),
        form,
        errors: FormErrors::default(),
        occurrences: Vec::new(),
        previewed: false,
        booked_notice: String::new(),
        summary: String::new(),
    }
}

async fn form_page(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let resource = resource(&ctx, &services, &path).await?;
    let form = SeriesForm::defaults(resource.time_zone);
    Ok(respond(page(ctx, &resource, form), StatusCode::OK))
}

const FORM_FIELDS: [&str; 9] =
    ["start_date", "start_time", "duration_minutes", "freq", "interval", "count", "until", "exceptions", "days"];

async fn submit(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    path: web::Path<String>,
    form: web::Form<SeriesForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let resource = resource(&ctx, &services, &path).await?;
    let zone = resource.time_zone;
    let lang = ctx.lang;
    let caller = ctx.caller().clone();
    let form = form.into_inner();
    let mut view = page(ctx, &resource, form.clone());
    let request = match form.request(resource.resource_id) {
        Ok(r) => r,
        Err(error) => {
            view.errors = FormErrors::from_error(lang, &error, &FORM_FIELDS);
            return Ok(respond_failed(view, &error));
        }
    };
    if form.action == "preview" || !matches!(form.action.as_str(), "book_all" | "book_skip") {
        return match series::preview(&services, &caller, &request).await {
            Ok(preview) => {
                let mut rows: Vec<(NaiveDateTime, OccurrenceRow)> =
                    preview.occurrences.iter().map(|o| (o.local_start, row(lang, o, zone))).collect();
                // The exceptions the rule would have produced, shown as skipped.
                if !request.exdates.is_empty() {
                    let wanted: BTreeSet<NaiveDateTime> = request.exdates.iter().copied().collect();
                    let all = SeriesRequest { exdates: Vec::new(), ..request.clone() };
                    if let Ok(full) = series::preview(&services, &caller, &all).await {
                        for o in full.occurrences.iter().filter(|o| wanted.contains(&o.local_start)) {
                            rows.push((
                                o.local_start,
                                excluded_row(lang, o.local_start, request.duration_minutes, zone),
                            ));
                        }
                    }
                }
                rows.sort_by_key(|(at, _)| *at);
                let bookable = rows.iter().filter(|(_, r)| r.ok()).count();
                view.summary = lang.t_with(
                    "recurring-preview-summary",
                    &[("bookable", (bookable as i64).into()), ("total", (rows.len() as i64).into())],
                );
                view.occurrences = rows.into_iter().map(|(_, r)| r).collect();
                view.previewed = true;
                Ok(respond(view, StatusCode::OK))
            }
            Err(error) => {
                view.errors = FormErrors::from_error(lang, &error, &FORM_FIELDS);
                Ok(respond_failed(view, &error))
            }
        };
    }
    // Forms send no idempotency key, so the body is not fingerprinted.
    match series::book(&services, &request_info(&req, &services), &caller, &request, &[]).await {
        Ok(booked) => {
            let occurrences = booked.occurrences.unwrap_or_default();
            let done = occurrences.iter().filter(|o| o.outcome.is_success()).count();
            view.booked_notice = lang.t_with(
                "recurring-booked",
                &[("booked", (done as i64).into()), ("total", (occurrences.len() as i64).into())],
            );
            view.occurrences = occurrences.iter().map(|o| row(lang, o, zone)).collect();
            Ok(respond(view, StatusCode::OK))
        }
        Err(error) => {
            if let AppError::Rejected(Rejection::SeriesNotBookable { occurrences }) = &error {
                view.occurrences = occurrences.iter().map(|o| row(lang, o, zone)).collect();
                view.previewed = true;
            }
            view.errors = FormErrors::from_error(lang, &error, &FORM_FIELDS);
            Ok(respond_failed(view, &error))
        }
    }
}
