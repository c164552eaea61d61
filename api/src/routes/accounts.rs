//! The caller's account and preferences, and account administration (admins). A role change
//! is an event in the account's stream; preferences are a stream of their own.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_domain::user::UserCommand;
use reserver_domain::Role;
use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::{read_models, schemas};
use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::written;
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(me, set_preferences, list_users, grant_role))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/me", web::get().to(me))
        .route("/users/me/preferences", web::patch().to(set_preferences))
        .route("/users", web::get().to(list_users))
        .route("/users/{id}/role", web::put().to(grant_role));
}

/// Every account (admins).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "auth",
    operation_id = "list_users",
    summary = "All accounts (admin)",
    params(MinPosition),
    responses(
        (status = 200, description = "Every account", body = Vec<read_models::User>),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list_users(state: web::Data<Services>, user: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(reserver_projections::users::list_users(&state.db(), None).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleInput {
    #[schema(value_type = schemas::Role)]
    role: Role,
}

/// An account's role.
#[derive(Serialize, ToSchema)]
struct RoleGranted {
    id: Uuid,
    #[schema(value_type = schemas::Role)]
    role: Role,
}

/// Changes an account's role (admins).
///
/// Takes effect at the account's next login or refresh.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/role",
    tag = "auth",
    operation_id = "grant_role",
    summary = "Change an account's role (admin)",
    params(("id" = Uuid, Path, description = "The account")),
    request_body = RoleInput,
    responses(
        (status = 200, description = "The new role", body = RoleGranted),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn grant_role(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: RoleInput = crate::routes::support::json_body(&body)?;
    let id = id.into_inner();
    let decided = state
        .users
        .execute(id, user.actor(), UserCommand::GrantRole { role: input.role }, command_meta(&req, Some(&user), &body)?)
        .await?;
    // This replica refuses the old role's tokens at once; the others when their tail sees it.
    state.revocations.role_changed(id, input.role);
    Ok(written(StatusCode::OK, decided.position, RoleGranted { id, role: input.role }))
}

fn preferences_stream(user_id: Uuid) -> String {
    format!("preferences-{user_id}")
}

/// Settings the service acts on; other keys are kept as given.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
struct Preferences {
    /// Where notifications are mailed; `null` removes it.
    email: Option<String>,
    email_notifications: Option<bool>,
    /// Minutes before a booking to send a reminder, 0 (off) to 10080.
    reminder_minutes: Option<u32>,
    /// `en`, `es` or `fr`.
    language: Option<String>,
    /// `light`, `dark` or `system`.
    theme: Option<String>,
    /// IANA time zone to show times in.
    time_zone: Option<String>,
    /// Show times in the `resource`'s zone or the viewer's `local` one.
    time_zone_display: Option<String>,
}

/// The caller's account.
#[derive(Serialize, ToSchema)]
struct Me {
    id: Uuid,
    username: String,
    #[schema(value_type = schemas::Role)]
    role: Role,
    locked_until: Option<chrono::DateTime<Utc>>,
    #[schema(value_type = Preferences)]
    preferences: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
struct PreferencesBody {
    #[schema(value_type = Preferences)]
    preferences: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "auth",
    operation_id = "me",
    summary = "The caller's account and preferences",
    responses((status = 200, description = "The account", body = Me), Unauthenticated, NotFound, RateLimited),
    security(("bearer" = []))
)]
async fn me(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let (_, s) = state.users.load(user.user_id).await?;
    let account = s.user.ok_or_else(|| AppError::NotFound("user".into()))?;
    let stream = preferences_stream(user.user_id);
    let version = state.store.stream_version(&stream).await?;
    let preferences = match version {
        0 => json!({}),
        v => state
            .store
            .read_stream(&stream, v, 1)
            .await?
            .first()
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or(json!({})),
    };
    Ok(HttpResponse::Ok().json(Me {
        id: account.id,
        username: account.username,
        role: account.role,
        locked_until: account.locked_until,
        preferences,
    }))
}

/// Preferences are a typed, bounded set: every key is one the service knows, with a value of its
/// type. Unknown keys and wrong types are refused naming the key (`null` clears a key).
fn check_preferences(patch: &serde_json::Map<String, serde_json::Value>) -> Result<(), AppError> {
    use serde_json::Value;
    let one_of = |key: &str, allowed: &[&str]| -> Result<(), AppError> {
        match patch.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(v)) if allowed.contains(&v.as_str()) => Ok(()),
            Some(_) => Err(AppError::validation(key, format!("expected one of {}", allowed.join(", ")))),
        }
    };
    for key in patch.keys() {
        if !PREFERENCE_KEYS.contains(&key.as_str()) {
            return Err(AppError::validation(
                key,
                format!("not a preference; the preferences are {}", PREFERENCE_KEYS.join(", ")),
            ));
        }
    }
    one_of("language", &["en", "es", "fr"])?;
    one_of("theme", &["light", "dark", "system"])?;
    one_of("time_zone_display", &["resource", "local"])?;
    if let Some(zone) = patch.get("time_zone") {
        let valid =
            zone.is_null() || zone.as_str().is_some_and(|z| z.len() <= 64 && z.parse::<chrono_tz::Tz>().is_ok());
        if !valid {
            return Err(AppError::validation("time_zone", "expected an IANA time zone such as Europe/Paris, or null"));
        }
    }
    if let Some(email) = patch.get("email") {
        let valid = match email {
            Value::Null => true,
            Value::String(e) => {
                let e = e.trim();
                e.len() <= 254 && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            }
            _ => false,
        };
        if !valid {
            return Err(AppError::validation("email", "expected an email address like name@example.org, or null"));
        }
    }
    if let Some(flag) = patch.get("email_notifications") {
        if !flag.is_boolean() {
            return Err(AppError::validation("email_notifications", "expected true or false"));
        }
    }
    if let Some(minutes) = patch.get("reminder_minutes") {
        if !minutes.as_i64().is_some_and(|m| (0..=7 * 24 * 60).contains(&m)) {
            return Err(AppError::validation("reminder_minutes", "expected whole minutes from 0 (off) to 10080"));
        }
    }
    Ok(())
}

/// The preferences an account may set.
const PREFERENCE_KEYS: [&str; 7] =
    ["email", "email_notifications", "reminder_minutes", "language", "theme", "time_zone", "time_zone_display"];

/// Merges the given preferences.
///
/// Keys: `email`, `email_notifications` (bool), `reminder_minutes` (0–10080), `language` (`en`,
/// `es`, `fr`), `theme` (`light`, `dark`, `system`), `time_zone` (IANA), `time_zone_display`
/// (`resource`, `local`); any other key or a wrong type is `422` naming it.
#[utoipa::path(
    patch,
    path = "/api/v1/users/me/preferences",
    tag = "auth",
    operation_id = "set_preferences",
    summary = "Merge preferences",
    request_body = Preferences,
    responses(
        (status = 200, description = "All preferences after the merge", body = PreferencesBody),
        Unauthenticated, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_preferences(
    state: web::Data<Services>,
    user: CurrentUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let serde_json::Value::Object(patch) = patch else {
        return Err(AppError::validation("body", "preferences must be a JSON object").into());
    };
    check_preferences(&patch)?;
    let stream = preferences_stream(user.user_id);
    let version = state.store.stream_version(&stream).await?;
    let mut current = match version {
        0 => serde_json::Map::new(),
        v => state
            .store
            .read_stream(&stream, v, 1)
            .await?
            .first()
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or_default(),
    };
    current.extend(patch);
    let event =
        NewEvent::new(Uuid::new_v4(), "preferences_set", serde_json::Value::Object(current.clone()).to_string());
    let outcome = state
        .store
        .append(AppendRequest::single(&stream, ExpectedVersion::Exact(version), vec![event]))
        .await
        .map_err(|e| match e {
            reserver_store::AppendError::WrongExpectedVersion { .. } => {
                AppError::Conflict { slug: "concurrent-update", detail: "preferences changed meanwhile; retry".into() }
            }
            other => AppError::Storage(other.to_string()),
        })?;
    Ok(written(StatusCode::OK, outcome.last_position(), PreferencesBody { preferences: current }))
}
