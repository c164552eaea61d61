//! Preferences: email address and notifications, reminder lead time, language, theme, how
//! times are shown and the reader's own zone. Checked by the same rules as the API
//! (`reserver_app::preferences`); every wrong value is named next to its field.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use reserver_app::{preferences, AppError, Services};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::errors::FormErrors;
use crate::page::{pages, respond, respond_failed, Ctx, PageError};
use crate::session::WebKeys;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/preferences", web::get().to(form)).route("/preferences", web::post().to(save));
}

type Page = Result<HttpResponse, PageError>;

/// The values of the form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct PreferencesForm {
    csrf: String,
    email: String,
    email_notifications: String,
    reminder_minutes: String,
    language: String,
    theme: String,
    time_zone_display: String,
    time_zone: String,
}

#[derive(Template)]
#[template(path = "preferences.html")]
struct PreferencesPage {
    ctx: Ctx,
    errors: FormErrors,
    values: PreferencesForm,
    saved: bool,
}

pages!(PreferencesPage);

impl PreferencesPage {
    fn notifications_on(&self) -> bool {
        matches!(self.values.email_notifications.as_str(), "on" | "true")
    }

    /// IANA zone names for the zone field's suggestions.
    fn zones(&self) -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).filter(|n| n.contains('/') && !n.starts_with("Etc/"))
    }
}

const FIELDS: [&str; 7] =
    ["email", "email_notifications", "reminder_minutes", "language", "theme", "time_zone_display", "time_zone"];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SavedQuery {
    saved: String,
}

async fn form(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    query: web::Query<SavedQuery>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    let values = {
        let reader = ctx.reader.as_ref().ok_or_else(|| PageError::of(&ctx, AppError::Unauthorized("".into())))?;
        PreferencesForm {
            csrf: String::new(),
            email: reader.email.clone(),
            email_notifications: if reader.email_notifications { "on".into() } else { String::new() },
            reminder_minutes: reader.reminder_minutes.to_string(),
            language: ctx.lang.code().to_string(),
            theme: ctx.theme.clone(),
            time_zone_display: reader.time_zone_display.clone(),
            time_zone: reader.time_zone.map(|z| z.name().to_string()).unwrap_or_default(),
        }
    };
    let page = PreferencesPage { ctx, errors: FormErrors::default(), values, saved: query.saved == "1" };
    Ok(respond(page, StatusCode::OK))
}

/// The sentence for a wrong value of `field`, in the reader's language.
fn sentence(ctx: &Ctx, field: &str, error: &AppError) -> String {
    match field {
        "email" => ctx.t("preferences-error-email"),
        "reminder_minutes" => ctx.t("preferences-error-reminder"),
        "time_zone" => ctx.t("preferences-error-zone"),
        _ => FormErrors::from_error(ctx.lang, error, &FIELDS)
            .fields
            .into_iter()
            .next()
            .map(|(_, s)| s)
            .unwrap_or_else(|| ctx.t("error-invalid-input")),
    }
}

/// The patch the form asks for, or every wrong value by field.
fn patch_of(ctx: &Ctx, form: &PreferencesForm) -> Result<Map<String, Value>, FormErrors> {
    let text = |v: &str| -> Value {
        let v = v.trim();
        if v.is_empty() {
            Value::Null
        } else {
            Value::String(v.to_string())
        }
    };
    let mut errors = FormErrors::default();
    let mut patch = Map::new();
    patch.insert("email".into(), text(&form.email));
    patch.insert("email_notifications".into(), Value::Bool(matches!(form.email_notifications.as_str(), "on" | "true")));
    match form.reminder_minutes.trim().parse::<i64>() {
        Ok(minutes) => {
            patch.insert("reminder_minutes".into(), minutes.into());
        }
        Err(_) => {
            let error = AppError::validation("reminder_minutes", "whole minutes");
            errors.fields.push(("reminder_minutes".into(), sentence(ctx, "reminder_minutes", &error)));
        }
    }
    patch.insert("language".into(), Value::String(form.language.clone()));
    patch.insert("theme".into(), Value::String(form.theme.clone()));
    patch.insert("time_zone_display".into(), Value::String(form.time_zone_display.clone()));
    patch.insert("time_zone".into(), text(&form.time_zone));
    // Each value on its own, so that every wrong one is named at once.
    for (key, value) in &patch {
        let single: Map<String, Value> = [(key.clone(), value.clone())].into_iter().collect();
        if let Err(error) = preferences::check_preferences(&single) {
            errors.fields.push((key.clone(), sentence(ctx, key, &error)));
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors)
    }
}

async fn save(
    req: HttpRequest,
    services: web::Data<Services>,
    keys: web::Data<WebKeys>,
    form: web::Form<PreferencesForm>,
) -> Page {
    let ctx = Ctx::signed_in(&req, &services, &keys).await?;
    ctx.check_csrf(&req, &keys, Some(&form.csrf))?;
    let values = form.into_inner();
    let error = match patch_of(&ctx, &values) {
        Ok(patch) => match preferences::merge(&services, ctx.caller().user_id, patch).await {
            // The next page is rendered with the new language and theme.
            Ok(_) => return Ok(ctx.redirect(&req, "/preferences?saved=1")),
            Err(error) => {
                let errors = FormErrors::from_error(ctx.lang, &error, &FIELDS);
                return Ok(respond_failed(PreferencesPage { ctx, errors, values, saved: false }, &error));
            }
        },
        Err(errors) => errors,
    };
    let page = PreferencesPage { ctx, errors: error, values, saved: false };
    Ok(respond(page, StatusCode::UNPROCESSABLE_ENTITY))
}
