//! Login, token storage, refresh with the refresh token, logout, and scripts without a terminal.

use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

pub async fn login_refresh_logout(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    let whoami = w.run(&["whoami", "-o", "json"]);
    assert_eq!(whoami.json()["username"], "admin", "{}", whoami.stderr);
    assert_eq!(whoami.json()["role"], "admin");

    // Tokens are kept for the user's eyes only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.config.path().join("credentials.json")).expect("stored").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let first = w.credentials();
    assert!(first["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{first}");

    // An access token about to expire is refreshed before the call, and the new pair stored.
    let mut expiring = first.clone();
    expiring["expires_at"] = json!("2000-01-01T00:00:00Z");
    w.write_credentials(&expiring);
    w.run(&["whoami"]).ok();
    let second = w.credentials();
    assert_ne!(second["refresh_token"], first["refresh_token"], "the refresh token rotated");
    assert_ne!(second["access_token"], first["access_token"]);

    // A token the server refuses (401) is refreshed once and the call sent again.
    let mut refused = second.clone();
    refused["access_token"] = json!("not-a-jwt");
    w.write_credentials(&refused);
    w.run(&["whoami"]).ok();
    let third = w.credentials();
    assert_ne!(third["refresh_token"], second["refresh_token"]);

    // Several runs at once with an expiring token refresh once between them: a refresh token
    // presented twice would end the session for all.
    let mut expiring = third.clone();
    expiring["expires_at"] = json!("2000-01-01T00:00:00Z");
    w.write_credentials(&expiring);
    let children: Vec<_> = (0..4)
        .map(|_| {
            w.command(&["whoami"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    w.run(&["whoami"]).ok();
    let third = w.credentials();

    // RESERVER_TOKEN overrides the stored session (CI).
    let token = third["access_token"].as_str().expect("token").to_string();
    let other = tempfile::tempdir().expect("dir");
    let ci = w
        .command(&["whoami", "-o", "json"])
        .env("CLI_CONFIG_DIR", other.path())
        .env("RESERVER_TOKEN", &token)
        .output()
        .expect("run");
    assert!(ci.status.success(), "{}", stderr(&ci));

    // Logout revokes the session and forgets it; what was stored no longer works.
    w.run(&["logout"]).ok();
    assert_eq!(w.credentials(), serde_json::Value::Null);
    let after = w.run(&["whoami"]);
    assert_eq!(after.code, 5, "{}", after.stderr);
    assert!(after.stderr.contains("reserver login"), "{}", after.stderr);
    let mut revoked = third.clone();
    revoked["expires_at"] = json!("2000-01-01T00:00:00Z");
    w.write_credentials(&revoked);
    let stale = w.run(&["whoami"]);
    assert_eq!(stale.code, 5, "a revoked refresh token: {}", stale.stderr);
    assert_eq!(w.credentials(), serde_json::Value::Null, "a dead session is forgotten");

    // A wrong password is an authentication failure, with the server's sentence.
    let wrong = w.run_with_input(&["login", "-u", "admin", "--password-stdin"], "Wrong-Password-1!\n");
    assert_eq!(wrong.code, 5, "{}", wrong.stderr);
    assert!(wrong.stderr.starts_with("error: "), "{}", wrong.stderr);

    // Another profile has its own login.
    let elsewhere = w.run(&["--profile", "staging", "whoami"]);
    assert_eq!(elsewhere.code, 5, "{}", elsewhere.stderr);
    assert!(elsewhere.stderr.contains("profile staging"), "{}", elsewhere.stderr);
}

pub async fn scripts_are_never_prompted(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    // No terminal and no --password-stdin: a usage error naming the flag, never a hang.
    let login = w.run(&["login", "-u", "admin"]);
    assert_eq!(login.code, 2, "{}", login.stderr);
    assert!(login.stderr.contains("--password-stdin"), "{}", login.stderr);
    let nameless = w.run(&["login"]);
    assert_eq!(nameless.code, 2);
    assert!(nameless.stderr.contains("--username"), "{}", nameless.stderr);

    // Without CLI_CONFIG_DIR the tokens go to $XDG_CONFIG_HOME/reserver.
    let xdg = tempfile::tempdir().expect("dir");
    let mut login = w.command(&["login", "-u", "admin", "--password-stdin"]);
    login.env_remove("CLI_CONFIG_DIR").env("XDG_CONFIG_HOME", xdg.path()).stdin(std::process::Stdio::piped());
    let mut child =
        login.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), format!("{PASSWORD}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(xdg.path().join("reserver").join("credentials.json").exists());

    // A refused registration shows the server's sentence and its field errors.
    let weak = w.run_with_input(&["register", "-u", "bob", "--password-stdin"], "short\n");
    assert_eq!(weak.code, 1, "{}", weak.stderr);
    assert!(weak.stderr.starts_with("error: Invalid request.\n  password: "), "{}", weak.stderr);
    let ok = w.run_with_input(&["register", "-u", "bob", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert_eq!(ok.rows()[0][1], "bob", "{}", ok.stderr);
}

/// `password change`, `sessions list` and `sessions revoke --others` against the server's
/// account endpoints.
pub async fn password_and_sessions(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    // A second session of the same account, from another client.
    let other = w.server.login("admin", PASSWORD).await;
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = w.run(&["sessions", "list", "-o", "json"]).json();
        if listed.as_array().map(Vec::len) == Some(2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sessions = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "the CLI's login and the other one: {listed}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1, "{listed}");
    let revoked = w.run(&["sessions", "revoke", "--others"]);
    revoked.ok();
    assert!(revoked.stderr.contains("1 other session(s) revoked."), "{}", revoked.stderr);
    assert_eq!(w.server.get(&other, "/api/v1/users/me").send().await.expect("me").status(), 401);
    // Wrong current password: the server's sentence, and nothing changes.
    let wrong =
        w.run_with_input(&["password", "change", "--password-stdin"], "Not-The-Password-1!\nN3w-Passw0rd-Long!\n");
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("current_password"), "{}", wrong.stderr);
    let changed =
        w.run_with_input(&["password", "change", "--password-stdin"], &format!("{PASSWORD}\nN3w-Passw0rd-Long!\n"));
    changed.ok();
    assert_eq!(w.server.login_response("admin", "N3w-Passw0rd-Long!").await.status(), 200);
}

/// `reserver oauth clients create|list|rotate|disable` against the server's OAuth2 clients.
pub async fn oauth_clients(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    let created = w.run(&["oauth", "clients", "create", "door-display", "--scopes", "resources:read", "-o", "json"]);
    let created = created.json();
    let id = created["id"].as_str().expect("id").to_string();
    let secret = created["client_secret"].as_str().expect("secret shown once").to_string();
    assert_eq!(created["scopes"], serde_json::json!(["resources:read"]));

    let listed = w.run(&["oauth", "clients", "list", "-o", "json"]).json();
    assert_eq!(listed[0]["id"].as_str(), Some(id.as_str()), "{listed}");
    assert!(!listed.to_string().contains(&secret), "no secret in the listing");

    let unknown = w.run(&["oauth", "clients", "create", "x", "--scopes", "rooms:fly"]);
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("rooms:fly"), "{}", unknown.stderr);

    let rotated = w.run(&["oauth", "clients", "rotate", &id, "-o", "json"]).json();
    let new_secret = rotated["client_secret"].as_str().expect("new secret");
    assert_ne!(new_secret, secret);

    w.run(&["oauth", "clients", "disable", &id]).ok();
    let listed = w.run(&["oauth", "clients", "list", "-o", "json"]).json();
    assert_eq!(listed[0]["active"], false, "{listed}");
}

/// `mfa setup|enable|backup-codes|disable` and a login that asks for the code, by script.
pub async fn mfa_setup_and_login_with_a_code(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    let qr = w.config.path().join("mfa.svg");
    let setup = w.run(&["mfa", "setup", "--qr", qr.to_str().expect("utf-8 path"), "-o", "json"]).json();
    let secret = setup["secret"].as_str().expect("secret").to_string();
    assert!(setup["otpauth_uri"].as_str().is_some_and(|u| u.starts_with("otpauth://totp/")), "{setup}");
    assert!(std::fs::read_to_string(&qr).unwrap_or_default().contains("<svg"), "the QR code was written");

    let wrong = if totp_code(&secret, 0) == "000000" { "111111" } else { "000000" };
    let refused = w.run(&["mfa", "enable", wrong]);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);
    let enabled = w.run(&["mfa", "enable", &totp_code(&secret, 0), "-o", "json"]).json();
    let backup: Vec<String> = enabled["backup_codes"]
        .as_array()
        .map(|codes| codes.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    assert_eq!(backup.len(), 10, "{enabled}");

    // The password alone no longer logs in: a script is told which flag to use, never prompted.
    w.run(&["logout"]).ok();
    let no_code = w.run_with_input(&["login", "-u", "admin", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert_eq!(no_code.code, 2, "{}", no_code.stderr);
    assert!(no_code.stderr.contains("--code"), "{}", no_code.stderr);
    let with_backup =
        w.run_with_input(&["login", "-u", "admin", "--password-stdin", "--code", &backup[0]], &format!("{PASSWORD}\n"));
    with_backup.ok();
    assert_eq!(w.run(&["whoami", "-o", "json"]).json()["username"], "admin");
    // A backup code works once.
    w.run(&["logout"]).ok();
    let again =
        w.run_with_input(&["login", "-u", "admin", "--password-stdin", "--code", &backup[0]], &format!("{PASSWORD}\n"));
    assert_eq!(again.code, 5, "{}", again.stderr);
    w.run_with_input(&["login", "-u", "admin", "--password-stdin", "--code", &backup[1]], &format!("{PASSWORD}\n"))
        .ok();

    let renewed = w.run(&["mfa", "backup-codes", "-o", "json"]).json();
    let renewed = renewed["backup_codes"].as_array().cloned().unwrap_or_default();
    assert_eq!(renewed.len(), 10);
    assert!(!renewed.iter().any(|c| c.as_str() == Some(backup[2].as_str())), "the old codes are replaced");

    w.run_with_input(&["mfa", "disable", "--password-stdin"], &format!("{PASSWORD}\n")).ok();
    w.run(&["logout"]).ok();
    w.run_with_input(&["login", "-u", "admin", "--password-stdin"], &format!("{PASSWORD}\n")).ok();
}

/// `users list|set-role|unlock` (admins), and the refusal a non-admin gets.
pub async fn user_administration(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    w.run_with_input(&["register", "-u", "carol", "--password-stdin"], &format!("{PASSWORD}\n")).ok();
    let listed = w.run(&["users", "list", "-o", "json"]).json();
    let names: Vec<_> = listed.as_array().cloned().unwrap_or_default().iter().map(|u| u["username"].clone()).collect();
    assert!(names.contains(&json!("carol")) && names.contains(&json!("admin")), "{listed}");

    w.run(&["users", "set-role", "carol", "approver"]).ok();
    let carol = w.server.login("carol", PASSWORD).await;
    let me: Value = w.server.get(&carol, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    assert_eq!(me["role"], "approver", "{me}");
    let bad_role = w.run(&["users", "set-role", "carol", "emperor"]);
    assert_ne!(bad_role.code, 0);
    assert!(bad_role.stderr.starts_with("error: "), "{}", bad_role.stderr);
    let nobody = w.run(&["users", "unlock", "nobody-by-that-name"]);
    assert_eq!(nobody.code, 3, "{}", nobody.stderr);
    w.run(&["users", "unlock", "carol"]).ok();

    // Carol is no admin: the server's refusal, with what to do about it, and the auth exit code.
    w.run(&["logout"]).ok();
    w.run_with_input(&["login", "-u", "carol", "--password-stdin"], &format!("{PASSWORD}\n")).ok();
    let refused = w.run(&["users", "list"]);
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(refused.stderr.contains("reserver whoami"), "{}", refused.stderr);
}
