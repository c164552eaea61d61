//! Admin account actions: unlock, disable, enable, password reset; non-admins refused.

use serde_json::json;

use crate::common::*;
use crate::support::*;

const TEMPORARY: &str = "Temporary-Pass-42";
const CHOSEN: &str = "My-Own-Choice-77";

pub async fn disable_ends_sessions_and_enable_restores(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let bob = s.user("bob").await;
    let bob_id = user_id(&s, &bob).await;
    assert_eq!(get(&s, &bob, "/api/v1/users/me").await.status, 200);

    let disabled = post(&s, &admin, &format!("/api/v1/users/{bob_id}/disable"), json!({})).await;
    assert_eq!((disabled.status, &disabled.body["disabled"]), (200, &json!(true)), "{}", disabled.body);
    // At once: the token of a live session is refused, and the password no longer logs in.
    let refused = get(&s, &bob, "/api/v1/users/me").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let login = s.login_response("bob", PASSWORD).await;
    assert_eq!(login.status(), 403);
    let body: serde_json::Value = login.json().await.expect("json");
    assert!(body["type"].as_str().unwrap_or_default().ends_with("/account-disabled"), "{body}");
    // A wrong password still answers the usual 401 (the state is told only to the owner).
    assert_eq!(s.login_response("bob", "Wrong-Password-1").await.status(), 401);
    let own = post(&s, &admin, &format!("/api/v1/users/{}/disable", user_id(&s, &admin).await), json!({})).await;
    assert_eq!(own.status, 409, "admins cannot lock themselves out: {}", own.body);

    let enabled = post(&s, &admin, &format!("/api/v1/users/{bob_id}/enable"), json!({})).await;
    assert_eq!((enabled.status, &enabled.body["disabled"]), (200, &json!(false)), "{}", enabled.body);
    let again = s.login("bob", PASSWORD).await;
    assert_eq!(get(&s, &again, "/api/v1/users/me").await.body["username"], "bob");
}

pub async fn unlock_clears_the_login_throttle(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let carol = s.user("carol").await;
    let carol_id = user_id(&s, &carol).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(s.login_response("carol", "Wrong-Password-1").await.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(s.login_response("carol", PASSWORD).await.status(), 429, "throttled even with the password");
    // Without a body, as the command-line client sends it.
    let unlocked = send(s.client.post(s.url(&format!("/api/v1/users/{carol_id}/unlock"))).bearer_auth(&admin)).await;
    assert_eq!((unlocked.status, &unlocked.body["unlocked"]), (200, &json!(true)), "{}", unlocked.body);
    assert_eq!(s.login_response("carol", PASSWORD).await.status(), 200);
    let missing = post(&s, &admin, &format!("/api/v1/users/{}/unlock", uuid::Uuid::new_v4()), json!({})).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
}

/// An unlock made on one replica clears the login throttle of every replica of the database:
/// the event reaches the others through the log.
pub async fn unlock_reaches_every_replica(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let first = Server::start(db.url()).await;
    let admin = first.setup_admin().await;
    let carol = first.user("carol").await;
    let carol_id = user_id(&first, &carol).await;
    let second = Server::start(db.url()).await;
    // Carol's name is throttled on the second replica (throttles are per replica, in memory).
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(second.login_response("carol", "Wrong-Password-1").await.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(second.login_response("carol", PASSWORD).await.status(), 429);
    assert_eq!(first.login_response("carol", PASSWORD).await.status(), 200, "the first replica never saw them");

    // The admin unlocks her on the first replica; the second clears its throttle from the log.
    let unlocked = post(&first, &admin, &format!("/api/v1/users/{carol_id}/unlock"), json!({})).await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.body);
    let mut status = 0;
    for _ in 0..100 {
        // A throttled attempt is refused before it is counted, so asking again costs nothing.
        status = second.login_response("carol", PASSWORD).await.status().as_u16();
        if status != 429 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the unlock reached the second replica");
}

pub async fn reset_password_forces_a_change(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let dave = s.user("dave").await;
    let dave_id = user_id(&s, &dave).await;
    let path = "/api/v1/auth/admin/reset-password";

    let weak = post(&s, &admin, path, json!({ "user_id": dave_id, "new_password": "short" })).await;
    assert_eq!((weak.status, weak.field()), (422, "new_password"), "{}", weak.body);
    let reset = post(&s, &admin, path, json!({ "user_id": dave_id, "new_password": TEMPORARY })).await;
    assert_eq!((reset.status, &reset.body["password_reset"]), (200, &json!(true)), "{}", reset.body);
    assert_eq!(get(&s, &dave, "/api/v1/users/me").await.status, 401, "sessions ended");
    assert_eq!(s.login_response("dave", PASSWORD).await.status(), 401, "the old password is gone");

    let temporary = s.login("dave", TEMPORARY).await;
    let blocked = get(&s, &temporary, "/api/v1/resources").await;
    assert_eq!((blocked.status, blocked.problem_type()), (403, "password-change-required"), "{}", blocked.body);
    assert_eq!(get(&s, &temporary, "/api/v1/users/me").await.status, 200);
    let changed = post(
        &s,
        &temporary,
        "/api/v1/users/me/password",
        json!({ "current_password": TEMPORARY, "new_password": CHOSEN }),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(get(&s, &temporary, "/api/v1/resources").await.status, 200);
    assert_eq!(s.login_response("dave", CHOSEN).await.status(), 200);
}

pub async fn only_admins_act_on_accounts(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    let erin = s.user("erin").await;
    let frank = s.user("frank").await;
    let frank_id = user_id(&s, &frank).await;
    for action in ["unlock", "disable", "enable"] {
        let refused = post(&s, &erin, &format!("/api/v1/users/{frank_id}/{action}"), json!({})).await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.body);
    }
    let reset =
        post(&s, &erin, "/api/v1/auth/admin/reset-password", json!({ "user_id": frank_id, "new_password": TEMPORARY }))
            .await;
    assert_eq!(reset.status, 403, "{}", reset.body);
    assert_eq!(get(&s, &frank, "/api/v1/users/me").await.status, 200, "nothing happened to frank");
    let anonymous = send(s.client.post(s.url(&format!("/api/v1/users/{frank_id}/disable")))).await;
    assert_eq!(anonymous.status, 401);
}
