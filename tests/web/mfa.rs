//! Two-step verification: the `/mfa` page (setup with the QR code, enabling with a code, the
//! backup codes shown once, replacing them, turning it off) and the code step of the login form.

use reqwest::StatusCode;

use crate::common::{totp_code, Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::{csrf_of, Browser};

/// The text between `start` and the next `end` in `html`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("no {start} in {html}"));
    html[from..].split(end).next().unwrap_or_default()
}

async fn post_form(browser: &Browser, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.client.post(format!("{}{action}", browser.base)).form(fields).send().await.expect("POST")
}

pub async fn two_step_verification_page_and_login(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    server.user("gina").await;
    let gina = Browser::new(&server);
    assert_eq!(gina.login("gina", PASSWORD).await.status(), StatusCode::SEE_OTHER);

    let (status, html) = gina.get("/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Two-step verification</h1>") && html.contains("href=\"/mfa\""), "{html}");
    assert!(html.contains("Two-step verification is off."), "{html}");
    assert_eq!(gina.post_raw("/mfa/setup", &[("csrf", "forged")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(Browser::new(&server).get("/mfa").await.0, StatusCode::SEE_OTHER, "signed-in only");

    // Setup shows the QR code inline and the secret as text.
    let r = gina.submit("/mfa", "/mfa/setup", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    let qr = between(&html, "<div class=\"mfa-qr\"", "</div>");
    assert!(qr.contains("<svg") && !qr.contains("<?xml") && !qr.contains("<script"), "{qr}");
    let secret = between(&html, "<code id=\"mfa-secret\">", "<").to_string();
    assert_eq!(secret.len(), 32, "{secret}");

    // A wrong code is named next to its field; the right one turns MFA on and shows the codes once.
    let wrong = if totp_code(&secret, 0) == "000000" { "111111" } else { "000000" };
    let r = gina.submit("/mfa", "/mfa/enable", &[("code", wrong)]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("<p class=\"field-error\" id=\"code-error\">This code is not valid.</p>"), "{html}");
    assert!(html.contains("aria-describedby=\"code-error\""), "{html}");
    let r = gina.submit("/mfa", "/mfa/enable", &[("code", &totp_code(&secret, 0))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    let codes: Vec<String> = between(&html, "<ul class=\"mfa-codes\" id=\"backup-codes\">", "</ul>")
        .split("<code>")
        .skip(1)
        .filter_map(|part| part.split('<').next().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    assert!(html.contains("Two-step verification is on."), "{html}");
    let (_, later) = gina.get("/mfa").await;
    assert!(!later.contains(&codes[0]) && later.contains("Unused backup codes: 10"), "shown once: {later}");

    // Login asks for a code after the password; no session before it.
    let other = Browser::with_language(&server, "es");
    let r = other.login("gina", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let step = r.text().await.unwrap_or_default();
    assert!(step.contains("action=\"/login/mfa\"") && step.contains("name=\"code\""), "{step}");
    assert_eq!(other.get("/mfa").await.0, StatusCode::SEE_OTHER, "not signed in yet");
    let token = between(&step, "name=\"mfa_token\" value=\"", "\"").to_string();
    let csrf = csrf_of(&step);
    let forged = post_form(&other, "/login/mfa", &[("csrf", "forged"), ("mfa_token", &token), ("code", "1")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let r = post_form(&other, "/login/mfa", &[("csrf", &csrf), ("mfa_token", &token), ("code", "999999")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"code-error\">Este código no es válido.</p>"), "in Spanish, by the field: {html}");
    assert!(html.contains(&format!("value=\"{token}\"")), "the challenge is kept: {html}");
    let r =
        post_form(&other, "/login/mfa", &[("csrf", &csrf_of(&html)), ("mfa_token", &token), ("code", &codes[0])]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(other.get("/mfa").await.0, StatusCode::OK, "signed in");

    // Replace the backup codes, then turn MFA off with the password.
    let r = gina.submit("/mfa", "/mfa/backup-codes", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"backup-codes\"") && !html.contains(&codes[1]), "{html}");
    let r = gina.submit("/mfa", "/mfa/disable", &[("code", ""), ("password", "Wrong-Password-1")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap_or_default().contains("id=\"password-error\""));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = gina.submit("/mfa", "/mfa/disable", &[("code", ""), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap_or_default().contains("Two-step verification is off."));
    assert_eq!(Browser::new(&server).login("gina", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

/// An admin's reset leads the user to the password page; a disabled account cannot log in.
pub async fn admin_reset_and_disable_in_the_web_app(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let hugo_token = server.user("hugo").await;
    let me: serde_json::Value =
        server.get(&hugo_token, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    let hugo_id = me["id"].as_str().expect("id").to_string();
    let hugo = Browser::new(&server);
    assert_eq!(hugo.login("hugo", PASSWORD).await.status(), StatusCode::SEE_OTHER);

    let temporary = "Temporary-Pass-42";
    let body = serde_json::json!({ "user_id": hugo_id, "new_password": temporary });
    let reset = server.post(&admin, "/api/v1/auth/admin/reset-password", body).send().await.expect("reset");
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(hugo.get("/mfa").await.0, StatusCode::SEE_OTHER, "the web session ended");
    assert_eq!(hugo.login("hugo", temporary).await.status(), StatusCode::SEE_OTHER);
    let (status, html) = hugo.get("/mfa").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("An administrator reset your password. Choose a new one first."), "{html}");
    let r = hugo
        .submit("/password", "/password", &[("current_password", temporary), ("password", "My-Own-Choice-77")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(hugo.get("/mfa").await.0, StatusCode::OK, "free again");

    let disabled = server
        .post(&admin, &format!("/api/v1/users/{hugo_id}/disable"), serde_json::json!({}))
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.status(), StatusCode::OK);
    assert_eq!(hugo.get("/mfa").await.0, StatusCode::SEE_OTHER, "signed out at once");
    let r = Browser::new(&server).login("hugo", "My-Own-Choice-77").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap_or_default().contains("This account has been disabled."));
}

/// Where the MFA policy requires it for the reader's role, every page leads to `/mfa`, which
/// says why (in the reader's language); turning MFA on there frees the rest of the app.
pub async fn required_by_policy_leads_to_the_mfa_page(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let token = server.user("ines").await;
    let me: serde_json::Value =
        server.get(&token, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    let ines_id = me["id"].as_str().expect("id").to_string();
    let grant = server.client.put(server.url(&format!("/api/v1/users/{ines_id}/role"))).bearer_auth(&admin);
    assert_eq!(grant.json(&serde_json::json!({ "role": "approver" })).send().await.expect("role").status(), 200);
    let ines = Browser::with_language(&server, "es");
    assert_eq!(ines.login("ines", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let (status, html) = ines.get("/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"mfa-required\""), "not required yet: {html}");

    let body = serde_json::json!({ "required_roles": ["admin", "approver"] });
    let set = server.client.put(server.url("/api/v1/auth/mfa/policy")).bearer_auth(&admin).json(&body);
    assert_eq!(set.send().await.expect("policy").status(), 200);
    let r = ines.client.get(format!("{}/waitlist", ines.base)).send().await.expect("GET");
    assert_eq!((r.status(), Browser::location(&r)), (StatusCode::SEE_OTHER, "/mfa".to_string()));
    let (status, html) = ines.get("/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"mfa-required\">Un administrador exige la verificación en dos pasos para tu rol."),
        "{html}"
    );

    let r = ines.submit("/mfa", "/mfa/setup", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    let secret = between(&html, "<code id=\"mfa-secret\">", "<").to_string();
    let r = ines.submit("/mfa", "/mfa/enable", &[("code", &totp_code(&secret, 0))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    assert!(!html.contains("id=\"mfa-required\""), "{html}");
    assert_eq!(ines.get("/waitlist").await.0, StatusCode::OK, "free again");
}
