//! The caller's preferences, reopening setup, and account administration.

use serde_json::json;

use crate::common::*;
use crate::support::*;

pub async fn preferences(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let path = "/api/v1/users/me/preferences";

    let me = get(&s, &alice, "/api/v1/users/me").await;
    assert_eq!((me.body["username"].as_str(), me.body["role"].as_str()), (Some("alice"), Some("user")));
    assert_eq!(me.body["preferences"], json!({}));

    let first = patch(&s, &alice, path, json!({ "language": "es", "reminder_minutes": 30 })).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["preferences"], json!({ "language": "es", "reminder_minutes": 30 }));
    let merged = patch(&s, &alice, path, json!({ "email": "alice@example.org", "reminder_minutes": 60 })).await;
    let expected = json!({ "language": "es", "email": "alice@example.org", "reminder_minutes": 60 });
    assert_eq!((merged.status, &merged.body["preferences"]), (200, &expected));
    assert_eq!(get(&s, &alice, "/api/v1/users/me").await.body["preferences"], expected);

    // Invalid values name their field and change nothing.
    for (bad, field) in [
        (json!({ "reminder_minutes": -5 }), "reminder_minutes"),
        (json!({ "reminder_minutes": 10_081 }), "reminder_minutes"),
        (json!({ "reminder_minutes": "soon", "language": "fr" }), "reminder_minutes"),
        (json!({ "email": "not-an-address" }), "email"),
        (json!({ "email_notifications": "yes" }), "email_notifications"),
        (json!(["language", "fr"]), "body"),
    ] {
        let refused = patch(&s, &alice, path, bad.clone()).await;
        assert_eq!((refused.status, refused.field()), (422, field), "{bad}: {}", refused.body);
    }
    assert_eq!(get(&s, &alice, "/api/v1/users/me").await.body["preferences"], expected);

    // Null clears an email; preferences are per account.
    let cleared = patch(&s, &alice, path, json!({ "email": null, "email_notifications": false })).await;
    assert_eq!(cleared.body["preferences"]["email"], serde_json::Value::Null);
    assert_eq!(cleared.body["preferences"]["language"], "es");
    assert_eq!(get(&s, &bob, "/api/v1/users/me").await.body["preferences"], json!({}));
    let anonymous = s.client.patch(s.url(path)).json(&json!({ "language": "en" })).send().await.expect("patch");
    assert_eq!(anonymous.status(), 401);
}

async fn status(s: &Server) -> serde_json::Value {
    let r = s.client.get(s.url("/api/v1/setup/status")).send().await.expect("status");
    r.json().await.expect("json")
}

async fn initialize(s: &Server, username: &str) -> Answer {
    send(s.client.post(s.url("/api/v1/setup/initialize")).json(&json!({ "username": username, "password": PASSWORD })))
        .await
}

async fn unlock(s: &Server, token: Option<&str>) -> Answer {
    let mut request = s.client.post(s.url("/api/v1/setup/unlock"));
    if let Some(token) = token {
        request = request.header("X-Setup-Token", token);
    }
    send(request).await
}

pub async fn setup_unlock(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let first_admin = s.setup_admin().await;

    let again = initialize(&s, "root").await;
    assert_eq!((again.status, again.problem_type()), (409, "setup-complete"));
    for token in [None, Some("wrong"), Some("reopen-me-not"), Some("")] {
        let refused = unlock(&s, token).await;
        assert_eq!((refused.status, refused.problem_type()), (403, "forbidden"), "{token:?}");
    }
    assert_eq!(status(&s).await, json!({ "setup_complete": true }));

    let reopened = unlock(&s, Some("reopen-me")).await;
    assert_eq!((reopened.status, &reopened.body), (200, &json!({ "setup_complete": false })));
    assert!(reopened.position > 0);
    assert_eq!(status(&s).await, json!({ "setup_complete": false }));

    let second = initialize(&s, "root").await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!((second.body["username"].as_str(), second.body["role"].as_str()), (Some("root"), Some("admin")));
    assert_eq!(status(&s).await, json!({ "setup_complete": true }));
    assert_eq!(initialize(&s, "third").await.status, 409, "initialize works once per reopening");

    // The new admin administers; the first admin still exists and works.
    let root = s.login("root", PASSWORD).await;
    // The account listing is a read model: ask for it as of the second admin's creation.
    let users = get_at(&s, &root, "/api/v1/users", second.position).await;
    assert_eq!(users.status, 200);
    let mut names: Vec<_> = users.body.as_array().expect("users").iter().map(|u| u["username"].clone()).collect();
    names.sort_by_key(|n| n.to_string());
    assert_eq!(names, [json!("admin"), json!("root")]);
    assert_eq!(get(&s, &first_admin, "/api/v1/users").await.status, 200);

    // Reopening does not let anyone take an existing username.
    assert_eq!(unlock(&s, Some("reopen-me")).await.status, 200);
    let taken = initialize(&s, "ADMIN").await;
    assert_eq!((taken.status, taken.problem_type()), (409, "username-taken"));
    assert_eq!(status(&s).await, json!({ "setup_complete": false }));
}

pub async fn user_administration(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let alice_id = user_id(&s, &alice).await;

    assert_eq!(get(&s, &alice, "/api/v1/users").await.status, 403);
    let granted = put(&s, &admin, &format!("/api/v1/users/{alice_id}/role"), json!({ "role": "auditor" })).await;
    assert_eq!((granted.status, granted.body["role"].as_str()), (200, Some("auditor")));
    let users = get_at(&s, &admin, "/api/v1/users", granted.position).await;
    let alice_row = users.body.as_array().expect("users").iter().find(|u| u["username"] == "alice").cloned();
    let alice_row = alice_row.expect("alice listed");
    assert_eq!((alice_row["role"].as_str(), alice_row["user_id"].as_str()), (Some("auditor"), Some(alice_id.as_str())));
    let bad_role = put(&s, &admin, &format!("/api/v1/users/{alice_id}/role"), json!({ "role": "overlord" })).await;
    assert_eq!((bad_role.status, bad_role.field()), (422, "body"));

    // The role counts from the next login: an auditor reads the audit trail as JSON.
    let auditor = s.login("alice", PASSWORD).await;
    // Both the logs query and the export wait for the grant's position.
    let logs = get_at(&s, &auditor, "/api/v1/audit/logs?action=role_granted", granted.position).await;
    assert_eq!(logs.body["data"].as_array().map(Vec::len), Some(1), "{}", logs.body);
    let audit = get_at(&s, &auditor, "/api/v1/audit/export/json?action=role_granted", granted.position).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let entries = audit.body.as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{}", audit.body);
    assert_eq!(entries[0]["action"], "role_granted");
    assert!(entries[0]["target"].as_str().unwrap_or_default().contains(&alice_id), "{}", audit.body);
    assert_eq!(get(&s, &auditor, "/api/v1/users").await.status, 403, "auditors do not administer accounts");
}
