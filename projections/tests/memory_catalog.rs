//! The in-memory catalogue (`MemoryCatalog`, what the availability index keeps) answers the
//! resource list exactly as the catalogue read model does from SQL — every filter, sort,
//! direction and page, cursors included and accepted across the two — on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use chrono_tz::Tz;
use common::*;
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::{BookingPolicy, ResourceCommand, Role};
use reserver_projections::catalog::{self, MemoryCatalog, ResourceQuery, ResourceSort, ResourceView};
use reserver_projections::decode::{decode, DomainEvent};
use reserver_projections::{all_projectors, Page, PageRequest, ProjectionError, ProjectionRuntime, RuntimeOptions};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{Backend, EventStore};
use uuid::Uuid;

on_both_backends!(memory_list_equals_the_read_model, cursors_cross_between_memory_and_sql);

/// Names that fold alike, sort by bytes rather than by letters, or hold LIKE's wildcards.
async fn extra_resources(w: &mut Workload) {
    let extra = [
        (0x300, "zeta", ResourceKind::Desk, vec!["Quiet", "quiet"], "plain_desk"),
        (0x301, "Zeta", ResourceKind::Desk, vec!["QUIET"], "50% off"),
        (0x302, "ábaco", ResourceKind::Room, vec!["Vídeo"], "Accents: ÉTÉ"),
        (0x303, "Zeta", ResourceKind::Equipment, vec![], "by the hour_"),
        (0x304, "a_b", ResourceKind::Other, vec!["video"], "x"),
    ];
    for (n, name, kind, tags, description) in extra {
        let id = Uuid::from_u128(n);
        let details = ResourceDetails {
            name: name.into(),
            kind,
            tags: tags.into_iter().map(String::from).collect(),
            description: description.into(),
            location: String::new(),
            group_id: (n % 2 == 0).then_some(WING),
        };
        let create = ResourceCommand::CreateResource {
            resource_id: id,
            details,
            capacity: 1,
            time_zone: Tz::UTC,
            policy: BookingPolicy::default(),
            business_hours: None,
        };
        assert!(w.resource(id, ADMIN, Role::Admin, create).await);
    }
    let maintenance = ResourceCommand::SetStatus { status: ResourceStatus::Maintenance };
    assert!(w.resource(Uuid::from_u128(0x301), ADMIN, Role::Admin, maintenance).await);
}

fn queries() -> Vec<ResourceQuery> {
    let mut out = Vec::new();
    for sort in [ResourceSort::Name, ResourceSort::Status, ResourceSort::Created] {
        for descending in [false, true] {
            out.push(ResourceQuery { sort, descending, ..Default::default() });
            out.push(ResourceQuery { sort, descending, tags: vec!["quiet".into()], ..Default::default() });
        }
    }
    let filters = [
        ResourceQuery { tags: vec!["VIDEO".into()], ..Default::default() },
        ResourceQuery { tags: vec!["vídeo".into()], ..Default::default() },
        ResourceQuery { tags: vec!["video".into(), "projector".into()], ..Default::default() },
        ResourceQuery { kind: Some(ResourceKind::Room), ..Default::default() },
        ResourceQuery { kind: Some(ResourceKind::Desk), descending: true, ..Default::default() },
        ResourceQuery { status: Some("retired".into()), ..Default::default() },
        ResourceQuery { status: Some("maintenance".into()), ..Default::default() },
        ResourceQuery { status: Some("available".into()), sort: ResourceSort::Created, ..Default::default() },
        ResourceQuery { group_id: Some(BUILDING), include_subgroups: true, ..Default::default() },
        ResourceQuery { group_id: Some(BUILDING), ..Default::default() },
        ResourceQuery { group_id: Some(WING), ..Default::default() },
        ResourceQuery { group_id: Some(Uuid::from_u128(0xdead)), include_subgroups: true, ..Default::default() },
        ResourceQuery { text: Some("100%".into()), ..Default::default() },
        ResourceQuery { text: Some("_".into()), ..Default::default() },
        ResourceQuery { text: Some("%".into()), ..Default::default() },
        ResourceQuery { text: Some("été".into()), ..Default::default() },
        ResourceQuery { text: Some("BY THE HOUR".into()), tags: vec!["video".into()], ..Default::default() },
        ResourceQuery { text: Some("zeta\nplain".into()), ..Default::default() },
    ];
    out.extend(filters);
    out
}

