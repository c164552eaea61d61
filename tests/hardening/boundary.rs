//! What a request must satisfy before anything else happens: JSON bodies declared as JSON,
//! bodies within the limit, no control characters, problems for every refusal.

use serde_json::json;

use crate::common::*;
use crate::support::*;

pub async fn bodies_must_be_json_and_fit(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let before = log_head(&s).await;
    let body = json!({ "name": "Room" }).to_string();

    // A JSON body sent as text/plain, or with no type at all, is what a cross-site form can send.
    for content_type in [Some("text/plain"), None, Some("application/x-www-form-urlencoded")] {
        let mut request = s.client.post(s.url("/api/v1/resources")).bearer_auth(&admin).body(body.clone());
        if let Some(t) = content_type {
            request = request.header("Content-Type", t);
        }
        let answer = send(request).await;
        assert_eq!(
            (answer.status, answer.problem_type()),
            (415, "unsupported-media-type"),
            "{content_type:?}: {}",
            answer.body
        );
    }
    // +json types are JSON.
    let merge = send(
        s.client
            .post(s.url("/api/v1/resources"))
            .bearer_auth(&admin)
            .header("Content-Type", "application/merge-patch+json")
            .body(json!({ "name": "Hall" }).to_string()),
    )
    .await;
    assert_eq!(merge.status, 201, "{}", merge.body);

    // Over the limit: 413, as problem+json, whatever the route.
    let huge = "x".repeat(2 * 1024 * 1024);
    let too_big = send(s.post(&admin, "/api/v1/resources", json!({ "name": huge }))).await;
    assert_eq!((too_big.status, too_big.problem_type()), (413, "payload-too-large"), "{}", too_big.body);
    let bytes_route = send(s.post(&admin, "/api/v1/reservations", json!({ "x": "y".repeat(2 * 1024 * 1024) }))).await;
    assert_eq!((bytes_route.status, bytes_route.problem_type()), (413, "payload-too-large"));

    // Nothing of the refused requests was written.
    assert_eq!(log_head(&s).await, before + 1, "only the +json create was written");
}

pub async fn control_characters_never_reach_the_database(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    resource(&s, &admin, json!({ "name": "Lab" })).await;
    for (path, field) in [
        ("/api/v1/resources?q=a%00b", "q"),
        ("/api/v1/resources/search?q=%00", "q"),
        ("/api/v1/audit/logs?action=x%00y", "action"),
        ("/api/v1/audit/logs?actor=%01", "actor"),
        ("/api/v1/resources?tags=lab%00", "tags"),
    ] {
        let answer = get(&s, &admin, path).await;
        assert_eq!(
            (answer.status, answer.problem_type(), answer.field()),
            (422, "validation-error", field),
            "{path}: {}",
            answer.body
        );
    }
    // A login name with a NUL byte is an invalid request, not a database error.
    let login = s.login_response("ad\u{0}min", PASSWORD).await;
    assert_eq!(login.status(), 422);
    let text = login.text().await.unwrap_or_default();
    assert!(!text.to_lowercase().contains("database") && !text.contains("0x00"), "{text}");
}

pub async fn answers_carry_safety_headers_and_problems(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let r = s.get(&admin, "/api/v1/resources").send().await.expect("list");
    assert_eq!(r.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));

    // A garbage cursor, or one from another list, is an invalid cursor.
    for cursor in ["garbage", "eyJ4IjoxfQ", "%00"] {
        let answer = get(&s, &admin, &format!("/api/v1/resources?cursor={cursor}")).await;
        assert_eq!(answer.status, 422, "{cursor}: {}", answer.body);
    }
    let garbage = get(&s, &admin, "/api/v1/resources?cursor=garbage").await;
    assert_eq!(garbage.problem_type(), "invalid-cursor", "{}", garbage.body);

    // Framework refusals are problems too.
    let wrong_method = send(request(&s, reqwest::Method::DELETE, &admin, "/api/v1/resources")).await;
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    assert!(
        wrong_method.body["type"].as_str().is_some_and(|t| t.ends_with("method-not-allowed")),
        "{}",
        wrong_method.body
    );
}

pub async fn api_viewers_work_offline(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    for page in ["/docs", "/redoc"] {
        let html = s.client.get(s.url(page)).send().await.expect("page").text().await.expect("html");
        assert!(
            !html.contains("https://") && !html.contains("http://"),
            "{page} loads something from elsewhere: {html}"
        );
        for src in html.split(['"', '\'']).filter(|p| p.starts_with("/docs/assets/")) {
            let asset = s.client.get(s.url(src)).send().await.expect("asset");
            assert_eq!(asset.status(), 200, "{src}");
            assert!(asset.bytes().await.expect("bytes").len() > 100, "{src} is served from the binary");
        }
    }
}

pub async fn unknown_fields_and_untyped_preferences_are_refused(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Room" })).await;
    let before = log_head(&s).await;
    for (path, body, field) in [
        (
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": at(30), "end_time": at(31), "comment": "x" }),
            "comment",
        ),
        (
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": at(30), "end_time": at(31), "user_id": room }),
            "user_id",
        ),
        (
            "/api/v1/waitlist",
            json!({ "resource_id": room, "desired_start": at(30), "desired_end": at(31), "flexible_time": true }),
            "flexible_time",
        ),
    ] {
        let refused = post(&s, &alice, path, body).await;
        assert_eq!((refused.status, refused.field()), (422, field), "{}", refused.body);
    }
    assert_eq!(log_head(&s).await, before, "nothing refused was written");

    for (body, field) in [
        (json!({ "favourite_colour": "blue" }), "favourite_colour"),
        (json!({ "language": ["fr"] }), "language"),
        (json!({ "language": "de" }), "language"),
        (json!({ "theme": "neon" }), "theme"),
        (json!({ "email": "x".repeat(800_000) }), "email"),
        (json!({ "time_zone": "Mars/Olympus" }), "time_zone"),
    ] {
        let refused = patch(&s, &alice, "/api/v1/users/me/preferences", body).await;
        assert_eq!((refused.status, refused.field()), (422, field), "{}", refused.body);
    }
    let many: serde_json::Map<String, serde_json::Value> = (0..40_000).map(|i| (format!("k{i}"), json!(1))).collect();
    assert_eq!(patch(&s, &alice, "/api/v1/users/me/preferences", serde_json::Value::Object(many)).await.status, 422);
    let fine = patch(&s, &alice, "/api/v1/users/me/preferences", json!({ "language": "fr", "theme": "dark" })).await;
    assert_eq!(fine.status, 200, "{}", fine.body);
}
