//! The resource catalog: every resource with its descriptive fields, settings and status, the
//! tags as their own rows for filtering, and the resource-group tree.

mod memory;
mod query;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reserver_domain::group::GroupEvent;
use reserver_domain::resource::{ResourceKind, ResourceStatus};
use reserver_domain::schedule_rules::BusinessHours;
use reserver_domain::{BookingPolicy, ResourceEvent};
use reserver_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use memory::MemoryCatalog;
pub use query::{
    get_group, get_resource, group_tree, list_resources, would_create_cycle, GroupNode, ResourceQuery, ResourceSort,
};

use crate::decode::{decode, stream_kind, DomainEvent, StreamKind};
use crate::error::ProjectionError;
use crate::runtime::Projector;
use crate::sql::{DbTx, Value};

/// A resource as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub resource_id: Uuid,
    pub name: String,
    pub kind: ResourceKind,
    pub tags: Vec<String>,
    pub description: String,
    pub location: String,
    pub group_id: Option<Uuid>,
    pub capacity: u32,
    pub time_zone: Tz,
    pub status: ResourceStatus,
    pub retired: bool,
    pub retired_reason: Option<String>,
    pub policy: BookingPolicy,
    pub business_hours: Option<BusinessHours>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ResourceView {
    /// `available`, `maintenance` or `retired`: what the status filter and sort use.
    pub fn status_label(&self) -> &'static str {
        match (self.retired, self.status) {
            (true, _) => "retired",
            (false, ResourceStatus::Available) => "available",
            (false, ResourceStatus::Maintenance) => "maintenance",
        }
    }
}

/// A node of the group tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub group_id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Stable snake_case name of a kind, as stored and filtered on.
pub fn kind_label(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Room => "room",
        ResourceKind::Desk => "desk",
        ResourceKind::Equipment => "equipment",
        ResourceKind::Lab => "lab",
        ResourceKind::Other => "other",
    }
}

/// Case-folded text compared by search: the same folding in Rust on both backends, because
/// SQLite's LOWER only folds ASCII.
pub(crate) fn fold_text(text: &str) -> String {
    text.to_lowercase()
}

/// The projector's name (its checkpoint): what a query of these tables passes to
/// `ProjectionHandle::wait_for_projectors`, so it waits for this read model only.
pub const PROJECTOR: &str = "catalog";

/// Builds `rm_resources`, `rm_resource_tags` and `rm_groups`.
pub struct CatalogProjector;

/// The resource events the catalog shows; bookings and waitlists are not its business.
const CATALOG_EVENT_TYPES: [&str; 5] =
    ["resource_created", "resource_updated", "resource_retired", "business_hours_set", "resource_status_changed"];

pub(crate) fn is_catalog_event(event: &ResourceEvent) -> bool {
    CATALOG_EVENT_TYPES.contains(&event.event_type())
}

fn apply_resource(view: &mut Option<ResourceView>, resource_id: Uuid, event: &ResourceEvent) {
    if let ResourceEvent::ResourceCreated { details, capacity, time_zone, policy, business_hours, at, .. } = event {
        *view = Some(ResourceView {
            resource_id,
            name: details.name.clone(),
            kind: details.kind,
            tags: details.tags.clone(),
            description: details.description.clone(),
            location: details.location.clone(),
            group_id: details.group_id,
            capacity: *capacity,
            time_zone: *time_zone,
            status: ResourceStatus::Available,
            retired: false,
            retired_reason: None,
            policy: policy.clone(),
            business_hours: business_hours.clone(),
            created_at: *at,
            updated_at: *at,
        });
        return;
    }
    let Some(view) = view.as_mut() else { return };
    view.updated_at = event.at();
    match event {
        ResourceEvent::ResourceUpdated { details, capacity, time_zone, policy, .. } => {
            view.name = details.name.clone();
            view.kind = details.kind;
            view.tags = details.tags.clone();
            view.description = details.description.clone();
            view.location = details.location.clone();
            view.group_id = details.group_id;
            view.capacity = *capacity;
            view.time_zone = *time_zone;
            view.policy = policy.clone();
        }
        ResourceEvent::ResourceRetired { reason, .. } => {
            view.retired = true;
            view.retired_reason = Some(reason.clone());
        }
        ResourceEvent::BusinessHoursSet { hours, .. } => view.business_hours = hours.clone(),
        ResourceEvent::ResourceStatusChanged { status, .. } => view.status = *status,
        _ => {}
    }
}

fn apply_group(view: &mut Option<GroupView>, event: &GroupEvent) {
    match event {
        GroupEvent::GroupCreated { group_id, name, parent_id, description, at, .. } => {
            *view = Some(GroupView {
                group_id: *group_id,
                name: name.clone(),
                parent_id: *parent_id,
                description: description.clone(),
                created_at: *at,
                updated_at: *at,
            });
        }
        GroupEvent::GroupRenamed { name, at, .. } => {
            if let Some(view) = view.as_mut() {
                view.name = name.clone();
                view.updated_at = *at;
            }
        }
        GroupEvent::GroupMoved { parent_id, at, .. } => {
            if let Some(view) = view.as_mut() {
                view.parent_id = *parent_id;
                view.updated_at = *at;
            }
        }
        GroupEvent::GroupDeleted { .. } => *view = None,
        GroupEvent::GroupApproversSet { .. } => {}
    }
}

