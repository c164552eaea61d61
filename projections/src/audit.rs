//! The audit trail: one row per event of the log — who (actor), what (event type), which
//! stream, when it was recorded, from where (client IP) and under which correlation id.
//! Unlike the other projectors it records every stream, known or not.
//!
//! `rm_audit` holds only what the trail is filtered and ordered by (position, actor, event
//! type, resource, time); the rest of an entry is read from the log by position, so an event's
//! ids and addresses are not written twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_store::{Database, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::decode::{from_micros, metadata, metadata_from, stream_kind, StreamKind};
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
                    metadata(e).actor.into(),
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

/// Audit entries matching `filter`, in log order.
///
/// Errors: [`ProjectionError::InvalidCursor`] for a cursor of another list,
/// [`ProjectionError::Corrupt`] if an audit row points at a position the log does not hold.
pub async fn audit_log(
    db: &Database,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, ProjectionError> {
    let mut sql = SqlBuilder::new(AUDIT_SELECT);
    if let Some(actor) = &filter.actor {
        sql.push(" AND a.actor = ").bind(actor.as_str());
    }
    if let Some(resource_id) = filter.resource_id {
        sql.push(" AND a.resource_id = ").bind(resource_id.to_string());
    }
    if let Some(action) = &filter.action {
        sql.push(" AND a.action = ").bind(action.as_str());
    }
    if let Some(from) = filter.from {
        sql.push(" AND a.recorded_at >= ").bind(from.timestamp_micros());
    }
    if let Some(to) = filter.to {
        sql.push(" AND a.recorded_at < ").bind(to.timestamp_micros());
    }
    let list = CursorList::new("audit", KeyKind::Int);
    if let Some(cursor) = page.decode_for(&list)? {
        let SortValue::Int(position) = cursor.key else { return Err(ProjectionError::InvalidCursor) };
        sql.push(" AND a.position > ").bind(position);
    }
    let limit = page.size();
    sql.push(&format!(" ORDER BY a.position LIMIT {}", limit + 1));
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
