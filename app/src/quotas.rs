//! API usage quotas, as the API and the CLI see them: the tiers and their daily limits, a
//! caller's usage today, every account's usage (admins), and an admin's per-account override.
//!
//! Counting and refusing is [`crate::quota_meter`]'s; this module answers questions about it
//! and records overrides. An override is an event in the account's (or OAuth2 client's) own
//! `api-quota-{id}` stream — `api_quota_override_set {daily_limit}` or
//! `api_quota_override_cleared` (back to the tier's default) — so it is in the audit trail like
//! every other admin action, and every replica learns it from the log.

use chrono::{DateTime, Utc};
use reserver_domain::Role;
use reserver_store::{AppendError, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::input::PageParams;
use crate::quota_meter::{next_reset, QuotaTier, OVERRIDE_CLEARED, OVERRIDE_SET, STREAM_PREFIX};
use crate::services::Services;

/// Largest daily limit an override may set (0 is unlimited).
pub const MAX_DAILY_LIMIT: u64 = 1_000_000_000;

/// The cursor list of [`users`].
const USERS_LIST: &str = "quotas/users";

/// One tier's allowances.
#[derive(Debug, Clone, Serialize)]
pub struct TierLimits {
    pub tier: QuotaTier,
    /// Requests per UTC day; 0: unlimited.
    pub daily_limit: u64,
    /// Requests per minute (the rate limit); 0: unlimited.
    pub per_minute_limit: u32,
}

/// What `GET /quotas/config` answers.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaConfig {
    /// Whether daily quotas are counted at all (`API_QUOTA_ENABLED`).
    pub enabled: bool,
    /// Every tier: the five roles, and `client` for OAuth2 clients.
    pub tiers: Vec<TierLimits>,
    /// Callers without a token: per-minute limit by address only, no daily quota.
    pub anonymous_per_minute_limit: u32,
    /// Days are UTC days: counts start again at `00:00:00Z`.
    pub window: &'static str,
    /// How often each replica adds its counts to the shared count, in milliseconds.
    pub flush_interval_ms: u64,
}

/// A caller's (or an account's) standing today.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// The account's or OAuth2 client's id.
    pub id: Uuid,
    /// Username, or the client's name.
    pub name: String,
    pub tier: QuotaTier,
    /// The limit in force: the override if set, else the tier's; 0: unlimited.
    pub daily_limit: u64,
    /// Requests counted today (UTC), every replica's.
    pub used_today: u64,
    /// Requests left today; `null` when unlimited.
    pub remaining: Option<u64>,
    /// Next UTC midnight.
    pub resets_at: DateTime<Utc>,
    /// The per-minute rate limit of the caller's tier (0: unlimited).
    pub per_minute_limit: u32,
    /// The admin's override when there is one (`null`: the tier's default applies).
    #[serde(rename = "override")]
    pub override_limit: Option<u64>,
}

/// A page of accounts with their usage.
#[derive(Debug, Clone, Serialize)]
pub struct UsagePage {
    pub data: Vec<Usage>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// What an override stream holds. Stored with its `type` tag, which is also the event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuotaEvent {
    /// The account's daily limit is `daily_limit` (0: unlimited) until changed or cleared.
    ApiQuotaOverrideSet { subject_id: Uuid, daily_limit: u64, by: Uuid, at: DateTime<Utc> },
    /// Back to the tier's default.
    ApiQuotaOverrideCleared { subject_id: Uuid, by: Uuid, at: DateTime<Utc> },
}

impl QuotaEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            QuotaEvent::ApiQuotaOverrideSet { .. } => OVERRIDE_SET,
            QuotaEvent::ApiQuotaOverrideCleared { .. } => OVERRIDE_CLEARED,
        }
    }
}

pub fn stream_id(subject: Uuid) -> String {
    format!("{STREAM_PREFIX}{subject}")
}

/// The per-minute limit of a quota tier.
fn per_minute(services: &Services, tier: QuotaTier) -> u32 {
    use reserver_auth::Tier;
    services.rate_limits.per_minute(match tier {
        QuotaTier::Admin => Tier::Admin,
        _ => Tier::Authenticated,
    })
}

