//! The index in memory: one entry per resource holding the aggregate's folded state (only
//! what availability needs), and the group tree for search.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use reserver_domain::group::GroupEvent;
use reserver_domain::{ResourceEvent, ResourceState};
use reserver_projections::catalog::{MemoryCatalog, ResourceQuery, ResourceView};
use reserver_projections::{Page, PageRequest, ProjectionError};
use reserver_store::RecordedEvent;
use serde::Serialize;
use uuid::Uuid;

use crate::error::IndexError;

/// How much the index may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLimits {
    /// Most reservations (holding a unit) kept across all resources. At about 370 bytes each
    /// (measured, see docs/benchmarks.md) the default of 1,000,000 is some 370 MB.
    pub max_reservations: usize,
}

impl Default for IndexLimits {
    fn default() -> Self {
        Self { max_reservations: 1_000_000 }
    }
}

/// What the index holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// The last log position applied.
    pub position: u64,
    /// Resources held in memory.
    pub resources: usize,
    /// Resources dropped to stay within the bound.
    pub evicted: usize,
    /// Reservations held (all of them hold a unit).
    pub reservations: usize,
    /// The bound on `reservations`.
    pub max_reservations: usize,
}

/// When a resource was created and last changed, as the catalogue shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogDates {
    /// When `resource_created` was recorded.
    pub created_at: DateTime<Utc>,
    /// The last event that changed its description, settings, hours or status.
    pub updated_at: DateTime<Utc>,
}

/// One resource: its state, or the mark that it was evicted.
#[allow(clippy::large_enum_variant)] // one per resource, behind its own lock; evicted ones are rare
pub(crate) enum Entry {
    Indexed(ResourceState),
    Evicted,
}

type Shared<T> = Arc<RwLock<T>>;

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // A panic while writing cannot leave an entry half-applied in a way later events do not
    // repair more than a restart would; keep answering.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// Every resource's availability state, in memory.
///
/// Fed with [`RecordedEvent`]s in log order ([`MemoryIndex::apply`]); answers questions with
/// the query methods. Per resource it keeps the resource aggregate's state folded with the
/// domain's own `ResourceState::apply` — so pruning of ended reservations is the domain's —
/// minus the reservations that no longer hold a unit (cancelled, completed, …), which no
/// availability answer reads. A resource's entry has its own lock: questions about one
/// resource never wait for another's updates.
///
/// **Bound.** The held reservations are counted. When applying an event would take the count
/// past [`IndexLimits::max_reservations`], the resource holding the most is *evicted*: its
/// state is dropped, its later events are skipped, and questions about it fail with
/// [`IndexError::Evicted`] so the caller can ask the read model instead. It stays evicted
/// until the process restarts (with a larger bound, or once its history has been pruned). A
/// warning is logged and [`IndexStats::evicted`] counts them.
pub struct MemoryIndex {
    resources: RwLock<HashMap<Uuid, Shared<Entry>>>,
    /// Group → parent.
    groups: RwLock<HashMap<Uuid, Option<Uuid>>>,
    /// The resource catalogue (descriptions, settings, status, dates; every resource, evicted
    /// ones too), folded by the catalogue projector's own rules: the resource list and a
    /// resource's description need no read model.
    catalog: RwLock<MemoryCatalog>,
    kept: AtomicUsize,
    evicted: AtomicUsize,
    position: AtomicU64,
    limits: IndexLimits,
}

impl MemoryIndex {
    /// An empty index at log position 0.
    pub fn new(limits: IndexLimits) -> Self {
        Self {
            resources: RwLock::new(HashMap::new()),
            groups: RwLock::new(HashMap::new()),
            catalog: RwLock::new(MemoryCatalog::new()),
            kept: AtomicUsize::new(0),
            evicted: AtomicUsize::new(0),
            position: AtomicU64::new(0),
            limits,
        }
    }

    /// Applies consecutive log events, oldest first. Events of streams other than resources
    /// and groups, and event types this build does not know, are skipped.
    pub fn apply(&self, events: &[RecordedEvent]) {
        for recorded in events {
            if let Some((kind, id)) = recorded.stream_id.split_once('-') {
                match kind {
                    "resource" => {
                        if let (Ok(id), Ok(event)) =
                            (Uuid::parse_str(id), serde_json::from_str::<ResourceEvent>(&recorded.payload))
                        {
                            self.apply_resource(id, &event);
                        }
                    }
                    "group" => {
                        if let Ok(event) = serde_json::from_str::<GroupEvent>(&recorded.payload) {
                            self.apply_group(&event);
                        }
                    }
                    _ => {}
                }
            }
            self.position.fetch_max(recorded.position, Ordering::Release);
        }
    }

    /// The last log position applied.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// Counts of what is held.
    pub fn stats(&self) -> IndexStats {
        let resources = read(&self.resources);
        let evicted = self.evicted.load(Ordering::Relaxed);
        IndexStats {
            position: self.position(),
            resources: resources.len() - evicted.min(resources.len()),
            evicted,
            reservations: self.kept.load(Ordering::Relaxed),
            max_reservations: self.limits.max_reservations,
        }
    }

    /// `f` applied to the state of resource `id`, under its read lock.
    pub fn with_state<R>(&self, id: Uuid, f: impl FnOnce(&ResourceState) -> R) -> Result<R, IndexError> {
        let entry = self.entry(id).ok_or(IndexError::UnknownResource(id))?;
        let guard = read(&entry);
        match &*guard {
            Entry::Indexed(state) if state.resource.is_some() => Ok(f(state)),
            Entry::Indexed(_) => Err(IndexError::UnknownResource(id)),
            Entry::Evicted => Err(IndexError::Evicted(id)),
        }
    }

