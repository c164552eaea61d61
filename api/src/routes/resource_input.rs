//! A new resource: its input, the checks shared with updates, and creating one (for
//! `POST /resources` and the CSV upload alike).

use actix_web::HttpRequest;
use chrono_tz::Tz;
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::{BookingPolicy, ResourceCommand, Role};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api_doc::schemas;
use crate::extract::{command_meta_part, CurrentUser};
use crate::views::{self, ResourceBody};
use reserver_app::AppError;
use reserver_app::Services;

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// A new resource.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// 1 to 200 characters.
    #[schema(example = "Lab 3")]
    pub name: String,
    /// At most 50 tags of 1 to 64 characters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `false` creates it in maintenance.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub available: bool,
    /// Default `other`.
    #[schema(value_type = Option<schemas::ResourceKind>)]
    pub kind: Option<ResourceKind>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    pub group_id: Option<Uuid>,
    /// How many bookings may overlap, 1 to 10000.
    #[serde(default = "one")]
    #[schema(default = 1, minimum = 1, maximum = 10000)]
    pub capacity: u32,
    /// IANA time zone (default `UTC`).
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    #[schema(value_type = Option<schemas::BookingPolicy>)]
    pub policy: Option<BookingPolicy>,
    #[schema(value_type = Option<schemas::BusinessHours>)]
    pub business_hours: Option<reserver_domain::schedule_rules::BusinessHours>,
}

pub fn parse_zone(name: Option<&str>) -> Result<Tz, AppError> {
    name.unwrap_or("UTC")
        .parse::<Tz>()
        .map_err(|_| AppError::validation("time_zone", "must be an IANA time zone such as Europe/Berlin"))
}

pub fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

pub fn validate_tags(tags: &[String]) -> Result<Vec<String>, AppError> {
    if tags.len() > 50 || tags.iter().any(|t| t.trim().is_empty() || t.len() > 64) {
        return Err(AppError::validation("tags", "at most 50 tags of 1 to 64 characters"));
    }
    Ok(tags.iter().map(|t| t.trim().to_string()).collect())
}

pub fn validate_capacity(capacity: u32) -> Result<u32, AppError> {
    if !(1..=10_000).contains(&capacity) {
        return Err(AppError::validation("capacity", "must be between 1 and 10000"));
    }
    Ok(capacity)
}

pub fn validate_policy(policy: Option<BookingPolicy>) -> Result<BookingPolicy, AppError> {
    let policy = policy.unwrap_or_default();
    policy.validate().map_err(|m| AppError::validation("policy", m))?;
    Ok(policy)
}

/// The create command for a validated input.
pub fn create_command(resource_id: Uuid, input: ResourceInput) -> Result<ResourceCommand, AppError> {
    Ok(ResourceCommand::CreateResource {
        resource_id,
        details: ResourceDetails {
            name: validate_name(&input.name)?,
            kind: input.kind.unwrap_or(ResourceKind::Other),
            tags: validate_tags(&input.tags)?,
            description: input.description,
            location: input.location,
            group_id: input.group_id,
        },
        capacity: validate_capacity(input.capacity)?,
        time_zone: parse_zone(input.time_zone.as_deref())?,
        policy: validate_policy(input.policy)?,
        business_hours: input.business_hours,
    })
}

/// Creates a resource (and puts it in maintenance if `available` is false); returns its view.
pub async fn create_resource(
    state: &Services,
    req: &HttpRequest,
    user: &CurrentUser,
    input: ResourceInput,
    body: &[u8],
    part: &str,
) -> Result<(u64, ResourceBody), AppError> {
    user.require(&[Role::Admin])?;
    let id = Uuid::new_v4();
    let available = input.available;
    let command = create_command(id, input)?;
    let meta = command_meta_part(req, Some(user), body, part)?;
    let mut decided = state.resources.execute(id, user.actor(), command, meta).await?;
    // A replayed create names the resource it made then, not `id`.
    let created = decided
        .events
        .iter()
        .find_map(|e| match e {
            reserver_domain::ResourceEvent::ResourceCreated { resource_id, .. } => Some(*resource_id),
            _ => None,
        })
        .unwrap_or(id);
    if !available {
        // Its own idempotency record: a retry after the create alone still sets the status,
        // and a replayed one changes nothing.
        let status = ResourceCommand::SetStatus { status: ResourceStatus::Maintenance };
        let meta = command_meta_part(req, Some(user), body, &format!("{part}/maintenance"))?;
        decided = state.resources.execute(created, user.actor(), status, meta).await?;
    }
    let view = reserver_app::catalog::resource_after_write(state, created, decided.position).await?;
    Ok((decided.position, views::resource(&view)))
}
