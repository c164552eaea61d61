//! The audit trail's filters, each alone and combined, page by page, against the log itself;
//! and the indexes its event-type and resource filters use (the log's own, migration 0022).

#[macro_use]
mod common;

use chrono::{DateTime, Utc};
use common::*;
use reserver_projections::audit::{audit_log, audit_query, AuditEntry, AuditFilter};
use reserver_projections::decode::{metadata, stream_kind, StreamKind};
use reserver_projections::sql::DbTx;
use reserver_projections::PageRequest;
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{Backend, RecordedEvent};
use uuid::Uuid;

on_both_backends!(every_filter_selects_what_the_log_says, type_and_resource_filters_use_the_logs_indexes);

/// What the trail must hold for `filter`: the log's events, read and filtered here.
fn expected(log: &[RecordedEvent], filter: &AuditFilter) -> Vec<u64> {
    let resource = |e: &RecordedEvent| match stream_kind(&e.stream_id) {
        Some(StreamKind::Resource(id)) => Some(id),
        _ => None,
    };
    log.iter()
        .filter(|e| filter.actor.is_none() || metadata(e).actor == filter.actor)
        .filter(|e| filter.action.as_ref().is_none_or(|a| &e.event_type == a))
        .filter(|e| filter.resource_id.is_none() || resource(e) == filter.resource_id)
        .filter(|e| filter.from.is_none_or(|from| e.recorded_at >= from))
        .filter(|e| filter.to.is_none_or(|to| e.recorded_at < to))
        .map(|e| e.position)
        .collect()
}

async fn every_page(db: &reserver_store::Database, filter: &AuditFilter, size: u32) -> Vec<AuditEntry> {
    let (mut entries, mut request) = (Vec::new(), PageRequest::first(size));
    loop {
        let page = audit_log(db, filter, &request).await.expect("audit page");
        entries.extend(page.data);
        match page.next_cursor {
            Some(cursor) => request = PageRequest::after(size, cursor),
            None => return entries,
        }
    }
}

/// Actor, event type, resource and time, alone and together, paged two and seven at a time:
/// exactly the log's matching events in log order, each entry as the log records it.
async fn every_filter_selects_what_the_log_says(db: ScratchDatabase) {
    let (store, _) = live_workload(&db).await;
    let database = store.database();
    let log = store.read_all(0, 100_000).await.expect("log");
    let times: Vec<DateTime<Utc>> = log.iter().map(|e| e.recorded_at).collect();
    let middle = times[times.len() / 3];
    let later = times[2 * times.len() / 3];
    let actors = [None, Some(ALICE.to_string()), Some(ADMIN.to_string())];
    let actions = [None, Some("reservation_confirmed".to_string()), Some("resource_created".to_string())];
    let resources = [None, Some(ROOM), Some(LAB), Some(Uuid::from_u128(0xDEAD))];
    let windows = [(None, None), (Some(middle), None), (None, Some(later)), (Some(middle), Some(later))];
    let mut non_empty = 0;
    for actor in &actors {
        for action in &actions {
            for resource_id in &resources {
                for (from, to) in &windows {
                    let filter = AuditFilter {
                        actor: actor.clone(),
                        action: action.clone(),
                        resource_id: *resource_id,
                        from: *from,
                        to: *to,
                    };
                    let want = expected(&log, &filter);
                    non_empty += usize::from(!want.is_empty());
                    for size in [2, 7] {
                        let got = every_page(&database, &filter, size).await;
                        let positions: Vec<u64> = got.iter().map(|e| e.position).collect();
                        assert_eq!(positions, want, "{filter:?}, pages of {size}");
                        for entry in &got {
                            let event = &log[log.iter().position(|e| e.position == entry.position).unwrap()];
                            assert_eq!(entry.action, event.event_type);
                            assert_eq!(entry.target, event.stream_id);
                            assert_eq!(entry.event_id, event.event_id);
                        }
                    }
                }
            }
        }
    }
    // The combinations are not vacuous: most select something.
    assert!(non_empty > 40, "{non_empty}");
}

/// The statement for each of these filters, after a cursor, is planned on the log's index for
/// it: `events_type_idx` for the event type, the (stream id, version) key for a resource.
async fn type_and_resource_filters_use_the_logs_indexes(db: ScratchDatabase) {
    let (store, _) = live_workload(&db).await;
    let database = store.database();
    let backend = db.backend();
    let by_type = AuditFilter { action: Some("reservation_cancelled".into()), ..Default::default() };
    let by_resource = AuditFilter { resource_id: Some(ROOM), ..Default::default() };
    let stream_key = match backend {
        Backend::Postgres => "events_stream_version_key",
        // SQLite names the index of a table's UNIQUE constraint itself.
        Backend::Sqlite => "sqlite_autoindex_events_",
    };
    for (filter, index) in [(&by_type, "events_type_idx"), (&by_resource, stream_key)] {
        let query = audit_query(filter, Some(3), 20);
        let explain = match backend {
            Backend::Postgres => format!("EXPLAIN {}", query.sql),
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {}", query.sql),
        };
        let mut tx = DbTx::begin(&database).await.expect("begin");
        // A tiny table may be scanned whatever the indexes: make that look expensive.
        if backend == Backend::Postgres {
            tx.execute("SET LOCAL enable_seqscan = off", &[]).await.expect("set");
        }
        let plan = tx.fetch_all(&explain, &query.args).await.expect("explain");
        tx.rollback().await.expect("rollback");
        let column = if backend == Backend::Postgres { 0 } else { 3 };
        let plan: Vec<String> = plan.iter().map(|row| row.text(column).unwrap_or_default()).collect();
        assert!(plan.iter().any(|line| line.contains(index)), "{filter:?}: {plan:#?}");
    }
}
