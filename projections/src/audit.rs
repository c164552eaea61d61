//! The audit trail: one row per event of the log — who (actor), what (event type), which
//! stream, when it was recorded, from where (client IP) and under which correlation id.
//! Unlike the other projectors it records every stream, known or not.
//!
//! `rm_audit` holds only what the trail is filtered and ordered by (position, actor, event
//! type, resource, time); the rest of an entry is read from the log by position, so an event's
//! ids and addresses are not written twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_domain::resource::stream_id as resource_stream_id;
use reserver_store::{Database, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::decode::{actor, from_micros, metadata_from, stream_kind, StreamKind};
use crate::error::ProjectionError;
use crate::page::{into_page, CursorKey, CursorList, KeyKind, Page, PageRequest, SortValue};
use crate::runtime::Projector;
use crate::sql::{fetch_all, DbTx, SqlBuilder, Value};

/// One audited event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub position: u64,
    pub event_id: Uuid,
    pub actor: Option<String>,
    /// The event type.
    pub action: String,
    /// The stream the event belongs to.
    pub target: String,
    pub resource_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub client_ip: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub command_id: Option<String>,
}

/// The projector's name (its checkpoint): what a query of these tables passes to
/// `ProjectionHandle::wait_for_projectors`, so it waits for this read model only.
pub const PROJECTOR: &str = "audit";

/// Builds `rm_audit`.
pub struct AuditProjector;

#[async_trait]
impl Projector for AuditProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_audit"]
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let rows: Vec<Vec<Value>> = events
            .iter()
            .map(|e| {
                let resource_id = match stream_kind(&e.stream_id) {
                    Some(StreamKind::Resource(id)) => Some(id.to_string()),
                    _ => None,
                };
                vec![
                    Value::Int(e.position as i64),
                    actor(e).into(),
                    Value::Text(e.event_type.clone()),
                    resource_id.into(),
                    Value::Int(e.recorded_at.timestamp_micros()),
                ]
            })
            .collect();
        tx.insert_rows("INSERT INTO rm_audit (position, actor, action, resource_id, recorded_at)", "", &rows).await?;
        Ok(())
    }
}

/// Filters of the audit trail; all given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub resource_id: Option<Uuid>,
    /// Event type.
    pub action: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
}

/// The row's columns, then the event's id, stream and metadata from the log (`LEFT JOIN`, so
/// a row whose event the log lacks is seen and reported, not dropped).
const AUDIT_SELECT: &str = "SELECT a.position, a.actor, a.action, a.resource_id, a.recorded_at, \
                            CAST(e.event_id AS TEXT), e.stream_id, CAST(e.metadata AS TEXT) \
                            FROM rm_audit a LEFT JOIN events e ON e.position = a.position WHERE 1 = 1";

fn parse_uuid(text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|e| ProjectionError::Corrupt(e.to_string()))
}

