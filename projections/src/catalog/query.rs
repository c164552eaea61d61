//! Catalog queries: filtered, searched, sorted, cursor-paginated resource lists and the group
//! tree.

use std::collections::{BTreeMap, BTreeSet};

use reserver_domain::resource::ResourceKind;
use reserver_store::Database;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{fold_text, kind_label, GroupView, ResourceView};
use crate::error::ProjectionError;
use crate::page::{into_page, CursorKey, CursorList, KeyKind, Page, PageRequest, SortValue};
use crate::sql::{fetch_all, SqlBuilder};

/// How resource lists are ordered (ties broken by id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceSort {
    /// Case-insensitive name.
    #[default]
    Name,
    /// `available`, `maintenance`, `retired` (alphabetical).
    Status,
    /// Creation time.
    Created,
}

/// Filters of a resource list; all given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceQuery {
    /// Every one of these tags (case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
    pub kind: Option<ResourceKind>,
    /// `available`, `maintenance` or `retired`.
    pub status: Option<String>,
    pub group_id: Option<Uuid>,
    /// With `group_id`: also resources in its descendant groups.
    #[serde(default)]
    pub include_subgroups: bool,
    /// Case-insensitive substring of name or description.
    pub text: Option<String>,
    #[serde(default)]
    pub sort: ResourceSort,
    #[serde(default)]
    pub descending: bool,
}

/// One resource by id.
pub async fn get_resource(db: &Database, resource_id: Uuid) -> Result<Option<ResourceView>, ProjectionError> {
    let rows =
        fetch_all(db, "SELECT doc FROM rm_resources WHERE resource_id = $1", &[resource_id.to_string().into()]).await?;
    rows.first().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).transpose()
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in fold_text(text).chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub(super) fn sort_key(view: &ResourceView, sort: ResourceSort) -> SortValue {
    match sort {
        ResourceSort::Name => SortValue::Text(fold_text(&view.name)),
        ResourceSort::Status => SortValue::Text(view.status_label().to_string()),
        ResourceSort::Created => SortValue::Int(view.created_at.timestamp_micros()),
    }
}

/// `InvalidQuery` unless `status` is one the list filters on.
pub(super) fn validate_status(status: &str) -> Result<(), ProjectionError> {
    match status {
        "available" | "maintenance" | "retired" => Ok(()),
        _ => Err(ProjectionError::InvalidQuery(format!("unknown status `{status}`"))),
    }
}

fn sort_column(sort: ResourceSort) -> &'static str {
    match sort {
        ResourceSort::Name => "name_key",
        ResourceSort::Status => "status",
        ResourceSort::Created => "created_at",
    }
}

/// The list a page of `query` belongs to (its cursors are accepted only there): the same for
/// the SQL and the in-memory catalog.
pub(super) fn resource_list(query: &ResourceQuery) -> CursorList {
    let key = match query.sort {
        ResourceSort::Name | ResourceSort::Status => KeyKind::Text,
        ResourceSort::Created => KeyKind::Int,
    };
    let direction = if query.descending { "DESC" } else { "ASC" };
    CursorList::new(format!("resources/{}/{direction}", sort_column(query.sort)), key)
}

