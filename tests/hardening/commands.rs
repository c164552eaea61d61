//! Commands address their aggregate through the write side: an id a `201` just returned is
//! actionable at once, never a `404` while a read model catches up. Each scenario acts right
//! after the create, several times over, so a read-model lookup would lose the race.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::common::*;
use crate::support::*;

/// Local wall-clock start `days` from now at `hour`:00 (resources here are in UTC).
fn local(days: i64, hour: u32) -> String {
    (Utc::now().date_naive() + Duration::days(days))
        .and_hms_opt(hour, 0, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

pub async fn ids_are_actionable_right_after_their_create(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let approver = s.user("ann").await;
    let ann_id = user_id(&s, &approver).await;
    let promoted = put(&s, &admin, &format!("/api/v1/users/{ann_id}/role"), json!({ "role": "approver" })).await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let approver = s.login("ann", PASSWORD).await;
    let room = resource(&s, &admin, json!({ "name": "Room" })).await;
    let vault = resource(&s, &admin, json!({ "name": "Vault" })).await;
    let settings = format!("/api/v1/approvals/resources/{vault}/settings");
    assert_eq!(put(&s, &admin, &settings, json!({ "requires_approval": true })).await.status, 200);

    for round in 0..6i64 {
        // A series, cancelled at once.
        let series = post(
            &s,
            &alice,
            "/api/v1/reservations/recurring",
            json!({ "resource_id": room, "rrule": "FREQ=DAILY;COUNT=2", "start_local": local(2 + 3 * round, 8),
                    "duration_minutes": 30 }),
        )
        .await;
        assert_eq!(series.status, 201, "{}", series.body);
        let cancel = post(
            &s,
            &alice,
            &format!("/api/v1/reservations/series/{}/cancel", series.body["series_id"].as_str().unwrap_or_default()),
            json!({}),
        )
        .await;
        assert_eq!(cancel.status, 200, "round {round}: {}", cancel.body);

        // A request needing approval, answered at once.
        let requested = book(&s, &alice, &vault, &at(30 + round), &at(31 + round)).await;
        assert_eq!(requested.status, 201, "{}", requested.body);
        let respond =
            post(&s, &approver, &format!("/api/v1/approvals/{}/respond", requested.id()), json!({ "approved": true }))
                .await;
        assert_eq!(respond.status, 200, "round {round}: {}", respond.body);

        // A waitlist entry, left at once (the read-your-writes header changes nothing here).
        let joined = post(
            &s,
            &alice,
            "/api/v1/waitlist",
            json!({ "resource_id": vault, "desired_start": at(30 + round), "desired_end": at(31 + round) }),
        )
        .await;
        assert_eq!(joined.status, 201, "{}", joined.body);
        let left = send(
            request(&s, reqwest::Method::DELETE, &alice, &format!("/api/v1/waitlist/{}", joined.id()))
                .header("X-Min-Position", joined.position.to_string()),
        )
        .await;
        assert_eq!(left.status, 200, "round {round}: {}", left.body);

        // A booking cancelled at once.
        let booked = book(&s, &alice, &room, &at(200 + round), &at(201 + round)).await;
        let cancelled = post(&s, &alice, &format!("/api/v1/reservations/{}/cancel", booked.id()), json!({})).await;
        assert_eq!(cancelled.status, 200, "round {round}: {}", cancelled.body);
    }

    // Someone else's ids stay "not found" to a plain user.
    let bob = s.user("bob").await;
    let booked = book(&s, &alice, &room, &at(300), &at(301)).await;
    let probe = post(&s, &bob, &format!("/api/v1/reservations/{}/cancel", booked.id()), json!({})).await;
    assert_eq!(probe.status, 404, "{}", probe.body);
}

/// A catalog that cannot keep up (here: its table locked by a long transaction) does not turn
/// accepted writes into errors: a resource created or changed meanwhile is answered from its
/// aggregate once the read model has been waited for. (SQLite has no table locks; there the
/// writes are answered from the read model as usual.)
pub async fn writes_are_answered_while_the_catalog_lags(backend: Backend) {
    use sqlx::Connection;
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let mut lock = None;
    if backend == Backend::Postgres {
        let mut connection = sqlx::PgConnection::connect(db.url()).await.expect("connect");
        sqlx::query("BEGIN").execute(&mut connection).await.expect("begin");
        sqlx::query("LOCK TABLE rm_resources IN ACCESS EXCLUSIVE MODE").execute(&mut connection).await.expect("lock");
        lock = Some(connection);
    }
    let created = post(&s, &admin, "/api/v1/resources", json!({ "name": "Made meanwhile", "capacity": 2 })).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!((created.body["name"].as_str(), created.body["capacity"].as_u64()), (Some("Made meanwhile"), Some(2)));
    let id = created.body["id"].as_str().expect("id").to_string();
    let changed = patch(&s, &admin, &format!("/api/v1/resources/{id}"), json!({ "name": "Renamed" })).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Renamed");
    if let Some(mut connection) = lock {
        sqlx::query("ROLLBACK").execute(&mut connection).await.expect("unlock");
    }
    // Once the catalog catches up, it shows the same.
    let shown = get_at(&s, &admin, &format!("/api/v1/resources/{id}"), changed.position).await;
    assert_eq!((shown.status, shown.body["name"].as_str()), (200, Some("Renamed")));
}