/// The workload's log, projected (SQL) and folded into a `MemoryCatalog`.
async fn both(db: &ScratchDatabase) -> (std::sync::Arc<dyn EventStore>, MemoryCatalog) {
    let store = db.open().await;
    let options = RuntimeOptions { poll_interval: Duration::from_millis(50), ..RuntimeOptions::default() };
    let handle = ProjectionRuntime::start_with(store.clone(), all_projectors(), options).await.unwrap();
    let mut workload = Workload::new(store.clone());
    mixed_workload(&mut workload).await;
    extra_resources(&mut workload).await;
    handle.wait_for(workload.last_position, Duration::from_secs(20)).await.unwrap();
    handle.shutdown().await;
    let mut memory = MemoryCatalog::new();
    for event in store.read_all(0, 100_000).await.unwrap() {
        match decode(&event) {
            Some(DomainEvent::Resource { resource_id, event }) => memory.apply_resource(resource_id, &event),
            Some(DomainEvent::Group { group_id, event }) => memory.apply_group(group_id, &event),
            _ => {}
        }
    }
    (store, memory)
}

fn ids(page: &Page<ResourceView>) -> Vec<Uuid> {
    page.data.iter().map(|v| v.resource_id).collect()
}

async fn memory_list_equals_the_read_model(db: ScratchDatabase) {
    let (store, memory) = both(&db).await;
    let sql_db = store.database();
    assert_eq!(memory.len(), 9);
    for query in queries() {
        for size in [1, 2, 3, 50] {
            let (mut sql_page, mut memory_page) = (PageRequest::first(size), PageRequest::first(size));
            let mut seen = 0;
            loop {
                let from_sql = catalog::list_resources(&sql_db, &query, &sql_page).await.unwrap();
                let from_memory = memory.list(&query, &memory_page).unwrap();
                assert_eq!(from_memory, from_sql, "{query:?}, page size {size}, after {seen} rows");
                seen += from_sql.data.len();
                match from_sql.next_cursor {
                    Some(cursor) => {
                        sql_page = PageRequest::after(size, cursor.clone());
                        memory_page = PageRequest::after(size, cursor);
                    }
                    None => break,
                }
            }
        }
    }
    // The whole list by name, as the byte order of the folded names (then ids) has it.
    let all = memory.list(&ResourceQuery::default(), &PageRequest::first(50)).unwrap();
    let names: Vec<&str> = all.data.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["a_b", "desk pool", "Old 100% room", "Room Blue", "Wet lab", "zeta", "Zeta", "Zeta", "ábaco"],
        "{all:?}"
    );
    // Errors are the read model's.
    let bad = ResourceQuery { status: Some("gone".into()), ..Default::default() };
    assert!(matches!(memory.list(&bad, &PageRequest::first(5)), Err(ProjectionError::InvalidQuery(_))));
    assert!(matches!(
        memory.list(&ResourceQuery::default(), &PageRequest::after(5, "garbage")),
        Err(ProjectionError::InvalidCursor)
    ));
    // A single resource is the read model's document, retirement reason and dates included.
    for id in [ROOM, DESKS, LAB, OLD, Uuid::from_u128(0x301)] {
        assert_eq!(memory.get(id), catalog::get_resource(&sql_db, id).await.unwrap().as_ref());
    }
    assert_eq!(memory.get(OLD).and_then(|v| v.retired_reason.as_deref()), Some("demolished"));
}

async fn cursors_cross_between_memory_and_sql(db: ScratchDatabase) {
    let (store, memory) = both(&db).await;
    let sql_db = store.database();
    for query in [
        ResourceQuery::default(),
        ResourceQuery { sort: ResourceSort::Created, descending: true, ..Default::default() },
        ResourceQuery { sort: ResourceSort::Status, ..Default::default() },
    ] {
        let first = catalog::list_resources(&sql_db, &query, &PageRequest::first(4)).await.unwrap();
        let cursor = first.next_cursor.clone().expect("more than 4 resources");
        let rest_memory = memory.list(&query, &PageRequest::after(50, cursor.clone())).unwrap();
        let rest_sql = catalog::list_resources(&sql_db, &query, &PageRequest::after(50, cursor)).await.unwrap();
        assert_eq!(ids(&rest_memory), ids(&rest_sql));
        assert_eq!(ids(&first).len() + ids(&rest_memory).len(), 9);
        let first = memory.list(&query, &PageRequest::first(4)).unwrap();
        let cursor = first.next_cursor.expect("more than 4 resources");
        let rest_sql = catalog::list_resources(&sql_db, &query, &PageRequest::after(50, cursor)).await.unwrap();
        assert_eq!(ids(&rest_sql), ids(&rest_memory));
    }
    // A cursor of one list is refused by another, in memory as in SQL.
    let by_name = memory.list(&ResourceQuery::default(), &PageRequest::first(2)).unwrap();
    let other = ResourceQuery { descending: true, ..Default::default() };
    let cursor = by_name.next_cursor.expect("more than 2");
    assert!(matches!(memory.list(&other, &PageRequest::after(2, cursor.clone())), Err(ProjectionError::InvalidCursor)));
    assert!(catalog::list_resources(&sql_db, &other, &PageRequest::after(2, cursor)).await.is_err());
}
