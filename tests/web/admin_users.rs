//! The admins' account screens: the list with filters, and one account's page where an admin
//! changes the role, ends a session, disables (with a confirmation) and enables the account,
//! lifts the login throttle and sets a temporary password; refusals next to their fields, and
//! nobody else allowed in.

use reqwest::StatusCode;

use crate::common::{Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::Browser;

/// The `<tr>` of the accounts table that names `username`.
fn row_of<'a>(html: &'a str, username: &str) -> &'a str {
    html.split("<tr>").find(|row| row.contains(&format!(">{username}</a>"))).unwrap_or_default()
}

pub async fn accounts_list_and_account_actions(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let dora_token = server.user("dora").await;
    server.user("doris").await;
    let me: serde_json::Value =
        server.get(&dora_token, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    let dora_id = me["id"].as_str().expect("id").to_string();
    let page = format!("/admin/users/{dora_id}");

    let admin = Browser::new(&server);
    assert_eq!(admin.login("admin", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let (status, html) = admin.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/admin/users\" aria-current=\"page\">Accounts</a>"), "in the menu: {html}");
    assert!(row_of(&html, "dora").contains("Active") && row_of(&html, "admin").contains("Admin"), "{html}");
    let (_, found) = admin.get("/admin/users?q=DORI").await;
    assert!(!row_of(&found, "doris").is_empty() && row_of(&found, "dora").is_empty(), "{found}");
    let (_, admins) = admin.get("/admin/users?role=admin").await;
    assert!(!row_of(&admins, "admin").is_empty() && row_of(&admins, "dora").is_empty(), "{admins}");

    // Nobody but an admin sees or uses these screens.
    let dora = Browser::new(&server);
    assert_eq!(dora.login("dora", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let (status, html) = dora.get("/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("href=\"/admin/users\""), "no menu entry for users: {html}");
    assert_eq!(dora.get(&page).await.0, StatusCode::FORBIDDEN);
    let r = dora.submit("/", &format!("{page}/role"), &[("role", "admin")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.post_raw(&format!("{page}/role"), &[("csrf", "forged"), ("role", "admin")]).await.status(), 403);

    // A role change.
    let r = admin.submit(&page, &format!("{page}/role"), &[("role", "approver")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get(&Browser::location(&r)).await;
    assert!(html.contains("Role changed.") && html.contains("<dd>Approver</dd>"), "{html}");
    let r = admin.submit(&page, &format!("{page}/role"), &[("role", "emperor")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap_or_default().contains("id=\"role-error\""), "named next to the role");

    // Dora's live session is listed and can be ended.
    assert!(admin.get(&page).await.1.contains("/sessions/"), "one live session");
    let (_, html) = admin.get(&page).await;
    let revoke = html
        .split("action=\"")
        .filter_map(|part| part.split('"').next())
        .find(|action| action.contains("/sessions/") && action.ends_with("/revoke"))
        .expect("an end-session form")
        .to_string();
    let r = admin.submit(&page, &revoke, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(admin.get(&Browser::location(&r)).await.1.contains("Session ended."));
    assert_eq!(dora.get("/").await.0, StatusCode::SEE_OTHER, "dora's browser is signed out");

    // Disabling asks for the box to be ticked; unticked, nothing happens.
    assert_eq!(dora.login("dora", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let r = admin.submit(&page, &format!("{page}/disable"), &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("<p class=\"field-error\" id=\"confirm-error\">Tick the box to confirm.</p>"), "{html}");
    assert_eq!(dora.get("/").await.0, StatusCode::OK, "still signed in");
    let r = admin.submit(&page, &format!("{page}/disable"), &[("confirm", "on")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get(&Browser::location(&r)).await;
    assert!(html.contains("Account disabled; its sessions have ended.") && html.contains(">Disabled</span>"), "{html}");
    assert_eq!(dora.get("/").await.0, StatusCode::SEE_OTHER, "signed out at once");
    assert_eq!(Browser::new(&server).login("dora", PASSWORD).await.status(), StatusCode::FORBIDDEN);
    let r = admin.submit(&page, &format!("{page}/enable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(admin.get(&Browser::location(&r)).await.1.contains("Account enabled."));
    assert_eq!(Browser::new(&server).login("dora", PASSWORD).await.status(), StatusCode::SEE_OTHER);

    // A temporary password must meet the policy; once set, dora must choose her own.
    let r = admin.submit(&page, &format!("{page}/reset-password"), &[("password", "short")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap_or_default().contains("id=\"password-error\""), "named next to the field");
    let r = admin.submit(&page, &format!("{page}/reset-password"), &[("password", "Temporary-Pass-42")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get(&Browser::location(&r)).await;
    assert!(html.contains("Must change password"), "{html}");
    let dora = Browser::new(&server);
    assert_eq!(dora.login("dora", "Temporary-Pass-42").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(dora.get("/reservations").await.0, StatusCode::FORBIDDEN, "the password first");
    let r = admin.submit(&page, &format!("{page}/unlock"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(admin.get(&Browser::location(&r)).await.1.contains("Login throttle lifted."));

    // An admin's own page offers neither disabling nor a password reset.
    let (_, accounts) = admin.get("/admin/users").await;
    let own = row_of(&accounts, "admin").split("href=\"").nth(1).and_then(|r| r.split('"').next()).expect("link");
    let (_, html) = admin.get(own).await;
    assert!(!html.contains("/disable\"") && !html.contains("/reset-password\""), "{html}");

    // In Spanish, the same refusal in Spanish.
    let admin_es = Browser::with_language(&server, "es");
    assert_eq!(admin_es.login("admin", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let r = admin_es.submit(&page, &format!("{page}/disable"), &[]).await;
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("Marca la casilla para confirmar.") && html.contains(">Cuentas</a>"), "{html}");
}
