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
