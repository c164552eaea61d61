//! What a resource write answers with. The catalog read model has every field a client sees; when
//! it cannot reach the write in time (lagging, or stuck on an event it cannot apply), the answer
//! is built from the aggregate's own state instead, so an accepted write is never answered 503.

use reserver_projections::catalog::{self, ResourceView};
use uuid::Uuid;

use crate::error::AppError;
use crate::services::Services;

/// The resource `id` as of log position `position` (the write just made).
/// Errors: `NotFound` when there is no such resource.
pub async fn resource_after_write(services: &Services, id: Uuid, position: u64) -> Result<ResourceView, AppError> {
    match services.caught_up(Some(position)).await {
        Ok(()) => catalog::get_resource(&services.db(), id).await?.ok_or_else(|| AppError::not_found("resource")),
        Err(AppError::NotCaughtUp { .. }) => {
            tracing::warn!(%id, position, "the catalog is behind this write; answering from the aggregate");
            from_aggregate(services, id).await
        }
        Err(other) => Err(other),
    }
}

async fn from_aggregate(services: &Services, id: Uuid) -> Result<ResourceView, AppError> {
    let (_, state) = services.resources.load(id).await?;
    let resource = state.resource.ok_or_else(|| AppError::not_found("resource"))?;
    // The aggregate keeps no timestamps: the write happened now.
    let now = services.clock.now();
    Ok(ResourceView {
        resource_id: id,
        name: resource.details.name,
        kind: resource.details.kind,
        tags: resource.details.tags,
        description: resource.details.description,
        location: resource.details.location,
        group_id: resource.details.group_id,
        capacity: resource.capacity,
        time_zone: resource.time_zone,
        status: resource.status,
        retired: resource.retired,
        retired_reason: None,
        policy: resource.policy,
        business_hours: resource.business_hours,
        created_at: now,
        updated_at: now,
    })
}
