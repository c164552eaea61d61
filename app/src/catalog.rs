//! The resource catalogue: the resource list, answered from memory, and what a resource write
//! answers with. The catalog read model has every field a client sees; when it cannot reach
//! the write in time (lagging, or stuck on an event it cannot apply), the answer is built from
//! the aggregate's own state instead, so an accepted write is never answered 503.

use reserver_projections::catalog::{self, ResourceQuery, ResourceView};
use reserver_projections::{Page, PageRequest};
use uuid::Uuid;

use crate::error::AppError;
use crate::services::Services;

/// A page of the resource list (filters, text search, sort, cursor) as of at least log
/// position `min`: the same answer as the catalogue read model's `list_resources`, from the
/// catalogue the availability index keeps in memory, so it is always current and
/// read-your-writes waits for the index. Errors: `Validation`/`InvalidCursor` for a bad
/// status or cursor, `NotCaughtUp` when the index does not reach `min` in time.
pub async fn list_resources(
    services: &Services,
    query: &ResourceQuery,
    page: &PageRequest,
    min: Option<u64>,
) -> Result<Page<ResourceView>, AppError> {
    crate::availability::index_caught_up(services, min).await?;
    Ok(services.availability.list_resources(query, page)?)
}

/// The resource `id` (retired ones included; `None` when there is none) as of at least log
/// position `min`, from the catalogue the availability index keeps in memory, like
/// [`list_resources`]: every reader of one resource (API, web pages, schedule) takes this one
/// path. Errors: `NotCaughtUp` when the index does not reach `min` in time.
pub async fn get_resource(services: &Services, id: Uuid, min: Option<u64>) -> Result<Option<ResourceView>, AppError> {
    crate::availability::index_caught_up(services, min).await?;
    Ok(services.availability.with_catalog_resource(id, ResourceView::clone))
}

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
