//! The audit trail: one row per event of the log — who (actor), what (event type), which
//! stream, when it was recorded, from where (client IP) and under which correlation id.
//! Unlike the other projectors it records every stream, known or not.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_store::{Database, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::decode::{from_micros, metadata, stream_kind, StreamKind};
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
                let meta = metadata(e);
                let resource_id = match stream_kind(&e.stream_id) {
                    Some(StreamKind::Resource(id)) => Some(id.to_string()),
                    _ => None,
                };
                vec![
                    Value::Int(e.position as i64),
                    Value::Text(e.event_id.to_string()),
                    meta.actor.into(),
                    Value::Text(e.event_type.clone()),
                    Value::Text(e.stream_id.clone()),
                    resource_id.into(),
                    Value::Int(e.recorded_at.timestamp_micros()),
                    meta.client_ip.into(),
                    meta.correlation_id.map(|u| u.to_string()).into(),
                    meta.causation_id.map(|u| u.to_string()).into(),
                    meta.command_id.map(|u| u.to_string()).into(),
                ]
            })
            .collect();
        tx.insert_rows(
            "INSERT INTO rm_audit (position, event_id, actor, action, target, resource_id, recorded_at, client_ip, \
             correlation_id, causation_id, command_id)",
            "",
            &rows,
        )
        .await?;
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

const AUDIT_COLUMNS: &str = "position, event_id, actor, action, target, resource_id, recorded_at, client_ip, \
                             correlation_id, causation_id, command_id";

fn parse_uuid(text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|e| ProjectionError::Corrupt(e.to_string()))
}

/// Audit entries matching `filter`, in log order.
pub async fn audit_log(
    db: &Database,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, ProjectionError> {
    let mut sql = SqlBuilder::new(&format!("SELECT {AUDIT_COLUMNS} FROM rm_audit WHERE 1 = 1"));
    if let Some(actor) = &filter.actor {
        sql.push(" AND actor = ").bind(actor.as_str());
    }
    if let Some(resource_id) = filter.resource_id {
        sql.push(" AND resource_id = ").bind(resource_id.to_string());
    }
    if let Some(action) = &filter.action {
        sql.push(" AND action = ").bind(action.as_str());
    }
    if let Some(from) = filter.from {
        sql.push(" AND recorded_at >= ").bind(from.timestamp_micros());
    }
    if let Some(to) = filter.to {
        sql.push(" AND recorded_at < ").bind(to.timestamp_micros());
    }
    let list = CursorList::new("audit", KeyKind::Int);
    if let Some(cursor) = page.decode_for(&list)? {
        let SortValue::Int(position) = cursor.key else { return Err(ProjectionError::InvalidCursor) };
        sql.push(" AND position > ").bind(position);
    }
    let limit = page.size();
    sql.push(&format!(" ORDER BY position LIMIT {}", limit + 1));
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let entries = rows
        .iter()
        .map(|row| {
            Ok(AuditEntry {
                position: row.int(0)?.max(0) as u64,
                event_id: parse_uuid(&row.text(1)?)?,
                actor: row.opt_text(2)?,
                action: row.text(3)?,
                target: row.text(4)?,
                resource_id: row.opt_text(5)?.as_deref().map(parse_uuid).transpose()?,
                recorded_at: from_micros(row.int(6)?)?,
                client_ip: row.opt_text(7)?,
                correlation_id: row.opt_text(8)?,
                causation_id: row.opt_text(9)?,
                command_id: row.opt_text(10)?,
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