    /// When resource `id` was created and when its description, settings, hours or status
    /// last changed (bookings do not count): the catalogue read model's `created_at` and
    /// `updated_at`.
    pub fn catalog_dates(&self, id: Uuid) -> Option<CatalogDates> {
        read(&self.catalog).get(id).map(|v| CatalogDates { created_at: v.created_at, updated_at: v.updated_at })
    }

    /// Resource `id` as the catalogue read model shows it (`rm_resources`), if it exists.
    pub fn catalog_resource(&self, id: Uuid) -> Option<ResourceView> {
        read(&self.catalog).get(id).cloned()
    }

    /// `f` applied to resource `id`'s catalogue view (no copy), if it exists.
    pub fn with_catalog_resource<R>(&self, id: Uuid, f: impl FnOnce(&ResourceView) -> R) -> Option<R> {
        read(&self.catalog).get(id).map(f)
    }

    /// A page of the resource list: the same answer as the catalogue read model's
    /// `list_resources` (filters, text search, sorts, cursors), from memory. Errors as that
    /// function's: an unknown status, a cursor of another list.
    pub fn list_resources(
        &self,
        query: &ResourceQuery,
        page: &PageRequest,
    ) -> Result<Page<ResourceView>, ProjectionError> {
        read(&self.catalog).list(query, page)
    }

    /// Whether group `id` exists (as far as the index has followed the log).
    pub fn has_group(&self, id: Uuid) -> bool {
        read(&self.groups).contains_key(&id)
    }

    pub(crate) fn entry(&self, id: Uuid) -> Option<Shared<Entry>> {
        read(&self.resources).get(&id).cloned()
    }

    /// Every resource entry, for a search to visit one by one.
    pub(crate) fn entries(&self) -> Vec<(Uuid, Shared<Entry>)> {
        read(&self.resources).iter().map(|(id, e)| (*id, e.clone())).collect()
    }

    /// `group` and every group below it.
    pub(crate) fn group_and_descendants(&self, group: Uuid) -> HashSet<Uuid> {
        let groups = read(&self.groups);
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (id, parent) in groups.iter() {
            if let Some(parent) = parent {
                children.entry(*parent).or_default().push(*id);
            }
        }
        let mut found = HashSet::from([group]);
        let mut todo = vec![group];
        while let Some(next) = todo.pop() {
            for child in children.get(&next).into_iter().flatten() {
                // A cycle cannot be written (the write side refuses it), but never loop on one.
                if found.insert(*child) {
                    todo.push(*child);
                }
            }
        }
        found
    }

    fn apply_group(&self, event: &GroupEvent) {
        let mut groups = write(&self.groups);
        let id = match event {
            GroupEvent::GroupCreated { group_id, .. }
            | GroupEvent::GroupMoved { group_id, .. }
            | GroupEvent::GroupRenamed { group_id, .. }
            | GroupEvent::GroupApproversSet { group_id, .. }
            | GroupEvent::GroupDeleted { group_id, .. } => *group_id,
        };
        write(&self.catalog).apply_group(id, event);
        match event {
            GroupEvent::GroupCreated { group_id, parent_id, .. }
            | GroupEvent::GroupMoved { group_id, parent_id, .. } => {
                groups.insert(*group_id, *parent_id);
            }
            GroupEvent::GroupDeleted { group_id, .. } => {
                groups.remove(group_id);
            }
            GroupEvent::GroupRenamed { .. } | GroupEvent::GroupApproversSet { .. } => {}
        }
    }

    fn apply_resource(&self, id: Uuid, event: &ResourceEvent) {
        if MemoryCatalog::shows(event) {
            write(&self.catalog).apply_resource(id, event);
        }
        let entry = match self.entry(id) {
            Some(entry) => entry,
            None => write(&self.resources)
                .entry(id)
                .or_insert_with(|| Arc::new(RwLock::new(Entry::Indexed(ResourceState::default()))))
                .clone(),
        };
        let (before, after) = {
            let mut guard = write(&entry);
            let Entry::Indexed(state) = &mut *guard else { return };
            let before = state.reservations.len();
            state.apply(event);
            // Released reservations never hold a unit again: no availability answer reads them.
            if let Some(reservation) = event.reservation_id() {
                if state.reservations.get(&reservation).is_some_and(|r| !r.status.holds_unit()) {
                    state.reservations.remove(&reservation);
                }
            }
            (before, state.reservations.len())
        };
        if after >= before {
            let kept = self.kept.fetch_add(after - before, Ordering::Relaxed) + (after - before);
            if kept > self.limits.max_reservations {
                self.evict_largest();
            }
        } else {
            self.kept.fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    /// Drops the resource holding the most reservations (see the type's docs).
    fn evict_largest(&self) {
        let largest = self
            .entries()
            .into_iter()
            .filter_map(|(id, entry)| match &*read(&entry) {
                Entry::Indexed(state) => Some((state.reservations.len(), id, entry.clone())),
                Entry::Evicted => None,
            })
            .max_by_key(|(len, id, _)| (*len, *id));
        let Some((len, id, entry)) = largest else { return };
        *write(&entry) = Entry::Evicted;
        self.kept.fetch_sub(len, Ordering::Relaxed);
        self.evicted.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            resource = %id,
            reservations = len,
            bound = self.limits.max_reservations,
            "availability index full: resource evicted, its questions go to the read model"
        );
    }
}
