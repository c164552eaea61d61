//! Daily API usage quotas: the tiers and their limits, the caller's usage today, and every
//! account's usage with an admin's per-account override. The request logic is
//! `reserver_app::quotas`; counting and refusing happen in the rate-limit middleware.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use reserver_app::quotas::{self, OverrideInput, Usage};
use reserver_app::Services;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, NotFound, RateLimited, Unauthenticated};
use crate::error::ApiError;
use crate::extract::{request_info, CurrentUser};
use crate::routes::support::{json_body, written, PageParams};

#[derive(OpenApi)]
#[openapi(paths(config, my_usage, users, user_usage, set_override))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/quotas/config", web::get().to(config))
        .route("/quotas/my-usage", web::get().to(my_usage))
        .route("/quotas/users", web::get().to(users))
        .service(
            web::resource("/quotas/users/{id}").route(web::get().to(user_usage)).route(web::patch().to(set_override)),
        );
}

/// One tier's allowances.
#[derive(Serialize, ToSchema)]
struct TierBody {
    /// `guest`, `user`, `approver`, `auditor`, `admin` (the roles) or `client` (OAuth2 clients).
    #[schema(example = "user")]
    tier: String,
    /// Requests per UTC day; 0: unlimited.
    #[schema(example = 10000)]
    daily_limit: u64,
    /// Requests per minute (the rate limit); 0: unlimited.
    #[schema(example = 600)]
    per_minute_limit: u32,
}

/// The quota tiers and their limits.
#[derive(Serialize, ToSchema)]
struct ConfigBody {
    /// False when daily quotas are off (`API_QUOTA_ENABLED=false`): every daily limit is 0.
    enabled: bool,
    tiers: Vec<TierBody>,
    /// Callers without a token: this many requests per minute by address, no daily quota.
    anonymous_per_minute_limit: u32,
    /// Always `UTC day`: counts start again at 00:00:00Z.
    #[schema(example = "UTC day")]
    window: String,
    /// How often each replica adds its counts to the shared count (the accuracy bound).
    #[schema(example = 1000)]
    flush_interval_ms: u64,
}

/// An account's (or OAuth2 client's) standing today.
#[derive(Serialize, ToSchema)]
struct UsageBody {
    /// The account's or client's id.
    id: Uuid,
    /// Username, or the client's name.
    name: String,
    /// `guest`, `user`, `approver`, `auditor`, `admin` or `client`.
    #[schema(example = "user")]
    tier: String,
    /// The limit in force: the override if set, else the tier's; 0: unlimited.
    #[schema(example = 10000)]
    daily_limit: u64,
    /// Requests counted today (UTC) on every replica, the current one included.
    #[schema(example = 42)]
    used_today: u64,
    /// Requests left today; `null` when unlimited.
    #[schema(example = 9958)]
    remaining: Option<u64>,
    /// The next UTC midnight, when the count starts again.
    resets_at: DateTime<Utc>,
    /// The tier's per-minute rate limit; 0: unlimited.
    #[schema(example = 600)]
    per_minute_limit: u32,
    /// An admin's override of the daily limit (0: unlimited); `null`: the tier's default applies.
    #[serde(rename = "override")]
    override_limit: Option<u64>,
}

fn view(u: &Usage) -> UsageBody {
    UsageBody {
        id: u.id,
        name: u.name.clone(),
        tier: u.tier.as_str().to_string(),
        daily_limit: u.daily_limit,
        used_today: u.used_today,
        remaining: u.remaining,
        resets_at: u.resets_at,
        per_minute_limit: u.per_minute_limit,
        override_limit: u.override_limit,
    }
}

/// A page of accounts with their usage, by username.
#[derive(Serialize, ToSchema)]
struct UsagePageBody {
    data: Vec<UsageBody>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
    has_more: bool,
}