/// The statement [`audit_log`] runs: up to `limit` entries matching `filter` after log position
/// `after`, in log order. Public so its plan can be inspected (`EXPLAIN`).
///
/// An actor is found with `rm_audit`'s own index, a resource and an event type with the log's
/// (migration 0022): a resource's entries are the events of its stream `resource-<id>` (its
/// (stream id, version) key), a type's on `events_type_idx` (event type, position); a time
/// window is checked on the rows these yield, or on `rm_audit`'s time index alone.
pub fn audit_query(filter: &AuditFilter, after: Option<i64>, limit: u32) -> SqlBuilder {
    let mut sql = SqlBuilder::new(AUDIT_SELECT);
    if let Some(from) = filter.from {
        sql.push(" AND a.recorded_at >= ").bind(from.timestamp_micros());
    }
    if let Some(to) = filter.to {
        sql.push(" AND a.recorded_at < ").bind(to.timestamp_micros());
    }
    // One index drives the query, chosen by the most selective filter given; the others are
    // checked on the rows it yields. The cursor and the order are on the driving table, so its
    // index is entered at the cursor and delivers rows in log order (over the rows selected, a
    // stream's version order is log order).
    let stream = filter.resource_id.map(resource_stream_id);
    match (&filter.actor, &stream, &filter.action) {
        (Some(actor), _, _) => {
            // `rm_audit_actor_idx`; the row carries type and resource too.
            sql.push(" AND a.actor = ").bind(actor.as_str());
            if let Some(resource_id) = filter.resource_id {
                sql.push(" AND a.resource_id = ").bind(resource_id.to_string());
            }
            if let Some(action) = &filter.action {
                sql.push(" AND a.action = ").bind(action.as_str());
            }
            log_order_after(&mut sql, "a", after);
        }
        (None, Some(stream), action) => {
            // The stream's (stream id, version) key.
            sql.push(" AND e.stream_id = ").bind(stream.as_str());
            if let Some(action) = action {
                sql.push(" AND e.event_type = ").bind(action.as_str());
            }
            if let Some(position) = after {
                // A position outside the stream gives no version bound; the position one holds.
                sql.push(" AND e.position > ").bind(position);
                sql.push(" AND a.position > ").bind(position);
                sql.push(
                    " AND e.stream_version >= COALESCE((SELECT c.stream_version FROM events c WHERE c.position = ",
                )
                .bind(position)
                .push(" AND c.stream_id = ")
                .bind(stream.as_str())
                .push("), 0)");
            }
            sql.push(" ORDER BY e.stream_version");
        }
        (None, None, Some(action)) => {
            // `events_type_idx` (event type, position).
            sql.push(" AND e.event_type = ").bind(action.as_str());
            log_order_after(&mut sql, "e", after);
        }
        (None, None, None) => log_order_after(&mut sql, "a", after),
    }
    sql.push(&format!(" LIMIT {limit}"));
    sql
}

/// `AND {table}.position > after ORDER BY {table}.position`; the cursor holds for both tables
/// (the planner does not carry a range across the join, and a merge join would read the other
/// table from its start).
fn log_order_after(sql: &mut SqlBuilder, table: &str, after: Option<i64>) {
    if let Some(position) = after {
        sql.push(" AND a.position > ").bind(position);
        if table != "a" {
            sql.push(&format!(" AND {table}.position > ")).bind(position);
        }
    }
    sql.push(&format!(" ORDER BY {table}.position"));
}

/// Audit entries matching `filter`, in log order.
///
/// Errors: [`ProjectionError::InvalidCursor`] for a cursor of another list,
/// [`ProjectionError::Corrupt`] if an audit row points at a position the log does not hold.
pub async fn audit_log(
    db: &Database,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, ProjectionError> {
    let list = CursorList::new("audit", KeyKind::Int);
    let after = match page.decode_for(&list)? {
        Some(cursor) => match cursor.key {
            SortValue::Int(position) => Some(position),
            _ => return Err(ProjectionError::InvalidCursor),
        },
        None => None,
    };
    let limit = page.size();
    let sql = audit_query(filter, after, limit + 1);
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let entries = rows
        .iter()
        .map(|row| {
            let position = row.int(0)?.max(0) as u64;
            let (Some(event_id), Some(target), Some(meta)) = (row.opt_text(5)?, row.opt_text(6)?, row.opt_text(7)?)
            else {
                return Err(ProjectionError::Corrupt(format!("audit trail: no event at position {position}")));
            };
            let meta = metadata_from(&meta);
            Ok(AuditEntry {
                position,
                event_id: parse_uuid(&event_id)?,
                actor: row.opt_text(1)?,
                action: row.text(2)?,
                target,
                resource_id: row.opt_text(3)?.as_deref().map(parse_uuid).transpose()?,
                recorded_at: from_micros(row.int(4)?)?,
                client_ip: meta.client_ip,
                correlation_id: meta.correlation_id.map(|u| u.to_string()),
                causation_id: meta.causation_id.map(|u| u.to_string()),
                command_id: meta.command_id.map(|u| u.to_string()),
            })
        })
        .collect::<Result<Vec<_>, ProjectionError>>()?;
    Ok(into_page(entries, limit, &list, |e| CursorKey {
        key: SortValue::Int(e.position as i64),
        id: e.event_id.to_string(),
    }))
}

/// The entries as a JSON array.
pub fn audit_json(entries: &[AuditEntry]) -> Result<String, ProjectionError> {
    Ok(serde_json::to_string(entries)?)
}
