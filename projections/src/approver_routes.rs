//! Who a resource's approval requests go to, followed from the log by the notifications
//! projector (`rm_notify_routes`): for each resource its group and the approvers it names, for
//! each group its parent and the approvers it names. A resource's named approvers are its own,
//! else those of the nearest group above it naming some; none named: every approver.
//!
//! Only nodes with a parent or named approvers have a row, so resources outside any group
//! that name nobody cost nothing.

use std::collections::{HashMap, HashSet};

use reserver_domain::group::GroupEvent;
use reserver_domain::ResourceEvent;
use reserver_store::Database;
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::sql::{fetch_all, DbTx, Value};

/// The table this module keeps (owned by the notifications projector).
pub const TABLE: &str = "rm_notify_routes";

/// Deepest group chain followed (a guard: the tree is checked for cycles before any move).
const MAX_DEPTH: usize = 64;

/// One node of the tree: a resource (`kind` "resource") or a group ("group").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub resource: bool,
    pub parent: Option<Uuid>,
    pub approvers: Vec<Uuid>,
}

/// The routes read or changed within one batch; `None` = no row.
#[derive(Default)]
pub struct Routes {
    known: HashMap<Uuid, Option<Route>>,
    changed: HashSet<Uuid>,
}

fn corrupt(e: impl ToString) -> ProjectionError {
    ProjectionError::Corrupt(e.to_string())
}

fn parse(kind: &str, parent: Option<String>, approvers: &str) -> Result<Route, ProjectionError> {
    Ok(Route {
        resource: kind == "resource",
        parent: parent.as_deref().map(Uuid::parse_str).transpose().map_err(corrupt)?,
        approvers: serde_json::from_str(approvers).map_err(corrupt)?,
    })
}

impl Routes {
    async fn get(&mut self, tx: &mut DbTx, id: Uuid) -> Result<Option<Route>, ProjectionError> {
        if let Some(known) = self.known.get(&id) {
            return Ok(known.clone());
        }
        let rows = tx.fetch_keys("kind, parent_id, approvers", TABLE, "node_id", &[id.to_string()]).await?;
        let route = match rows.first() {
            Some(row) => Some(parse(&row.text(0)?, row.opt_text(1)?, &row.text(2)?)?),
            None => None,
        };
        self.known.insert(id, route.clone());
        Ok(route)
    }

    async fn update(
        &mut self,
        tx: &mut DbTx,
        id: Uuid,
        resource: bool,
        change: impl FnOnce(&mut Route),
    ) -> Result<(), ProjectionError> {
        let mut route = self.get(tx, id).await?.unwrap_or(Route { resource, ..Route::default() });
        change(&mut route);
        self.known.insert(id, Some(route));
        self.changed.insert(id);
        Ok(())
    }

    /// Follows a resource event that moves the resource or names its approvers.
    pub async fn follow_resource(
        &mut self,
        tx: &mut DbTx,
        resource_id: Uuid,
        event: &ResourceEvent,
    ) -> Result<(), ProjectionError> {
        match event {
            ResourceEvent::ResourceCreated { details, .. } => {
                // A new stream: nothing to read first.
                let route = Route { resource: true, parent: details.group_id, approvers: Vec::new() };
                self.known.insert(resource_id, Some(route));
                self.changed.insert(resource_id);
                Ok(())
            }
            ResourceEvent::ResourceUpdated { details, .. } => {
                self.update(tx, resource_id, true, |r| r.parent = details.group_id).await
            }
            ResourceEvent::ApproversSet { approvers, .. } => {
                self.update(tx, resource_id, true, |r| r.approvers = approvers.clone()).await
            }
            _ => Ok(()),
        }
    }

    /// Follows a group event that moves the group, names its approvers or removes it.
    pub async fn follow_group(
        &mut self,
        tx: &mut DbTx,
        group_id: Uuid,
        event: &GroupEvent,
    ) -> Result<(), ProjectionError> {
        match event {
            GroupEvent::GroupCreated { parent_id, .. } | GroupEvent::GroupMoved { parent_id, .. } => {
                self.update(tx, group_id, false, |r| r.parent = *parent_id).await
            }
            GroupEvent::GroupApproversSet { approvers, .. } => {
                self.update(tx, group_id, false, |r| r.approvers = approvers.clone()).await
            }
            GroupEvent::GroupDeleted { .. } => {
                self.known.insert(group_id, None);
                self.changed.insert(group_id);
                Ok(())
            }
            GroupEvent::GroupRenamed { .. } => Ok(()),
        }
    }

    /// The approvers named for `resource_id` as of the events followed so far.
    pub async fn named_approvers(&mut self, tx: &mut DbTx, resource_id: Uuid) -> Result<Vec<Uuid>, ProjectionError> {
        let mut next = Some(resource_id);
        let mut seen = HashSet::new();
        while let Some(id) = next {
            if !seen.insert(id) || seen.len() > MAX_DEPTH {
                break;
            }
            let Some(route) = self.get(tx, id).await? else { break };
            if !route.approvers.is_empty() {
                return Ok(route.approvers);
            }
            next = route.parent;
        }
        Ok(Vec::new())
    }

    /// Writes the changed rows (a row only for nodes with a parent or named approvers).
    pub async fn write(self, tx: &mut DbTx) -> Result<(), ProjectionError> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = self.changed.iter().map(Uuid::to_string).collect();
        tx.delete_keys(TABLE, "node_id", &keys).await?;
        let mut rows = Vec::new();
        for id in &self.changed {
            let Some(Some(route)) = self.known.get(id) else { continue };
            if route.parent.is_none() && route.approvers.is_empty() {
                continue;
            }
            rows.push(vec![
                Value::Text(id.to_string()),
                Value::Text(if route.resource { "resource" } else { "group" }.to_string()),
                route.parent.map(|p| p.to_string()).into(),
                Value::Text(serde_json::to_string(&route.approvers).map_err(corrupt)?),
            ]);
        }
        tx.insert_rows(&format!("INSERT INTO {TABLE} (node_id, kind, parent_id, approvers)"), "", &rows).await?;
        Ok(())
    }
}

/// The resources whose requests `approver` may not answer: those naming approvers (themselves
/// or through a group) that do not include `approver`. Admins answer everything; callers skip
/// this for them.
pub async fn resources_not_answerable_by(db: &Database, approver: Uuid) -> Result<Vec<Uuid>, ProjectionError> {
    let rows = fetch_all(db, &format!("SELECT node_id, kind, parent_id, approvers FROM {TABLE}"), &[]).await?;
    let mut routes = HashMap::new();
    for row in &rows {
        let id = Uuid::parse_str(&row.text(0)?).map_err(corrupt)?;
        routes.insert(id, parse(&row.text(1)?, row.opt_text(2)?, &row.text(3)?)?);
    }
    let mut refused = Vec::new();
    for (id, route) in routes.iter().filter(|(_, r)| r.resource) {
        let mut node = Some((*id, route));
        let mut depth = 0;
        while let Some((_, route)) = node {
            depth += 1;
            if !route.approvers.is_empty() {
                if !route.approvers.contains(&approver) {
                    refused.push(*id);
                }
                break;
            }
            if depth > MAX_DEPTH {
                break;
            }
            node = route.parent.and_then(|p| routes.get(&p).map(|r| (p, r)));
        }
    }
    refused.sort();
    Ok(refused)
}