/// What PATCH takes.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
struct OverrideBody {
    /// The account's own daily limit, 0 (unlimited) to 1000000000; `null` goes back to the
    /// tier's default.
    #[schema(example = 50000)]
    daily_limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UsersParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The quota tiers and their daily and per-minute limits. Any signed-in caller may ask.
#[utoipa::path(
    get,
    path = "/api/v1/quotas/config",
    tag = "quotas",
    operation_id = "quota_config",
    summary = "Quota tiers and their limits",
    responses(
        (status = 200, description = "Every tier's limits", body = ConfigBody),
        Unauthenticated, RateLimited
    ),
    security(("bearer" = []))
)]
async fn config(state: web::Data<Services>, _user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let c = quotas::config(&state);
    Ok(HttpResponse::Ok().json(ConfigBody {
        enabled: c.enabled,
        tiers: c
            .tiers
            .iter()
            .map(|t| TierBody {
                tier: t.tier.as_str().to_string(),
                daily_limit: t.daily_limit,
                per_minute_limit: t.per_minute_limit,
            })
            .collect(),
        anonymous_per_minute_limit: c.anonymous_per_minute_limit,
        window: c.window.to_string(),
        flush_interval_ms: c.flush_interval_ms,
    }))
}

/// The caller's usage today, this request included.
#[utoipa::path(
    get,
    path = "/api/v1/quotas/my-usage",
    tag = "quotas",
    operation_id = "my_quota_usage",
    summary = "My API usage today",
    responses(
        (status = 200, description = "The caller's tier, limit and count today", body = UsageBody),
        Unauthenticated, RateLimited
    ),
    security(("bearer" = []))
)]
async fn my_usage(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(view(&quotas::my_usage(&state, &user).await?)))
}

/// Every account with its usage today, by username (admins).
#[utoipa::path(
    get,
    path = "/api/v1/quotas/users",
    tag = "quotas",
    operation_id = "quota_users",
    summary = "Every account's API usage today (admin)",
    params(UsersParams),
    responses(
        (status = 200, description = "One page of accounts with their usage", body = UsagePageBody),
        Unauthenticated, Forbidden, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn users(
    state: web::Data<Services>,
    user: CurrentUser,
    params: web::Query<UsersParams>,
) -> Result<HttpResponse, ApiError> {
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() };
    let result = quotas::users(&state, &user, &page).await?;
    Ok(HttpResponse::Ok().json(UsagePageBody {
        data: result.data.iter().map(view).collect(),
        next_cursor: result.next_cursor,
        has_more: result.has_more,
    }))
}

/// One account's (or OAuth2 client's) usage today (admins).
#[utoipa::path(
    get,
    path = "/api/v1/quotas/users/{id}",
    tag = "quotas",
    operation_id = "quota_user",
    summary = "One account's API usage today (admin)",
    params(("id" = Uuid, Path, description = "The account or OAuth2 client")),
    responses(
        (status = 200, description = "The account's tier, limit and count today", body = UsageBody),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn user_usage(
    state: web::Data<Services>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(view(&quotas::user_usage(&state, &user, id.into_inner()).await?)))
}

/// Sets an account's own daily limit, or (`null`) puts it back on its tier's default (admins).
///
/// Recorded in the log (`api_quota_override_set` / `api_quota_override_cleared`), so it is in
/// the audit trail; every replica applies it within moments. Anything but a whole number from
/// 0 to 1000000000 or `null` is 422.
#[utoipa::path(
    patch,
    path = "/api/v1/quotas/users/{id}",
    tag = "quotas",
    operation_id = "set_quota_override",
    summary = "Override an account's daily API quota (admin)",
    params(("id" = Uuid, Path, description = "The account or OAuth2 client")),
    request_body = OverrideBody,
    responses(
        (status = 200, description = "The account's usage with the new limit", body = UsageBody),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_override(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let input: OverrideInput = json_body(&body)?;
    let daily_limit = input.decided()?;
    let done = quotas::set_override(&state, &request_info(&req), &user, id.into_inner(), daily_limit).await?;
    Ok(written(StatusCode::OK, done.position, view(&done.usage)))
}
