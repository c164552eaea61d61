//! Reservation queries: mine (upcoming / past / all), by resource, by time range, history,
//! series, waitlists and the approval queue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reserver_domain::ResourceEvent;
use reserver_domain::TimeRange;
use reserver_store::{log_index, Database};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ReservationView, SeriesView, WaitlistView};
use crate::error::ProjectionError;
use crate::page::{into_page, CursorKey, CursorList, KeyKind, Page, PageRequest, SortValue};
use crate::sql::{backend_of, fetch_all, placeholders, DbRow, SqlBuilder, Value};

/// Which of a user's reservations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeScope {
    /// Not yet ended at `now`, soonest first.
    #[default]
    Upcoming,
    /// Ended at or before `now`, latest first.
    Past,
    /// Everything, by start.
    All,
}

fn parse_docs<T: serde::de::DeserializeOwned>(rows: &[DbRow]) -> Result<Vec<T>, ProjectionError> {
    rows.iter().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).collect()
}

/// Runs `sql` (already filtered) ordered by start time with keyset pagination; `list` names
/// the query, so its cursors are accepted by it alone.
async fn page_by_start(
    db: &Database,
    list: &str,
    mut sql: SqlBuilder,
    descending: bool,
    page: &PageRequest,
) -> Result<Page<ReservationView>, ProjectionError> {
    let list = CursorList::new(format!("{list}/{}", if descending { "desc" } else { "asc" }), KeyKind::Int);
    if let Some(cursor) = page.decode_for(&list)? {
        cursor.push_after(&mut sql, "start_at", "reservation_id", descending);
    }
    let direction = if descending { "DESC" } else { "ASC" };
    let limit = page.size();
    sql.push(&format!(" ORDER BY start_at {direction}, reservation_id {direction} LIMIT {}", limit + 1));
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let views: Vec<ReservationView> = parse_docs(&rows)?;
    Ok(into_page(views, limit, &list, |v| CursorKey {
        key: SortValue::Int(v.range.start().timestamp_micros()),
        id: v.reservation_id.to_string(),
    }))
}

/// One reservation by id.
pub async fn get_reservation(db: &Database, reservation_id: Uuid) -> Result<Option<ReservationView>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_reservations WHERE reservation_id = $1",
        &[reservation_id.to_string().into()],
    )
    .await?;
    Ok(parse_docs(&rows)?.into_iter().next())
}

/// A user's reservations (every status).
pub async fn reservations_for_user(
    db: &Database,
    user_id: Uuid,
    scope: TimeScope,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<Page<ReservationView>, ProjectionError> {
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_reservations WHERE user_id = ");
    sql.bind(user_id.to_string());
    match scope {
        TimeScope::Upcoming => {
            sql.push(" AND end_at > ").bind(now.timestamp_micros());
        }
        TimeScope::Past => {
            sql.push(" AND end_at <= ").bind(now.timestamp_micros());
        }
        TimeScope::All => {}
    }
    let list = match scope {
        TimeScope::Upcoming => "reservations/user/upcoming",
        TimeScope::Past => "reservations/user/past",
        TimeScope::All => "reservations/user/all",
    };
    page_by_start(db, list, sql, scope == TimeScope::Past, page).await
}

fn push_overlap(sql: &mut SqlBuilder, window: &TimeRange) {
    sql.push(" AND start_at < ").bind(window.end().timestamp_micros());
    sql.push(" AND end_at > ").bind(window.start().timestamp_micros());
}

/// A resource's reservations, optionally only those overlapping `window`.
pub async fn reservations_for_resource(
    db: &Database,
    resource_id: Uuid,
    window: Option<TimeRange>,
    page: &PageRequest,
) -> Result<Page<ReservationView>, ProjectionError> {
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_reservations WHERE resource_id = ");
    sql.bind(resource_id.to_string());
    if let Some(window) = window {
        push_overlap(&mut sql, &window);
    }
    page_by_start(db, "reservations/resource", sql, false, page).await
}

/// Every reservation overlapping `window`, across resources.
pub async fn reservations_in_range(
    db: &Database,
    window: TimeRange,
    page: &PageRequest,
) -> Result<Page<ReservationView>, ProjectionError> {
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_reservations WHERE 1 = 1");
    push_overlap(&mut sql, &window);
    page_by_start(db, "reservations/range", sql, false, page).await
}

/// Pending approvals (optionally of one resource, never of `excluded_resources`), soonest start
/// first: the approvers' queue.
pub async fn pending_approvals(
    db: &Database,
    resource_id: Option<Uuid>,
    excluded_resources: &[Uuid],
    page: &PageRequest,
) -> Result<Page<ReservationView>, ProjectionError> {
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_reservations WHERE status = 'pending_approval'");
    if let Some(resource_id) = resource_id {
        sql.push(" AND resource_id = ").bind(resource_id.to_string());
    }
    if !excluded_resources.is_empty() {
        sql.push(" AND resource_id NOT IN (");
        for (i, id) in excluded_resources.iter().enumerate() {
            if i > 0 {
                sql.push(",");
            }
            sql.bind(id.to_string());
        }
        sql.push(")");
    }
    page_by_start(db, "approvals/pending", sql, false, page).await
}

/// One event in a reservation's life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub position: u64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// The event as recorded, secrets redacted (`redaction`).
    pub event: serde_json::Value,
}

