//! The resource catalog held in memory: the same views the catalogue projector writes to
//! `rm_resources` (folded by the same [`apply_resource`] / [`apply_group`]), and the same
//! list query as [`super::list_resources`] — filters, text search, sorts and cursors — answered
//! without SQL. A cursor issued by one is accepted by the other (same list names, same keys).
//!
//! Kept by a process that follows the log (the availability index does), so a list is as
//! current as the log position that follower has applied.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use reserver_domain::group::GroupEvent;
use reserver_domain::ResourceEvent;
use uuid::Uuid;

use super::query::{resource_list, sort_key, validate_status};
use super::{apply_group, apply_resource, fold_text, is_catalog_event, GroupView, ResourceView};
use crate::catalog::ResourceQuery;
use crate::error::ProjectionError;
use crate::page::{into_page, CursorKey, Page, PageRequest, SortValue};

/// One resource of the catalog with what its filters compare, folded once when it changes
/// (the columns `rm_resources` and `rm_resource_tags` hold beside the document).
#[derive(Debug, Clone)]
struct Entry {
    view: ResourceView,
    /// `id` as text: the tie-breaking key of every order (as the SQL list orders it).
    id_text: String,
    name_key: String,
    search_text: String,
    tags: Vec<String>,
}

impl Entry {
    fn new(view: ResourceView) -> Self {
        let mut tags: Vec<String> = view.tags.iter().map(|t| fold_text(t)).collect();
        tags.sort();
        tags.dedup();
        Self {
            id_text: view.resource_id.to_string(),
            name_key: fold_text(&view.name),
            search_text: fold_text(&format!("{}\n{}", view.name, view.description)),
            tags,
            view,
        }
    }

    fn key(&self, query: &ResourceQuery) -> SortValue {
        match query.sort {
            super::ResourceSort::Name => SortValue::Text(self.name_key.clone()),
            _ => sort_key(&self.view, query.sort),
        }
    }
}

/// Every resource and group of the catalog, in memory. About 1 KB per resource (the view
/// and its folded keys); every resource ever created is held, retired ones included, as in
/// `rm_resources`.
#[derive(Debug, Default, Clone)]
pub struct MemoryCatalog {
    resources: HashMap<Uuid, Entry>,
    groups: HashMap<Uuid, GroupView>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the catalogue shows what `event` changes (bookings and waitlists it does not):
    /// [`MemoryCatalog::apply_resource`] ignores every other event.
    pub fn shows(event: &ResourceEvent) -> bool {
        is_catalog_event(event)
    }

    /// Folds one event of resource `id` in (events the catalog does not show are ignored).
    pub fn apply_resource(&mut self, id: Uuid, event: &ResourceEvent) {
        if !is_catalog_event(event) {
            return;
        }
        let mut view = self.resources.remove(&id).map(|e| e.view);
        apply_resource(&mut view, id, event);
        if let Some(view) = view {
            self.resources.insert(id, Entry::new(view));
        }
    }

    /// Folds one event of group `id` in.
    pub fn apply_group(&mut self, id: Uuid, event: &GroupEvent) {
        let mut view = self.groups.remove(&id);
        apply_group(&mut view, event);
        if let Some(view) = view {
            self.groups.insert(id, view);
        }
    }

    /// The resource `id` as `rm_resources` shows it.
    pub fn get(&self, id: Uuid) -> Option<&ResourceView> {
        self.resources.get(&id).map(|e| &e.view)
    }

    /// Number of resources held (retired ones included).
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True when no resource is held.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Whether group `id` exists.
    pub fn has_group(&self, id: Uuid) -> bool {
        self.groups.contains_key(&id)
    }

    /// The same page [`super::list_resources`] answers from SQL for `query` and `page`:
    /// `O(n log n)` in the resources matching the filters, with no database round trip.
    /// Errors: `InvalidQuery` for an unknown status, `InvalidCursor` for a cursor another
    /// list issued.
    pub fn list(&self, query: &ResourceQuery, page: &PageRequest) -> Result<Page<ResourceView>, ProjectionError> {
        if let Some(status) = &query.status {
            validate_status(status)?;
        }
        let list = resource_list(query);
        let after = page.decode_for(&list)?;
        let tags: Vec<String> = query.tags.iter().map(|t| fold_text(t)).collect();
        let text = query.text.as_deref().filter(|t| !t.is_empty()).map(fold_text);
        let groups = query.group_id.map(|g| {
            let mut groups = HashSet::from([g]);
            if query.include_subgroups {
                groups.extend(super::query::descendants(self.groups.values(), g));
            }
            groups
        });
        let mut rows: Vec<(SortValue, &Entry)> = self
            .resources
            .values()
            .filter(|e| {
                tags.iter().all(|t| e.tags.contains(t))
                    && query.kind.is_none_or(|k| e.view.kind == k)
                    && query.status.as_deref().is_none_or(|s| e.view.status_label() == s)
                    && groups.as_ref().is_none_or(|g| e.view.group_id.is_some_and(|id| g.contains(&id)))
                    && text.as_deref().is_none_or(|t| e.search_text.contains(t))
            })
            .map(|e| (e.key(query), e))
            .filter(|(key, e)| {
                after.as_ref().is_none_or(|a| {
                    let order = compare(key, &e.id_text, &a.key, &a.id);
                    if query.descending {
                        order == Ordering::Less
                    } else {
                        order == Ordering::Greater
                    }
                })
            })
            .collect();
        let limit = page.size();
        let by = |a: &(SortValue, &Entry), b: &(SortValue, &Entry)| compare(&a.0, &a.1.id_text, &b.0, &b.1.id_text);
        let wanted = (limit as usize + 1).min(rows.len());
        if wanted > 0 && wanted < rows.len() {
            // Only the first `limit + 1` in order matter: select them, then sort only those.
            if query.descending {
                rows.select_nth_unstable_by(wanted - 1, |a, b| by(b, a));
            } else {
                rows.select_nth_unstable_by(wanted - 1, by);
            }
            rows.truncate(wanted);
        }
        if query.descending {
            rows.sort_unstable_by(|a, b| by(b, a));
        } else {
            rows.sort_unstable_by(by);
        }
        let views: Vec<ResourceView> = rows.into_iter().map(|(_, e)| e.view.clone()).collect();
        let sort = query.sort;
        Ok(into_page(views, limit, &list, |v| CursorKey { key: sort_key(v, sort), id: v.resource_id.to_string() }))
    }
}

/// `(key, id)` ordering as the SQL list orders rows: text keys and ids by their bytes (the
/// columns are `COLLATE "C"` on PostgreSQL, binary on SQLite), integer keys numerically.
fn compare(a: &SortValue, a_id: &str, b: &SortValue, b_id: &str) -> Ordering {
    let keys = match (a, b) {
        (SortValue::Text(a), SortValue::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        (SortValue::Int(a), SortValue::Int(b)) => a.cmp(b),
        (SortValue::Int(_), SortValue::Text(_)) => Ordering::Less,
        (SortValue::Text(_), SortValue::Int(_)) => Ordering::Greater,
    };
    keys.then_with(|| a_id.as_bytes().cmp(b_id.as_bytes()))
}