/// The tiers and their limits. Any authenticated caller may ask.
pub fn config(services: &Services) -> QuotaConfig {
    let daily = services.quotas.config();
    QuotaConfig {
        enabled: daily.enabled,
        tiers: QuotaTier::ALL
            .into_iter()
            .map(|tier| TierLimits {
                tier,
                daily_limit: if daily.enabled { daily.limit(tier) } else { 0 },
                per_minute_limit: per_minute(services, tier),
            })
            .collect(),
        anonymous_per_minute_limit: services.rate_limits.per_minute(reserver_auth::Tier::Anonymous),
        window: "UTC day",
        flush_interval_ms: daily.flush_interval.as_millis() as u64,
    }
}

fn usage_of(services: &Services, id: Uuid, name: String, tier: QuotaTier, used_today: u64) -> Usage {
    let meter = &services.quotas;
    let enabled = meter.config().enabled;
    let daily_limit = if enabled { meter.limit_of(id, tier) } else { 0 };
    let (resets_at, _) = next_reset(meter.now());
    Usage {
        id,
        name,
        tier,
        daily_limit,
        used_today,
        remaining: (daily_limit > 0).then(|| daily_limit.saturating_sub(used_today)),
        resets_at,
        per_minute_limit: per_minute(services, tier),
        override_limit: meter.override_of(id),
    }
}

async fn used(services: &Services, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, u64>, AppError> {
    Ok(services.quotas.used_today(ids).await?)
}

/// The caller's own standing today (this request included).
pub async fn my_usage(services: &Services, caller: &Caller) -> Result<Usage, AppError> {
    let tier = QuotaTier::of(caller.role, caller.is_client());
    let name = match &caller.client {
        Some(_) => crate::oauth::load(services, caller.user_id).await?.map(|c| c.name).unwrap_or_default(),
        None => crate::accounts::username(services, caller.user_id).await.unwrap_or_default(),
    };
    let counted = used(services, &[caller.user_id]).await?;
    Ok(usage_of(services, caller.user_id, name, tier, counted.get(&caller.user_id).copied().unwrap_or(0)))
}

/// The account or OAuth2 client `id`, its name and tier, from the log. `NotFound` otherwise.
async fn subject(services: &Services, id: Uuid) -> Result<(String, QuotaTier), AppError> {
    if let Some(user) = services.users.load(id).await?.1.user {
        return Ok((user.username, QuotaTier::of(user.role, false)));
    }
    match crate::oauth::load(services, id).await? {
        Some(client) => Ok((client.name, QuotaTier::Client)),
        None => Err(AppError::not_found("account")),
    }
}

/// One account's (or OAuth2 client's) standing today (admins).
pub async fn user_usage(services: &Services, caller: &Caller, id: Uuid) -> Result<Usage, AppError> {
    caller.require(&[Role::Admin])?;
    let (name, tier) = subject(services, id).await?;
    let counted = used(services, &[id]).await?;
    Ok(usage_of(services, id, name, tier, counted.get(&id).copied().unwrap_or(0)))
}

/// Every account with its usage today, by username, a page at a time (admins).
/// Errors: `Validation` for a bad `limit`, `InvalidCursor` for a cursor this list did not give.
pub async fn users(services: &Services, caller: &Caller, page: &PageParams) -> Result<UsagePage, AppError> {
    caller.require(&[Role::Admin])?;
    let request = page.request()?;
    let size = request.limit.unwrap_or(reserver_projections::page::DEFAULT_PAGE_SIZE) as usize;
    let after: Option<Uuid> = match request.cursor.as_deref() {
        Some(cursor) => {
            Some(reserver_projections::page::open_cursor(USERS_LIST, cursor).map_err(|_| AppError::InvalidCursor)?)
        }
        None => None,
    };
    let all = reserver_projections::users::list_users(&services.db(), None).await?;
    let start = match after {
        Some(id) => all.iter().position(|u| u.user_id == id).map(|i| i + 1).ok_or(AppError::InvalidCursor)?,
        None => 0,
    };
    let rows: Vec<_> = all.iter().skip(start).take(size).collect();
    let has_more = all.len() > start + rows.len();
    let ids: Vec<Uuid> = rows.iter().map(|u| u.user_id).collect();
    let counted = used(services, &ids).await?;
    let data: Vec<Usage> = rows
        .iter()
        .map(|u| {
            let count = counted.get(&u.user_id).copied().unwrap_or(0);
            usage_of(services, u.user_id, u.username.clone(), QuotaTier::of(u.role, false), count)
        })
        .collect();
    let next_cursor = match (has_more, data.last()) {
        (true, Some(last)) => Some(reserver_projections::page::seal_cursor(USERS_LIST, &last.id)),
        _ => None,
    };
    Ok(UsagePage { data, next_cursor, has_more })
}

/// What `PATCH /quotas/users/{id}` takes: `{"daily_limit": N}` sets the account's own daily
/// limit (0: unlimited), `{"daily_limit": null}` goes back to the tier's default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    #[serde(default, deserialize_with = "crate::input::nullable")]
    pub daily_limit: Option<Option<serde_json::Value>>,
}

