//! TOTP setup, enabling, two-step login, replay, backup codes, throttling, disabling.

use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::support::*;

/// `POST /token`: status and body.
pub async fn password_step(s: &Server, name: &str) -> Answer {
    send(s.client.post(s.url("/api/v1/token")).form(&[("username", name), ("password", PASSWORD)])).await
}

/// `POST /token/mfa`.
pub async fn code_step(s: &Server, mfa_token: &str, code: &str) -> Answer {
    send(s.client.post(s.url("/api/v1/token/mfa")).json(&json!({ "mfa_token": mfa_token, "code": code }))).await
}

/// The `mfa_token` of a `401 mfa-required` answer.
pub async fn challenge(s: &Server, name: &str) -> String {
    let answer = password_step(s, name).await;
    assert_eq!((answer.status, answer.problem_type()), (401, "mfa-required"), "{}", answer.body);
    assert!(answer.body.get("access_token").is_none(), "no session before the code: {}", answer.body);
    answer.body["mfa_token"].as_str().expect("mfa_token").to_string()
}

/// Turns MFA on for the account of `token`; returns the secret and the backup codes.
pub async fn enable(s: &Server, token: &str) -> (String, Vec<String>) {
    let setup = post(s, token, "/api/v1/auth/mfa/setup", json!({})).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret = setup.body["secret"].as_str().expect("secret").to_string();
    let uri = setup.body["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = setup.body["qr_svg"].as_str().expect("qr_svg");
    assert!(svg.contains("<svg") && !svg.contains("<script"), "{svg}");
    let enabled = post(s, token, "/api/v1/auth/mfa/verify", json!({ "code": totp_code(&secret, 0) })).await;
    assert_eq!((enabled.status, &enabled.body["mfa_enabled"]), (200, &json!(true)), "{}", enabled.body);
    let codes: Vec<String> = serde_json::from_value(enabled.body["backup_codes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

pub async fn setup_verify_and_login_in_two_steps(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    let alice = s.user("alice").await;

    // Verify refuses before setup, and refuses a wrong code after it.
    let early = post(&s, &alice, "/api/v1/auth/mfa/verify", json!({ "code": "123456" })).await;
    assert_eq!((early.status, early.problem_type()), (409, "mfa-not-set-up"), "{}", early.body);
    let setup = post(&s, &alice, "/api/v1/auth/mfa/setup", json!({})).await;
    let secret = setup.body["secret"].as_str().expect("secret").to_string();
    let wrong = post(&s, &alice, "/api/v1/auth/mfa/verify", json!({ "code": "000000" })).await;
    let wrong_is_right = totp_code(&secret, 0) == "000000";
    if !wrong_is_right {
        assert_eq!((wrong.status, wrong.field()), (422, "code"), "{}", wrong.body);
    }
    // Setup is not in force yet: the password alone still logs in.
    assert_eq!(password_step(&s, "alice").await.status, 200);

    let (secret, backup) = enable(&s, &alice).await;
    let again = post(&s, &alice, "/api/v1/auth/mfa/setup", json!({})).await;
    assert_eq!((again.status, again.problem_type()), (409, "mfa-enabled"));

    // Login: the password answers a challenge, the code the tokens.
    let mfa_token = challenge(&s, "alice").await;
    let forged = code_step(&s, &format!("{mfa_token}x"), &totp_code(&secret, 1)).await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let next = totp_code(&secret, 1);
    let tokens = code_step(&s, &mfa_token, &next).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access = tokens.body["access_token"].as_str().expect("access token").to_string();
    assert!(tokens.body["refresh_token"].is_string());
    assert_eq!(get(&s, &access, "/api/v1/users/me").await.body["username"], "alice");

    // The same code again is refused, even with a fresh challenge.
    let replay = code_step(&s, &challenge(&s, "alice").await, &next).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(replay.body["detail"].as_str().unwrap_or_default().contains("already used"), "{}", replay.body);

    // A backup code works once (any case, with or without its dash).
    let first = backup[0].to_uppercase().replace('-', "");
    let with_backup = code_step(&s, &challenge(&s, "alice").await, &first).await;
    assert_eq!(with_backup.status, 200, "{}", with_backup.body);
    let spent = code_step(&s, &challenge(&s, "alice").await, &backup[0]).await;
    assert_eq!(spent.status, 401, "{}", spent.body);

    // Wrong codes are throttled like wrong passwords.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mfa_token = challenge(&s, "alice").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(code_step(&s, &mfa_token, "zzzzz-zzzzz").await.status);
    }
    assert!(statuses.starts_with(&[401, 401]), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    // Regenerated codes replace the old ones.
    let regenerated = post(&s, &access, "/api/v1/auth/mfa/backup-codes", json!({})).await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.body);
    let fresh: Vec<String> = serde_json::from_value(regenerated.body["backup_codes"].clone()).expect("codes");
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !backup.contains(c)));

    // Disabling needs the password (or a code); then the password alone logs in again.
    tokio::time::sleep(Duration::from_millis(1100)).await; // the throttle's delay after the wrong codes
    let refused = post(&s, &access, "/api/v1/auth/mfa/disable", json!({ "password": "Wrong-Password-1" })).await;
    assert_eq!((refused.status, refused.field()), (422, "password"), "{}", refused.body);
    let neither = post(&s, &access, "/api/v1/auth/mfa/disable", json!({})).await;
    assert_eq!(neither.status, 422, "{}", neither.body);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let off = post(&s, &access, "/api/v1/auth/mfa/disable", json!({ "password": PASSWORD })).await;
    assert_eq!((off.status, &off.body["mfa_enabled"]), (200, &json!(false)), "{}", off.body);
    assert_eq!(password_step(&s, "alice").await.status, 200);
}

/// The raw log, the audit trail and WebSocket frames never carry the secret or code hashes.
pub async fn secrets_never_leave_the_service(backend: Backend) {
    use futures::StreamExt;
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let bob = s.user("bob").await;
    let url = format!("{}/ws?token={admin}", s.base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");

    let (secret, backup) = enable(&s, &bob).await;
    let mfa_token = challenge(&s, "bob").await;
    assert_eq!(code_step(&s, &mfa_token, &backup[1]).await.status, 200);
    let disabled = post(&s, &bob, "/api/v1/auth/mfa/disable", json!({ "code": totp_code(&secret, 1) })).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let marker =
        put(&s, &admin, &format!("/api/v1/users/{}/role", user_id(&s, &bob).await), json!({ "role": "approver" }))
            .await;
    assert_eq!(marker.status, 200, "{}", marker.body);

    let hash = backup_hash(&backup[1]);
    let leaks = |text: &str| text.contains(&secret) || text.contains(&hash) || text.contains(&backup[2]);
    let events = s.get(&admin, "/api/v1/events?limit=5000").send().await.expect("events");
    assert_eq!(events.status(), 200);
    let text = events.text().await.expect("ndjson");
    assert!(text.contains("mfa_set_up") && text.contains("backup_code_used"), "the events are listed: {text}");
    assert!(!leaks(&text), "raw log leaks a secret: {text}");
    let audit = get_at(&s, &admin, "/api/v1/audit/logs?limit=500", marker.position).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert!(!leaks(&audit.body.to_string()), "{}", audit.body);

    let mut frames = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !frames.contains("user_role_changed") && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => frames.push_str(&text),
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    assert!(frames.contains("user_role_changed"), "frames arrive: {frames}");
    assert!(!leaks(&frames), "WebSocket leaks a secret: {frames}");
}

fn backup_hash(code: &str) -> String {
    use sha2::Digest;
    let normalised: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    hex::encode(sha2::Sha256::digest(normalised.as_bytes()))
}

/// The typed client (what the command-line client uses) speaks these endpoints as they are.
pub async fn the_client_library_logs_in_with_a_code(backend: Backend) {
    use reserver_client::{Client, Login};
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    reserver_client::install_crypto_provider();
    let anonymous = Client::new(&format!("{}/api/v1/", s.base_url)).expect("client");
    anonymous.register("ivan", PASSWORD).await.expect("register");
    let session = anonymous.login("ivan", PASSWORD).await.expect("login").into_session().expect("no MFA yet");
    let ivan = anonymous.clone().with_session(session);
    let setup = ivan.mfa_setup().await.expect("setup");
    assert!(setup.qr_svg.as_deref().is_some_and(|svg| svg.contains("<svg")));
    let codes = ivan.mfa_enable(&totp_code(&setup.secret, 0)).await.expect("enable");
    assert_eq!(codes.backup_codes.len(), 10);
    let Login::MfaRequired { mfa_token } = anonymous.login("ivan", PASSWORD).await.expect("password step") else {
        panic!("a code is required now");
    };
    let pair = anonymous.login_mfa(&mfa_token, &totp_code(&setup.secret, 1)).await.expect("code step");
    let ivan = anonymous.clone().with_session(pair.session());
    assert_eq!(ivan.me().await.expect("me").username, "ivan");
    assert_eq!(ivan.mfa_backup_codes().await.expect("regenerate").backup_codes.len(), 10);
    ivan.mfa_disable(None, Some(PASSWORD)).await.expect("disable");
    assert!(matches!(anonymous.login("ivan", PASSWORD).await.expect("login"), Login::Tokens(_)));
}

/// Admins require MFA for roles: an approver without it may log in but is held to MFA setup
/// (and `/users/me`, the password change, logout) until it is on, at once on every replica; other
/// roles are untouched; the change is in the audit trail.
pub async fn policy_requires_mfa_for_roles(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let vera = s.user("vera").await;
    let vera_id = user_id(&s, &vera).await;
    assert_eq!(
        put(&s, &admin, &format!("/api/v1/users/{vera_id}/role"), json!({ "role": "approver" })).await.status,
        200
    );
    let vera = s.login("vera", PASSWORD).await;
    let other = Server::start(db.url()).await;

    let policy = "/api/v1/auth/mfa/policy";
    assert_eq!(get(&s, &admin, policy).await.body, json!({ "required_roles": [] }));
    assert_eq!(get(&s, &alice, policy).await.status, 403);
    assert_eq!(put(&s, &alice, policy, json!({ "required_roles": ["approver"] })).await.status, 403);
    let unknown = put(&s, &admin, policy, json!({ "required_roles": ["wizard"] })).await;
    assert_eq!((unknown.status, unknown.field()), (422, "required_roles"), "{}", unknown.body);
    let set = put(&s, &admin, policy, json!({ "required_roles": ["approver", "approver"] })).await;
    assert_eq!((set.status, &set.body), (200, &json!({ "required_roles": ["approver"] })));

    // At once on the replica that set it, and on the other as soon as its tail brings the event.
    let refused = get(&s, &vera, "/api/v1/resources").await;
    assert_eq!((refused.status, refused.problem_type()), (403, "mfa-setup-required"), "{}", refused.body);
    let mut elsewhere = 0;
    for _ in 0..100 {
        elsewhere = get(&other, &vera, "/api/v1/resources").await.status;
        if elsewhere == 403 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(elsewhere, 403, "the policy reached the other replica");
    assert_eq!(get(&s, &vera, "/api/v1/users/me").await.status, 200, "who am I still answers");
    assert_eq!(get(&s, &alice, "/api/v1/resources").await.status, 200, "users are not concerned");
    // A fresh login is no way around it.
    let again = s.login("vera", PASSWORD).await;
    assert_eq!(get(&s, &again, "/api/v1/approvals/pending").await.problem_type(), "mfa-setup-required");

    // Turning MFA on (setup and verify are allowed) lifts it.
    enable(&s, &again).await;
    assert_eq!(get(&s, &again, "/api/v1/approvals/pending").await.status, 200);
    let mut status = 0;
    for _ in 0..100 {
        status = get(&other, &again, "/api/v1/resources").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the other replica saw MFA turned on");
    // Turning it off again brings the gate back.
    let off = post(&s, &again, "/api/v1/auth/mfa/disable", json!({ "password": PASSWORD })).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(get(&s, &again, "/api/v1/resources").await.problem_type(), "mfa-setup-required");

    // Lifting the policy; the change is audited.
    let lifted = put(&s, &admin, policy, json!({ "required_roles": [] })).await;
    assert_eq!(lifted.status, 200);
    assert_eq!(get(&s, &again, "/api/v1/resources").await.status, 200);
    let audit =
        get(&s, &admin, &format!("/api/v1/audit/logs?action=mfa_policy_set&min_position={}", lifted.position)).await;
    assert_eq!(audit.body["data"].as_array().map(Vec::len), Some(2), "{}", audit.body);
}