#[allow(clippy::large_enum_variant)] // short-lived, one per event of a batch
enum CatalogChange {
    Resource(Uuid, ResourceEvent),
    Group(Uuid, GroupEvent),
}

#[async_trait]
impl Projector for CatalogProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_resources", "rm_resource_tags", "rm_groups"]
    }

    fn wants(&self, event: &RecordedEvent) -> bool {
        match stream_kind(&event.stream_id) {
            Some(StreamKind::Resource(_)) => CATALOG_EVENT_TYPES.contains(&event.event_type.as_str()),
            Some(StreamKind::Group(_)) => true,
            _ => false,
        }
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        // Decoding is most of what reading the log costs; most events are not the catalog's.
        let changes: Vec<CatalogChange> = events
            .iter()
            .filter(|e| self.wants(e))
            .filter_map(|e| match decode(e)? {
                DomainEvent::Resource { resource_id, event } if is_catalog_event(&event) => {
                    Some(CatalogChange::Resource(resource_id, event))
                }
                DomainEvent::Group { group_id, event } => Some(CatalogChange::Group(group_id, event)),
                _ => None,
            })
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let mut resources: HashMap<Uuid, Option<ResourceView>> = HashMap::new();
        let mut groups: HashMap<Uuid, Option<GroupView>> = HashMap::new();
        for change in &changes {
            match change {
                CatalogChange::Resource(id, _) => {
                    resources.insert(*id, None);
                }
                CatalogChange::Group(id, _) => {
                    groups.insert(*id, None);
                }
            }
        }
        let resource_keys: Vec<String> = resources.keys().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("doc", "rm_resources", "resource_id", &resource_keys).await? {
            let view: ResourceView = serde_json::from_str(&row.text(0)?)?;
            resources.insert(view.resource_id, Some(view));
        }
        let group_keys: Vec<String> = groups.keys().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("doc", "rm_groups", "group_id", &group_keys).await? {
            let view: GroupView = serde_json::from_str(&row.text(0)?)?;
            groups.insert(view.group_id, Some(view));
        }
        for change in &changes {
            match change {
                CatalogChange::Resource(id, event) => apply_resource(resources.entry(*id).or_default(), *id, event),
                CatalogChange::Group(id, event) => apply_group(groups.entry(*id).or_default(), event),
            }
        }
        write_resources(tx, &resource_keys, &resources).await?;
        write_groups(tx, &group_keys, &groups).await
    }
}

async fn write_resources(
    tx: &mut DbTx,
    keys: &[String],
    resources: &HashMap<Uuid, Option<ResourceView>>,
) -> Result<(), ProjectionError> {
    let mut rows = Vec::new();
    let mut tags = Vec::new();
    for view in resources.values().flatten() {
        let id = view.resource_id.to_string();
        let search = fold_text(&format!("{}\n{}", view.name, view.description));
        rows.push(vec![
            Value::Text(id.clone()),
            Value::Text(fold_text(&view.name)),
            kind_label(view.kind).into(),
            view.status_label().into(),
            view.group_id.map(|g| g.to_string()).into(),
            Value::Text(search),
            Value::Int(view.created_at.timestamp_micros()),
            Value::Text(serde_json::to_string(view)?),
        ]);
        let mut folded: Vec<String> = view.tags.iter().map(|t| fold_text(t)).collect();
        folded.sort();
        folded.dedup();
        tags.extend(folded.into_iter().map(|t| vec![Value::Text(id.clone()), Value::Text(t)]));
    }
    tx.insert_rows(
        "INSERT INTO rm_resources (resource_id, name_key, kind, status, group_id, search_text, created_at, doc)",
        "ON CONFLICT (resource_id) DO UPDATE SET name_key = excluded.name_key, kind = excluded.kind, \
         status = excluded.status, group_id = excluded.group_id, search_text = excluded.search_text, \
         created_at = excluded.created_at, doc = excluded.doc",
        &rows,
    )
    .await?;
    tx.delete_keys("rm_resource_tags", "resource_id", keys).await?;
    tx.insert_rows("INSERT INTO rm_resource_tags (resource_id, tag)", "", &tags).await?;
    Ok(())
}

async fn write_groups(
    tx: &mut DbTx,
    keys: &[String],
    groups: &HashMap<Uuid, Option<GroupView>>,
) -> Result<(), ProjectionError> {
    tx.delete_keys("rm_groups", "group_id", keys).await?;
    let mut rows = Vec::new();
    for view in groups.values().flatten() {
        rows.push(vec![
            Value::Text(view.group_id.to_string()),
            view.parent_id.map(|p| p.to_string()).into(),
            Value::Text(fold_text(&view.name)),
            Value::Text(serde_json::to_string(view)?),
        ]);
    }
    tx.insert_rows("INSERT INTO rm_groups (group_id, parent_id, name_key, doc)", "", &rows).await?;
    Ok(())
}