/// `WHERE` terms selecting the events about the reservation(s) `ids` names, through the log's
/// own index (migration 0021): `ids` is `= $1` or `IN (…)`.
fn reservation_events(db: &Database, ids: &str) -> String {
    format!(
        "{} {ids} AND {} AND stream_id LIKE 'resource-%'",
        log_index::reservation_of_event(backend_of(db)),
        log_index::event_type_in(&ResourceEvent::RESERVATION_EVENT_TYPES)
    )
}

/// Every event of a reservation, in log order, read from the log itself (every resource event
/// about a reservation carries its `reservation_id`, and migration 0021 indexes it): current the
/// moment an event is recorded, with no read model in between. `at` is the event's own time.
///
/// # Errors
/// [`ProjectionError::Corrupt`] if a recorded event of the reservation has no valid `at` (every
/// resource event has its time of decision there).
pub async fn reservation_history(db: &Database, reservation_id: Uuid) -> Result<Vec<HistoryEntry>, ProjectionError> {
    let sql = format!(
        "SELECT position, event_type, CAST(payload AS TEXT) FROM events WHERE {} ORDER BY position",
        reservation_events(db, "= $1")
    );
    let rows = fetch_all(db, &sql, &[reservation_id.to_string().into()]).await?;
    rows.iter()
        .map(|row| {
            let position = row.int(0)?;
            let mut event: serde_json::Value = serde_json::from_str(&row.text(2)?)?;
            let at = event.get("at").and_then(|at| DateTime::<Utc>::deserialize(at).ok()).ok_or_else(|| {
                ProjectionError::Corrupt(format!(
                    "history of {reservation_id}: event at position {position} has no `at`"
                ))
            })?;
            // Handed out as recorded, so through the redaction rule like every outward event.
            crate::redaction::redact_value(&mut event);
            Ok(HistoryEntry { position: position.max(0) as u64, event_type: row.text(1)?, at, event })
        })
        .collect()
}

/// How many events each of `reservation_ids` has had (ids without any are absent), counted in
/// the log like [`reservation_history`]. The first event creates a reservation, so this minus
/// one counts its changes: a calendar's SEQUENCE.
pub async fn history_lengths(db: &Database, reservation_ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, ProjectionError> {
    let mut lengths = HashMap::with_capacity(reservation_ids.len());
    let reservation = log_index::reservation_of_event(backend_of(db));
    for chunk in reservation_ids.chunks(500) {
        let ids = format!("IN ({})", placeholders(1, chunk.len()));
        let sql = format!(
            "SELECT {reservation}, COUNT(*) FROM events WHERE {} GROUP BY {reservation}",
            reservation_events(db, &ids)
        );
        let args: Vec<Value> = chunk.iter().map(|id| Value::Text(id.to_string())).collect();
        for row in fetch_all(db, &sql, &args).await? {
            let id = Uuid::parse_str(&row.text(0)?).map_err(|e| ProjectionError::Corrupt(e.to_string()))?;
            lengths.insert(id, u64::try_from(row.int(1)?).unwrap_or(0));
        }
    }
    Ok(lengths)
}

/// A series with the current state of each booked occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesDetail {
    #[serde(flatten)]
    pub series: SeriesView,
    /// The occurrences' reservations, by start.
    pub reservations: Vec<ReservationView>,
}

/// One series and its occurrences.
pub async fn get_series(db: &Database, series_id: Uuid) -> Result<Option<SeriesDetail>, ProjectionError> {
    let key = series_id.to_string();
    let rows = fetch_all(db, "SELECT doc FROM rm_series WHERE series_id = $1", &[key.clone().into()]).await?;
    let Some(series) = parse_docs::<SeriesView>(&rows)?.into_iter().next() else {
        return Ok(None);
    };
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_reservations WHERE series_id = $1 ORDER BY start_at, reservation_id",
        &[key.into()],
    )
    .await?;
    Ok(Some(SeriesDetail { series, reservations: parse_docs(&rows)? }))
}

/// A user's series, newest first.
pub async fn series_for_user(db: &Database, user_id: Uuid) -> Result<Vec<SeriesView>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_series WHERE user_id = $1 ORDER BY created_at DESC, series_id DESC",
        &[user_id.to_string().into()],
    )
    .await?;
    parse_docs(&rows)
}

/// A resource's waitlist in queue order.
pub async fn waitlist_for_resource(db: &Database, resource_id: Uuid) -> Result<Vec<WaitlistView>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_waitlist WHERE resource_id = $1 ORDER BY seq",
        &[resource_id.to_string().into()],
    )
    .await?;
    parse_docs(&rows)
}

/// A user's waitlist entries across resources, with their queue positions.
pub async fn waitlist_for_user(db: &Database, user_id: Uuid) -> Result<Vec<WaitlistView>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_waitlist WHERE user_id = $1 ORDER BY resource_id, seq",
        &[user_id.to_string().into()],
    )
    .await?;
    parse_docs(&rows)
}