/// A page of resources matching `query`.
pub async fn list_resources(
    db: &Database,
    query: &ResourceQuery,
    page: &PageRequest,
) -> Result<Page<ResourceView>, ProjectionError> {
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_resources WHERE 1 = 1");
    for tag in &query.tags {
        sql.push(
            " AND EXISTS (SELECT 1 FROM rm_resource_tags t WHERE t.resource_id = rm_resources.resource_id AND t.tag = ",
        )
        .bind(fold_text(tag))
        .push(")");
    }
    if let Some(kind) = query.kind {
        sql.push(" AND kind = ").bind(kind_label(kind));
    }
    if let Some(status) = &query.status {
        validate_status(status)?;
        sql.push(" AND status = ").bind(status.as_str());
    }
    if let Some(group_id) = query.group_id {
        let mut groups = vec![group_id];
        if query.include_subgroups {
            groups.extend(descendants(&load_groups(db).await?, group_id));
        }
        sql.push(" AND group_id IN (");
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                sql.push(",");
            }
            sql.bind(g.to_string());
        }
        sql.push(")");
    }
    if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push(" AND search_text LIKE ").bind(escape_like(text)).push(" ESCAPE '\\'");
    }
    let (column, direction) = (sort_column(query.sort), if query.descending { "DESC" } else { "ASC" });
    let list = resource_list(query);
    if let Some(cursor) = page.decode_for(&list)? {
        cursor.push_after(&mut sql, column, "resource_id", query.descending);
    }
    let limit = page.size();
    sql.push(&format!(" ORDER BY {column} {direction}, resource_id {direction} LIMIT {}", limit + 1));
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let views = rows
        .iter()
        .map(|row| Ok(serde_json::from_str::<ResourceView>(&row.text(0)?)?))
        .collect::<Result<Vec<_>, ProjectionError>>()?;
    let sort = query.sort;
    Ok(into_page(views, limit, &list, |v| CursorKey { key: sort_key(v, sort), id: v.resource_id.to_string() }))
}

/// A group and its subgroups, children sorted by name then id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupNode {
    #[serde(flatten)]
    pub group: GroupView,
    pub children: Vec<GroupNode>,
}

async fn load_groups(db: &Database) -> Result<Vec<GroupView>, ProjectionError> {
    let rows = fetch_all(db, "SELECT doc FROM rm_groups ORDER BY name_key, group_id", &[]).await?;
    rows.iter().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).collect()
}

/// One group by id.
pub async fn get_group(db: &Database, group_id: Uuid) -> Result<Option<GroupView>, ProjectionError> {
    let rows = fetch_all(db, "SELECT doc FROM rm_groups WHERE group_id = $1", &[group_id.to_string().into()]).await?;
    rows.first().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).transpose()
}

pub(super) fn descendants<'a>(groups: impl IntoIterator<Item = &'a GroupView> + Clone, root: Uuid) -> BTreeSet<Uuid> {
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for g in groups.clone().into_iter().filter(|g| g.parent_id == Some(parent)) {
            if found.insert(g.group_id) {
                frontier.push(g.group_id);
            }
        }
    }
    found
}

/// The group forest. A group whose parent does not exist (deleted, or not yet projected) is
/// shown as a root rather than hidden.
pub async fn group_tree(db: &Database) -> Result<Vec<GroupNode>, ProjectionError> {
    let groups = load_groups(db).await?;
    let ids: BTreeSet<Uuid> = groups.iter().map(|g| g.group_id).collect();
    let mut children: BTreeMap<Option<Uuid>, Vec<GroupView>> = BTreeMap::new();
    for g in groups {
        let parent = g.parent_id.filter(|p| ids.contains(p) && *p != g.group_id);
        children.entry(parent).or_default().push(g);
    }
    fn build(
        parent: Option<Uuid>,
        children: &mut BTreeMap<Option<Uuid>, Vec<GroupView>>,
        depth: usize,
    ) -> Vec<GroupNode> {
        // A cycle that slipped past the command-side check cannot make this recurse forever.
        if depth > 64 {
            return Vec::new();
        }
        let nodes = children.remove(&parent).unwrap_or_default();
        nodes
            .into_iter()
            .map(|g| {
                let kids = build(Some(g.group_id), children, depth + 1);
                GroupNode { group: g, children: kids }
            })
            .collect()
    }
    Ok(build(None, &mut children, 0))
}

/// Whether moving `group_id` under `new_parent` would make it its own ancestor. Groups only
/// know themselves, so the write side asks this before sending `GroupCommand::Move`.
pub async fn would_create_cycle(
    db: &Database,
    group_id: Uuid,
    new_parent: Option<Uuid>,
) -> Result<bool, ProjectionError> {
    let Some(parent) = new_parent else { return Ok(false) };
    if parent == group_id {
        return Ok(true);
    }
    Ok(descendants(&load_groups(db).await?, group_id).contains(&parent))
}