impl OverrideInput {
    /// `Some(limit)` to set, `None` to clear. Errors: `Validation` naming `daily_limit`.
    pub fn decided(&self) -> Result<Option<u64>, AppError> {
        let message =
            format!("must be a whole number from 0 (unlimited) to {MAX_DAILY_LIMIT}, or null for the tier's default");
        match &self.daily_limit {
            None => Err(AppError::validation("daily_limit", format!("is required: {message}"))),
            Some(None) => Ok(None),
            Some(Some(value)) => match value.as_u64() {
                Some(n) if n <= MAX_DAILY_LIMIT => Ok(Some(n)),
                _ => Err(AppError::validation("daily_limit", message)),
            },
        }
    }
}

/// An override written, and where it is in the log (0: nothing changed).
#[derive(Debug, Clone)]
pub struct Overridden {
    pub usage: Usage,
    pub position: u64,
}

/// Sets (`Some`) or clears (`None`) the daily limit of account `id` (admins). Setting the
/// limit in force, or clearing where there is no override, writes nothing.
pub async fn set_override(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
    daily_limit: Option<u64>,
) -> Result<Overridden, AppError> {
    caller.require(&[Role::Admin])?;
    let (name, tier) = subject(services, id).await?;
    let current = services.quotas.override_of(id);
    let mut position = 0;
    if current != daily_limit {
        let at = services.clock.now();
        let event = match daily_limit {
            Some(daily_limit) => {
                QuotaEvent::ApiQuotaOverrideSet { subject_id: id, daily_limit, by: caller.user_id, at }
            }
            None => QuotaEvent::ApiQuotaOverrideCleared { subject_id: id, by: caller.user_id, at },
        };
        position = append(services, info, caller, id, &event).await?;
        services.quotas.set_override(id, daily_limit);
    }
    let counted = used(services, &[id]).await?;
    let usage = usage_of(services, id, name, tier, counted.get(&id).copied().unwrap_or(0));
    Ok(Overridden { usage, position })
}

async fn append(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
    event: &QuotaEvent,
) -> Result<u64, AppError> {
    let meta = command_meta(&RequestInfo { idempotency_key: None, ..info.clone() }, Some(caller), &[])?;
    let metadata = EventMetadata {
        actor: Some(caller.user_id.to_string()),
        command_id: Some(meta.command_id),
        correlation_id: meta.correlation_id,
        causation_id: None,
        client_ip: meta.client_ip,
    };
    let payload = serde_json::to_string(event).map_err(|e| AppError::Internal(e.to_string()))?;
    let new = NewEvent::new(Uuid::new_v4(), event.event_type(), payload).with_metadata(metadata);
    match services.store.append(AppendRequest::single(stream_id(id), ExpectedVersion::Any, vec![new])).await {
        Ok(outcome) => Ok(outcome.last_position()),
        Err(AppendError::WrongExpectedVersion { current, .. }) => Err(AppError::PreconditionFailed { current }),
        Err(other) => Err(AppError::Storage(other.to_string())),
    }
}
